"""The adapter's transport safety, against small real HTTP servers that answer badly on
purpose: redirects, absurd numbers, broken envelopes, silence, refused connections."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN
from portal_config.live.api import ApiError, ClientSettings, OutSmartClient, redact

FAST = ClientSettings(retries=3, backoff=0.01, deadline=60)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None  # a dict is sent as JSON, bytes as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stay silent before answering


def envelope(code: int = 200, response: Any = None, *messages: str) -> dict[str, Any]:
    return {"code": code, "messages": list(messages), "response": response}


class Canned:
    """A real HTTP server on loopback that plays its answers in order, the last one forever."""

    def __init__(self) -> None:
        self.answers: list[Answer] = [Answer(body=envelope())]
        self.paths: list[str] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                canned.paths.append(self.path)
                answer = canned.answers.pop(0) if len(canned.answers) > 1 else canned.answers[0]
                time.sleep(answer.delay)
                body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(answer.status)
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hanging up on an oversized answer is what those tests do

        self.server = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.origin}/openapi/8/"

    def play(self, *answers: Answer) -> None:
        self.answers = list(answers)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    yield server
    server.stop()


def failure_of(
    url: str,
    settings: ClientSettings = FAST,
    token: str = TOKEN,
    software_token: str = SOFTWARE_TOKEN,
    said: list[str] | None = None,
) -> ApiError:
    with OutSmartClient(
        url,
        token,
        software_token,
        settings,
        say=None if said is None else said.append,
    ) as client:
        with pytest.raises(ApiError) as failure:
            client.list_portals()
    return failure.value


PAGE = {"portals": [], "page": 1, "pages": 1}


# -- redirects -----------------------------------------------------------------------------
def test_a_redirect_is_never_followed(canned: Canned) -> None:
    elsewhere = Canned()
    try:
        target = f"{elsewhere.origin}/steal/?token=abc&software_token=def"
        canned.play(Answer(302, b"", {"Location": target}))
        error = failure_of(canned.url)
        assert str(error) == (
            f"GET portals/: the server redirected to {elsewhere.origin}; "
            "redirects are never followed (tokens travel in the URL)"
        )
        assert error.status == 302
        assert elsewhere.paths == []  # the tokens went nowhere else
        assert len(canned.paths) == 1  # and a redirect is not retried
    finally:
        elsewhere.stop()


def test_a_redirect_without_location(canned: Canned) -> None:
    canned.play(Answer(301, b""))
    assert str(failure_of(canned.url)) == (
        "GET portals/: HTTP 301 redirect without a Location; redirects are never followed"
    )


# -- numbers and sizes the server claims -------------------------------------------------
@pytest.mark.parametrize(
    ("pages", "shown"), [("1e9", "1000000000.0"), ("1000000000", "1000000000"), ("0", "0")]
)
def test_absurd_page_counts_are_refused(canned: Canned, pages: str, shown: str) -> None:
    body = '{"code": 200, "messages": [], "response": {"portals": [], "page": 1, "pages": %s}}'
    canned.play(Answer(body=(body % pages).encode()))
    assert str(failure_of(canned.url)) == (
        f"GET portals/: server claims {shown} pages; refusing "
        "(expected a whole number from 1 to 10000)"
    )
    assert len(canned.paths) == 1


def test_a_page_larger_than_asked_for_is_refused(canned: Canned) -> None:
    record = {"portal_id": "p", "revision": 1, "guest_workorder": {"enabled": False}}
    canned.play(Answer(body=envelope(response={"portals": [record] * 101, "pages": 1})))
    assert str(failure_of(canned.url)) == (
        "GET portals/: page 1 holds 101 portals, more than the 100 asked for; refusing"
    )


@pytest.mark.parametrize("revision", ["1e300", "-1", "9007199254740993", "true"])
def test_revisions_out_of_range_are_refused(canned: Canned, revision: str) -> None:
    record = '{"portal_id": "p", "revision": %s, "guest_workorder": {"enabled": false}}'
    body = '{"code": 200, "messages": [], "response": {"portals": [%s], "pages": 1}}'
    canned.play(Answer(body=(body % (record % revision)).encode()))
    shown = repr(json.loads(revision))
    assert str(failure_of(canned.url)) == (
        "unexpected portal record from the API "
        f"(ValueError: revision {shown} is not a whole number from 0 to 2**53)"
    )


@pytest.mark.parametrize("work_type", [None, 7, " "])
def test_work_types_that_are_not_names_are_refused(canned: Canned, work_type: object) -> None:
    # Turned into text they would be names no account has ("None"), or no name at all.
    guest = {"enabled": True, "work_types": ["Storing", work_type]}
    record = {"portal_id": "p", "revision": 1, "guest_workorder": guest}
    canned.play(Answer(body=envelope(response={"portals": [record], "pages": 1})))
    assert str(failure_of(canned.url)) == (
        f"unexpected portal record from the API (ValueError: work type {work_type!r} is not a name)"
    )


def test_an_oversized_answer_is_refused(canned: Canned, monkeypatch: pytest.MonkeyPatch) -> None:
    import portal_config.live.transport as transport

    monkeypatch.setattr(transport, "MAX_BODY_BYTES", 2 * 2**20)
    canned.play(Answer(body=b" " * (3 * 2**20)))
    assert str(failure_of(canned.url)) == "GET portals/: answer larger than 2 MiB; refusing"


def test_oversized_answers_give_their_connection_back(
    canned: Canned, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With one connection in the pool, a refused oversized answer that kept its slot would
    # make the next request wait for it forever; a thread, so a regression fails, not hangs.
    import portal_config.live.transport as transport

    monkeypatch.setattr(transport, "MAX_BODY_BYTES", 2**20)
    canned.play(Answer(body=b" " * (2 * 2**20)))
    errors: list[str] = []
    settings = ClientSettings(concurrency=1, retries=0, deadline=60)

    def two_requests() -> None:
        with OutSmartClient(canned.url, TOKEN, SOFTWARE_TOKEN, settings) as client:
            for _ in range(2):
                with pytest.raises(ApiError) as failure:
                    client.list_portals()
                errors.append(str(failure.value))

    worker = threading.Thread(target=two_requests, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the second request is still waiting for a connection"
    assert errors == ["GET portals/: answer larger than 1 MiB; refusing"] * 2


def test_the_pages_of_a_listing_share_a_byte_budget(
    canned: Canned, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal_config.live.api as api

    guest = {"enabled": False}
    record = {"portal_id": "p", "name": "n" * 10_000, "revision": 1, "guest_workorder": guest}
    page = envelope(response={"portals": [record] * 100, "pages": 3})  # about 1 MiB each
    canned.play(Answer(body=page))
    monkeypatch.setattr(api, "MAX_LISTING_BYTES", 4 * 2**20)
    with OutSmartClient(canned.url, TOKEN, SOFTWARE_TOKEN, FAST) as client:
        assert len(client.list_portals()) == 300
    monkeypatch.setattr(api, "MAX_LISTING_BYTES", 2 * 2**20)
    assert str(failure_of(canned.url)) == (
        "GET portals/: the pages add up to more than 2 MiB; refusing"
    )
    # Each listing has a budget of its own: the next one starts from nothing.
    monkeypatch.setattr(api, "MAX_LISTING_BYTES", 4 * 2**20)
    with OutSmartClient(canned.url, TOKEN, SOFTWARE_TOKEN, FAST) as client:
        assert len(client.list_portals()) == 300
        assert len(client.list_portals()) == 300


# -- envelopes -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"messages": [], "response": {}}', "no code"),
        (b'{"code": "200", "messages": [], "response": {}}', "code '200' is not an integer"),
        (b'{"code": 200.0, "messages": [], "response": {}}', "code 200.0 is not an integer"),
        (b'{"code": null, "messages": [], "response": {}}', "no code"),
        (b"<html>hello</html>", "no JSON envelope"),
        (b'{"code": 200}', "no JSON envelope"),
        (b"[" * 100_000 + b"]" * 100_000, "no JSON envelope"),  # deeper than json can parse
    ],
)
def test_an_answer_that_is_no_envelope_is_an_error(canned: Canned, body: bytes, why: str) -> None:
    canned.play(Answer(body=body))
    error = failure_of(canned.url)
    assert str(error) == f"GET portals/: HTTP 200, not an OutSmart API envelope ({why})"
    assert error.status is None  # nothing says what happened


def test_an_unknown_code_is_final_and_its_outcome_unknown(canned: Canned) -> None:
    canned.play(Answer(body=envelope(4242, None, "something\nwent   wrong")))
    error = failure_of(canned.url)
    assert (
        str(error) == "GET portals/: OutSmart code 4242 (unknown error code): something went wrong"
    )
    assert (error.status, error.code) == (None, 4242)
    assert len(canned.paths) == 1


@pytest.mark.parametrize(
    ("code", "message", "status"),
    [
        (
            1004,
            "GET portals/: OutSmart code 1004: the account token was refused; check MY_TOKEN",
            401,
        ),
        (
            1005,
            "GET portals/: OutSmart code 1005: the software token was refused; check MY_SW_TOKEN",
            401,
        ),
        (
            1101,
            "GET portals/: OutSmart code 1101 (required field missing): "
            "Required field missing: revision",
            422,
        ),
        (
            1006,
            "GET portals/: OutSmart code 1006 (https required): Required field missing: revision",
            403,
        ),
    ],
)
def test_envelope_codes_at_http_200(canned: Canned, code: int, message: str, status: int) -> None:
    canned.play(Answer(body=envelope(code, None, "Required field missing: revision")))
    with OutSmartClient(
        canned.url,
        TOKEN,
        SOFTWARE_TOKEN,
        FAST,
        token_env="MY_TOKEN",
        software_token_env="MY_SW_TOKEN",
    ) as client:
        with pytest.raises(ApiError) as failure:
            client.list_portals()
    assert str(failure.value) == message
    assert (failure.value.status, failure.value.code) == (status, code)
    assert len(canned.paths) == 1  # final: not retried


def test_long_server_messages_are_cut_to_one_short_line(canned: Canned) -> None:
    canned.play(Answer(body=envelope(1101, None, "x" * 1000, "second\nline")))
    message = str(failure_of(canned.url))
    assert (
        message == "GET portals/: OutSmart code 1101 (required field missing): " + "x" * 297 + "..."
    )


# -- retries, and saying so ----------------------------------------------------------------
def test_every_retry_is_said_in_one_line(canned: Canned) -> None:
    said: list[str] = []
    canned.play(
        Answer(503, envelope(503, None, "busy")),
        Answer(200, envelope(1007, None, "oops")),
        Answer(429, envelope(429, None, "slow down"), {"Retry-After": "0"}),
        Answer(body=envelope(response=PAGE)),
    )
    with OutSmartClient(canned.url, TOKEN, SOFTWARE_TOKEN, FAST, say=said.append) as client:
        assert client.list_portals() == []
    assert said == [
        "retrying GET portals/ in 0.0 s (attempt 2/4): HTTP 503",
        "retrying GET portals/ in 0.0 s (attempt 3/4): OutSmart code 1007",
        "retrying GET portals/ in 0.0 s (attempt 4/4): HTTP 429",
    ]


def test_code_1007_forever_gives_up(canned: Canned) -> None:
    said: list[str] = []
    canned.play(Answer(body=envelope(1007, None, "general uncaught error")))
    error = failure_of(canned.url, said=said)
    assert str(error) == (
        "GET portals/: OutSmart code 1007 (general uncaught error): general uncaught error "
        "(gave up after 4 attempts)"
    )
    assert (error.status, error.code) == (500, 1007)  # outcome unknown: apply re-reads
    assert len(said) == 3 and len(canned.paths) == 4


@pytest.mark.slow  # waits out real timeouts or Retry-After
def test_a_server_that_never_answers_fails_after_two_read_timeouts(canned: Canned) -> None:
    said: list[str] = []
    canned.play(Answer(body=envelope(response=PAGE), delay=2))
    settings = ClientSettings(retries=6, backoff=0.01, read_timeout=0.2)
    started = time.monotonic()
    error = failure_of(canned.url, settings, said=said)
    assert time.monotonic() - started < 1.5  # two timeouts of 0.2 s, not seven
    assert str(error) == (
        f"GET portals/: no answer from {canned.origin} within 0.2 s (gave up after 2 attempts)"
    )
    assert said == ["retrying GET portals/ in 0.0 s (attempt 2/2): no answer within 0.2 s"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_gets_a_short_budget() -> None:
    said: list[str] = []
    port = _free_port()
    settings = ClientSettings(retries=6, backoff=0.01)
    error = failure_of(f"http://127.0.0.1:{port}/openapi/8/", settings, said=said)
    assert str(error) == (
        f"GET portals/: cannot reach http://127.0.0.1:{port}: connection refused "
        "(gave up after 3 attempts)"
    )
    assert said == [
        "retrying GET portals/ in 0.0 s (attempt 2/3): connection refused",
        "retrying GET portals/ in 0.0 s (attempt 3/3): connection refused",
    ]


def test_an_unknown_host_name_is_not_retried() -> None:
    said: list[str] = []
    error = failure_of("https://nonexistent.invalid/openapi/8/", said=said)
    assert (
        str(error) == "GET portals/: cannot reach https://nonexistent.invalid: host name not found"
    )
    assert said == []


# -- redaction and the request log ---------------------------------------------------------
def test_short_tokens_do_not_garble_messages(canned: Canned) -> None:
    canned.play(Answer(body=envelope(1101, None, "Required field missing: a portal")))
    error = failure_of(canned.url, token="a", software_token="ls")
    assert str(error) == (
        "GET portals/: OutSmart code 1101 (required field missing): "
        "Required field missing: a portal"
    )
    assert redact("GET portals/?page=1&token=a&software_token=ls") == (
        "GET portals/?page=1&token=***&software_token=***"
    )


def test_the_request_log_is_redacted(canned: Canned) -> None:
    lines: list[str] = []
    canned.play(Answer(503, b"down"), Answer(body=envelope(response=PAGE)))
    with OutSmartClient(canned.url, "a", "b", FAST, trace=lines.append) as client:
        client.list_portals()
    url = re.escape(f"GET {canned.url}portals/?page=1&per_page=100&token=***&software_token=***")
    assert len(lines) == 2
    assert re.fullmatch(rf"{url} -> HTTP 503 code None \(\d+ ms\)", lines[0])
    assert re.fullmatch(rf"{url} -> HTTP 200 code 200 \(\d+ ms\)", lines[1])


def test_a_web_page_not_found_points_at_base_url(canned: Canned) -> None:
    canned.play(Answer(status=404, body=b"<html>Not Found</html>"))
    error = failure_of(canned.url)
    assert str(error) == (
        f"GET portals/: HTTP 404: nothing at {canned.url}portals/; check base_url "
        "(OutSmart's ends in /openapi/8/)"
    )
