"""The portal and config JSON Schemas, and schema errors turned into positioned Problems."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from portal_config.lint.loader import Document, JsonPath
from portal_config.lint.precheck import Check, compile_precheck
from portal_config.lint.unique_lists import WORK_TYPE, lists_work_types, repetitions
from portal_config.problems import Level, Problem
from portal_config.settings import schemas
from portal_config.settings.table import Table, active
from portal_config.text import clip

if TYPE_CHECKING:  # imported lazily: portal files never need jsonschema (compiled_validator)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

    from portal_config.lint.compiled_validator import CompiledValidator, SchemaError

    Validator = Draft202012Validator | CompiledValidator
    Error = ValidationError | SchemaError

RULE = "schema"

# uniqueItems of a work-type list is left to the duplicate-work-type rule, which points at
# the second occurrence instead of at the whole list; of another list (extends:), said here.
_LEFT_TO_RULES = {"uniqueItems"}

# Validators whose errors name different keys of one mapping, so each one counts.
_PER_KEY = {"additionalProperties", "required"}

_TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}

_PATTERN_HINTS = {
    "Portal id": "use lowercase letters, digits and single hyphens, e.g. acme-facilities",
    "Path": "give a path relative to portal-config.yaml",
    "Environment variable name": "use capital letters, digits and underscores, e.g. OUTSMART_TOKEN",
    "Owner": "name who answers for the exception (a person or a team)",
    "Reason": "say why this portal needs it",
}


# The one line break the pattern refuses inside a name (a \r or U+2028 is escaped wherever
# a name is shown, and ECMA's `.` differs from Python's on them, hence [^\n]).
_LINE_BREAKS = "\n"


def work_type_hint(value: str) -> str:
    """What to change in a work type the pattern refused, said of this value: a hint
    about spaces is false for a line break inside a name."""
    hints = []
    ends = value[:1] + value[-1:]
    if any((c.isspace() or c == "\ufeff") and c not in _LINE_BREAKS for c in ends):
        hints.append("remove the leading or trailing spaces")
    if any(c in _LINE_BREAKS for c in value):
        hints.append("remove the line break")
    # Nothing found (cannot happen for a string the pattern refuses): the rule itself.
    return " and ".join(hints) or (
        "a work type starts and ends with a visible character and holds no line break"
    )


CONFIG_SCHEMA_FILE = Path(__file__).parent.parent.joinpath("config.schema.json")
PLAN_SCHEMA_FILE = Path(__file__).parent.parent.joinpath("plan.schema.json")


def schema_text() -> str:
    """The portal schema as the committed schema files hold it."""
    return schemas.schema_text(portal_schema())


# The portal schema is made from the settings table in use (a test may install its own),
# so everything compiled from it is kept per table.
def portal_schema() -> dict[str, Any]:
    return _portal_schema(active())


def validator() -> Draft202012Validator:
    return _validator(active())


def portal_validator() -> Validator:
    """The portal schema's validator for lint: compiled, so a run with broken files
    imports no jsonschema; jsonschema's own if the schema uses what it does not model."""
    return _portal_validator(active())


def precheck() -> Check | None:
    return _precheck(active())


@functools.lru_cache(maxsize=2)
def _portal_schema(table: Table) -> dict[str, Any]:
    return schemas.portal_schema(table)


@functools.lru_cache(maxsize=2)
def _validator(table: Table) -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # start-up: lint of valid files never needs it

    return Draft202012Validator(_portal_schema(table))


@functools.lru_cache(maxsize=2)
def _portal_validator(table: Table) -> Validator:
    from portal_config.lint.compiled_validator import (
        compile_validator,  # start-up: only a file the precheck refuses needs it
    )

    return compile_validator(_portal_schema(table)) or _validator(table)


@functools.lru_cache(maxsize=2)
def _precheck(table: Table) -> Check | None:
    return compile_precheck(_portal_schema(table))


