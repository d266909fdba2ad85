"""What a server answered, read before it is believed: an answer's body within its budgets,
parsed; where a redirect points, without repeating the server's text; and the cause of a
failed exchange, named without the URL.

The transport (transport.py) decides what to do with each; nothing here retries, and
nothing knows OutSmart. Tokens travel in the URL, so no text here ever holds a URL or an
exception's text: causes are named from the exception types alone.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import urlsplit

import urllib3

from portal_config.text import encodable

MAX_BODY_BYTES = 16 * 1024 * 1024  # more is nonsense (or hostile) and would exhaust memory
CHUNK_BYTES = 64 * 1024  # a body is read (and counted against its budgets) this much at a time


class ByteBudget:
    """Bytes that answers may take, together: spent as they arrive, from any thread.

    ``refusal`` is the error's text, with ``{size}`` for the limit ("answer larger than
    {size}; refusing").
    """

    def __init__(self, limit: int, refusal: str) -> None:
        self.limit = limit
        self._refusal = refusal
        self._spent = 0
        self._lock = threading.Lock()

    @property
    def spent(self) -> int:
        with self._lock:
            return self._spent

    def spend(self, size: int) -> bool:
        """Take ``size`` bytes; False once more than the limit has been taken."""
        with self._lock:
            self._spent += size
            return self._spent <= self.limit

    def refund(self, size: int) -> None:
        """Give back ``size`` bytes taken for an answer that was not kept (a retried one)."""
        with self._lock:
            self._spent -= size

    def refusal(self) -> str:
        return self._refusal.format(size=f"{self.limit // 2**20} MiB")


def read_body(
    response: urllib3.BaseHTTPResponse, budgets: list[ByteBudget]
) -> bytearray | ByteBudget:
    """The whole body, or the first budget it overran (its connection then closed).

    Each chunk is spent from every budget before the next is read, so a budget has been
    charged exactly the bytes read, up to a chunk that overran one.
    """
    body = bytearray()
    while chunk := response.read(CHUNK_BYTES):
        overrun = next((budget for budget in budgets if not budget.spend(len(chunk))), None)
        if overrun is not None:
            # The rest is unread, so the connection cannot be reused: close it, but
            # still hand its slot back, or with block=True the pool runs dry.
            response.close()
            response.release_conn()
            return overrun
        body += chunk
    response.release_conn()
    return body


def parse(data: bytes | bytearray) -> Any:
    """The JSON of a body, or None if it is not JSON that can be written as UTF-8."""
    try:
        answer = json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError too; nesting from a hostile server
        return None
    # JSON may escape half a UTF-16 pair ("\udc80"); such a string cannot be printed or
    # written as UTF-8, so an answer holding one is as unreadable as invalid UTF-8.
    if _SURROGATE_ESCAPE.search(data) and not encodable(answer):
        return None
    return answer


# Any escape of a UTF-16 surrogate: a pair decodes to one character, a lone one stays.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def redirected(response: urllib3.BaseHTTPResponse, same_host: str) -> str:
    """Why a redirect ends the exchange, naming its target as far as it can be read;
    ``same_host`` is the origin a relative Location points to."""
    location = response.headers.get("Location")
    if not location:
        return f"HTTP {response.status} redirect without a Location; redirects are never followed"
    try:
        parts = urlsplit(location)
        host, port = parts.hostname, parts.port  # port: ValueError when out of range
    except ValueError:  # "http://[::1", "http://host:99999/"
        host, port = "", None
    if host is None:  # a relative Location: the same host
        target = same_host
    elif _HOST.fullmatch(host):
        target = origin(parts.scheme, host, port)
    else:
        # Never shown: it is the server's text, and could be anything (a terminal
        # escape, a line of its own).
        target = "a malformed address"
    return (
        f"the server redirected to {target}; redirects are never followed "
        "(tokens travel in the URL)"
    )


# A host name or address as urlsplit gives it (lowercase, IPv6 without brackets).
_HOST = re.compile(r"[a-z0-9._~%:-]+")


def origin(scheme: str, host: str | None, port: int | None) -> str:
    """scheme://host[:port], never a user, path or query (a query may hold tokens)."""
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def reason(exc: BaseException) -> str:
    """A short, secret-free cause. urllib3's exception texts embed the URL (and with it
    the tokens), so the cause is named from the exception types alone."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        inner = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps it here
        current = (
            inner
            if isinstance(inner, BaseException)
            else (current.__cause__ or current.__context__)
        )
    names = {type(e).__name__ for e in chain}
    for names_wanted, meaning in _CAUSES:
        if names & names_wanted:
            return meaning
    return type(chain[-1]).__name__


_CAUSES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"SSLError", "SSLCertVerificationError"}), "TLS verification failed"),
    (frozenset({"ReadTimeoutError", "ReadTimeout"}), "no answer"),
    (frozenset({"ConnectTimeoutError", "ConnectTimeout"}), "connect timed out"),
    (frozenset({"NameResolutionError", "gaierror"}), "host name not found"),
    (frozenset({"ConnectionRefusedError"}), "connection refused"),
    (frozenset({"EmptyPoolError"}), "no free connection before the run's deadline"),
    # Before "connection closed": urllib3 wraps these in a ProtocolError too.
    (
        frozenset(
            {
                "BadStatusLine",
                "LineTooLong",
                "HTTPException",
                "InvalidHeader",
                "InvalidChunkLength",
                "UnknownProtocol",
                "HeaderParsingError",
                "DecodeError",  # a Content-Encoding the body does not follow
            }
        ),
        "malformed answer",
    ),
    (
        frozenset(
            {"RemoteDisconnected", "IncompleteRead", "ProtocolError", "ConnectionResetError"}
        ),
        "connection closed by the server",
    ),
)
