"""The OutSmart adapter: every wire detail of the portal-settings API lives here.

The contract (openapi/portal-settings.yaml) follows OutSmart's published OpenAPI
style: paths under ``/openapi/8/`` ending in a slash, the account ``token`` and
``software_token`` as query parameters, and a ``{"code", "messages", "response"}``
envelope. Pointing portal-config at a real endpoint means changing this module
only: paths, field names, envelope and auth.

OutSmart answers errors with HTTP 200 and an error code in the envelope, so every
answer is judged by its ``code`` (the table in envelope.py) first and its HTTP status
second; a proxy in front may still answer 429 or 5xx, or mirror the code in the status.

HTTP comes from urllib3 (the library under requests). The retry loop is ours, so that
every retry can be announced in one line (``say``) and every request logged, redacted
(``trace``); urllib3's ``Retry`` still keeps the budgets and does the backoff arithmetic
(exponential, with jitter) and the Retry-After parsing (capped). Retried: 429,
500/502/503/504, code 1007, connections closed mid-answer (full budget); connection
refused or connect timeouts (at most CONNECT_RETRIES); a server that never answers (at
most READ_TIMEOUT_RETRIES, so it fails within (1 + READ_TIMEOUT_RETRIES) x the read
timeout). Never retried: an unknown host name, TLS failures, every other code. Writes
are retried too: each carries the portal's revision, so a repeated write can never
overwrite a newer change. At worst it comes back as a conflict, whose answer carries
the current portal for apply to compare (see apply.py).

Redirects are never followed: the tokens travel in the URL and would go wherever the
redirect points. Tokens travel in the URL, so nothing here ever prints a URL or an
exception text without `redact()`.
"""

from __future__ import annotations

import json as _json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.util.retry import Retry

from portal_config import __version__, envelope
from portal_config.errors import ExitCode, PortalConfigError
from portal_config.model import FLAGS, LivePortal, PortalSettings, WorkType
from portal_config.redaction import guard_loggers, redact, register_secret
from portal_config.tokens import DEFAULT_SOFTWARE_TOKEN_ENV, DEFAULT_TOKEN_ENV

API_VERSION_PATH = "/openapi/8/"
PAGE_SIZE = 100
RETRY_AFTER_CAP = 30  # seconds; a server asking for longer is treated as an outage
RETRY_STATUSES = (429, 500, 502, 503, 504)
SECRET_PARAMS = ("token", "software_token")
# Short budgets where retrying rarely helps and only keeps a CI log silent: a refused
# connection is a down or wrong host; a server that let one read time out will likely
# let the next one time out too.
CONNECT_RETRIES = 2
READ_TIMEOUT_RETRIES = 1
# Bounds on what a server may claim: beyond them the answer is nonsense (or hostile),
# and believing it would mean millions of requests or exhausting memory.
MAX_PAGES = 10_000
MAX_ITEMS = 10_000  # work types in an account or in one portal
MAX_REVISION = 2**53  # the largest integer every JSON parser reads exactly
MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_DETAIL = 300  # characters of the server's messages quoted in an error

T = TypeVar("T")
R = TypeVar("R")
Say = Callable[[str], None]


class ApiError(PortalConfigError):
    """The API could not be used: unreachable, refused, or answered nonsense.

    ``status`` is the HTTP status of a definite answer, or for an envelope error the HTTP
    equivalent of its code (envelope.CODES[code].http): below 500 and not 429 means the
    request was refused and nothing was written. None means the outcome is unknown
    (no answer, an unknown code, an answer that is not an envelope). ``code`` is the
    envelope code when the answer carried one that is not 200.
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
    ):
        super().__init__(redact(message))
        self.portal = portal
        self.status = status
        self.code = code


class ConflictError(ApiError):
    """A write was refused because the portal's revision moved on since it was read."""

    def __init__(self, portal: str, current: LivePortal | None) -> None:
        super().__init__(
            f"portal {portal}: revision conflict", portal=portal, status=409, code=envelope.CONFLICT
        )
        self.current = current