@functools.lru_cache(maxsize=1)
def config_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(CONFIG_SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@functools.lru_cache(maxsize=1)
def plan_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(PLAN_SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


@functools.lru_cache(maxsize=1)
def config_precheck() -> Check | None:
    return compile_precheck(config_schema())


def check_config(document: Document) -> Iterator[Problem]:
    """Schema errors of a ``portal-config.yaml``; a valid one never imports jsonschema."""
    quick = config_precheck()
    if quick is not None and quick(document.data):
        return
    from jsonschema import Draft202012Validator  # start-up: ~60 ms lint of a valid config spares

    yield from _errors(document, Draft202012Validator(config_schema()))


def check(document: Document, against: Validator | None = None) -> Iterator[Problem]:
    """Yield one Problem per schema error, each pointing at the offending key or value."""
    if against is None:
        quick = precheck()
        if quick is not None and quick(document.data):
            return
    yield from _errors(document, against or portal_validator())


def check_parts(document: Document, against: Validator | None = None) -> tuple[list[Problem], Any]:
    """The schema's problems, and the document's data with what they refuse taken out, so
    rules can still check the rest in the same run: a refused value becomes None (which
    no valid portal file holds, so a rule reads it as "unknown" and skips what depends on
    it), an unknown key is dropped, and the data is None when the file is not a mapping.
    A valid document's data is returned as it is, uncopied."""
    quick = precheck() if against is None else None
    if quick is not None and quick(document.data):
        return [], document.data
    refused: list[JsonPath] = []
    problems = list(_errors(document, against or portal_validator(), refused))
    return problems, _without(document.data, refused)


def _without(data: Any, refused: list[JsonPath]) -> Any:
    if not refused:
        return data
    if () in refused:
        return None
    kept = copy.deepcopy(data)  # one portal file: small, and only when it has errors
    for path in refused:
        parent = kept
        for part in path[:-1]:
            # The validator walked this path; an enclosing part refused already is None.
            parent = parent[part] if isinstance(parent, (dict, list)) else None  # type: ignore[index]
        last = path[-1]
        if isinstance(parent, dict) and last in parent:
            if isinstance(last, _UnknownKey):
                del parent[last.key]
            else:
                parent[last] = None
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            parent[last] = None
    return kept


class _UnknownKey(str):
    """A refused path's last part that names a key not to keep at all (not even as None)."""

    @property
    def key(self) -> str:
        return str(self)


def _errors(
    document: Document, against: Validator, refused: list[JsonPath] | None = None
) -> Iterator[Problem]:
    """The errors explained; ``refused`` collects the paths of the parts they refuse."""
    explained: set[tuple[JsonPath, str]] = set()
    for error in against.iter_errors(document.data):
        # "Exactly one of these keys" is explained as such; best_match would pick one
        # branch and ask for its key, which is wrong when both keys are present. (Only
        # jsonschema's errors have a context: the compiled validator models no anyOf.)
        if error.validator in ("anyOf", "oneOf") and error.context and not _one_key_of(error):
            from jsonschema.exceptions import ValidationError, best_match  # start-up: jsonschema

            assert isinstance(error, ValidationError)
            error = best_match([error])
        if error.validator in _LEFT_TO_RULES and lists_work_types(error.schema):
            continue
        path = tuple(error.absolute_path)
        if refused is not None:
            refused.extend(_refused_parts(error, path))
        # One message per value ('' fails minLength and pattern: say it once), and one
        # pass per mapping for key errors (_explain names every missing or unknown key).
        seen = (path, str(error.validator) if error.validator in _PER_KEY else "value")
        if seen in explained:
            continue
        explained.add(seen)
        yield from _explain(document, error)


def _refused_parts(error: Error, path: JsonPath) -> list[JsonPath]:
    if error.validator == "required":
        return []  # nothing is there to take out; a rule finds the key missing
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        return [path + (_UnknownKey(key),) for key in error.instance if key not in allowed]
    return [path]


def describe_path(path: JsonPath) -> str:
    """guest_workorder.work_types[2] style, as a reader would name the field."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _explain(document: Document, error: Error) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    where = describe_path(path)
    kind = error.validator
    subschema = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(subschema.get("properties", {}))
        for key in sorted(k for k in error.instance if k not in allowed):
            yield _at(document, path + (key,), _unknown_key(key, allowed, where), key=True)
        return
    if kind == "required" and isinstance(error.instance, dict):
        allowed = sorted(subschema.get("properties", {}))
        # One typo is one error: `enabeld` is reported as unknown with "did you mean
        # 'enabled'?", so 'enabled' is not also reported missing.
        meant = {_suggestion(k, allowed) for k in error.instance if k not in allowed}
        for key in error.validator_value if isinstance(error.validator_value, list) else []:
            if key not in error.instance and key not in meant:
                inside = f" in {where}" if path else ""
                yield _at(document, path, f"missing required key '{key}'{inside}", key=True)
        return
    if kind == "type":
        yield _at(document, path, _type_message(document, path, where, error))
        return
    keys = _one_key_of(error)
    if keys and isinstance(error.instance, dict):
        present = [key for key in keys if key in error.instance]
        found = " and ".join(f"'{key}'" for key in present) if present else "neither"
        wanted = " or ".join(f"'{key}'" for key in keys)
        yield _at(document, path, f"{where} needs exactly one of {wanted}, found {found}", key=True)
        return
    if kind == "uniqueItems" and isinstance(error.instance, list):
        for index, first in repetitions(error.instance):
            shown = clip(repr(error.instance[index]))
            message = f"{where}[{index}]: {shown} is listed twice (first at {where}[{first}])"
            yield _at(document, (*path, index), f"{message}; it counts once, at its first place")
        return
    title = str(subschema.get("title", where))
    if kind == "pattern":
        if title == WORK_TYPE:
            hint = work_type_hint(str(error.instance))
        else:
            # The (?!\n) guard only stops Python's $ from matching before a final newline
            # (ECMA-262's $ never does): the pattern a reader needs is the one without it.
            plain = str(error.validator_value).replace(r"(?!\n)$", "$")
            hint = _PATTERN_HINTS.get(title, f"it must match {plain}")
        shown = clip(repr(error.instance))
        yield _at(document, path, f"{where}: {shown} is not a valid {title.lower()}; {hint}")
        return
    if kind == "minLength" and error.instance == "":
        yield _at(document, path, f"{where} must not be empty")
        return
    if kind == "maxLength" and isinstance(error.instance, str):
        length = len(error.instance)
        message = (
            f"{where} is {length} characters long; at most {error.validator_value} are allowed"
        )
        yield _at(document, path, message)
        return
    if kind in _BOUNDS:
        yield _at(document, path, f"{where} {_BOUNDS[kind](error.instance, error.validator_value)}")
        return
    # Validator messages repr the whole value; a hostile plan can make that megabytes long.
    yield _at(document, path, f"{where}: {clip(error.message)}")


def _one_key_of(error: Error) -> list[str] | None:
    """The keys of a oneOf whose every branch only requires one key: "exactly one of these"."""
    if error.validator != "oneOf" or not isinstance(error.validator_value, list):
        return None
    keys = []
    for branch in error.validator_value:
        required = branch.get("required") if isinstance(branch, dict) else None
        if set(branch) != {"required"} or not isinstance(required, list) or len(required) != 1:
            return None
        keys.append(str(required[0]))
    return keys


def _count(items: Any) -> int:
    return len(items) if isinstance(items, (list, dict, str)) else 0


# Messages for the bounds the plan schema sets; they name the limit, never repeat the value.
_BOUNDS: dict[str, Callable[[Any, Any], str]] = {
    "const": lambda value, wanted: f"must be {json.dumps(wanted)}, got {_describe(value)}",
    "maxItems": lambda value, limit: f"has {_count(value)} items; at most {limit} are allowed",
    "minimum": lambda value, limit: f"must be at least {limit}, got {_describe(value)}",
    "maximum": lambda value, limit: f"must be at most {limit}, got {_describe(value)}",
    "exclusiveMinimum": lambda value, limit: f"must be more than {limit}, got {_describe(value)}",
    "exclusiveMaximum": lambda value, limit: f"must be less than {limit}, got {_describe(value)}",
    "enum": lambda value, allowed: (
        f"must be one of {', '.join(map(str, allowed))}, got {_describe(value)}"
    ),
    "minProperties": lambda value, limit: (
        f"must have at least {limit} {'entry' if limit == 1 else 'entries'}, got {_count(value)}"
    ),
}


def _unknown_key(key: str, allowed: list[str], where: str) -> str:
    inside = f" in {where}" if where != "the file" else ""
    close = _suggestion(key, allowed)
    if close:
        return f"unknown key '{key}'{inside}; did you mean '{close}'?"
    return f"unknown key '{key}'{inside}; allowed: {', '.join(allowed)}"


def _suggestion(key: str, allowed: list[str]) -> str | None:
    import difflib  # start-up: only an unknown key asks

    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    return close[0] if close else None


def _type_message(document: Document, path: JsonPath, where: str, error: Error) -> str:
    expected = error.validator_value
    names = expected if isinstance(expected, list) else [expected]
    wanted = " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)
    plain = document.plain_scalars.get(path)
    if "string" in names and plain is not None:
        return f"{where} must be {wanted}: {plain.explain()}"
    return f"{where} must be {wanted}, got {_describe(error.instance)}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {clip(repr(value))}"
    return clip(repr(value))


def _at(document: Document, path: JsonPath, message: str, *, key: bool = False) -> Problem:
    return Problem(document.path, document.locate(path, key=key), Level.ERROR, RULE, message)
