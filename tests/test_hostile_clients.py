"""The sandbox survives hostile and broken clients: an answer with an envelope (or a
quiet close), never a traceback, and it keeps serving the next client."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN
from portal_config.sandbox import Faults, Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

QUERY = f"?token={TOKEN}&software_token={SOFTWARE_TOKEN}"
PORTAL = f"/openapi/8/portals/acme-facilities/{QUERY}"


@pytest.fixture
def quiet(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Whatever the test does, the sandbox's stderr holds no traceback."""
    yield
    assert "Traceback" not in capfd.readouterr().err


def _connect(sandbox: Sandbox) -> socket.socket:
    host, port = sandbox.server.server_address[:2]
    return socket.create_connection((str(host), port), timeout=10)


def _exchange(sandbox: Sandbox, head: str, body: bytes = b"") -> tuple[int, str, dict[str, object]]:
    """Send raw bytes; the answer's status, Connection header and envelope."""
    with _connect(sandbox) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        envelope = json.loads(response.read())
        return response.status, response.getheader("Connection") or "", envelope


def _put(length: str) -> str:
    return f"PUT {PORTAL} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {length}"


@contextlib.contextmanager
def _http(sandbox: Sandbox) -> Iterator[http.client.HTTPConnection]:
    host, port = sandbox.server.server_address[:2]
    connection = http.client.HTTPConnection(str(host), port, timeout=10)
    try:
        yield connection
    finally:
        connection.close()


def _still_serving(sandbox: Sandbox) -> bool:
    with _http(sandbox) as connection:
        connection.request("GET", f"/openapi/8/portals/{QUERY}")
        answer = connection.getresponse()
        return (answer.status, json.loads(answer.read())["code"]) == (200, 200)


@pytest.mark.parametrize("length", ["abc", "-5", "+5", "5_0", "١"])
def test_a_bad_content_length_is_400_and_closes(sandbox: Sandbox, quiet: None, length: str) -> None:
    status, connection, envelope = _exchange(sandbox, _put(length), b"{}")
    assert (status, connection) == (400, "close")
    assert envelope == {
        "code": 400,
        "messages": ["Content-Length must be a non-negative integer"],
        "response": None,
    }
    assert _still_serving(sandbox)


def test_a_body_over_the_limit_is_413(sandbox: Sandbox, quiet: None) -> None:
    big = b"x" * 70_000
    status, connection, envelope = _exchange(sandbox, _put(str(len(big))), big)
    assert (status, connection) == (413, "close")
    assert envelope == {
        "code": 413,
        "messages": ["request body over 65536 bytes"],
        "response": None,
    }


def test_a_huge_declared_body_is_refused_without_waiting_for_it(
    sandbox: Sandbox, quiet: None
) -> None:
    started = time.monotonic()
    status, _, envelope = _exchange(sandbox, _put(str(10**12)))
    assert (status, envelope["code"]) == (413, 413)
    assert time.monotonic() - started < 5
    assert _still_serving(sandbox)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"[" * 50_000, 1009, "body is nested too deeply"),
        (
            b'{"revision": 1, "guest_workorder": {"enabled": true, "work_types": ["\\ud800"]}}',
            422,
            "body holds text that is not valid Unicode",
        ),
        (b'{"revision": 1, "\\udfff": 1}', 422, "body holds text that is not valid Unicode"),
        (
            b'{"revision": 1, "guest_workorder": {"enabled": tru',
            1009,
            "body could not be parsed as JSON",
        ),
        (b"\xff\xfe", 1009, "body could not be parsed as JSON"),
    ],
)
def test_bodies_that_break_parsers_get_an_envelope(
    sandbox: Sandbox, quiet: None, body: bytes, code: int, message: str
) -> None:
    status, connection, envelope = _exchange(sandbox, _put(str(len(body))), body)
    assert (status, envelope) == (200, {"code": code, "messages": [message], "response": None})
    assert sandbox.state.get("acme-facilities")["revision"] == 1  # type: ignore[index]


def test_head_gets_the_headers_of_a_get_and_no_body(sandbox: Sandbox, quiet: None) -> None:
    with _http(sandbox) as connection:
        connection.request("GET", PORTAL)
        got = connection.getresponse()
        body = got.read()
        connection.request("HEAD", PORTAL)
        head = connection.getresponse()
        assert (head.status, head.read()) == (200, b"")
        assert head.getheader("Content-Length") == str(len(body)) == got.getheader("Content-Length")
        # The same connection still carries a request: no stray body bytes were left on it.
        connection.request("GET", PORTAL)
        assert connection.getresponse().read() == body


@pytest.fixture
def impatient() -> Iterator[Sandbox]:
    """A sandbox that closes connections idle for 0.3 s."""
    state = SandboxState.open(None, demo_account())
    with start_sandbox(
        state, token=TOKEN, software_token=SOFTWARE_TOKEN, idle_timeout=0.3
    ) as running:
        yield running


@pytest.mark.parametrize(
    "sent", [b"", b"GET /openapi/8/portals/ HTTP/1.1\r\nHost:", _put("10").encode() + b"\r\n\r\n{"]
)
@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_idle_connections_are_closed(impatient: Sandbox, quiet: None, sent: bytes) -> None:
    with _connect(impatient) as sock:
        sock.sendall(sent)
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, without an answer
        assert 0.2 < time.monotonic() - started < 5
    assert _still_serving(impatient)


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_client_hanging_up_before_the_answer_leaves_no_traceback(
    sandbox: Sandbox, quiet: None
) -> None:
    sandbox.set_faults(Faults(latency_ms=200))
    for _ in range(3):
        with _connect(sandbox) as sock:
            sock.sendall(f"GET {PORTAL} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            # Linger 0: close with a reset, so the sandbox's write fails mid-answer.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.5)
    sandbox.set_faults(Faults())
    assert _still_serving(sandbox)
