"""The sandbox HTTP server: a real server on loopback speaking the portal-settings contract."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from portal_config.sandbox.faults import FaultPlan, Faults
from portal_config.sandbox.state import SandboxState, valid_guest

PREFIX = "/openapi/8/"
MAX_BODY = 64 * 1024
MAX_PER_PAGE = 500


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        state: SandboxState,
        faults: Faults,
        token: str,
        software_token: str,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.faults = FaultPlan(faults)
        self.token = token
        self.software_token = software_token
        self.requests_seen = 0
        self.throttled = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.counter_lock = threading.Lock()


class _Drop(Exception):
    """Close the connection without a (complete) answer."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out as two writes; without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry the tokens; the sandbox never logs them

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def __getattr__(self, name: str) -> Any:
        # Any other method (POST, TRACE, PATCH, even made-up ones) gets an envelope too,
        # 405 with Allow, instead of http.server's HTML 501 page.
        if name.startswith("do_"):
            return lambda: self._handle(name[3:])
        raise AttributeError(name)

    def _handle(self, method: str) -> None:
        server = self.server
        with server.counter_lock:
            server.requests_seen += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            body = self._read_body()
            status, payload, headers = self._respond_to(method, body)
        except _Drop:
            self.close_connection = True
            return
        finally:
            with server.counter_lock:
                server.in_flight -= 1
        self._send(status, payload, headers)

    def _respond_to(self, method: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        faults = self.server.faults
        if faults.faults.latency_ms > 0:
            time.sleep(faults.faults.latency_ms / 1000)
        wait = faults.rate_limited()
        if wait is not None or faults.chance(faults.faults.throttle_rate):
            with self.server.counter_lock:
                self.server.throttled += 1
            return _envelope(429, "rate limit exceeded", None) + ({"Retry-After": str(wait or 1)},)
        if faults.chance(faults.faults.error_rate):
            status = faults.pick((500, 502, 503))
            return _envelope(status, "injected server error", None) + ({},)
        if faults.chance(faults.faults.drop_rate):
            self._half_answer()
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        if query.get("token") != [self.server.token] or query.get("software_token") != [
            self.server.software_token
        ]:
            return _envelope(401, "unauthorized", None) + ({},)
        if not url.path.startswith(PREFIX) or not url.path.endswith("/"):
            return _envelope(404, "unknown endpoint", None) + ({},)
        parts = [unquote(p) for p in url.path[len(PREFIX) :].strip("/").split("/")]
        allowed = _allowed_methods(parts)
        if allowed is None:
            return _envelope(404, "unknown endpoint", None) + ({},)
        if method not in allowed:
            return _envelope(405, "method not allowed", None) + ({"Allow": ", ".join(allowed)},)
        return self._route(method, parts, query, body) + ({},)

    def _route(
        self, method: str, parts: list[str], query: dict[str, list[str]], body: bytes
    ) -> tuple[int, Any]:
        state = self.server.state
        if parts == ["worktypes"]:
            return _envelope(200, None, {"worktypes": [{"name": n} for n in state.work_types()]})
        if parts == ["portals"]:
            try:
                page = int(query.get("page", ["1"])[0])
                per_page = int(query.get("per_page", ["100"])[0])
            except ValueError:
                return _envelope(400, "page and per_page must be integers", None)
            if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
                return _envelope(400, f"page >= 1 and 1 <= per_page <= {MAX_PER_PAGE}", None)
            items, pages = state.page(page, per_page)
            return _envelope(200, None, {"portals": items, "page": page, "pages": pages})
        if method == "GET":
            record = state.get(parts[1])
            return (
                _envelope(200, None, record) if record else _envelope(404, "portal not found", None)
            )
        return self._replace(parts[1], body)

    def _replace(self, portal: str, body: bytes) -> tuple[int, Any]:
        state, faults = self.server.state, self.server.faults
        try:
            request = json.loads(body or b"null")
        except ValueError:
            return _envelope(400, "body is not JSON", None)
        if state.get(portal) is None:
            return _envelope(404, "portal not found", None)
        if not isinstance(request, dict) or type(request.get("revision")) is not int:
            return _envelope(422, "revision (integer) is required", None)
        problem = valid_guest(request.get("guest_workorder"), state.work_types())
        if problem:
            return _envelope(422, problem, None)
        if faults.chance(faults.faults.conflict_rate) and state.get(portal) is not None:
            current = state.get(portal)
            assert current is not None
            flipped = not current["guest_workorder"].get("allow_requests_for_others", False)
            state.edit(portal, allow_requests_for_others=flipped)
        status, record = state.replace(portal, request["revision"], request["guest_workorder"])
        if status == 200 and faults.chance(faults.faults.lost_write_rate):
            raise _Drop  # the write happened; the client never hears of it
        messages = {
            404: "portal not found",
            409: "revision conflict: the portal changed since it was read",
        }
        return _envelope(status, messages.get(status), record)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise _Drop
        return self.rfile.read(length) if length else b""

    def _half_answer(self) -> None:
        """Start an answer and hang up in the middle of it."""
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 400\r\n\r\n{"code": 2'
        )
        self.wfile.flush()
        raise _Drop

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def _allowed_methods(parts: list[str]) -> tuple[str, ...] | None:
    """The methods the contract declares for a path, or None for an unknown path."""
    if parts in (["portals"], ["worktypes"]):
        return ("GET",)
    if len(parts) == 2 and parts[0] == "portals" and parts[1]:
        return ("GET", "PUT")
    return None


def _envelope(status: int, message: str | None, response: Any) -> tuple[int, dict[str, Any]]:
    return status, {"code": status, "messages": [message] if message else [], "response": response}


@dataclass
class Sandbox:
    """A running sandbox: its base URL, its state, and how to stop it."""

    server: _Server
    thread: threading.Thread | None
    state: SandboxState

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # bound by name or IP text, never bytes
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host}:{port}{PREFIX}"

    @property
    def requests_seen(self) -> int:
        return self.server.requests_seen

    def set_faults(self, faults: Faults) -> None:
        self.server.faults = FaultPlan(faults)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    state: SandboxState,
    *,
    token: str,
    software_token: str,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    background: bool = True,
    tls: ssl.SSLContext | None = None,
) -> Sandbox:
    """Start serving on ``host:port`` (0 = any free port); in a daemon thread if ``background``.

    With ``tls`` it serves https, which the tests use to prove certificates are verified.
    """
    server = _Server((host, port), state, faults or Faults(), token, software_token)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = None
    if background:
        thread = threading.Thread(
            target=server.serve_forever, name="portal-config-sandbox", daemon=True
        )
        thread.start()
    return Sandbox(server, thread, state)
