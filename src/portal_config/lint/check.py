"""Lint: files -> Documents -> schema -> rules -> one Report.

Every file is checked and reported even when others are broken. Rules run on
every document that loaded, on the parts the schema did not refuse (a misspelt key
hides no unknown work type); only documents that pass the schema are valid for diff,
and only they take part in the project-wide rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from portal_config.errors import ConfigError, PortalConfigError
from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.catalog import Catalog, load_catalog
from portal_config.lint.loader import Document
from portal_config.lint.profiles import Profiles, load_profiles
from portal_config.lint.reader.batch import PerFile, Project, open_project
from portal_config.lint.rules import NEEDS, ON_PROFILES, RULES, Context, run_rule, unknown_profile
from portal_config.lint.rules.base import closest
from portal_config.lint.scope import Scope
from portal_config.paths import display
from portal_config.problems import Level, Position, Problem, Report

DIRECTIVE_RULE = "directive"

# `# portal-config: disable rule-a, rule-b` switches rules off for the whole file.
_DIRECTIVE = re.compile(r"(?:^|\s)#\s*portal-config:\s*disable\b(?P<rules>[^#\n]*)")
_DIRECTIVE_WORD = "portal-config:"  # in every line _DIRECTIVE matches: the reader's pre-filter


@dataclass
class LintRun:
    """The outcome of linting: the Report plus the valid Documents (diff builds on them).

    The documents are slim (see `reader.batch.slim`): their data in full, positions only for their
    ``portal:`` line. ``sources`` holds the text of the files that have problems, which
    is all a report shows.
    """

    report: Report
    documents: list[Document] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


def lint(paths: Sequence[Path], scope: Scope) -> LintRun:
    repository = Repository(scope.root)
    if any(_is_profile(path, scope) for path in paths):
        # A profile given (a pre-commit run on a changed profile): every portal it may reach.
        paths = [*paths, scope.portals_dir]
    with open_project(paths, scope, repository) as project:
        profiles = load_profiles(scope, repository)
        run = LintRun(Report(files=project.files + profiles.files))
        catalog, problems = load_config_catalog(scope, repository)
        run.report.extend(problems)
        run.report.extend(profiles.problems)
        run.report.extend(profiles.default_problems(scope.level_of(unknown_profile.ID)))
        run.report.extend(_check_profiles(profiles, catalog, scope))
        per_file = PerFile(_file_directives, _DIRECTIVE_WORD, _judge(catalog, scope, profiles))
        valid: list[Document] = []
        directives: dict[tuple[str, str], Position] = {}  # (file, rule) -> where disabled
        silenced: set[tuple[str, str]] = set()
        for name, outcome in project.check(per_file):
            run.report.extend(outcome.problems)
            if outcome.text is not None:
                run.sources[name] = outcome.text
            directives.update({(name, rule): where for rule, where in outcome.directives.items()})
            silenced.update((name, rule) for rule in outcome.silenced)
            if outcome.document is not None:
                valid.append(outcome.document)
        ids = {document.data["portal"] for document in valid}
        others = project.others(ids, lambda document: not any(schema.check(document)))
        context = Context(catalog=catalog, project=valid + others)
        run.report.extend(_apply_rules(valid, context, scope, silenced, _project_rules(scope)))
        run.report.extend(_unused_directives(directives, silenced, scope))
        _add_missing_sources(run, project)
        run.documents = valid
        return run


def _is_profile(path: Path, scope: Scope) -> bool:
    absolute = path.absolute()
    return any(absolute.is_relative_to(d.absolute()) for d in scope.profile_dirs)


_Rules = list[tuple[str, ModuleType, Level]]


def _per_file_rules(scope: Scope) -> _Rules:
    return [r for r in _enabled_rules(scope) if not hasattr(r[1], "check_project")]


def _project_rules(scope: Scope) -> _Rules:
    return [r for r in _enabled_rules(scope) if hasattr(r[1], "check_project")]


def _enabled_rules(scope: Scope) -> _Rules:
    enabled = []
    for rule_id, rule in RULES.items():
        level = scope.level_of(rule_id)
        if level is not None:
            enabled.append((rule_id, rule, level))
    return enabled


def _file_directives(shown: str, text: str) -> tuple[dict[str, Position], list[Problem]]:
    found = Report()
    disabled = dict(_directives(shown, text, found))
    return disabled, found.problems


def _judge(
    catalog: Catalog | None, scope: Scope, profiles: Profiles
) -> Callable[[Document], tuple[list[Problem], Document | None, list[str]]]:
    """What lint learns from one document on its own: its effective settings (with the
    profiles it extends), their schema errors and, in the same pass, what the per-file
    rules find in the parts the schema did not refuse."""
    context = Context(catalog=catalog, profiles=profiles.names, defaults=profiles.defaults)
    rules = _per_file_rules(scope)

    def judge(document: Document) -> tuple[list[Problem], Document | None, list[str]]:
        effective = profiles.effective(document)
        refusals, valid_part = schema.check_parts(effective)
        problems = list(refusals)
        silenced: set[tuple[str, str]] = set()
        if valid_part is not None:
            checked = replace(effective, data=valid_part) if refusals else effective
            problems.extend(_apply_rules([checked], context, None, silenced, rules))
        kept = effective if not refusals else None
        return problems, kept, [rule for _, rule in sorted(silenced)]

    return judge


def _check_profiles(profiles: Profiles, catalog: Catalog | None, scope: Scope) -> Iterator[Problem]:
    """The rules that judge a value on its own, on each valid profile: a profile's
    problems at its own lines, once, not once per portal that extends it."""
    rules = [r for r in _per_file_rules(scope) if r[1] in ON_PROFILES]
    documents = [p.checked for p in profiles.by_name.values() if p.checked is not None]
    yield from _apply_rules(documents, Context(catalog=catalog), None, None, rules)


def _add_missing_sources(run: LintRun, project: Project) -> None:
    """Read again the few files whose problems came from the project-wide checks."""
    linted = set(run.report.files)
    for problem in run.report.problems:
        name = problem.path
        if name in run.sources or name not in linted:
            continue
        text = project.text(name)
        if text is not None:
            run.sources[name] = text


def check_loaded(document: Document, scope: Scope, catalog: Catalog | None) -> list[Problem]:
    """Schema and rules for one portal document already in memory (a saved plan's entry).

    The checks lint runs on a file, minus YAML syntax, which only a file has. The
    document's ``disabled_rules`` are honoured as the file's disable comments are: a
    plan may switch off exactly what a portal file may, and nothing a file could not.
    """
    problems = list(schema.check(document))
    if problems:
        return problems  # rules trust the schema's types
    context = Context(catalog=catalog, project=[document])
    return list(_apply_rules([document], context, scope))


def load_config_catalog(
    scope: Scope, repository: Repository | None = None
) -> tuple[Catalog | None, list[Problem]]:
    """The work-type catalog the config names, with its problems as values.

    A catalog the config (or --catalog) asks for must exist: that is a config mistake,
    reported where it was asked for. The default one may be absent.
    """
    if scope.catalog_origin is not None and not scope.catalog.is_file():
        shown = display(scope.catalog)
        raise ConfigError(f"{scope.catalog_origin}: catalog file {shown} not found")
    repository = repository or Repository(scope.root)
    return load_catalog(scope.catalog, display(scope.catalog), repository)


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
    directives: dict[tuple[str, str], Position], silenced: set[tuple[str, str]], scope: Scope
) -> Iterator[Problem]:
    """A disable comment that silences nothing is a warning, as ruff's RUF100: it would
    hide a real problem the day one appears, unreviewed."""
    for (shown, rule_id), where in sorted(directives.items()):
        if (shown, rule_id) in silenced or scope.level_of(rule_id) is None:
            continue  # used, or the rule is off in the config and so never ran
        message = f"disable comment: rule '{rule_id}' reports nothing here; remove it"
        yield Problem(shown, where, Level.WARNING, DIRECTIVE_RULE, message)


def _directive_problem(shown: str, line: int, column: int, message: str) -> Problem:
    return Problem(
        shown, Position(line, column), Level.ERROR, DIRECTIVE_RULE, f"disable comment: {message}"
    )


def _apply_rules(
    documents: Sequence[Document],
    context: Context,
    scope: Scope | None,
    silenced: set[tuple[str, str]] | None = None,
    rules: _Rules | None = None,
) -> Iterator[Problem]:
    """Problems from the given rules (default: every rule ``scope`` enables);
    ``silenced`` collects (file, rule) pairs whose hits a disable comment swallowed."""
    if rules is None:
        assert scope is not None
        rules = _enabled_rules(scope)
    present = {key for d in documents if isinstance(d.data, dict) for key in d.data}
    for rule_id, rule, level in rules:
        needs = NEEDS.get(rule)
        if needs and needs.isdisjoint(present):
            continue  # a rule about sections none of these files has
        for hit in run_rule(rule, documents, context):
            if rule_id in hit.document.disabled_rules:
                if silenced is not None:
                    silenced.add((hit.document.path, rule_id))
                continue
            origin = hit.at or hit.document.origin(hit.path, key=hit.on_key)
            at = Position(*origin.position) if origin.position is not None else None
            if origin.file == hit.document.path:
                yield Problem(origin.file, at, level, rule_id, hit.message)
            elif rule not in ON_PROFILES:  # else said once, at the profile
                message = f"{hit.message} (effective in {hit.document.path})"
                yield Problem(origin.file, at, level, rule_id, message)


def require_portals_dir(scope: Scope) -> None:
    """Stop with one clear line when there is nothing to lint or diff, and say how to start."""
    if not scope.portals_dir.is_dir() and scope.account is not None:
        raise PortalConfigError(
            f"account {scope.account}: portals directory {display(scope.portals_dir)} not "
            f"found; `portal-config pull --account {scope.account}` writes its live portals"
        )
    if not scope.portals_dir.is_dir():
        raise PortalConfigError(
            f"portals directory {display(scope.portals_dir)} not found; pass PATHS or set "
            "portals_dir (`portal-config pull` writes the live portals there, "
            "`portal-config init` sets up a new repository)"
        )