@dataclass(frozen=True)
class ClientSettings:
    concurrency: int = 4
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    deadline: float = 300.0  # seconds for a whole run of requests
    retries: int = 6
    backoff: float = 0.25
    verify: bool | str = True


guard_loggers()


class _Retry(Retry):
    def get_retry_after(self, response: Any) -> float | None:
        # Honour Retry-After, but never sleep longer than the cap for one answer.
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def _retry_policy(settings: ClientSettings) -> _Retry:
    # Only budgets and arithmetic: the loop in OutSmartClient._call decides what is
    # retried, and read-timeouts have their own, smaller budget there.
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


@dataclass(frozen=True)
class _Retryable:
    """A failed attempt worth another: what to say while retrying, and when giving up."""

    reason: str  # for the retry line: "HTTP 503", "OutSmart code 1007", "connection refused"
    message: str  # for the error once no attempt is left
    response: urllib3.BaseHTTPResponse | None = None
    error: Exception | None = None
    status: int | None = None
    code: int | None = None
    timed_out: bool = False


class OutSmartClient:
    """Talks to one OutSmart account's portal-settings API.

    ``say`` receives one line per retry, ``trace`` one redacted line per request (for
    --verbose); both may be called from worker threads.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        software_token: str,
        settings: ClientSettings | None = None,
        *,
        token_env: str = DEFAULT_TOKEN_ENV,
        software_token_env: str = DEFAULT_SOFTWARE_TOKEN_ENV,
        say: Say | None = None,
        trace: Say | None = None,
    ) -> None:
        self.settings = settings or ClientSettings()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._auth = {"token": token, "software_token": software_token}
        self._token_envs = {
            envelope.UNAUTHORIZED_TOKEN: ("account token", token_env),
            envelope.UNAUTHORIZED_SOFTWARE_TOKEN: ("software token", software_token_env),
        }
        self._say = say
        self._trace = trace
        register_secret(token)
        register_secret(software_token)
        verify = self.settings.verify
        # One pool per host, as many keep-alive connections as requests may be in flight;
        # block=True makes extra threads wait for a connection instead of opening more.
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=max(1, self.settings.concurrency),
            block=True,
            retries=False,  # _call retries, so that it can say so
            headers={"User-Agent": f"portal-config/{__version__}"},
            cert_reqs="CERT_REQUIRED",  # TLS verification is always on
            ca_certs=verify if isinstance(verify, str) else None,
        )
        self._deadline = time.monotonic() + self.settings.deadline

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> OutSmartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        return redact(self.base_url)

    # -- operations --------------------------------------------------------------------
    def list_portals(self) -> list[LivePortal]:
        """All portals in as few requests as the API allows: page 1, then the rest at once."""
        first = self._call("GET", "portals/", params={"page": 1, "per_page": PAGE_SIZE})
        if not isinstance(first, dict):
            raise ApiError("GET portals/: response is not a page of portals")
        pages = first.get("pages", 1)
        if not _whole(pages, 1, MAX_PAGES):
            raise ApiError(
                f"GET portals/: server claims {pages!r} pages; refusing "
                f"(expected a whole number from 1 to {MAX_PAGES})"
            )
        rest = self.map(
            lambda page: self._call(
                "GET", "portals/", params={"page": page, "per_page": PAGE_SIZE}
            ),
            range(2, pages + 1),
        )
        portals: list[LivePortal] = []
        for page, body in enumerate([first, *rest], start=1):
            items = body.get("portals") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise ApiError("GET portals/: response has no 'portals' list")
            if len(items) > PAGE_SIZE:
                raise ApiError(
                    f"GET portals/: page {page} holds {len(items)} portals, more than the "
                    f"{PAGE_SIZE} asked for; refusing"
                )
            portals.extend(_portal_from_wire(item) for item in items)
        return portals

    def get_portal(self, portal: str) -> LivePortal:
        return _portal_from_wire(self._call("GET", f"portals/{_segment(portal)}/", portal=portal))

    def replace_portal(self, desired: PortalSettings, revision: int) -> LivePortal:
        """Replace the guest settings, if the portal is still at ``revision``."""
        body = {"revision": revision, "guest_workorder": _guest_to_wire(desired)}
        path = f"portals/{_segment(desired.portal)}/"
        return _portal_from_wire(self._call("PUT", path, json=body, portal=desired.portal))

    def list_work_types(self) -> list[WorkType]:
        """The account's work types, inactive ones included (`wrt_active` "0").

        OutSmart's published shape: ``response`` is a list of records whose values are
        all strings, e.g. ``{"wrt_name": "Storing", "wrt_active": "1", ...}``.
        """
        body = self._call("GET", "worktypes/")
        if not isinstance(body, list):
            raise ApiError("GET worktypes/: response is not a list of work types")
        if len(body) > MAX_ITEMS:
            raise ApiError(
                f"GET worktypes/: server sent {len(body)} work types, more than {MAX_ITEMS}; "
                "refusing"
            )
        return [_work_type_from_wire(item) for item in body]

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` with at most `concurrency` requests in flight, in order."""
        items = list(items)
        if len(items) <= 1 or self.settings.concurrency <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            futures = [pool.submit(fn, item) for item in items]
            try:
                return [future.result() for future in futures]
            except BaseException:
                # Ctrl-C or a failure: start nothing new; requests in flight finish as
                # the pool shuts down, so no write is cut off half-sent by us.
                for future in futures:
                    future.cancel()
                raise

    # -- transport ---------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        portal: str | None = None,
    ) -> Any:
        what = f"{method} {path}"
        url = f"{self.base_url}{path}?{urlencode({**(params or {}), **self._auth})}"
        body = None if json is None else _json.dumps(json).encode()
        retry = _retry_policy(self.settings)
        attempt, timeouts = 1, 0
        while True:
            outcome = self._attempt(method, url, body, what, portal)
            if not isinstance(outcome, _Retryable):
                return outcome
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
    def _left(retry: Retry, outcome: _Retryable, timeouts: int) -> int:
        """Attempts left after the next one, if this failure keeps coming back."""
        if outcome.response is not None:
            budgets = [retry.status]
        elif outcome.timed_out:
            budgets = [retry.read, READ_TIMEOUT_RETRIES - timeouts]
        elif isinstance(outcome.error, urllib3.exceptions.ConnectTimeoutError):
            # urllib3's NewConnectionError (refused) is a ConnectTimeoutError too.
            budgets = [retry.connect]
        else:
            budgets = [retry.read]
        return min(b for b in [retry.total, *budgets] if isinstance(b, int))

    def _attempt(
        self, method: str, url: str, body: bytes | None, what: str, portal: str | None
    ) -> Any:
        """One request: the answer's ``response``, a _Retryable, or an ApiError raised."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            message = f"{what}: gave up, the run's deadline of {self.settings.deadline:g}s passed"
            raise ApiError(message, portal=portal)
        read_timeout = min(self.settings.read_timeout, remaining)
        timeout = urllib3.Timeout(connect=self.settings.connect_timeout, read=read_timeout)
        headers = {"Content-Type": "application/json"} if body is not None else None
        started = time.monotonic()
        try:
            response = self._pool.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=timeout,
                redirect=False,
                preload_content=False,
                # A safety net for a slot that is never given back: fail at the deadline
                # instead of waiting for a free connection forever.
                pool_timeout=remaining,
            )
            # The body is read here, inside the attempt, so an answer cut off mid-body is
            # retried like any other dropped connection; at most MAX_BODY_BYTES of it.
            data = response.read(MAX_BODY_BYTES + 1)
            if len(data) > MAX_BODY_BYTES:
                # The rest is unread, so the connection cannot be reused: close it, but
                # still hand its slot back, or with block=True the pool runs dry.
                response.close()
            response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            cause = _reason(exc)
            self._log(f"{method} {url} -> {cause}", started)
            return self._transport_failure(exc, cause, read_timeout, what, portal)
        answer = _parse(data)
        code = answer.get("code") if isinstance(answer, dict) else None
        self._log(f"{method} {url} -> HTTP {response.status} code {code!r}", started)
        if len(data) > MAX_BODY_BYTES:
            raise ApiError(
                f"{what}: answer larger than {MAX_BODY_BYTES // 2**20} MiB; refusing", portal=portal
            )
        return self._unwrap(response, answer, what, portal)

    def _log(self, line: str, started: float) -> None:
        if self._trace is not None:
            elapsed = round((time.monotonic() - started) * 1000)
            self._trace(redact(f"{line} ({elapsed} ms)"))

    def _transport_failure(
        self, exc: Exception, cause: str, read_timeout: float, what: str, portal: str | None
    ) -> _Retryable:
        if cause == "no answer":
            return _Retryable(
                f"no answer within {read_timeout:g} s",
                f"no answer from {self._host()} within {read_timeout:g} s",
                error=exc,
                timed_out=True,
            )
        if cause in ("connection refused", "connect timed out"):
            return _Retryable(cause, f"cannot reach {self._host()}: {cause}", error=exc)
        if cause == "connection closed by the server":
            return _Retryable(cause, "the server closed the connection mid-answer", error=exc)
        if cause == "TLS verification failed":
            message = f"{what}: TLS verification failed for {self._host()}"
        elif cause == "host name not found":
            # Not retried: a name that does not resolve will not resolve in a second.
            message = f"{what}: cannot reach {self._host()}: host name not found"
        else:
            message = f"{what}: request failed ({cause})"
        raise ApiError(message, portal=portal)

    def _unwrap(
        self, response: urllib3.BaseHTTPResponse, answer: Any, what: str, portal: str | None
    ) -> Any:
        status = response.status
        if 300 <= status < 400:
            raise ApiError(f"{what}: {self._redirected(response)}", portal=portal, status=status)
        code: Any = answer.get("code") if isinstance(answer, dict) else None
        detail = _detail(answer.get("messages") if isinstance(answer, dict) else None)
        if _is_code(code) and code != envelope.OK and code in envelope.CODES:
            return self._code_error(code, status, answer, detail, response, what, portal)
        if status in RETRY_STATUSES:
            message = f"HTTP {status} {detail or response.reason or ''}".rstrip()
            return _Retryable(f"HTTP {status}", message, response=response, status=status)
        if status >= 400:
            # A proxy's answer, or a status mirroring a code we have no entry for: a
            # definite refusal at the HTTP level.
            if status == 401:
                variables = " and ".join(env for _, env in self._token_envs.values())
                message = f"{what}: HTTP 401 unauthorized; check {variables}"
            else:
                message = _with(f"{what}: HTTP {status}", detail or response.reason or "")
            raise ApiError(message, portal=portal, status=status)
        if not isinstance(answer, dict) or "response" not in answer:
            why = "no JSON envelope"
        elif code is None:
            why = "no code"
        elif not _is_code(code):
            why = f"code {code!r} is not an integer"
        else:
            why = ""
        if why:
            # Nothing says whether a write happened: the outcome is unknown (status None).
            message = f"{what}: HTTP {status}, not an OutSmart API envelope ({why})"
            raise ApiError(message, portal=portal)
        if code != envelope.OK:
            # A code not in the table: nothing says whether a write happened either.
            message = f"{what}: OutSmart code {code} ({envelope.describe(code)})"
            raise ApiError(_with(message, detail), portal=portal, code=code)
        return answer["response"]

    def _code_error(
        self,
        code: int,
        status: int,
        answer: dict[str, Any],
        detail: str,
        response: urllib3.BaseHTTPResponse,
        what: str,
        portal: str | None,
    ) -> _Retryable:
        known = envelope.CODES[code]
        if code == envelope.CONFLICT and portal is not None:
            current = answer.get("response")
            raise ConflictError(
                portal, _portal_from_wire(current) if isinstance(current, dict) else None
            )
        if code in self._token_envs:
            which, variable = self._token_envs[code]
            message = f"{what}: OutSmart code {code}: the {which} was refused; check {variable}"
            raise ApiError(message, portal=portal, status=known.http, code=code)
        message = _with(f"OutSmart code {code} ({known.meaning})", detail)
        if known.retry or status in RETRY_STATUSES:
            return _Retryable(
                f"OutSmart code {code}", message, response=response, status=known.http, code=code
            )
        raise ApiError(f"{what}: {message}", portal=portal, status=known.http, code=code)

    def _redirected(self, response: urllib3.BaseHTTPResponse) -> str:
        location = response.headers.get("Location")
        if not location:
            return (
                f"HTTP {response.status} redirect without a Location; redirects are never followed"
            )
        parts = urlsplit(location)
        target = (
            _origin(parts.scheme, parts.hostname, parts.port) if parts.hostname else self._host()
        )
        return (
            f"the server redirected to {target}; redirects are never followed "
            "(tokens travel in the URL)"
        )

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return _origin(parts.scheme, parts.hostname, parts.port)


def _origin(scheme: str, host: str | None, port: int | None) -> str:
    """scheme://host[:port], never a user, path or query (a query may hold tokens)."""
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _parse(data: bytes) -> Any:
    try:
        return _json.loads(data)
    except (ValueError, RecursionError):  # UnicodeDecodeError too; nesting from a hostile server
        return None


