"""Lint: files -> Documents -> schema -> rules -> one Report.

Every file is checked and reported even when others are broken. Rules only
run on documents that loaded and passed the schema.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from portal_config import schema
from portal_config.catalog import Catalog, load_catalog
from portal_config.config import Config
from portal_config.errors import ConfigError, PortalConfigError
from portal_config.loader import Document, display, load_file
from portal_config.problems import Level, Position, Problem, Report
from portal_config.rules import RULES, Context, run_rule
from portal_config.rules.base import closest

YAML_SUFFIXES = (".yaml", ".yml")
DIRECTIVE_RULE = "directive"

# `# portal-config: disable rule-a, rule-b` switches rules off for the whole file.
_DIRECTIVE = re.compile(r"(?:^|\s)#\s*portal-config:\s*disable\b(?P<rules>[^#\n]*)")


@dataclass
class LintRun:
    """The outcome of linting: the Report plus the valid Documents (diff builds on them)."""

    report: Report
    documents: list[Document] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def lint(paths: Sequence[Path], config: Config) -> LintRun:
    files = list(expand(paths, config))
    shown = [display(f) for f in files]
    run = LintRun(Report(files=shown))
    valid: list[Document] = []
    directives: dict[tuple[str, str], Position] = {}  # (file, rule) -> where it is disabled
    for path, name in zip(files, shown, strict=True):
        document, problems, text = load_valid(path, name)
        disabled: dict[str, Position] = {}
        if text is not None:
            run.sources[name] = text
            disabled = dict(_directives(name, text, run.report))
        run.report.extend(problems)
        if document is not None:
            document.disabled_rules = frozenset(disabled)
            directives.update({(name, rule): where for rule, where in disabled.items()})
            valid.append(document)
    catalog, problems = load_config_catalog(config)
    run.report.extend(problems)
    ids = {document.data["portal"] for document in valid}
    others = list(_other_project_documents(paths, files, ids, config))
    context = Context(catalog=catalog, project=valid + others)
    silenced: set[tuple[str, str]] = set()
    run.report.extend(_apply_rules(valid, context, config, silenced))
    run.report.extend(_unused_directives(directives, silenced, config))
    run.documents = valid
    return run


def check_loaded(document: Document, config: Config, catalog: Catalog | None) -> list[Problem]:
    """Schema and rules for one portal document already in memory (a saved plan's entry).

    The checks lint runs on a file, minus YAML syntax, which only a file has. The
    document's ``disabled_rules`` are honoured as the file's disable comments are: a
    plan may switch off exactly what a portal file may, and nothing a file could not.
    """
    problems = list(schema.check(document))
    if problems:
        return problems  # rules trust the schema's types
    context = Context(catalog=catalog, project=[document])
    return list(_apply_rules([document], context, config))


def load_config_catalog(config: Config) -> tuple[Catalog | None, list[Problem]]:
    """The work-type catalog the config names, with its problems as values.

    A catalog the config (or --catalog) asks for must exist: that is a config mistake,
    reported where it was asked for. The default one may be absent.
    """
    if config.catalog_origin is not None and not config.catalog.is_file():
        shown = display(config.catalog)
        raise ConfigError(f"{config.catalog_origin}: catalog file {shown} not found")
    return load_catalog(config.catalog, display(config.catalog))


def load_valid(path: Path, shown: str) -> tuple[Document | None, list[Problem], str | None]:
    """Load one file and check it against the schema: the document is returned only if clean."""
    result = load_file(path, shown)
    if result.document is None:
        return None, result.problems, result.text
    problems = list(schema.check(result.document))
    return (None if problems else result.document), problems, result.text


def expand(paths: Sequence[Path], config: Config) -> Iterator[Path]:
    """Files as given; directories searched recursively for *.yaml / *.yml, in stable order."""
    skip = {_identity(config.catalog)}
    if config.source is not None:
        skip.add(_identity(config.source))
    seen: set[str] = set()
    for path in paths:
        candidates: Iterable[Path] = [path] if not path.is_dir() else _walk(path, skip)
        for candidate in candidates:
            key = _identity(candidate)
            if key not in seen:
                seen.add(key)
                yield candidate


def _identity(path: Path) -> str:
    # abspath, not resolve(): no syscalls per file, which matters at thousands of files.
    return os.path.abspath(path)


def _walk(directory: Path, skip: set[str]) -> Iterator[Path]:
    skip_names = {os.path.basename(p) for p in skip}
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if not name.endswith(YAML_SUFFIXES):
                continue
            candidate = Path(root) / name
            if name in skip_names and _identity(candidate) in skip:
                continue
            yield candidate


def _directives(shown: str, text: str, report: Report) -> Iterator[tuple[str, Position]]:
    for number, line in enumerate(text.split("\n"), start=1):
        match = _DIRECTIVE.search(line)
        if match is None:
            continue
        names = [n for n in re.split(r"[\s,]+", match.group("rules")) if n]
        if not names:
            column = match.start("rules")
            report.extend([_directive_problem(shown, number, column, "name the rules to disable")])
        for name in names:
            column = line.index(name, match.start("rules")) + 1
            if name in RULES:
                yield name, Position(number, column)
                continue
            close = closest(name, list(RULES))
            hint = f"; did you mean '{close}'?" if close else ""
            message = f"unknown rule '{name}'{hint}"
            report.extend([_directive_problem(shown, number, column, message)])


def _unused_directives(
    directives: dict[tuple[str, str], Position], silenced: set[tuple[str, str]], config: Config
) -> Iterator[Problem]:
    """A disable comment that silences nothing is a warning, as ruff's RUF100: it would
    hide a real problem the day one appears, unreviewed."""
    for (shown, rule_id), where in sorted(directives.items()):
        if (shown, rule_id) in silenced or config.level_of(rule_id) is None:
            continue  # used, or the rule is off in the config and so never ran
        message = f"disable comment: rule '{rule_id}' reports nothing here; remove it"
        yield Problem(shown, where, Level.WARNING, DIRECTIVE_RULE, message)


def _directive_problem(shown: str, line: int, column: int, message: str) -> Problem:
    return Problem(
        shown, Position(line, column), Level.ERROR, DIRECTIVE_RULE, f"disable comment: {message}"
    )


def _other_project_documents(
    requested: Sequence[Path], linted: Sequence[Path], ids: set[str], config: Config
) -> Iterator[Document]:
    """Valid portal files of the project that were not linted now, for cross-file rules.

    Only files that may configure one of the linted portal ids can matter, so the rest
    are skipped unparsed: a pre-commit run on one file stays fast in a big repo. Each
    file's id is read off its `portal:` line and looked up in a set, so the scan is
    linear in the number of files, however many were linted.
    """
    if not ids or not config.portals_dir.is_dir():
        return
    portals = _identity(config.portals_dir)
    if any(portals == _identity(p) or portals.startswith(_identity(p) + os.sep) for p in requested):
        return  # the whole portals directory was linted already
    done = {_identity(p) for p in linted}
    for path in expand([config.portals_dir], config):
        if _identity(path) in done:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _may_configure(text, ids):
            document, _, _ = load_valid(path, display(path))
            if document is not None:
                yield document


# A top-level `portal: id` line, as pull and fmt write it (quotes and a comment allowed).
_PORTAL_LINE = re.compile(r"^portal:[ \t]*(['\"]?)([^'\"\s#\\&!*]+)\1[ \t]*(?:#.*)?$", re.MULTILINE)


def _may_configure(text: str, ids: set[str]) -> bool:
    """Whether a file may configure one of ``ids``; never wrongly False.

    The usual file has one plain `portal:` line: a set lookup. Any other spelling (a
    flow mapping, an escape, an anchor or tag) is rare, so such a file is simply loaded.
    """
    found = _PORTAL_LINE.findall(text)
    return found[0][1] in ids if len(found) == 1 else True


def _apply_rules(
    documents: Sequence[Document],
    context: Context,
    config: Config,
    silenced: set[tuple[str, str]] | None = None,
) -> Iterator[Problem]:
    """Problems from every enabled rule; ``silenced`` collects (file, rule) pairs whose
    hits a disable comment swallowed."""
    for rule_id, rule in RULES.items():
        level = config.level_of(rule_id)
        if level is None:
            continue
        for hit in run_rule(rule, documents, context):
            if rule_id in hit.document.disabled_rules:
                if silenced is not None:
                    silenced.add((hit.document.path, rule_id))
                continue
            position = hit.document.locate(hit.path, key=hit.on_key)
            yield Problem(hit.document.path, position, level, rule_id, hit.message)


def require_portals_dir(config: Config) -> None:
    """Stop with one clear line when there is nothing to lint or diff, and say how to start."""
    if not config.portals_dir.is_dir() and config.account is not None:
        raise PortalConfigError(
            f"account {config.account}: portals directory {display(config.portals_dir)} not "
            f"found; `portal-config pull --account {config.account}` writes its live portals"
        )
    if not config.portals_dir.is_dir():
        raise PortalConfigError(
            f"portals directory {display(config.portals_dir)} not found; pass PATHS or set "
            "portals_dir (`portal-config pull` writes the live portals there, "
            "`portal-config init` sets up a new repository)"
        )
