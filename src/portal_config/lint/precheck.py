"""A yes/no validity check compiled from the JSON Schema, for the common clean case.

Nearly every file lint sees is valid, and for those the full jsonschema
validator (its import and its per-keyword machinery) costs more than all the
YAML parsing. `compile_precheck` turns the schema into nested closures that
answer "certainly valid" quickly (the walk over the schema is `schema_compiler`'s).
Anything else, including any keyword it does not understand, answers "not sure",
and the caller explains the errors (lint with `compiled_validator`, the config and
plans with jsonschema). The schema file remains the single source of truth: nothing
here restates it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal_config.lint.schema_compiler import Unsupported, pattern, walk

Check = Callable[[Any], bool]

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def compile_precheck(schema: dict[str, Any]) -> Check | None:
    try:
        return _compile(schema)
    except Unsupported:
        return None


def _compile(schema: Any) -> Check:
    return walk(schema, _BUILDERS, _combine, _literal)


def _literal(flag: bool) -> Check:
    return (lambda value: True) if flag else (lambda value: False)


def _combine(schema: dict[str, Any], parts: list[tuple[str, Check]]) -> Check:
    return _all_of(tuple(check for _, check in parts))


def _all_of(checks: tuple[Check, ...]) -> Check:
    # Plain loops and single-check shortcuts: this runs once per value of every file.
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


def _type(expected: Any, schema: dict[str, Any]) -> Check:
    names = expected if isinstance(expected, list) else [expected]
    try:
        tests = [_TYPES[name] for name in names]
    except KeyError as exc:
        raise Unsupported(f"type {exc}") from None
    if len(tests) == 1:
        return tests[0]
    return lambda value: any(test(value) for test in tests)


def _properties(properties: dict[str, Any], schema: dict[str, Any]) -> Check:
    compiled = {name: _compile(sub) for name, sub in properties.items()}
    extra = _compile(schema.get("additionalProperties", True))

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            sub = compiled.get(key, extra)
            if not sub(item):
                return False
        return True

    return check


def _additional(extra: Any, schema: dict[str, Any]) -> Check | None:
    if "properties" in schema:
        return None  # handled together with properties
    if extra is True:
        return None
    sub = _compile(extra)

    def check(value: Any) -> bool:
        return not isinstance(value, dict) or all(sub(item) for item in value.values())

    return check


def _required(names: list[str], schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, dict) or all(n in value for n in names)


def _items(items: Any, schema: dict[str, Any]) -> Check:
    sub = _compile(items)

    def check(value: Any) -> bool:
        if isinstance(value, list):
            for item in value:
                if not sub(item):
                    return False
        return True

    return check


def _unique(flag: Any, schema: dict[str, Any]) -> Check | None:
    if not flag:
        return None

    def check(value: Any) -> bool:
        if not isinstance(value, list):
            return True
        # Only strings are decided here; JSON equality of other values is jsonschema's job.
        return all(isinstance(v, str) for v in value) and len(set(value)) == len(value)

    return check


def _min_length(limit: int, schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, str) or len(value) >= limit


def _max_length(limit: int, schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, str) or len(value) <= limit


def _pattern(expression: str, schema: dict[str, Any]) -> Check:
    compiled = pattern(expression)
    return lambda value: not isinstance(value, str) or compiled.search(value) is not None


def _number(test: Callable[[float, float], bool]) -> Callable[[Any, dict[str, Any]], Check]:
    def build(limit: float, schema: dict[str, Any]) -> Check:
        def check(value: Any) -> bool:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return True
            return test(value, limit)

        return check

    return build


def _enum(allowed: list[Any], schema: dict[str, Any]) -> Check:
    # Only strings are decided here, as in _unique: JSON equality (1 == 1.0, True != 1) is
    # jsonschema's job, so anything else answers "not sure".
    if not all(isinstance(a, str) for a in allowed):
        raise Unsupported("enum of non-strings")
    names = frozenset(allowed)
    return lambda value: isinstance(value, str) and value in names


def _max_items(limit: int, schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, list) or len(value) <= limit


def _min_properties(limit: int, schema: dict[str, Any]) -> Check:
    return lambda value: not isinstance(value, dict) or len(value) >= limit


def _one_of(branches: list[Any], schema: dict[str, Any]) -> Check:
    compiled = [_compile(branch) for branch in branches]
    return lambda value: sum(1 for branch in compiled if branch(value)) == 1


def _property_names(names: Any, schema: dict[str, Any]) -> Check:
    sub = _compile(names)
    return lambda value: not isinstance(value, dict) or all(sub(key) for key in value)


_BUILDERS: dict[str, Callable[[Any, dict[str, Any]], Check | None]] = {
    "type": _type,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "items": _items,
    "uniqueItems": _unique,
    "maxItems": _max_items,
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "minimum": _number(lambda value, limit: value >= limit),
    "maximum": _number(lambda value, limit: value <= limit),
    "exclusiveMinimum": _number(lambda value, limit: value > limit),
    "exclusiveMaximum": _number(lambda value, limit: value < limit),
    "enum": _enum,
    "minProperties": _min_properties,
    "oneOf": _one_of,
    "propertyNames": _property_names,
}
