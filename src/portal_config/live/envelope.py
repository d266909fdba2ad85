"""The OutSmart answer envelope and its codes: the one table the adapter and the sandbox share.

Every OutSmart answer is ``{"code": int, "messages": [str], "response": data}``. The
real API answers errors with **HTTP 200** and an error code in the envelope, so a client
must read the code, never only the HTTP status. ``code`` 200 is success.

Two sources feed the table:

- ``outsmart``: codes documented in OutSmart's API Blueprint (see
  shared/reference/outsmart-guest-workorders.md);
- ``contract``: codes of our own portal-settings contract (openapi/portal-settings.yaml),
  for conditions OutSmart documents no code for. They reuse the HTTP status numbers, so
  they can never collide with OutSmart's four-digit codes.

``http`` is the status the sandbox sends in its HTTP-status mode (a proxy-like server
that mirrors the code in the status line); in its default, OutSmart-like mode every
one of these answers is HTTP 200.
"""

from __future__ import annotations

from dataclasses import dataclass

OK = 200


@dataclass(frozen=True)
class Code:
    code: int
    meaning: str
    source: str  # "outsmart" or "contract"
    retry: bool = False  # transient: retried like an HTTP 5xx
    http: int = 400  # the status used when the sandbox mirrors codes as HTTP statuses


UNAUTHORIZED_TOKEN = 1004
UNAUTHORIZED_SOFTWARE_TOKEN = 1005
HTTPS_REQUIRED = 1006
UNCAUGHT = 1007
EMPTY_BODY = 1008
UNPARSABLE_BODY = 1009
REQUIRED_FIELD = 1101
BAD_REQUEST = 400
NOT_FOUND = 404
METHOD_NOT_ALLOWED = 405
CONFLICT = 409
TOO_LARGE = 413
INVALID = 422

CODES: dict[int, Code] = {
    c.code: c
    for c in (
        Code(UNAUTHORIZED_TOKEN, "unauthorized client token", "outsmart", http=401),
        Code(UNAUTHORIZED_SOFTWARE_TOKEN, "unauthorized software token", "outsmart", http=401),
        Code(HTTPS_REQUIRED, "https required", "outsmart", http=403),
        Code(UNCAUGHT, "general uncaught error", "outsmart", retry=True, http=500),
        Code(EMPTY_BODY, "empty body", "outsmart"),
        Code(UNPARSABLE_BODY, "body could not be parsed", "outsmart"),
        Code(REQUIRED_FIELD, "required field missing", "outsmart", http=422),
        Code(2600, "work type insert failed", "outsmart", http=422),
        Code(2601, "work type insert failed", "outsmart", http=422),
        Code(BAD_REQUEST, "bad request (query parameters)", "contract"),
        Code(NOT_FOUND, "not found (portal or endpoint)", "contract", http=404),
        Code(METHOD_NOT_ALLOWED, "method not allowed", "contract", http=405),
        Code(
            CONFLICT,
            "revision conflict; the response holds the current portal",
            "contract",
            http=409,
        ),
        Code(TOO_LARGE, "request body too large", "contract", http=413),
        Code(INVALID, "invalid field value (wrong type, unknown work type)", "contract", http=422),
    )
}


def describe(code: int) -> str:
    """What a code means, for messages; unknown codes are named as such."""
    known = CODES.get(code)
    return known.meaning if known else "unknown error code"
