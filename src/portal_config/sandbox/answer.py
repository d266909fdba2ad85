"""The sandbox's answers: an envelope and the HTTP status it travels under, and the two
ways a request ends without one (a refused body, a dropped connection)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from portal_config.live import envelope


@dataclass(frozen=True)
class Answer:
    """One answer: an envelope, plus the HTTP status line it travels under."""

    code: int
    message: str | None = None
    response: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    http: int | None = None  # fixed status (proxy faults, transport errors) in either mode

    def envelope(self) -> dict[str, Any]:
        messages = [self.message] if self.message else []
        return {"code": self.code, "messages": messages, "response": self.response}

    def status(self, http_status_errors: bool) -> int:
        """HTTP 200 for every envelope, like OutSmart; or the code's own status if asked."""
        if self.http is not None:
            return self.http
        if http_status_errors and self.code != envelope.OK:
            return envelope.CODES[self.code].http
        return 200


def bad_request(message: str) -> Answer:
    # The framing of the request is broken: an HTTP-level refusal, as any web server sends.
    return Answer(envelope.BAD_REQUEST, message, http=400)


class Drop(Exception):
    """Close the connection without a (complete) answer."""


class Refused(Exception):
    """The request's body cannot be read as sent: answer this, then close the connection."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.message)
        self.answer = answer
