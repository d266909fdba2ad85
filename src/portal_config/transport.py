"""HTTP for the adapter: one urllib3 pool, the retry loop, and what a failed attempt means.

Nothing here knows OutSmart: the adapter (api.py) passes in the parameters that go with
every request (its tokens) and a ``judge`` that reads a parsed answer: its value, a
`Retryable`, or an `ApiError` raised.

HTTP comes from urllib3 (the library under requests). The retry loop is ours, so that
every retry can be announced in one line (``say``) and every request logged, redacted
(``trace``); urllib3's ``Retry`` still keeps the budgets and does the backoff arithmetic
(exponential, with jitter) and the Retry-After parsing (capped). Retried: 429,
500/502/503/504, what the judge calls retryable, connections closed mid-answer (full
budget); connection refused or connect timeouts (at most CONNECT_RETRIES); a server that
never answers (at most READ_TIMEOUT_RETRIES, so it fails within (1 + READ_TIMEOUT_RETRIES)
x the read timeout). Never retried: an unknown host name, TLS failures.

Redirects are never followed: the tokens travel in the URL and would go wherever the
redirect points. Tokens travel in the URL, so nothing here ever prints a URL or an
exception text without `redact()`.

What a server sends is bounded before it is believed: the run's deadline covers every
read of an answer, headers and body (deadline.py); an answer's body is read in chunks
and refused past MAX_BODY_BYTES, and answers that are kept together (the pages of one
listing) share a `ByteBudget`; one parsed answer at a time (`_PARSING`); a Retry-After or
Location that cannot be read is ignored or named as such, never raised.
"""

from __future__ import annotations

import json as _json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.util.retry import Retry

from portal_config import __version__
from portal_config.deadline import bound_pools, bounded
from portal_config.errors import ExitCode, PortalConfigError
from portal_config.redaction import guard_loggers, redact

RETRY_AFTER_CAP = 30  # seconds; a server asking for longer is treated as an outage
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Short budgets where retrying rarely helps and only keeps a CI log silent: a refused
# connection is a down or wrong host; a server that let one read time out will likely
# let the next one time out too.
CONNECT_RETRIES = 2
READ_TIMEOUT_RETRIES = 1
MAX_BODY_BYTES = 16 * 1024 * 1024  # more is nonsense (or hostile) and would exhaust memory
CHUNK_BYTES = 64 * 1024  # a body is read (and counted against its budgets) this much at a time
# Parsing holds the GIL, so parsing answers one at a time costs no speed; it keeps the
# memory of parsed JSON (several times its bytes) to one answer, however many are in flight.
_PARSING = threading.Lock()

Say = Callable[[str], None]


class ApiError(PortalConfigError):
    """The API could not be used: unreachable, refused, or answered nonsense.

    ``status`` is the HTTP status of a definite answer, or for an envelope error the HTTP
    equivalent of its code (envelope.CODES[code].http): below 500 and not 429 means the
    request was refused and nothing was written. None means the outcome is unknown
    (no answer, an unknown code, an answer that is not an envelope). ``code`` is the
    envelope code when the answer carried one that is not 200. ``sent`` is False only
    when the request never left: it is then certain that nothing was written.
    """

    exit_code = ExitCode.API
    prefix = "api error"

    def __init__(
        self,
        message: str,
        *,
        portal: str | None = None,
        status: int | None = None,
        code: int | None = None,
        sent: bool = True,
    ):
        super().__init__(redact(message))
        self.portal = portal
        self.status = status
        self.code = code
        self.sent = sent


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 300.0  # seconds for each stage of a run's requests (restart_deadline)
    retries: int = 6
    backoff: float = 0.25
    verify: bool | str = True


guard_loggers()


@dataclass(frozen=True)
class Retryable:
    """A failed attempt worth another: what to say while retrying, and when giving up."""

    reason: str  # for the retry line: "HTTP 503", "OutSmart code 1007", "connection refused"
    message: str  # for the error once no attempt is left
    response: urllib3.BaseHTTPResponse | None = None
    error: Exception | None = None
    status: int | None = None
    code: int | None = None
    timed_out: bool = False


# The adapter's reading of a parsed answer (response, JSON or None, "GET path", portal):
# the answer's value, a Retryable, or an ApiError raised.
Judge = Callable[[urllib3.BaseHTTPResponse, Any, str, str | None], Any]


@dataclass(frozen=True)
class _Exchange:
    """One call's request, as its attempts and errors need it."""

    what: str  # "GET portals/", for every message
    portal: str | None
    budget: ByteBudget | None
    keep: Callable[[Any], Any] | None


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

    def spend(self, size: int) -> bool:
        """Take ``size`` bytes; False once more than the limit has been taken."""
        with self._lock:
            self._spent += size
            return self._spent <= self.limit

    def refusal(self) -> str:
        return self._refusal.format(size=f"{self.limit // 2**20} MiB")


class _Retry(Retry):
    def get_retry_after(self, response: Any) -> float | None:
        # Honour Retry-After, but never sleep longer than the cap for one answer. One that
        # is neither seconds nor an HTTP date ("garbage", "-5", "1e3", empty) is ignored,
        # as browsers do: the backoff applies, and the answer's status decides the rest.
        try:
            seconds = super().get_retry_after(response)
        except (urllib3.exceptions.InvalidHeader, ValueError, OverflowError):
            return None
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def _retry_policy(settings: ClientSettings) -> _Retry:
    # Only budgets and arithmetic: the loop in Transport.call decides what is retried,
    # and read-timeouts have their own, smaller budget there.
    return _Retry(
        total=settings.retries,
        connect=min(settings.retries, CONNECT_RETRIES),
        read=settings.retries,
        status=settings.retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "PUT"}),
        backoff_factor=settings.backoff,
        backoff_jitter=settings.backoff,
        backoff_max=8.0,
    )


class Transport:
    """Requests to one base URL, each retried within its budgets and the run's deadline.

    ``say`` receives one line per retry, ``trace`` one redacted line per request; both
    may be called from worker threads.
    """

    def __init__(
        self,
        base_url: str,
        always: Mapping[str, str],
        settings: ClientSettings,
        judge: Judge,
        *,
        say: Say | None = None,
        trace: Say | None = None,
    ) -> None:
        self.base_url = base_url
        self._always = dict(always)  # query parameters of every request (the tokens)
        self.settings = settings
        self._judge = judge
        self._say = say
        self._trace = trace
        verify = settings.verify
        # One pool per host, as many keep-alive connections as requests may be in flight;
        # block=True makes extra threads wait for a connection instead of opening more.
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=max(1, settings.concurrency),
            block=True,
            retries=False,  # call() retries, so that it can say so
            headers={"User-Agent": f"portal-config/{__version__}"},
            cert_reqs="CERT_REQUIRED",  # TLS verification is always on
            ca_certs=verify if isinstance(verify, str) else None,
        )
        bound_pools(self._pool)
        self._deadline = time.monotonic() + settings.deadline

    def restart_deadline(self) -> None:
        """Start the deadline again for a new stage of requests: apply's writes, after the
        time a person takes to read the plan at the prompt; its read-back, after the writes
        (docs/guide/targets.md, "The deadline")."""
        self._deadline = time.monotonic() + self.settings.deadline

    def close(self) -> None:
        self._pool.clear()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        portal: str | None = None,
        budget: ByteBudget | None = None,
        keep: Callable[[Any], Any] | None = None,
    ) -> Any:
        """The judged answer, or what ``keep`` makes of it.

        ``budget`` is shared with the other answers it bounds (the pages of a listing);
        ``keep`` turns the answer into the compact value the caller holds on to, while no
        other answer is parsed, so only one parsed answer is in memory at a time.
        """
        what = f"{method} {path}"
        exchange = _Exchange(what, portal, budget, keep)
        url = f"{self.base_url}{path}?{urlencode({**(params or {}), **self._always})}"
        body = None if json is None else _json.dumps(json).encode()
        retry = _retry_policy(self.settings)
        attempt, timeouts = 1, 0
        # Whether any attempt may have reached the server: a write whose every attempt
        # failed to connect was never sent, so apply can say "skipped", not "unknown".
        reached = False
        while True:
            outcome = self._attempt(method, url, body, exchange, first=not reached)
            if not isinstance(outcome, Retryable):
                return outcome
            reached = reached or not _unsent(outcome)
            timeouts += outcome.timed_out
            try:
                if timeouts > READ_TIMEOUT_RETRIES:
                    raise urllib3.exceptions.MaxRetryError(None, url)  # type: ignore[arg-type]
                retry = retry.increment(method, url, outcome.response, outcome.error)
            except urllib3.exceptions.MaxRetryError:
                gave_up = f" (gave up after {attempt} attempts)" if attempt > 1 else ""
                raise ApiError(
                    f"{what}: {outcome.message}{gave_up}",
                    portal=portal,
                    status=outcome.status,
                    code=outcome.code,
                    sent=reached,
                ) from None
            delay = retry.get_retry_after(outcome.response) if outcome.response else None
            if delay is None:
                delay = retry.get_backoff_time()
            attempt += 1
            if self._say is not None:
                last = attempt + self._left(retry, outcome, timeouts)
                self._say(
                    f"retrying {what} in {delay:.1f} s (attempt {attempt}/{last}): {outcome.reason}"
                )
            time.sleep(max(0.0, min(delay, self._deadline - time.monotonic())))

    @staticmethod
    def _left(retry: Retry, outcome: Retryable, timeouts: int) -> int:
        """Attempts left after the next one, if this failure keeps coming back."""
        if outcome.response is not None:
            budgets = [retry.status]
        elif outcome.timed_out:
            budgets = [retry.read, READ_TIMEOUT_RETRIES - timeouts]
        elif _unsent(outcome):
            budgets = [retry.connect]
        else:
            budgets = [retry.read]
        return min(b for b in [retry.total, *budgets] if isinstance(b, int))

    def _attempt(
        self, method: str, url: str, body: bytes | None, exchange: _Exchange, *, first: bool
    ) -> Any:
        """One request: the judged answer, a Retryable, or an ApiError raised."""
        what, portal = exchange.what, exchange.portal
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._deadline_passed(exchange, sent=not first)
        read_timeout = min(self.settings.read_timeout, remaining)
        connect_timeout = min(self.settings.connect_timeout, remaining)
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        headers = {"Content-Type": "application/json"} if body is not None else None
        budgets = [ByteBudget(MAX_BODY_BYTES, "answer larger than {size}; refusing")]
        if exchange.budget is not None:
            budgets.append(exchange.budget)
        started = time.monotonic()
        try:
            with bounded(self._deadline, self.settings.read_timeout):
                response = self._pool.request(
                    method,
                    url,
                    body=body,
                    headers=headers,
                    timeout=timeout,
                    redirect=False,
                    preload_content=False,
                    # A safety net for a slot that is never given back: fail at the
                    # deadline instead of waiting for a free connection forever.
                    pool_timeout=remaining,
                )
                # The body is read here, inside the attempt, so an answer cut off mid-body
                # is retried like any other dropped connection.
                data = _read_body(response, budgets)
        except urllib3.exceptions.HTTPError as exc:
            cause = _reason(exc)
            self._log(f"{method} {url} -> {cause}", started)
            return self._transport_failure(exc, cause, read_timeout, exchange)
        if isinstance(data, ByteBudget):
            self._log(f"{method} {url} -> HTTP {response.status}, refused: too large", started)
            raise ApiError(f"{what}: {data.refusal()}", portal=portal)
        with _PARSING:
            answer = _parse(data)
            del data  # the parsed answer replaces the bytes
            code = answer.get("code") if isinstance(answer, dict) else None
            self._log(f"{method} {url} -> HTTP {response.status} code {code!r}", started)
            if 300 <= response.status < 400:
                raise ApiError(
                    f"{what}: {self._redirected(response)}", portal=portal, status=response.status
                )
            outcome = self._judge(response, answer, what, portal)
            if exchange.keep is None or isinstance(outcome, Retryable):
                return outcome
            return exchange.keep(outcome)

    def _deadline_passed(self, exchange: _Exchange, *, sent: bool) -> ApiError:
        message = (
            f"{exchange.what}: gave up, the run's deadline of {self.settings.deadline:g}s passed"
        )
        return ApiError(message, portal=exchange.portal, sent=sent)

    def _log(self, line: str, started: float) -> None:
        if self._trace is not None:
            elapsed = round((time.monotonic() - started) * 1000)
            self._trace(redact(f"{line} ({elapsed} ms)"))

    def _transport_failure(
        self, exc: Exception, cause: str, read_timeout: float, exchange: _Exchange
    ) -> Retryable:
        what, portal = exchange.what, exchange.portal
        if cause == "no answer" and time.monotonic() >= self._deadline:
            # Each read waits at most until the deadline (deadline.py): this one hit it.
            raise self._deadline_passed(exchange, sent=True)
        if cause == "no answer":
            return Retryable(
                f"no answer within {read_timeout:g} s",
                f"no answer from {self._host()} within {read_timeout:g} s",
                error=exc,
                timed_out=True,
            )
        if cause in ("connection refused", "connect timed out"):
            return Retryable(cause, f"cannot reach {self._host()}: {cause}", error=exc)
        if cause == "connection closed by the server":
            return Retryable(cause, "the server closed the connection mid-answer", error=exc)
        if cause == "TLS verification failed":
            message = f"{what}: TLS verification failed for {self._host()}"
        elif cause == "malformed answer":
            # Not retried: a server that answers nonsense will answer it again.
            message = f"{what}: the server's answer is not valid HTTP"
        elif cause == "host name not found":
            # Not retried: a name that does not resolve will not resolve in a second.
            message = f"{what}: cannot reach {self._host()}: host name not found"
        else:
            message = f"{what}: request failed ({cause})"
        raise ApiError(message, portal=portal)

    def _redirected(self, response: urllib3.BaseHTTPResponse) -> str:
        location = response.headers.get("Location")
        if not location:
            return (
                f"HTTP {response.status} redirect without a Location; redirects are never followed"
            )
        try:
            parts = urlsplit(location)
            host, port = parts.hostname, parts.port  # port: ValueError when out of range
        except ValueError:  # "http://[::1", "http://host:99999/"
            host, port = "", None
        if host is None:  # a relative Location: the same host
            target = self._host()
        elif _HOST.fullmatch(host):
            target = _origin(parts.scheme, host, port)
        else:
            # Never shown: it is the server's text, and could be anything (a terminal
            # escape, a line of its own).
            target = "a malformed address"
        return (
            f"the server redirected to {target}; redirects are never followed "
            "(tokens travel in the URL)"
        )

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return _origin(parts.scheme, parts.hostname, parts.port)


def _unsent(outcome: Retryable) -> bool:
    """Whether a failed attempt certainly never reached the server: it could not connect."""
    # urllib3's NewConnectionError (refused) is a ConnectTimeoutError too.
    return outcome.response is None and isinstance(
        outcome.error, urllib3.exceptions.ConnectTimeoutError
    )


# A host name or address as urlsplit gives it (lowercase, IPv6 without brackets).
_HOST = re.compile(r"[a-z0-9._~%:-]+")


def _origin(scheme: str, host: str | None, port: int | None) -> str:
    """scheme://host[:port], never a user, path or query (a query may hold tokens)."""
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _read_body(
    response: urllib3.BaseHTTPResponse, budgets: list[ByteBudget]
) -> bytearray | ByteBudget:
    """The whole body, or the first budget it overran (its connection then closed)."""
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


def _parse(data: bytes | bytearray) -> Any:
    try:
        answer = _json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError too; nesting from a hostile server
        return None
    # JSON may escape half a UTF-16 pair ("\udc80"); such a string cannot be printed or
    # written as UTF-8, so an answer holding one is as unreadable as invalid UTF-8.
    if _SURROGATE_ESCAPE.search(data) and not _encodable(answer):
        return None
    return answer


# Any escape of a UTF-16 surrogate: a pair decodes to one character, a lone one stays.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(answer: Any) -> bool:
    """Every string in a parsed answer (keys too) can be written as UTF-8."""
    pending = [answer]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def _reason(exc: BaseException) -> str:
    """A short, secret-free cause. urllib3's exception texts embed the URL (and with it
    the tokens), so the cause is named from the exception types alone."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps it here
        current = (
            reason
            if isinstance(reason, BaseException)
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
