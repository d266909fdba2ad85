"""The portal schema's errors without importing jsonschema: the keywords it uses, compiled.

A run with a few broken files used to pay jsonschema's import (30-50 ms, more than the
rest of a small run) for a handful of errors. `compile_validator` turns a schema that
uses only the keywords below into a validator whose errors carry what `schema._errors`
reads from jsonschema's (keyword, its value, the instance, the subschema, the path,
the message), yielded in jsonschema's order: the schema's keywords in the order the
schema lists them, properties in the schema's order, list items in order. A schema with
any other keyword compiles to None and jsonschema validates it, as before. The walk over
the schema is `schema_compiler`'s, shared with the precheck.

jsonschema stays the reference: tests compare every error, field by field, on the
shared corpus, generated projects and random documents (tests/test_compiled_validator.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from portal_config.lint.schema_compiler import Unsupported, pattern, walk

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class SchemaError:
    """One error, with the fields of jsonschema's ValidationError that lint reads."""

    validator: str
    validator_value: Any
    instance: Any
    schema: dict[str, Any]
    absolute_path: JsonPath
    message: str
    context: list[Any] = field(default_factory=list)


_Errors = Iterator[SchemaError]
_Check = Callable[[Any, JsonPath], _Errors]


class CompiledValidator:
    """``iter_errors`` as Draft202012Validator's, for the schema it was compiled from."""

    def __init__(self, check: _Check) -> None:
        self._check = check

    def iter_errors(self, instance: Any) -> _Errors:
        return self._check(instance, ())


def compile_validator(schema: dict[str, Any]) -> CompiledValidator | None:
    try:
        return CompiledValidator(_compile(schema))
    except Unsupported:
        return None


def _is_type(value: Any, name: str) -> bool:
    """jsonschema's draft 2020-12 type checker: a bool is no number, 1.0 is an integer."""
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise Unsupported(f"type {name!r}")


def _compile(schema: Any) -> _Check:
    return walk(schema, _KEYWORDS, _combine)  # true/false schemas: left to jsonschema


def _combine(schema: dict[str, Any], parts: list[tuple[str, _Part]]) -> _Check:
    def check(instance: Any, path: JsonPath) -> _Errors:
        for keyword, part in parts:
            for message, at, inner in part(instance, path):
                if inner is not None:  # an error of a subschema, passed up as it is
                    yield inner
                    continue
                yield SchemaError(keyword, schema[keyword], instance, schema, at, message)

    return check


# A keyword's part yields (message, path, None) for its own errors, or (_, _, error) for
# an error found below it.
_Found = Iterator[tuple[str, JsonPath, SchemaError | None]]
_Part = Callable[[Any, JsonPath], _Found]


def _type(expected: Any, schema: dict[str, Any]) -> _Part:
    names = expected if isinstance(expected, list) else [expected]
    for name in names:
        _is_type(None, name)  # an unknown type name is unsupported, found now
    shown = ", ".join(repr(name) for name in names)

    def part(instance: Any, path: JsonPath) -> _Found:
        if not any(_is_type(instance, name) for name in names):
            yield f"{instance!r} is not of type {shown}", path, None

    return part


def _properties(properties: dict[str, Any], schema: dict[str, Any]) -> _Part:
    compiled = [(name, _compile(sub)) for name, sub in properties.items()]

    def part(instance: Any, path: JsonPath) -> _Found:
        if isinstance(instance, dict):
            for name, check in compiled:
                if name in instance:
                    for error in check(instance[name], path + (name,)):
                        yield "", path, error

    return part


def _additional(allowed: Any, schema: dict[str, Any]) -> _Part:
    if allowed is not False or "patternProperties" in schema:
        raise Unsupported("additionalProperties other than false")
    known = schema.get("properties", {})

    def part(instance: Any, path: JsonPath) -> _Found:
        if isinstance(instance, dict):
            extras = sorted({key for key in instance if key not in known}, key=str)
            if extras:
                verb = "was" if len(extras) == 1 else "were"
                shown = ", ".join(repr(extra) for extra in extras)
                message = f"Additional properties are not allowed ({shown} {verb} unexpected)"
                yield message, path, None

    return part


def _required(names: list[str], schema: dict[str, Any]) -> _Part:
    def part(instance: Any, path: JsonPath) -> _Found:
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    yield f"{name!r} is a required property", path, None

    return part


def _items(items: Any, schema: dict[str, Any]) -> _Part:
    if "prefixItems" in schema:
        raise Unsupported("prefixItems")
    check = _compile(items)

    def part(instance: Any, path: JsonPath) -> _Found:
        if isinstance(instance, list):
            for index, item in enumerate(instance):
                for error in check(item, path + (index,)):
                    yield "", path, error

    return part


def _unique(flag: Any, schema: dict[str, Any]) -> _Part:
    def part(instance: Any, path: JsonPath) -> _Found:
        if flag and isinstance(instance, list) and not _all_different(instance):
            yield f"{instance!r} has non-unique elements", path, None

    return part


_TRUE, _FALSE = object(), object()


def _all_different(items: list[Any]) -> bool:
    """jsonschema's uniqueItems to the letter (its `uniq`): when the items sort, only
    neighbours are compared, else every pair. Sorting treats [true] and [1] alike, so
    [[true], [1], [true]] passes there: the oracle's answer is the one lint must give."""
    unbooled: list[Any] = [
        _TRUE if item is True else _FALSE if item is False else item for item in items
    ]
    try:
        ordered = sorted(unbooled)
    except TypeError:
        pairs = [(a, b) for i, a in enumerate(unbooled) for b in unbooled[i + 1 :]]
    else:
        pairs = list(pairwise(ordered))
    return not any(a is b or _json_key(_rebool(a)) == _json_key(_rebool(b)) for a, b in pairs)


def _rebool(value: Any) -> Any:
    return True if value is _TRUE else False if value is _FALSE else value


def _json_key(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_json_key(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _json_key(item)) for key, item in value.items()))
    return ("string", value)


def _length(
    too: Callable[[int, int], bool], say: Callable[[int], str]
) -> Callable[[int, dict[str, Any]], _Part]:
    def build(limit: int, schema: dict[str, Any]) -> _Part:
        def part(instance: Any, path: JsonPath) -> _Found:
            if isinstance(instance, str) and too(len(instance), limit):
                yield f"{instance!r} {say(limit)}", path, None

        return part

    return build


def _pattern(expression: str, schema: dict[str, Any]) -> _Part:
    compiled = pattern(expression)

    def part(instance: Any, path: JsonPath) -> _Found:
        if isinstance(instance, str) and compiled.search(instance) is None:
            yield f"{instance!r} does not match {expression!r}", path, None

    return part


def _enum(allowed: list[Any], schema: dict[str, Any]) -> _Part:
    # Strings only (a choice field's): JSON equality of other values is jsonschema's job.
    if not all(isinstance(one, str) for one in allowed):
        raise Unsupported("enum of non-strings")
    names = frozenset(allowed)

    def part(instance: Any, path: JsonPath) -> _Found:
        if not (isinstance(instance, str) and instance in names):
            yield f"{instance!r} is not one of {allowed!r}", path, None

    return part


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any]], _Part]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "uniqueItems": _unique,
    "minLength": _length(
        lambda length, limit: length < limit,
        lambda limit: "should be non-empty" if limit == 1 else "is too short",
    ),
    "maxLength": _length(
        lambda length, limit: length > limit,
        lambda limit: "is expected to be empty" if limit == 0 else "is too long",
    ),
    "pattern": _pattern,
    "enum": _enum,
}
