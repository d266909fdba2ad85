"""SARIF 2.1.0 output of a lint report, for GitHub code scanning and SARIF viewers.

One run; ``tool.driver.rules`` describes every rule id lint can report (the rule
registry, documented by each rule module's docstring, plus the checks that are not
rules: YAML loading, the schema, the catalog and disable comments), so a result's
``ruleIndex`` always points at its rule. File locations are relative to the source
root (``%SRCROOT%``), which code scanning resolves against the checked-out repository.

Imported only when ``--format sarif`` is chosen: the rule registry is loaded here, not
when the CLI starts.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import quote

from portal_config import __version__
from portal_config.lint.rules import RULES
from portal_config.problems import Level, Problem, Report
from portal_config.storage import json_text

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/portal-config/portal-config"
SRCROOT = "%SRCROOT%"

# The checks that report problems without being registry rules. Their documentation
# lives here because their modules' docstrings are written for developers, not users.
PSEUDO_RULES: dict[str, str] = {
    "yaml": """The file cannot be read safely as one portal document.

    Loading is strict, before any schema check: only YAML's JSON-compatible types
    (no tags that construct objects, no !!binary, !!set, !!omap, merge keys,
    timestamps, NaN or infinity); no duplicate keys; exactly one mapping per file;
    UTF-8 without tab indentation; no undefined or recursive aliases; and the size
    limits (256 KiB per file, 4096 characters per line, 32 levels of nesting, 100
    aliases, 10,000 values after alias expansion).""",
    "schema": """A key or value does not match the portal schema.

    Every portal file is checked against schema/portal.schema.json: required keys,
    types, the portal id format, unique non-empty work types. Unknown keys get a
    did-you-mean, and values YAML 1.1 reads as booleans or numbers where a string
    is expected are explained, so they can be quoted.""",
    "catalog": """The work-type catalog cannot be used.

    The catalog named by portal-config.yaml (worktypes.yaml by default) lists the
    account's work types; it must exist when configured and be a valid catalog,
    or the work types of the portal files cannot be checked against it.""",
    "directive": """A disable comment names no rule or an unknown rule.

    A comment such as `# portal-config: disable work-types-while-disabled` switches
    rules off for one file; it must name at least one rule, and every name must be
    a rule that `portal-config rules` lists.""",
}


def render_sarif(report: Report, root: Path | None = None) -> str:
    """The SARIF log of ``report``; paths are made relative to ``root`` (the source root)."""
    root = root if root is not None else source_root(Path.cwd())
    rules = list(_rule_descriptors())
    index = {rule["id"]: number for number, rule in enumerate(rules)}
    run = {
        "tool": {
            "driver": {
                "name": "portal-config",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        # Lint's columns count characters (code points), as the YAML parser does.
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri().rstrip("/") + "/"}},
        "results": [_result(p, index.get(p.rule), root) for p in report.sorted_problems()],
    }
    return json_text({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]})


def source_root(start: Path) -> Path:
    """The repository holding ``start`` (the nearest directory with a ``.git``), else ``start``.

    Code scanning resolves result paths against the repository root, which is not
    always where lint runs (a monorepo's portals in a subdirectory).
    """
    start = Path(os.path.abspath(start))
    for directory in (start, *start.parents):
        if (directory / ".git").exists():  # a directory, or a file in a worktree
            return directory
    return start


def _rule_descriptors() -> Iterator[dict[str, object]]:
    for rule_id, doc in PSEUDO_RULES.items():
        yield _descriptor(rule_id, doc, Level.ERROR)
    for rule_id, rule in RULES.items():
        yield _descriptor(rule_id, rule.__doc__ or rule_id, rule.LEVEL)


def _descriptor(rule_id: str, doc: str, level: Level) -> dict[str, object]:
    text = inspect.cleandoc(doc)
    summary, _, details = text.partition("\n")
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": details.strip() or summary},
        # Docstrings are written in Markdown's spirit (backticks, indented examples).
        "help": {"text": text, "markdown": text},
        "defaultConfiguration": {"level": level.value},
    }


def _result(problem: Problem, rule_index: int | None, root: Path) -> dict[str, object]:
    physical: dict[str, object] = {"artifactLocation": _artifact_location(problem.path, root)}
    if problem.position is not None:
        physical["region"] = {
            "startLine": problem.position.line,
            "startColumn": problem.position.column,
        }
    result: dict[str, object] = {"ruleId": problem.rule}
    if rule_index is not None:  # only rule ids lint never reports lack a descriptor
        result["ruleIndex"] = rule_index
    result |= {
        "level": problem.level.value,
        "message": {"text": problem.message},
        "locations": [{"physicalLocation": physical}],
    }
    return result


def _artifact_location(path: str, root: Path) -> Mapping[str, str]:
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:  # outside the repository: only an absolute URI can say where
        return {"uri": absolute.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}
