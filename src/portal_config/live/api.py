"""The OutSmart adapter: paths, envelope codes, auth, and the four operations.

The adapter is four modules: this one, wire.py (the record shapes: portal and work-type
records to the model and back, and the bounds on what a server may claim),
transport.py (HTTP: the pool, retries, timeouts, refusing redirects) and answers.py
(an answer's body read within its budgets and parsed).

The contract (openapi/portal-settings.yaml) follows OutSmart's published OpenAPI
style: paths under ``/openapi/8/`` ending in a slash, the account ``token`` and
``software_token`` as query parameters, and a ``{"code", "messages", "response"}``
envelope. Pointing portal-config at a real endpoint means changing the adapter only:
paths, envelope and auth here, field names in wire.py.

OutSmart answers errors with HTTP 200 and an error code in the envelope, so every
answer is judged by its ``code`` (the table in envelope.py) first and its HTTP status
second; a proxy in front may still answer 429 or 5xx, or mirror the code in the status.
Code 1007 is retried like a 5xx; every other code is final.

Writes are retried too: each carries the portal's revision, so a repeated write can
never overwrite a newer change. At worst it comes back as a conflict, whose answer
carries the current portal for apply to compare (see apply.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3

from portal_config.live import envelope
from portal_config.live.answers import ByteBudget
from portal_config.live.redaction import redact, register_secret
from portal_config.live.transport import (
    RETRY_STATUSES,
    ApiError,
    ClientSettings,
    Retryable,
    Say,
    Transport,
)
from portal_config.live.wire import (
    MAX_ITEMS,
    WireError,
    is_integer,
    is_whole,
    portal_from_wire,
    sections_to_wire,
    work_type_from_wire,
)
from portal_config.project.config import DEFAULT_SOFTWARE_TOKEN_ENV, DEFAULT_TOKEN_ENV
from portal_config.settings.model import LivePortal, PortalSettings, WorkType

# Re-exported: the rest of the product and the tests know the adapter by this module.
__all__ = ["ApiError", "ClientSettings", "ConflictError", "OutSmartClient", "redact"]

API_VERSION_PATH = "/openapi/8/"
PAGE_SIZE = 100
MAX_PAGES = 10_000  # a server claiming more is answering nonsense (or hostile)
MAX_CODE = 99_999  # OutSmart's codes have 3 or 4 digits
MAX_DETAIL = 300  # characters of the server's messages quoted in an error
# The answers of one listing of portals, together: about 200,000 portals of the usual
# size, while the portals kept from them stay within a few times this in memory.
MAX_LISTING_BYTES = 64 * 2**20

T = TypeVar("T")
R = TypeVar("R")


class ConflictError(ApiError):
    """A write was refused because the portal's revision moved on since it was read."""

    def __init__(self, portal: str, current: LivePortal | None) -> None:
        super().__init__(
            f"portal {portal}: revision conflict", portal=portal, status=409, code=envelope.CONFLICT
        )
        self.current = current


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
        self._display_url: str | None = None
        self._token_envs = {
            envelope.UNAUTHORIZED_TOKEN: ("account token", token_env),
            envelope.UNAUTHORIZED_SOFTWARE_TOKEN: ("software token", software_token_env),
        }
        register_secret(token)
        register_secret(software_token)
        self._transport = Transport(
            self.base_url,
            {"token": token, "software_token": software_token},
            self.settings,
            self._unwrap,
            say=say,
            trace=trace,
        )
        # One request to the account, retried; its answer judged by _unwrap.
        self._call = self._transport.call

    def close(self) -> None:
        self._transport.close()

    def restart_deadline(self) -> None:
        self._transport.restart_deadline()

    def __enter__(self) -> OutSmartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        if self._display_url is None:  # the same all run long; redact is per line
            self._display_url = redact(self.base_url)
        return self._display_url

    # -- operations --------------------------------------------------------------------
    def list_portals(self) -> list[LivePortal]:
        """All portals in as few requests as the API allows: page 1, then the rest at once.

        Each page is kept as its portals (model values) as soon as it is read, never as
        its answer, and the answers of one listing share a budget of MAX_LISTING_BYTES.
        """
        budget = ByteBudget(MAX_LISTING_BYTES, "the pages add up to more than {size}; refusing")

        def read_page(page: int) -> tuple[list[LivePortal], Any]:
            kept: tuple[list[LivePortal], Any] = self._call(
                "GET",
                "portals/",
                params={"page": page, "per_page": PAGE_SIZE},
                budget=budget,
                keep=lambda body: _page_of_portals(page, body),
            )
            return kept

        portals, pages = read_page(1)
        if not is_whole(pages, 1, MAX_PAGES):
            raise ApiError(
                f"GET portals/: server claims {pages!r} pages; refusing "
                f"(expected a whole number from 1 to {MAX_PAGES})"
            )
        for more, _ in self.map(read_page, range(2, pages + 1)):
            portals.extend(more)
        return portals

    def get_portal(self, portal: str) -> LivePortal:
        answer = self._call("GET", f"portals/{_segment(portal)}/", portal=portal)
        return _read(portal_from_wire, answer)

    def replace_portal(self, desired: PortalSettings, revision: int) -> LivePortal:
        """Replace the sections ``desired`` holds, if the portal is still at ``revision``."""
        body = {"revision": revision, **sections_to_wire(desired)}
        path = f"portals/{_segment(desired.portal)}/"
        answer = self._call("PUT", path, json=body, portal=desired.portal)
        return _read(portal_from_wire, answer)

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
        return [_read(work_type_from_wire, item) for item in body]

    def read_account(self) -> tuple[list[LivePortal], list[WorkType]]:
        """The portals and the work types, both requests at once when concurrency allows:
        a fleet's drift is mostly these two round trips per account."""
        if self.settings.concurrency <= 1:
            return self.list_portals(), self.list_work_types()
        with ThreadPoolExecutor(max_workers=1) as pool:
            work_types = pool.submit(self.list_work_types)
            portals = self.list_portals()
            return portals, work_types.result()

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

    # -- the envelope ------------------------------------------------------------------
    def _unwrap(
        self, response: urllib3.BaseHTTPResponse, answer: Any, what: str, portal: str | None
    ) -> Any:
        """The envelope's ``response``, a Retryable, or an ApiError raised."""
        status = response.status
        code: Any = answer.get("code") if isinstance(answer, dict) else None
        detail = _detail(answer.get("messages") if isinstance(answer, dict) else None)
        if is_integer(code) and code != envelope.OK and code in envelope.CODES:
            return self._code_error(code, status, answer, detail, response, what, portal)
        if status in RETRY_STATUSES:
            message = f"HTTP {status} {detail or response.reason or ''}".rstrip()
            return Retryable(f"HTTP {status}", message, response=response, status=status)
        if status >= 400:
            # A proxy's answer, or a status mirroring a code we have no entry for: a
            # definite refusal at the HTTP level.
            if status == 401:
                variables = " and ".join(env for _, env in self._token_envs.values())
                message = f"{what}: HTTP 401 unauthorized; check {variables}"
            elif status == 404 and portal is None:
                message = self._wrong_address(what, "HTTP 404")
            else:
                message = _with(f"{what}: HTTP {status}", detail or response.reason or "")
            raise ApiError(message, portal=portal, status=status)
        if not isinstance(answer, dict) or "response" not in answer:
            why = "no JSON envelope"
        elif code is None:
            why = "no code"
        elif not is_integer(code):
            why = f"code {code!r} is not an integer"
        elif not is_whole(code, 0, MAX_CODE):
            why = f"code is not a whole number from 0 to {MAX_CODE}"  # not 400 digits of it
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
    ) -> Retryable:
        known = envelope.CODES[code]
        if code == envelope.CONFLICT and portal is not None:
            current = answer.get("response")
            raise ConflictError(
                portal, _read(portal_from_wire, current) if isinstance(current, dict) else None
            )
        if code == envelope.NOT_FOUND and portal is None:
            # A list endpoint is never "not found" at the right address.
            message = self._wrong_address(what, f"OutSmart code {code}")
            raise ApiError(message, status=known.http, code=code)
        if code in self._token_envs:
            which, variable = self._token_envs[code]
            message = f"{what}: OutSmart code {code}: the {which} was refused; check {variable}"
            raise ApiError(message, portal=portal, status=known.http, code=code)
        message = _with(f"OutSmart code {code} ({known.meaning})", detail)
        if known.retry or status in RETRY_STATUSES:
            return Retryable(
                f"OutSmart code {code}", message, response=response, status=known.http, code=code
            )
        raise ApiError(f"{what}: {message}", portal=portal, status=known.http, code=code)

    def _wrong_address(self, what: str, answer: str) -> str:
        path = what.split(" ", 1)[1]
        return (
            f"{what}: {answer}: nothing at {self.display_url}{path}; check base_url "
            f"(OutSmart's ends in {API_VERSION_PATH})"
        )


