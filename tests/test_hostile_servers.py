"""Whatever a server answers, diff ends with one line and exit code 4, never a traceback.

The servers here are real TCP servers on loopback, started by the test, that write raw
bytes: answers no HTTP library would produce on purpose (a bad status line, a truncated
chunk, a header of 100 KB, a body sent a byte a second). Nothing is mocked.
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, TOKEN_ENV, Invoke, run_cli
from portal_config.live.api import ApiError, ClientSettings, OutSmartClient
from portal_config.sandbox.demo import demo_account

Script = Callable[[socket.socket, str], None]  # the connection and the request's path


class Hostile:
    """A loopback server that reads each request's head and answers with ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.stopped = threading.Event()
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/openapi/8/"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = conn.recv(65536)
                    if not data:
                        return
                    head += data
                self.requests += 1
                self.script(conn, head.split(b" ")[1].decode())
            except OSError:
                pass  # the client hung up, as it should on most of these answers

    def stop(self) -> None:
        self.stopped.set()
        # shutdown() wakes the thread blocked in accept(); close() alone would leave it
        # listening, and a later test's server on the same port would meet this one.
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


@pytest.fixture
def hostile() -> Iterator[Callable[[Script], Hostile]]:
    servers: list[Hostile] = []

    def start(script: Script) -> Hostile:
        servers.append(Hostile(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def answer(raw: bytes) -> Script:
    return lambda conn, path: conn.sendall(raw)


def dripping(head: bytes, interval: float) -> Script:
    """``head`` at once, then a byte every ``interval`` until the client hangs up."""

    def script(conn: socket.socket, path: str) -> None:
        conn.sendall(head)
        while True:  # sendall fails once the client is gone
            time.sleep(interval)
            conn.sendall(b" ")

    return script


def endless_chunks(conn: socket.socket, path: str) -> None:
    """A chunked body that never ends, 64 KiB a chunk, as fast as the client reads."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
    while True:
        conn.sendall(chunk)


def routed(portals: Script, worktypes: Script) -> Script:
    return lambda conn, path: (worktypes if "/worktypes/" in path else portals)(conn, path)


def envelope_answer(body: object, status: str = "200 OK") -> Script:
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return answer(
        f"HTTP/1.1 {status}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        + data
    )


def project_for(root: Path, url: str, **keys: object) -> Path:
    """The shipped portals, with one target at ``url`` (fast retries unless overridden)."""
    shutil.rmtree(root / "portals", ignore_errors=True)
    shutil.copytree(REPO / "portals", root / "portals")
    shutil.copy(REPO / "worktypes.yaml", root / "worktypes.yaml")
    settings = {"retries": 1, "backoff": 0.01, "deadline": 20, "timeout": 5, **keys}
    lines = "".join(f"    {key}: {value}\n" for key, value in settings.items())
    (root / "portal-config.yaml").write_text(
        f"default_target: test\ntargets:\n  test:\n    base_url: {url}\n{lines}", encoding="utf-8"
    )
    return root


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)


def _chunked(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def _ok(headers: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n" + body


def _redirect(location: bytes) -> Script:
    return answer(b"HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location)


WORK_TYPES = [{"wrt_name": name, "wrt_active": "1"} for name in demo_account()["work_types"]]
PORTAL = {"portal_id": "a", "revision": 1, "guest_workorder": {"enabled": False}}
BOMB = gzip.compress(b" " * (17 * 2**20))  # 17 KiB that a gzip reader makes 17 MiB
NOT_HTTP = "GET portals/: the server's answer is not valid HTTP"
CLOSED = "GET portals/: the server closed the connection mid-answer"
NO_ENVELOPE = "GET portals/: HTTP 200, not an OutSmart API envelope (no JSON envelope)"
REDIRECTED = (
    "GET portals/: the server redirected to a malformed address; redirects are never followed "
    "(tokens travel in the URL)"
)

# What a server may answer GET portals/ with, and the one line diff then prints.
BATTERY: dict[str, tuple[Script, str]] = {
    "bad status line": (answer(b"HELLO WORLD\r\n\r\n"), NOT_HTTP),
    "status out of range": (answer(b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n"), NOT_HTTP),
    "unknown protocol": (answer(b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), NOT_HTTP),
    "no answer at all": (answer(b""), CLOSED),
    "Content-Length not a number": (answer(_ok(b"Content-Length: abc\r\n", b"{}")), NO_ENVELOPE),
    "Content-Lengths that disagree": (answer(_ok(b"Content-Length: 2, 3\r\n", b"{}")), NOT_HTTP),
    "Content-Length negative": (answer(_ok(b"Content-Length: -1\r\n", b"{}")), NO_ENVELOPE),
    "Content-Length beyond the body": (answer(_ok(b"Content-Length: 100\r\n", b"{}")), CLOSED),
    "truncated chunked body": (answer(_chunked(b'40\r\n{"code": 200')), CLOSED),
    "chunk size not a number": (answer(_chunked(b"zz\r\n{}\r\n0\r\n\r\n")), CLOSED),
    "header line of 100 KB": (answer(_ok(b"X-Big: " + b"a" * 100_000 + b"\r\n")), NOT_HTTP),
    "200 headers": (answer(_ok(b"".join(b"X-%d: 1\r\n" % i for i in range(200)))), NOT_HTTP),
    "header without a colon": (
        answer(_ok(b"no colon here\r\nContent-Length: 2\r\n", b"{}")),
        NO_ENVELOPE,
    ),
    "invalid UTF-8 body": (envelope_answer(b'{"code": 200, "response": "\xff\xfe"}'), NO_ENVELOPE),
    "invalid UTF-8 in the status line": (
        answer(b"HTTP/1.1 503 \xff\xfe\r\nContent-Length: 0\r\n\r\n"),
        "GET portals/: HTTP 503 \xff\xfe",  # as http.client reads it: Latin-1
    ),
    "lone surrogate in a portal id": (
        envelope_answer(
            b'{"code": 200, "messages": [], "response": {"portals": [{"portal_id": "\\udc80", '
            b'"revision": 1, "guest_workorder": {"enabled": false}}], "pages": 1}}'
        ),
        NO_ENVELOPE,
    ),
    "lone surrogate in a message": (
        envelope_answer(b'{"code": 1101, "messages": ["\\uDBFF"], "response": null}'),
        NO_ENVELOPE,
    ),
    "not JSON": (envelope_answer(b"<html>hello</html>"), NO_ENVELOPE),
    "JSON null": (envelope_answer(None), NO_ENVELOPE),
    "a JSON list": (envelope_answer([1, 2]), NO_ENVELOPE),
    "nested 100,000 deep": (envelope_answer(b"[" * 100_000 + b"]" * 100_000), NO_ENVELOPE),
    "page is a list": (
        envelope_answer({"code": 200, "messages": [], "response": [PORTAL]}),
        "GET portals/: response is not a page of portals",
    ),
    "portals not a list": (
        envelope_answer({"code": 200, "messages": [], "response": {"portals": "x"}}),
        "GET portals/: response has no 'portals' list",
    ),
    "portal is a number": (
        envelope_answer({"code": 200, "messages": [], "response": {"portals": [1]}}),
        "unexpected portal record from the API (TypeError: 'int' object is not subscriptable)",
    ),
    "portal without settings": (
        envelope_answer(
            {"code": 200, "messages": [], "response": {"portals": [{"portal_id": "a"}]}}
        ),
        "unexpected portal record from the API (KeyError: 'guest_workorder')",
    ),
    "messages not a list": (
        envelope_answer({"code": 1101, "messages": {"a": 1}, "response": None}),
        "GET portals/: OutSmart code 1101 (required field missing)",
    ),
    "code of 400 digits": (
        envelope_answer(b'{"code": 1' + b"0" * 400 + b', "response": null}'),
        "GET portals/: HTTP 200, not an OutSmart API envelope (code is not a whole number from 0 to 99999)",
    ),
    "code of 5,000 digits": (
        envelope_answer(b'{"code": 1' + b"0" * 5_000 + b', "response": null}'),
        NO_ENVELOPE,
    ),
    "gzip bomb": (
        answer(_ok(b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(BOMB), BOMB)),
        "GET portals/: answer larger than 16 MiB; refusing",
    ),
    "chunked body without end": (
        endless_chunks,
        "GET portals/: answer larger than 16 MiB; refusing",
    ),
    "gzip that is not gzip": (
        answer(_ok(b"Content-Encoding: gzip\r\nContent-Length: 4\r\n", b"nope")),
        NOT_HTTP,
    ),
    "redirect to port 99999": (_redirect(b"http://127.0.0.1:99999/"), REDIRECTED),
    "redirect to [::1": (_redirect(b"http://[::1"), REDIRECTED),
    "redirect to a port that is not a number": (_redirect(b"http://host:port/"), REDIRECTED),
    "redirect to a host with a terminal escape": (_redirect(b"http://a\x1b]0;x\x07b/"), REDIRECTED),
}
# Retried answers, with one retry: its line, then the error.
RETRIED: dict[str, tuple[Script, str]] = {
    f"Retry-After {value.decode()!r}": (
        answer(b"HTTP/1.1 429 Too Many\r\nRetry-After: %s\r\nContent-Length: 0\r\n\r\n" % value),
        "retrying GET portals/ in 0.0 s (attempt 2/2): HTTP 429\n"
        "api error: GET portals/: HTTP 429 Too Many (gave up after 2 attempts)\n",
    )
    for value in (b"garbage", b"-5", b"1e3", b"", b"Mon, 99 Foo 99999 99:99:99 GMT")
}


def expected(name: str) -> tuple[int, str]:
    """The retries the target allows, and diff's whole output, for an answer named here."""
    if name in RETRIED:
        return 1, RETRIED[name][1]
    return 0, f"api error: {BATTERY[name][1]}\n"


@pytest.mark.parametrize("name", [*BATTERY, *RETRIED])
def test_any_answer_is_one_line_and_exit_code_4(
    name: str,
    project: Path,
    hostile: Callable[[Script], Hostile],
    invoke: Invoke,
    tokens: None,
) -> None:
    retries, output = expected(name)
    server = hostile({**BATTERY, **RETRIED}[name][0])
    # One request at a time: GET portals/ comes first, and its failure ends the run.
    project_for(project, server.url, retries=retries, concurrency=1)
    result = invoke("diff")  # an exception would escape: catch_exceptions=False
    assert (result.exit_code, result.output) == (4, output)
    # A Retry-After that cannot be read is ignored: the backoff applies instead.
    assert server.requests == 1 + retries


@pytest.mark.slow  # one real process per answer
def test_every_answer_is_one_line_and_exit_4_in_a_real_process(
    tmp_path: Path, hostile: Callable[[Script], Hostile]
) -> None:
    for name, (script, _) in {**BATTERY, **RETRIED}.items():
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        root.mkdir()
        project_for(root, hostile(script).url, retries=expected(name)[0])
        done = run_cli(root, "diff")
        lines = [line for line in done.stderr.splitlines() if not line.startswith("retrying ")]
        assert (done.returncode, done.stdout, len(lines)) == (4, "", 1), (name, done.stderr)
        assert lines[0].startswith("api error: "), (name, done.stderr)
        assert "Traceback" not in done.stderr, name


# -- the deadline covers the whole exchange --------------------------------------------------
# Ten million bytes announced, then a byte at a time: every read gets a byte well within
# the read timeout, so only the run's deadline can end it.
DRIPPED_BODY = b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n"
# A header line that never ends: http.client reads up to 64 KiB of it.
DRIPPED_HEADERS = b"HTTP/1.1 200 OK\r\nX-Slow: "


def failure_within(url: str, settings: ClientSettings, seconds: float) -> tuple[str, float]:
    """The error of listing portals at ``url``, and how long it took; on a thread, so
    that a client that never gives up fails the test instead of hanging it."""
    outcome: list[tuple[str, float]] = []

    def list_portals() -> None:
        started = time.monotonic()
        with OutSmartClient(url, TOKEN, SOFTWARE_TOKEN, settings) as client:
            try:
                client.list_portals()
            except ApiError as error:
                outcome.append((str(error), time.monotonic() - started))

    worker = threading.Thread(target=list_portals, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"still reading after {seconds} s"
    return outcome[0]


@pytest.mark.parametrize("head", [DRIPPED_BODY, DRIPPED_HEADERS], ids=["body", "headers"])
def test_an_answer_sent_a_byte_at_a_time_ends_at_the_deadline(
    hostile: Callable[[Script], Hostile], head: bytes
) -> None:
    server = hostile(dripping(head, 0.05))
    settings = ClientSettings(retries=3, backoff=0.01, read_timeout=5, deadline=0.5)
    message, elapsed = failure_within(server.url, settings, 5)
    assert message == "GET portals/: gave up, the run's deadline of 0.5s passed"
    assert 0.5 <= elapsed < 1.5, elapsed
    assert server.requests == 1  # the deadline is final: no retry after it


@pytest.mark.slow  # waits out a 5 s deadline
def test_diff_ends_at_the_deadline_while_a_body_drips_in(
    tmp_path: Path, hostile: Callable[[Script], Hostile]
) -> None:
    # The reproduction: `deadline: 5`, as the README documents it, and a byte a second.
    server = hostile(dripping(DRIPPED_BODY, 1.0))
    (tmp_path / "portals").mkdir()
    project_for(tmp_path, server.url, deadline=5, retries=6)
    started = time.monotonic()
    done = run_cli(tmp_path, "diff")
    elapsed = time.monotonic() - started
    assert (done.returncode, done.stdout, done.stderr) == (
        4,
        "",
        "api error: GET portals/: gave up, the run's deadline of 5s passed\n",
    )
    assert elapsed < 8, elapsed  # 5 s, and the start of a Python process


# -- memory across pages ---------------------------------------------------------------------
def page_of(portals: int, name_bytes: int, pages: int) -> bytes:
    """An envelope of one page: ``portals`` portals with names of ``name_bytes`` each."""
    records = [
        {
            "portal_id": f"p{index}",
            "name": "n" * name_bytes,
            "revision": 1,
            "guest_workorder": {"enabled": False},
        }
        for index in range(portals)
    ]
    page = {"portals": records, "page": 1, "pages": pages}
    return json.dumps({"code": 200, "messages": [], "response": page}).encode()


# The child reports its own peak as it exits: its memory's high-water mark (VmHWM). Linux
# starts a child's ru_maxrss (wait4, getrusage) at its parent's size at the fork, so a
# test worker grown by an earlier test would be measured instead of portal-config.
_OWN_PEAK = (
    "import atexit, runpy, sys\n"
    "def peak(path=sys.argv.pop(1)):\n"
    "    status = open('/proc/self/status').read()\n"
    "    kib = next(l.split()[1] for l in status.splitlines() if l.startswith('VmHWM:'))\n"
    "    open(path, 'w').write(kib)\n"
    "atexit.register(peak)\n"
    "runpy.run_module('portal_config', run_name='__main__')\n"
)


def peak_of_diff(root: Path) -> tuple[int, str, str, int]:
    """diff as a real process: its exit code, stdout, stderr and peak RSS in MiB."""
    out, err, peak = root / "stdout", root / "stderr", root / "peak"
    with out.open("w") as stdout, err.open("w") as stderr:
        done = subprocess.run(
            [sys.executable, "-c", _OWN_PEAK, str(peak), "diff"],
            cwd=root,
            env=TOKEN_ENV,
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
    return done.returncode, out.read_text(), err.read_text(), int(peak.read_text()) // 1024


@pytest.mark.slow  # moves a few hundred MB over loopback
def test_memory_stays_bounded_across_pages(
    tmp_path: Path, hostile: Callable[[Script], Hostile]
) -> None:
    # The reproduction: 40 pages of 15 MB each (100 portals with 150 KB names) grew diff
    # to 917 MB, and ended in a MemoryError traceback under a memory limit.
    page = page_of(100, 150_000, pages=40)
    worktypes = envelope_answer({"code": 200, "messages": [], "response": WORK_TYPES})
    server = hostile(routed(envelope_answer(page), worktypes))
    (tmp_path / "portals").mkdir()
    project_for(tmp_path, server.url, retries=0)
    code, stdout, stderr, peak = peak_of_diff(tmp_path)
    print(f"peak RSS {peak} MiB")
    assert (code, stdout, stderr) == (
        4,
        "",
        "api error: GET portals/: the pages add up to more than 64 MiB; refusing\n",
    )
    assert peak < 300, peak


def flaky_then(attempts: int, failure: Script, page: bytes) -> Script:
    """``failure`` for the first ``attempts`` requests, then ``page`` as a whole answer."""
    count = iter(range(attempts))

    def script(conn: socket.socket, path: str) -> None:
        if next(count, None) is not None:
            failure(conn, path)
        else:
            envelope_answer(page)(conn, path)

    return script


# 15 MB of an answer, five times over: 75 MB, more than a listing's 64 MiB, but dropped.
DROPPED_BYTES = 15_000_000


def dropped_mid_body(conn: socket.socket, path: str) -> None:
    """A body announced larger than it is sent: the connection closes mid-answer."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (DROPPED_BYTES + 1))
    conn.sendall(b" " * DROPPED_BYTES)


def unavailable(conn: socket.socket, path: str) -> None:
    """A whole 503 answer with a large body: a proxy's error page, say."""
    conn.sendall(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: %d\r\n\r\n" % DROPPED_BYTES
        + b" " * DROPPED_BYTES
    )


@pytest.mark.parametrize(
    ("failure", "reason"),
    [(dropped_mid_body, "connection closed by the server"), (unavailable, "HTTP 503")],
    ids=["dropped mid-body", "answered 503"],
)
def test_only_the_attempt_kept_counts_against_the_listings_budget(
    hostile: Callable[[Script], Hostile], failure: Script, reason: str
) -> None:
    page = json.dumps({"code": 200, "messages": [], "response": {"portals": [PORTAL]}}).encode()
    server = hostile(flaky_then(5, failure, page))
    said: list[str] = []
    settings = ClientSettings(retries=6, backoff=0.001, deadline=60)  # retried at once
    with OutSmartClient(server.url, TOKEN, SOFTWARE_TOKEN, settings, say=said.append) as client:
        portals = client.list_portals()
    assert [portal.portal for portal in portals] == ["a"]
    assert said == [
        f"retrying GET portals/ in 0.0 s (attempt {n}/7): {reason}" for n in range(2, 7)
    ]
    assert server.requests == 6
