"""The sandbox's HTTP side: the server (accounts by token, faults, counters) and the
handler that reads a request, routes it to an account's state and sends the answer."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from portal_config.live import envelope
from portal_config.sandbox.answer import Answer, Drop, Refused, bad_request
from portal_config.sandbox.faults import FaultPlan, Faults
from portal_config.sandbox.state import SandboxState
from portal_config.settings.model import WorkType
from portal_config.settings.table import Field, Kind, Section, active

PREFIX = "/openapi/8/"
MAX_BODY = 64 * 1024
MAX_PER_PAGE = 500


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        accounts: dict[str, SandboxState],
        faults: Faults,
        software_token: str,
        http_status_errors: bool,
        idle_timeout: float,
    ) -> None:
        super().__init__(address, Handler)
        self.http_status_errors = http_status_errors
        self.idle_timeout = idle_timeout
        # Account token -> that account's state. The software token is one for all, as
        # OutSmart gives one per integrating package; faults and counters are the server's.
        self.accounts = accounts
        self.faults = FaultPlan(faults)
        self.software_token = software_token
        self.requests_seen = 0
        self.throttled = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.counter_lock = threading.Lock()
        # Every request served, by method and path (never the query: it holds the tokens),
        # so a test can prove a command only read.
        self.served: Counter[tuple[str, str]] = Counter()
        self.writes_stored = 0  # for the gone_after_writes fault
        self.gone = False

    def leaving(self) -> bool:
        """Whether the gone_after_writes fault is due now; True once only."""
        limit = self.faults.faults.gone_after_writes
        if not limit:  # the usual case: no lock taken
            return False
        with self.counter_lock:
            if self.gone or self.writes_stored < limit:
                return False
            self.gone = True
            return True

    def go_away(self) -> None:
        """Stop serving and close the listening socket: new connections are refused."""
        self.shutdown()
        self.socket.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early or goes quiet is the client's business: no
        # traceback. Anything else is a sandbox bug and keeps socketserver's report.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        # A client that connects and then says nothing must not hold a thread forever;
        # http.server answers a timed-out read by closing the connection.
        self.connection.settimeout(self.server.idle_timeout)
        # Headers and body go out as two writes; without TCP_NODELAY, Nagle plus the
        # client's delayed ACK add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry the tokens; the sandbox never logs them

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_HEAD(self) -> None:
        # The answer a GET would get, headers only (their Content-Length included).
        self._handle("HEAD")

    def __getattr__(self, name: str) -> Any:
        # Any other method (POST, TRACE, PATCH, even made-up ones) gets an envelope too,
        # 405 with Allow, instead of http.server's HTML 501 page.
        if name.startswith("do_"):
            return lambda: self._handle(name[3:])
        raise AttributeError(name)

    def _handle(self, method: str) -> None:
        server = self.server
        if server.gone:  # the gone_after_writes fault: connections still open are dropped
            self.close_connection = True
            return
        with server.counter_lock:
            server.served[method, urlsplit(self.path).path] += 1
            server.requests_seen += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        refused = False
        try:
            body = self._read_body()
            answer = self._respond_to("GET" if method == "HEAD" else method, body)
        except Refused as refusal:
            answer, refused = refusal.answer, True
        except Drop:
            self.close_connection = True
            return
        except OSError:
            raise  # the client went away or quiet; handle_error keeps that quiet
        except Exception as exc:  # a sandbox bug must not cost the client its connection
            # Answered as OutSmart answers its own failures; one line, no traceback.
            sys.stderr.write(f"sandbox: uncaught {exc.__class__.__name__}; answered code 1007\n")
            answer = Answer(envelope.UNCAUGHT, "general uncaught error")
        finally:
            with server.counter_lock:
                server.in_flight -= 1
        leaving = server.leaving()
        if leaving:
            # Gone before this answer is out, so that the client's next attempt is refused.
            # (A request runs on a thread of its own, never serve_forever's: no deadlock.)
            server.go_away()
        self._send(answer, with_body=method != "HEAD", closing=refused or leaving)
        if refused:
            self._discard_unread_body()

    def _respond_to(self, method: str, body: bytes) -> Answer:
        faults = self.server.faults
        if faults.faults.latency_ms > 0:
            time.sleep(faults.faults.latency_ms / 1000)
        # Rate limits and 5xx come from a proxy in front of OutSmart: HTTP-level answers.
        wait = faults.rate_limited()
        if wait is not None or faults.chance(faults.faults.throttle_rate):
            with self.server.counter_lock:
                self.server.throttled += 1
            return Answer(
                429, "rate limit exceeded", headers={"Retry-After": str(wait or 1)}, http=429
            )
        if faults.chance(faults.faults.error_rate):
            status = faults.pick((500, 502, 503))
            return Answer(status, "injected server error", http=status)
        if faults.chance(faults.faults.drop_rate):
            self._half_answer()
        if faults.chance(faults.faults.envelope_error_rate):
            return Answer(envelope.UNCAUGHT, "general uncaught error")
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        tokens = query.get("token", [])
        # Exactly one token: with two, which account is meant would be a guess.
        state = self.server.accounts.get(tokens[0]) if len(tokens) == 1 else None
        if state is None:
            return Answer(envelope.UNAUTHORIZED_TOKEN, "unauthorized client token")
        if query.get("software_token") != [self.server.software_token]:
            return Answer(envelope.UNAUTHORIZED_SOFTWARE_TOKEN, "unauthorized software token")
        if not url.path.startswith(PREFIX) or not url.path.endswith("/"):
            return Answer(envelope.NOT_FOUND, "unknown endpoint")
        parts = [unquote(p) for p in url.path[len(PREFIX) :].strip("/").split("/")]
        allowed = _allowed_methods(parts)
        if allowed is None:
            return Answer(envelope.NOT_FOUND, "unknown endpoint")
        if method not in allowed:
            return Answer(
                envelope.METHOD_NOT_ALLOWED,
                "method not allowed",
                headers={"Allow": ", ".join(allowed)},
            )
        return self._route(state, method, parts, query, body)

    def _route(
        self,
        state: SandboxState,
        method: str,
        parts: list[str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> Answer:
        if parts == ["worktypes"]:
            return Answer(
                envelope.OK, response=[_work_type_to_wire(w) for w in state.all_work_types()]
            )
        if parts == ["portals"]:
            try:
                page = int(query.get("page", ["1"])[0])
                per_page = int(query.get("per_page", ["100"])[0])
            except ValueError:
                return Answer(envelope.BAD_REQUEST, "page and per_page must be integers")
            if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
                return Answer(
                    envelope.BAD_REQUEST, f"page >= 1 and 1 <= per_page <= {MAX_PER_PAGE}"
                )
            items, pages = state.page(page, per_page)
            return Answer(envelope.OK, response={"portals": items, "page": page, "pages": pages})
        if method == "GET":
            record = state.get(parts[1])
            if record is None:
                return Answer(envelope.NOT_FOUND, "portal not found")
            return Answer(envelope.OK, response=record)
        return self._replace(state, parts[1], body)

    def _replace(self, state: SandboxState, portal: str, body: bytes) -> Answer:
        faults = self.server.faults
        if not body.strip():
            return Answer(envelope.EMPTY_BODY, "empty body")
        try:
            request = json.loads(body)
            # A lone surrogate ("\ud800") parses, but could never be sent back in an answer.
            json.dumps(request, ensure_ascii=False).encode()
        except RecursionError:
            return Answer(envelope.UNPARSABLE_BODY, "body is nested too deeply")
        except UnicodeEncodeError:
            return Answer(envelope.INVALID, "body holds text that is not valid Unicode")
        except ValueError:
            return Answer(envelope.UNPARSABLE_BODY, "body could not be parsed as JSON")
        if state.get(portal) is None:
            # Early only to answer 404 before complaining about the body; replace()
            # checks again under the lock.
            return Answer(envelope.NOT_FOUND, "portal not found")
        if not isinstance(request, dict):
            return Answer(envelope.INVALID, "body must be a JSON object")
        sections = [s.name for s in active().sections]
        for required in ("revision", *(s.name for s in active().sections if s.required)):
            if required not in request:
                return Answer(envelope.REQUIRED_FIELD, f"Required field missing: {required}")
        if type(request["revision"]) is not int:
            return Answer(envelope.INVALID, "revision must be an integer")
        store = not faults.chance(faults.faults.unstored_write_rate)
        if faults.chance(faults.faults.conflict_rate):
            current = state.get(portal)
            assert current is not None
            # Someone clicks Save in OutSmart meanwhile: a switch of the portal flips.
            section, one = _flippable()
            flipped = not current.get(section.name, {}).get(one.name, False)
            state.edit_section(portal, section.name, {one.name: flipped})
        # Validation and the revision check in one step under the state's lock, so both
        # judge the same version of the file.
        given = {name: request[name] for name in sections if name in request}
        code, record, why = state.replace(portal, request["revision"], given, store=store)
        if code == envelope.OK and store:
            with self.server.counter_lock:
                self.server.writes_stored += 1
        if code == envelope.OK and faults.chance(faults.faults.lost_write_rate):
            raise Drop  # the write happened; the client never hears of it
        if code == envelope.OK and faults.chance(faults.faults.applied_error_rate):
            return Answer(500, "injected server error after the write", http=500)
        return Answer(code, why, record)

    def _read_body(self) -> bytes:
        if "Transfer-Encoding" in self.headers:
            raise Refused(bad_request("send the body with a Content-Length, not chunked"))
        declared = (self.headers.get("Content-Length") or "0").strip()
        # int() alone would take "+5", " 5" or "5_0"; HTTP allows digits only.
        if not declared.isascii() or not declared.isdigit():
            raise Refused(bad_request("Content-Length must be a non-negative integer"))
        length = int(declared)
        if length > MAX_BODY:
            limit = f"request body over {MAX_BODY} bytes"
            raise Refused(Answer(envelope.TOO_LARGE, limit, http=413))
        return self.rfile.read(length) if length else b""

    def _discard_unread_body(self) -> None:
        """After refusing a body: stop sending, then swallow what the client still sends.

        Closing with unread data makes the kernel send a reset, which can destroy the
        answer before the client reads it; so read and drop, for a second at most.
        """
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(1.0)
            for _ in range(64):
                if not self.connection.recv(64 * 1024):
                    break
        except OSError:
            pass  # gone, or still sending after a second: closing is all that is left

    def _half_answer(self) -> None:
        """Start an answer and hang up in the middle of it."""
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 400\r\n\r\n{"code": 2'
        )
        self.wfile.flush()
        raise Drop

    def _send(self, answer: Answer, *, with_body: bool = True, closing: bool = False) -> None:
        data = json.dumps(answer.envelope(), ensure_ascii=False).encode()
        self.send_response(answer.status(self.server.http_status_errors))
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if with_body:
            self.wfile.write(data)


def _work_type_to_wire(work_type: WorkType) -> dict[str, str]:
    # OutSmart sends every value as a string, the flag included.
    return {
        "wrt_name": work_type.name,
        "wrt_description": "",
        "wrt_default_minutes": "60",
        "wrt_active": "1" if work_type.active else "0",
    }


def _allowed_methods(parts: list[str]) -> tuple[str, ...] | None:
    """The methods the contract declares for a path, or None for an unknown path."""
    if parts in (["portals"], ["worktypes"]):
        return ("GET",)
    if len(parts) == 2 and parts[0] == "portals" and parts[1]:
        return ("GET", "PUT")
    return None


def _flippable() -> tuple[Section, Field]:
    """The last plain switch of the first section that has one (the guest section's
    requests-for-others): what the conflict fault's "UI edit" flips."""
    for section in active().sections:
        flags = [one for one in section.fields if one.kind is Kind.BOOLEAN]
        if flags:
            return section, flags[-1]
    raise LookupError("no section has a boolean field to flip")