def _page_of_portals(page: int, body: Any) -> tuple[list[LivePortal], Any]:
    """A page's portals, and the number of pages it claims (checked by the caller)."""
    if not isinstance(body, dict):
        raise ApiError("GET portals/: response is not a page of portals")
    items = body.get("portals")
    if not isinstance(items, list):
        raise ApiError("GET portals/: response has no 'portals' list")
    if len(items) > PAGE_SIZE:
        raise ApiError(
            f"GET portals/: page {page} holds {len(items)} portals, more than the "
            f"{PAGE_SIZE} asked for; refusing"
        )
    return [_read(portal_from_wire, item) for item in items], body.get("pages", 1)


def _read(convert: Callable[[Any], T], item: Any) -> T:
    """A wire record as a model value; a record that cannot be read is an API error."""
    try:
        return convert(item)
    except WireError as exc:
        raise ApiError(str(exc)) from None


def _detail(messages: Any) -> str:
    """The server's messages as one short line: errors are printed as exactly one line."""
    if not isinstance(messages, list):
        return ""
    text = "; ".join(str(m) for m in messages if m)
    text = " ".join(text.split())  # newlines and control whitespace would split the line
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 3] + "..."


def _with(message: str, detail: str) -> str:
    return f"{message}: {detail}" if detail else message


def _segment(portal: str) -> str:
    return quote(portal, safe="")
