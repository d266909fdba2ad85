"""The run's deadline on every read from a server: status line, headers and body alike.

A socket timeout bounds one read, not an exchange: a server that sends a byte a second
never trips a 30 s read timeout, so `Content-Length: 10000000` and then a byte a second (or
headers sent the same way) would keep a run busy for months. Here every read of a response
waits at most the time left until the deadline, and never longer than the read timeout.

urllib3 makes its responses from http.client's ``response_class``, fed with the connection's
socket; `bound_pools` gives a pool manager connection classes whose responses read through
`_BoundedReader`. The deadline of the exchange in progress is the thread's (`bounded`): an
exchange runs on one thread from its request to the end of its body, and its response
takes the limits when it is made.
"""

from __future__ import annotations

import http.client
import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool, PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection

_current = threading.local()


@contextmanager
def bounded(deadline: float, read_timeout: float) -> Iterator[None]:
    """Responses made in this block stop reading at ``deadline`` (a time.monotonic() value)."""
    _current.limits = (deadline, read_timeout)
    try:
        yield
    finally:
        _current.limits = None


def bound_pools(manager: PoolManager) -> None:
    """Make every connection ``manager`` opens read its answers within `bounded`'s limits."""
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class _BoundedReader(io.RawIOBase):
    """A socket's reads, each given only the time left (http.client buffers on top)."""

    def __init__(self, sock: Any, deadline: float, read_timeout: float) -> None:
        super().__init__()
        self._sock = sock
        # The socket's own reader, so that its count of open files stays right: a
        # connection closed while its answer is still read must not close the socket.
        self._io = sock.makefile("rb", buffering=0)
        self._deadline = deadline
        self._read_timeout = read_timeout

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")  # urllib3 reports it as a read timeout
        self._sock.settimeout(min(self._read_timeout, left))
        count: int | None = self._io.readinto(buffer)
        return count

    def close(self) -> None:
        self._io.close()
        super().close()


class _Socket:
    """What http.client's response uses of a socket (makefile) with the limits applied."""

    def __init__(self, sock: Any, deadline: float, read_timeout: float) -> None:
        self._sock = sock
        self._limits = (deadline, read_timeout)

    def makefile(self, mode: str, *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_BoundedReader(self._sock, *self._limits))


class _BoundedResponse(http.client.HTTPResponse):
    def __init__(
        self, sock: Any, debuglevel: int = 0, method: str | None = None, url: str | None = None
    ) -> None:
        limits = getattr(_current, "limits", None)
        # http.client only calls the socket's makefile(): _Socket stands in for it.
        source: Any = sock if limits is None else _Socket(sock, *limits)
        super().__init__(source, debuglevel, method, url)


class _HTTPConnection(HTTPConnection):
    response_class = _BoundedResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _BoundedResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection
