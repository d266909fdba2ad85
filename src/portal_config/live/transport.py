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

What a server sends is bounded before it is believed: the deadline covers every read of
an answer, headers and body (deadline.py); an answer's body is read in chunks and refused
past MAX_BODY_BYTES, and answers that are kept together (the pages of one listing) share a
`ByteBudget` (answers.py reads, parses and names what went wrong); one parsed answer at a
time (`_PARSING`); a Retry-After or Location that cannot be read is ignored or named as
such, never raised.
"""

from __future__ import annotations

import json as _json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.util.retry import Retry

from portal_config import __version__
from portal_config.errors import ExitCode, PortalConfigError
from portal_config.live.answers import (
    MAX_BODY_BYTES,
    ByteBudget,
    origin,
    parse,
    read_body,
    reason,
    redirected,
)
from portal_config.live.deadline import bound_pools, bounded
from portal_config.live.redaction import guard_loggers, redact

RETRY_AFTER_CAP = 30  # seconds; a server asking for longer is treated as an outage
RETRY_STATUSES = (429, 500, 502, 503, 504)
# Short budgets where retrying rarely helps and only keeps a CI log silent: a refused
# connection is a down or wrong host; a server that let one read time out will likely
# let the next one time out too.
CONNECT_RETRIES = 2
READ_TIMEOUT_RETRIES = 1
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

    method: str
    url: str  # with the tokens: never shown without redact()
    body: bytes | None
    what: str  # "GET portals/", for every message
    portal: str | None
    budget: ByteBudget | None
    keep: Callable[[Any], Any] | None


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
        url = f"{self.base_url}{path}?{urlencode({**(params or {}), **self._always})}"
        body = None if json is None else _json.dumps(json).encode()
        exchange = _Exchange(method, url, body, what, portal, budget, keep)
        retry = _retry_policy(self.settings)
        attempt, timeouts = 1, 0
        # Whether any attempt may have reached the server: a write whose every attempt
        # failed to connect was never sent, so apply can say "skipped", not "unknown".
        reached = False
        while True:
            answer = ByteBudget(MAX_BODY_BYTES, "answer larger than {size}; refusing")
            outcome = self._attempt(exchange, answer, first=not reached)
            if not isinstance(outcome, Retryable):
                return outcome
            if budget is not None:
                # Only answers kept count against a shared budget: a flaky server's dropped
                # or retried attempts are not pages. (read_body charges both alike.)
                budget.refund(answer.spent)
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

    def _attempt(self, exchange: _Exchange, answer: ByteBudget, *, first: bool) -> Any:
        """One request: the judged answer, a Retryable, or an ApiError raised. ``answer``
        is this attempt's own budget, charged with every byte it reads."""
        method, url, body = exchange.method, exchange.url, exchange.body
        what, portal = exchange.what, exchange.portal
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._deadline_passed(exchange, sent=not first)
        read_timeout = min(self.settings.read_timeout, remaining)
        connect_timeout = min(self.settings.connect_timeout, remaining)
        timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        headers = {"Content-Type": "application/json"} if body is not None else None
        budgets = [answer] if exchange.budget is None else [answer, exchange.budget]
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
                data = read_body(response, budgets)
        except urllib3.exceptions.HTTPError as exc:
            cause = reason(exc)
            self._log(f"{method} {url} -> {cause}", started)
            return self._transport_failure(exc, cause, read_timeout, exchange)
        if isinstance(data, ByteBudget):
            self._log(f"{method} {url} -> HTTP {response.status}, refused: too large", started)
            raise ApiError(f"{what}: {data.refusal()}", portal=portal)
        with _PARSING:
            answer = parse(data)
            del data  # the parsed answer replaces the bytes
            code = answer.get("code") if isinstance(answer, dict) else None
            self._log(f"{method} {url} -> HTTP {response.status} code {code!r}", started)
            if 300 <= response.status < 400:
                raise ApiError(
                    f"{what}: {redirected(response, self._host())}",
                    portal=portal,
                    status=response.status,
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

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return origin(parts.scheme, parts.hostname, parts.port)


def _unsent(outcome: Retryable) -> bool:
    """Whether a failed attempt certainly never reached the server: it could not connect."""
    # urllib3's NewConnectionError (refused) is a ConnectTimeoutError too.
    return outcome.response is None and isinstance(
        outcome.error, urllib3.exceptions.ConnectTimeoutError
    )
