"""The OutSmart adapter: every wire detail of the portal-settings API lives here.

The contract (openapi/portal-settings.yaml) follows OutSmart's published OpenAPI
style: paths under ``/openapi/8/`` ending in a slash, the account ``token`` and
``software_token`` as query parameters, and a ``{"code", "messages", "response"}``
envelope. Pointing portal-config at a real endpoint means changing this module
only: paths, field names, envelope and auth.

HTTP comes from urllib3 (the library under requests) and its ``Retry``: pooled
keep-alive connections,
connect/read timeouts, exponential backoff with jitter on connect errors, 429
(honouring Retry-After up to a cap) and 500/502/503/504. Writes are retried too:
each carries the portal's revision, so a repeated write can never overwrite a
newer change. At worst it comes back as a conflict, whose answer carries the
current portal for apply to compare (see apply.py).

Tokens travel in the URL, so nothing here ever prints a URL or an exception
text without `redact()`.
"""

from __future__ import annotations

import json as _json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.util.retry import Retry

from portal_config import __version__
from portal_config.errors import ExitCode, PortalConfigError
from portal_config.model import FLAGS, LivePortal, PortalSettings, WorkType

API_VERSION_PATH = "/openapi/8/"
PAGE_SIZE = 100
RETRY_AFTER_CAP = 30  # seconds; a server asking for longer is treated as an outage
RETRY_STATUSES = (429, 500, 502, 503, 504)
SECRET_PARAMS = ("token", "software_token")

T = TypeVar("T")
R = TypeVar("R")


class ApiError(PortalConfigError):
    """The API could not be used: unreachable, refused, or answered nonsense."""

    exit_code = ExitCode.API
    prefix = "api error"

    def __init__(self, message: str, *, portal: str | None = None, status: int | None = None):
        super().__init__(redact(message))
        self.portal = portal
        self.status = status


class ConflictError(ApiError):
    """A write was refused because the portal's revision moved on since it was read."""

    def __init__(self, portal: str, current: LivePortal | None) -> None:
        super().__init__(f"portal {portal}: revision conflict", portal=portal, status=409)
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


# -- redaction ---------------------------------------------------------------------------
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s])(?:software_token|token)=)[^&\s'\"#)]*", re.IGNORECASE)
_known_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret so `redact` removes it wherever it appears, not only in URLs."""
    if value:
        with _secrets_lock:
            _known_secrets.add(value)


def redact(text: str) -> str:
    text = _SECRET_QUERY.sub(r"\1***", text)
    for secret in sorted(_known_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
        encoded = quote(secret, safe="")
        if encoded != secret:
            text = text.replace(encoded, "***")
    return text


class _RedactingFilter(logging.Filter):
    """urllib3 logs retried URLs at DEBUG; make sure no handler ever sees a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.getMessage()))
        record.args = ()
        return True


def _guard_loggers() -> None:
    # Logger filters do not inherit: each urllib3 module logs on its own child logger
    # (urllib3.connectionpool writes full request URLs at DEBUG), so guard every one.
    guard = _RedactingFilter()
    names = [
        n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("urllib3", "requests")
    ]
    for name in ["urllib3", "requests", *names]:
        logging.getLogger(name).addFilter(guard)


_guard_loggers()


class _Retry(Retry):
    def get_retry_after(self, response: Any) -> float | None:
        # Honour Retry-After, but never sleep longer than the cap for one answer.
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, RETRY_AFTER_CAP)