def _is_code(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _detail(messages: Any) -> str:
    """The server's messages as one short line: errors are printed as exactly one line."""
    if not isinstance(messages, list):
        return ""
    text = "; ".join(str(m) for m in messages if m)
    text = " ".join(text.split())  # newlines and control whitespace would split the line
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _with(message: str, detail: str) -> str:
    return f"{message}: {detail}" if detail else message


def _whole(value: Any, low: int, high: int) -> bool:
    return _is_code(value) and low <= value <= high


# -- wire format -------------------------------------------------------------------------
def _portal_from_wire(item: Any) -> LivePortal:
    try:
        guest = item["guest_workorder"]
        settings = PortalSettings(
            portal=str(item["portal_id"]),
            enabled=_bool(guest["enabled"]),
            **{flag: _bool(guest.get(flag, False)) for flag in FLAGS},
            work_types=_work_types(guest.get("work_types") or []),
        )
        return LivePortal(
            settings=settings,
            revision=_revision(item["revision"]),
            name=str(item.get("name", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(
            f"unexpected portal record from the API ({exc.__class__.__name__}: {exc})"
        ) from None


def _work_type_from_wire(item: Any) -> WorkType:
    name = item.get("wrt_name") if isinstance(item, dict) else None
    if not _is_name(name):
        raise ApiError("GET worktypes/: a work type has no wrt_name")
    active = item.get("wrt_active", "1")
    if not isinstance(active, (str, int)) or active not in _ACTIVE:
        raise ApiError(f"GET worktypes/: work type {name!r} has wrt_active {active!r}, not 1 or 0")
    return WorkType(name, _ACTIVE[active])


# OutSmart sends strings; accept the numbers a future version might send instead.
_ACTIVE: dict[Any, bool] = {"1": True, "0": False, 1: True, 0: False}


def _guest_to_wire(settings: PortalSettings) -> dict[str, Any]:
    return {
        "enabled": settings.enabled,
        **{flag: getattr(settings, flag) for flag in FLAGS},
        "work_types": list(settings.work_types),
    }


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true/false, got {value!r}")
    return value


def _revision(value: Any) -> int:
    if not _whole(value, 0, MAX_REVISION):
        raise ValueError(f"revision {value!r} is not a whole number from 0 to 2**53")
    return int(value)


def _work_types(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError(f"work_types must be a list of at most {MAX_ITEMS} names")
    for name in value:
        # As _work_type_from_wire: str() would turn null into a work type called "None".
        if not _is_name(name):
            raise ValueError(f"work type {name!r} is not a name")
    return tuple(value)


def _is_name(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _segment(portal: str) -> str:
    return quote(portal, safe="")


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
    (
        frozenset(
            {"RemoteDisconnected", "IncompleteRead", "ProtocolError", "ConnectionResetError"}
        ),
        "connection closed by the server",
    ),
)
