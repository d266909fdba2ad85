"""One compiler for the JSON Schemas lint checks against, with two outputs.

The schema is walked once per output, here: its keywords in the order it lists them,
each handed to the output's builder, and anything no builder models makes the whole
schema `Unsupported`, so the caller falls back to jsonschema. The two outputs are a
yes/no check for the clean case (`precheck`) and a validator that explains every error
as jsonschema would (`compiled_validator`); they differ in what they make of a keyword,
never in how a schema is read. The schema files stay the single source of truth.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

# Keywords that only annotate; they never make an instance invalid.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "title", "description", "default", "examples", "$comment"}
)

Part = TypeVar("Part")  # what a builder makes of one keyword
Compiled = TypeVar("Compiled")  # what a (sub)schema compiles to
# A keyword's builder: its value and the whole (sub)schema -> its part, or None for none.
Builder = Callable[[Any, dict[str, Any]], Part | None]


class Unsupported(Exception):
    """The schema uses something this output does not model: jsonschema alone checks it."""


def walk(
    schema: Any,
    builders: Mapping[str, Builder[Part]],
    combine: Callable[[dict[str, Any], list[tuple[str, Part]]], Compiled],
    literal: Callable[[bool], Compiled] | None = None,
) -> Compiled:
    """``schema`` compiled: each keyword's part, in the schema's order, then combined.

    ``literal`` compiles the true and false schemas; without one they are unsupported.
    A builder compiles a subschema by calling its output's own compile, which walks here.
    """
    if isinstance(schema, bool) and literal is not None:
        return literal(schema)
    if not isinstance(schema, dict):
        raise Unsupported(repr(schema))
    unknown = set(schema) - ANNOTATIONS - builders.keys()
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    parts = [(key, builders[key](schema[key], schema)) for key in schema if key in builders]
    return combine(schema, [(keyword, part) for keyword, part in parts if part is not None])


def pattern(text: str) -> re.Pattern[str]:
    """A ``pattern`` keyword's expression; one Python cannot read is unsupported."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise Unsupported(f"pattern {text!r}") from exc
