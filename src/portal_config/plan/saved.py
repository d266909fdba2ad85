"""Saved plan files: read, check completely, and only then trust.

A plan file crosses a trust boundary: `diff --out` writes it, people review it,
and anything may edit it before `apply plan.json`. So apply treats it like any
other input, before a single request is made:

1. bytes: at most `MAX_BYTES`, UTF-8, JSON without duplicate keys or NaN;
2. structure: `plan.schema.json`'s saved plan (strict types, unknown keys refused, every
   value bounded, so no valid plan nests deeper than `MAX_DEPTH`);
3. meaning: each entry agrees with itself (its portal), no portal is planned twice,
   the safety thresholds are this repository's, and each `desired` state passes the
   same schema, rules and work-type catalog as a portal file (`lint.check_loaded`).

A saved plan holds the plan's inputs only (`inputs.PlanInputs`): its changes, actions,
summary and apply refusal are derived again by the one builder, so there is nothing
shown that could be edited to disagree. Every reason of a stage is collected and
reported on its own line; a structurally broken plan stops before stage 3, because its
entries cannot be read as settings.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from portal_config.errors import UsageError
from portal_config.escaping import escape_line
from portal_config.file_access import UnreadableFile, read_bounded
from portal_config.lint.check import check_loaded, load_config_catalog
from portal_config.lint.loader import Document, JsonPath
from portal_config.lint.rules import RULES
from portal_config.lint.schema import check, describe_path, plan_schema
from portal_config.plan.inputs import (
    PLAN_FORMAT,
    PLAN_VERSION,
    BaseRef,
    PlanInputs,
    PortalInputs,
    safety_json,
    sources_from_json,
)
from portal_config.plan.live_values import is_file_id, unrepresentable
from portal_config.plan.profile_digests import ProfileDigest
from portal_config.plan.value import PlanFileError
from portal_config.problems import Level
from portal_config.project.config import CONFIG_NAME, Config, Safety
from portal_config.project.lint_scope import lint_scope
from portal_config.settings.model import LivePortal, PortalSettings

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

MAX_BYTES = 16 * 1024 * 1024
# A valid saved plan's deepest container is portals[i].sources[j].over[k] (seven levels:
# what an edited value edited); the bound only stops pathological nesting before the
# schema is asked.
MAX_DEPTH = 7


def read_plan_file(path: Path, config: Config) -> PlanInputs:
    """The saved plan at ``path``, or PlanFileError naming every reason it cannot be trusted."""
    source = str(path)
    try:
        # No repository: a plan is written outside the checkout, wherever CI keeps it.
        raw = read_bounded(path, MAX_BYTES)
    except UnreadableFile as exc:
        raise PlanFileError(f"{source}: {exc}") from None
    except FileNotFoundError:
        raise PlanFileError(f"{source}: no such file") from None
    except OSError as exc:
        raise PlanFileError(f"{source}: cannot read it ({exc.__class__.__name__})") from None
    if len(raw) > MAX_BYTES:
        raise PlanFileError(f"{source}: larger than {MAX_BYTES // 2**20} MiB, the limit for a plan")
    return check_plan(parse_json(raw, source), source, config)


def read_plan_files(paths: Sequence[Path], config: Config) -> list[PlanInputs]:
    """Several saved plans, each checked; two for one account and target are refused.

    Shown in turn, the first of two would pass for the plan: a file committed beside the
    recipe's own (plans/0.json before plans/acme.json) could stand in for it."""
    plans = [read_plan_file(path, config) for path in paths]
    first: dict[tuple[str | None, str], Path] = {}
    for path, plan in zip(paths, plans, strict=True):
        key = (plan.account, plan.target)
        if key in first:
            whose = f"account {plan.account} on " if plan.account is not None else ""
            raise UsageError(
                f"{first[key]} and {path} are both plans for {whose}target {plan.target}: "
                "give one plan per account and target"
            )
        first[key] = path
    return plans