def _retry_policy(settings: ClientSettings) -> Retry:
    return _Retry(
        total=settings.retries,
        connect=settings.retries,
        read=settings.retries,
        status=settings.retries,
        other=0,
        allowed_methods=frozenset({"GET", "PUT"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff,
        backoff_jitter=settings.backoff,
        backoff_max=8.0,
        respect_retry_after_header=True,
        raise_on_status=False,  # the final answer is turned into an ApiError below
    )


class OutSmartClient:
    """Talks to one OutSmart account's portal-settings API."""

    def __init__(
        self, base_url: str, token: str, software_token: str, settings: ClientSettings | None = None
    ) -> None:
        self.settings = settings or ClientSettings()
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._auth = {"token": token, "software_token": software_token}
        register_secret(token)
        register_secret(software_token)
        verify = self.settings.verify
        # One pool per host, as many keep-alive connections as requests may be in flight;
        # block=True makes extra threads wait for a connection instead of opening more.
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=max(1, self.settings.concurrency),
            block=True,
            retries=_retry_policy(self.settings),
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
        pages = _int(first.get("pages", 1), "pages")
        rest = self.map(
            lambda page: self._call(
                "GET", "portals/", params={"page": page, "per_page": PAGE_SIZE}
            ),
            range(2, pages + 1),
        )
        portals: list[LivePortal] = []
        for body in [first, *rest]:
            items = body.get("portals")
            if not isinstance(items, list):
                raise ApiError("GET portals/: response has no 'portals' list")
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
        remaining = self._deadline - time.monotonic()
        what = f"{method} {path}"
        if remaining <= 0:
            message = f"{what}: gave up, the run's deadline of {self.settings.deadline:g}s passed"
            raise ApiError(message, portal=portal)
        timeout = urllib3.Timeout(
            connect=self.settings.connect_timeout, read=min(self.settings.read_timeout, remaining)
        )
        url = f"{self.base_url}{path}?{urlencode({**(params or {}), **self._auth})}"
        body = None if json is None else _json.dumps(json).encode()
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            # preload_content: the body is read inside urllib3's retry loop, so an answer
            # cut off mid-body is retried like any other dropped connection.
            response = self._pool.request(
                method, url, body=body, headers=headers, timeout=timeout, preload_content=True
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(f"{what}: {self._failure(exc)}", portal=portal) from None
        return self._unwrap(response, what, portal)

    def _failure(self, exc: BaseException) -> str:
        cause = _reason(exc)
        if cause == "TLS verification failed":
            return f"TLS verification failed for {self._host()}"
        if cause in ("connection refused", "host name not found", "timed out"):
            return f"cannot reach {self._host()} ({cause})"
        return f"request failed ({cause})"

    def _unwrap(self, response: urllib3.BaseHTTPResponse, what: str, portal: str | None) -> Any:
        status = response.status
        try:
            envelope = _json.loads(response.data)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or "response" not in envelope:
            message = f"{what}: HTTP {status}, not an OutSmart API envelope"
            raise ApiError(message, portal=portal, status=status)
        messages = envelope.get("messages") or []
        detail = "; ".join(str(m) for m in messages if m) or response.reason or ""
        if status == 409 and portal is not None:
            current = envelope.get("response")
            raise ConflictError(
                portal, _portal_from_wire(current) if isinstance(current, dict) else None
            )
        if status == 404:
            raise ApiError(f"{what}: HTTP 404 {detail}".rstrip(), portal=portal, status=status)
        if status == 401:
            message = f"{what}: HTTP 401 unauthorized; check the token variables"
            raise ApiError(message, portal=portal, status=status)
        if status in RETRY_STATUSES:
            tries = self.settings.retries + 1
            message = f"{what}: HTTP {status} {detail} (gave up after {tries} attempts)"
            raise ApiError(message, portal=portal, status=status)
        if status >= 300:
            raise ApiError(f"{what}: HTTP {status} {detail}".rstrip(), portal=portal, status=status)
        return envelope["response"]

    def _host(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


# -- wire format -------------------------------------------------------------------------
def _portal_from_wire(item: Any) -> LivePortal:
    try:
        guest = item["guest_workorder"]
        settings = PortalSettings(
            portal=str(item["portal_id"]),
            enabled=_bool(guest["enabled"]),
            **{flag: _bool(guest.get(flag, False)) for flag in FLAGS},
            work_types=tuple(str(w) for w in guest.get("work_types") or ()),
        )
        return LivePortal(
            settings=settings,
            revision=_int(item["revision"], "revision"),
            name=str(item.get("name", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(
            f"unexpected portal record from the API ({exc.__class__.__name__}: {exc})"
        ) from None


def _work_type_from_wire(item: Any) -> WorkType:
    name = item.get("wrt_name") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name.strip():
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


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(f"unexpected {name} {value!r} from the API")
    return value


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
    (
        frozenset({"ReadTimeoutError", "ReadTimeout", "ConnectTimeoutError", "ConnectTimeout"}),
        "timed out",
    ),
    (frozenset({"NameResolutionError", "gaierror"}), "host name not found"),
    (frozenset({"ConnectionRefusedError"}), "connection refused"),
    (
        frozenset(
            {"RemoteDisconnected", "IncompleteRead", "ProtocolError", "ConnectionResetError"}
        ),
        "connection closed by the server",
    ),
)
