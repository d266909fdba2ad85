"""Redaction: OutSmart passes its tokens in the URL, so every text that may hold a URL,
an exception message or a server's words goes through `redact()` before anyone sees it.

Token parameters in URLs are always redacted whole. Literal secrets (registered by the
client) are removed from free text too, but only from MIN_SECRET_LENGTH on.
"""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

# Literal secrets shorter than this are not searched for in free text: a short token
# ("a") would match inside ordinary words and garble every message ("port***ls/").
# Token parameters in URLs are redacted whole whatever their length.
MIN_SECRET_LENGTH = 8
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s])(?:software_token|token)=)[^&\s'\"#)]*", re.IGNORECASE)
# Each secret with its URL-encoded spelling, longest first; rebuilt on registration
# (rare) so that `redact` (every printed line) never encodes anything: a fleet run
# registers a token per account, and quoting each on every line grew with their number.
_known_secrets: dict[str, str] = {}
_spellings: tuple[str, ...] = ()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Remember a secret so `redact` removes it wherever it appears, not only in URLs."""
    global _spellings
    if len(value) < MIN_SECRET_LENGTH:
        return
    with _secrets_lock:
        if value in _known_secrets:
            return
        _known_secrets[value] = quote(value, safe="")
        ordered = sorted(_known_secrets, key=len, reverse=True)
        _spellings = tuple(
            spelling
            for secret in ordered
            for spelling in dict.fromkeys((secret, _known_secrets[secret]))
        )


def redact(text: str) -> str:
    text = _SECRET_QUERY.sub(r"\1***", text)
    for spelling in _spellings:  # one immutable snapshot: registration swaps it whole
        if spelling in text:
            text = text.replace(spelling, "***")
    return text


class _RedactingFilter(logging.Filter):
    """urllib3 logs retried URLs at DEBUG; make sure no handler ever sees a token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.getMessage()))
        record.args = ()
        return True


def guard_loggers() -> None:
    # Logger filters do not inherit: each urllib3 module logs on its own child logger
    # (urllib3.connectionpool writes full request URLs at DEBUG), so guard every one.
    guard = _RedactingFilter()
    names = [
        n for n in logging.root.manager.loggerDict if n.split(".")[0] in ("urllib3", "requests")
    ]
    for name in ["urllib3", "requests", *names]:
        logging.getLogger(name).addFilter(guard)