def parse_json(raw: bytes, source: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        raise PlanFileError(
            f"{source}: not UTF-8 (byte {byte:#04x} at offset {exc.start})"
        ) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise PlanFileError(f"{source}: nested too deeply to be a plan") from None
    except _AmbiguousJson as exc:
        raise PlanFileError(f"{source}: {exc}") from None
    except json.JSONDecodeError as exc:
        # exc.msg may end in "at" itself ("Unterminated string starting at"): say where apart.
        where = f"line {exc.lineno}, column {exc.colno}"
        raise PlanFileError(f"{source}: not JSON ({where}): {exc.msg}") from None
    except ValueError:  # the only other one: int() refuses numbers of thousands of digits
        raise PlanFileError(f"{source}: not JSON a plan can hold: a number is too long") from None


def check_plan(data: Any, source: str, config: Config) -> PlanInputs:
    """Stage 2 and 3 of the module docstring on parsed JSON."""
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        # One line, not a line for each of the fifteen keys a plan has and this lacks.
        _refuse(
            source,
            [f'not a portal-config plan (no "format": "{PLAN_FORMAT}"; `diff --out` writes one)'],
        )
    deep = _too_deep(data)
    if deep is not None:
        _refuse(source, [f"{describe_path(deep)}: nested deeper than a plan can be"])
    other = _other_version(data)
    if other is not None:
        # One clear line instead of every key the formats spell differently.
        _refuse(
            source,
            [
                f"a plan of format version {other}; this portal-config reads version "
                f"{PLAN_VERSION}: make the plan again with `portal-config diff --out`"
            ],
        )
    document = Document(source, data)
    structure = [problem.message for problem in check(document, plan_validator())]
    if structure:
        _refuse(source, structure)
    account, mismatch = _account_view(data["account"], config)
    if mismatch:
        _refuse(source, [mismatch])
    reasons = list(_meaning(data, account))
    if reasons:
        _refuse(source, reasons)
    return _inputs(data)


def _account_view(account: str | None, config: Config) -> tuple[Config, str | None]:
    """The config of the plan's account: its catalog checks the plan's work types."""
    if account is None and config.is_fleet:
        return config, "account is null, but this repository holds many accounts: name one"
    if account is not None and not config.is_fleet:
        return config, f"account is '{account}', but this repository holds one account"
    if account is not None and account not in config.accounts:
        return (
            config,
            f"account '{account}' is not an account of this repository's {CONFIG_NAME}",
        )
    return (config.for_account(account) if account is not None else config), None


def _other_version(data: Any) -> int | None:
    """The version of a portal-config plan of another format version, else None."""
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        return None
    version = data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version != PLAN_VERSION:
        return version
    return None


@functools.lru_cache(maxsize=1)
def plan_validator() -> Draft202012Validator:
    from jsonschema import (  # start-up: ~60 ms, only for reading a saved plan
        Draft202012Validator,
        validators,
    )

    # JSON Schema counts 1.0 as an integer; a revision of 1.0 is a tampered plan here.
    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_int)
    strict = validators.extend(Draft202012Validator, type_checker=checker)  # type: ignore[no-untyped-call]
    # The saved form only: a plan as diff shows it (changes, summary) is no saved plan.
    schema = {"$ref": "#/$defs/saved_plan", "$defs": plan_schema()["$defs"]}
    validator: Draft202012Validator = strict(schema)
    return validator


def _is_int(checker: object, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _refuse(source: str, reasons: list[str]) -> NoReturn:
    # Reasons quote keys and values from the plan: a newline or an escape sequence in
    # one must not forge output lines or drive the terminal.
    raise PlanFileError(*(f"{source}: {escape_line(reason)}" for reason in reasons))


class _AmbiguousJson(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; a reviewer reads the first.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _AmbiguousJson(f"duplicate key {json.dumps(key)[:80]} in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> NoReturn:
    raise _AmbiguousJson(f"not JSON: {name} is not a JSON value")


def _too_deep(data: Any) -> JsonPath | None:
    """The first container nested deeper than any plan, found without recursion."""
    stack: list[tuple[JsonPath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if not isinstance(value, (dict, list)):
            continue
        if len(path) >= MAX_DEPTH:
            return path
        items = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((path + (key,), child) for key, child in items)
    return None


def _meaning(data: dict[str, Any], config: Config) -> Iterator[str]:
    catalog, catalog_problems = load_config_catalog(lint_scope(config))
    for problem in catalog_problems:
        yield f"cannot be checked: {problem.location()}: {problem.message}"
    first: dict[str, int] = {}
    for index, entry in enumerate(data["portals"]):
        portal = entry["portal"]
        at = f"portals[{index}]"
        if portal in first:
            yield f"{portal}: {at}.portal: planned twice (also portals[{first[portal]}])"
            continue
        ignored = config.ignore.why(portal)
        if ignored is not None:  # as build_plan refuses a file for an ignored portal
            yield f"{portal}: {at}.portal is {ignored}"
        first[portal] = index
        reasons = _entry_reasons(entry, at, data["base"] is not None)
        yield from (f"{portal}: {reason}" for reason in reasons)
        for problem in check_loaded(_as_portal_file(entry), lint_scope(config), catalog):
            if problem.level is Level.ERROR:
                yield f"{portal}: {problem.message}"
    yield from _profile_reasons(data["profiles"], set(first))
    yield from _unrecorded_profiles(data["portals"], data["profiles"])
    for index, name in enumerate(data["unmanaged_other_ids"]):
        if is_file_id(name):  # the explicit list is for ids a file cannot use: no hiding
            yield (
                f"unmanaged_other_ids[{index}]: '{name}' is a portal id a file can use; "
                "list it in unmanaged"
            )
    # The apply refusal `show` prints is derived from these: they must be the ones apply
    # holds the plan to.
    ours = safety_json(config.safety)
    for key, value in data["safety"].items():
        if value != ours[key]:
            yield (
                f"safety.{key} is {json.dumps(value)}, but this repository's safety "
                f"thresholds give {json.dumps(ours[key])}"
            )


def _profile_reasons(records: list[dict[str, Any]], planned: set[str]) -> Iterator[str]:
    """Each profile recorded once, for portals the plan plans: a record naming another
    portal would make apply resolve a portal nobody reviewed."""
    seen: dict[str, int] = {}
    for index, record in enumerate(records):
        at = f"profiles[{index}]"
        if record["file"] in seen:
            yield f"{at}.file: recorded twice (also profiles[{seen[record['file']]}])"
        seen.setdefault(record["file"], index)
        for name in record["portals"]:
            if name not in planned:
                yield f"{at}.portals: '{name}' is not a portal of the plan"


def _unrecorded_profiles(
    entries: list[dict[str, Any]], records: list[dict[str, Any]]
) -> Iterator[str]:
    """A value set by a file other than the portal's own came from a profile, which the
    plan must record with its digest: without it, apply could not see that profile edited
    since, and would write settings the files no longer give."""
    for index, entry in enumerate(entries):
        setters = sorted({s["file"] for s in entry["sources"] if s["file"] != entry["file"]})
        recorded = [r for r in records if entry["portal"] in r["portals"]]
        if len(setters) > len(recorded):
            named = ", ".join(setters)
            yield (
                f"{entry['portal']}: portals[{index}].sources name {named}, but profiles "
                f"records {len(recorded)} profile file(s) for it"
            )


def _entry_reasons(entry: dict[str, Any], at: str, three_way: bool) -> Iterator[str]:
    """An entry must agree with itself: what a reviewer read is what apply would do."""
    for name in entry["disabled_rules"]:
        if name not in RULES:  # as a disable comment naming an unknown rule is an error
            yield f"{at}.disabled_rules: unknown rule '{name}'"
    for part in ("desired", "live", "base"):
        if entry[part] is not None and entry[part]["portal"] != entry["portal"]:
            yield f"{at}.{part}.portal is '{entry[part]['portal']}', not the entry's portal"
    # The schema holds each live value as a file's; this adds what it leaves to rules (a
    # work type twice), so a plan holds no live state diff would have refused to plan.
    live = PortalSettings.from_json(entry["live"])
    yield from (f"{at}.live.{reason}" for reason in unrepresentable(live))
    if entry["base"] is not None and not three_way:
        yield f"{at}.base is set, but the plan has no base"


def _as_portal_file(entry: dict[str, Any]) -> Document:
    """The entry's desired state in the shape of a portal file, so lint's checks apply."""
    # Settings as data are already shaped as a portal file: the portal, then its sections.
    data: dict[str, Any] = dict(entry["desired"])
    if entry.get("acknowledged"):
        data["acknowledged"] = entry["acknowledged"]
    disabled = frozenset(entry["disabled_rules"]) & set(RULES)
    return Document(entry["file"], data, disabled_rules=disabled)


def _settings(data: dict[str, Any] | None) -> PortalSettings | None:
    return PortalSettings.from_json(data) if data is not None else None


def _portal_inputs(entry: dict[str, Any]) -> PortalInputs:
    sources, over = sources_from_json(entry["sources"])
    return PortalInputs(
        file=entry["file"],
        desired=PortalSettings.from_json(entry["desired"]),
        live=LivePortal(PortalSettings.from_json(entry["live"]), entry["live_revision"]),
        acknowledged=dict(entry["acknowledged"]),
        disabled_rules=tuple(entry["disabled_rules"]),
        base=_settings(entry["base"]),
        sources=sources,
        over=over,
    )


def _inputs(data: dict[str, Any]) -> PlanInputs:
    portals = tuple(_portal_inputs(entry) for entry in data["portals"])
    target, base = data["target"], data["base"]
    return PlanInputs(
        target["name"],
        target["base_url"],
        portals,
        created_at=data["created_at"],
        live_read_at=data["live_read_at"],
        unmanaged=tuple(sorted(data["unmanaged"] + data["unmanaged_other_ids"])),
        kind=data["kind"],
        base=BaseRef(base["ref"], base["commit"]) if base is not None else None,
        commit=data["commit"],
        account=data["account"],
        safety=Safety(**data["safety"]),
        profiles=tuple(ProfileDigest.from_json(record) for record in data["profiles"]),
        edited_profiles=tuple(data.get("edited_profiles", ())),
    )
