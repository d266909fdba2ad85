"""Text as messages and files need it: whether a value can be written at all, and how much
of a long one a message quotes.

The lowest layer: the adapter's record shapes (wire.py), its answer reading (answers.py)
and the schema's messages (schema.py) share these, and it imports nothing of the tool.
"""

from __future__ import annotations

from typing import Any

CLIP = 120  # characters of a value a one-line message quotes


def encodable(value: Any) -> bool:
    """Every string in ``value`` (a string, or parsed JSON: keys too) can be written as UTF-8.

    JSON may escape half a UTF-16 pair ("\\udc80"): such a lone surrogate decodes, but no
    file, terminal or log can hold it.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def clip(text: str, limit: int = CLIP) -> str:
    """``text``, or its first ``limit`` characters ending in "...": a hostile value can be
    megabytes long, and a message is one line."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
