"""What a run checks before it reads live state or writes: the files lint, their work
types against the live account's, and that a plan is this repository's newest commit's.

Each check refuses with one line (its problems, if any, shown first on stderr through
the Console's views); nothing here reads or writes OutSmart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from portal_config.errors import ExitCode, PortalConfigError
from portal_config.lint.catalog import Catalog
from portal_config.lint.check import LintRun, lint, require_portals_dir
from portal_config.lint.loader import Document, JsonPath, load_file
from portal_config.lint.rules import Context, Hit, inactive_work_type, run_rule, unknown_work_type
from portal_config.plan.inputs import IGNORED_RULE, LIVE_VALUE_RULE, MISSING_RULE, PlanInputs
from portal_config.plan.value import RefusedError
from portal_config.problems import Level, Position, Problem, Report
from portal_config.project.config import Config, Target
from portal_config.project.history import commit_of, has_commit, head_commit, uncommitted
from portal_config.project.lint_scope import lint_scope, profile_dirs
from portal_config.run.console import Console
from portal_config.settings.model import WorkType


class InvalidFilesError(PortalConfigError):
    exit_code = ExitCode.PROBLEMS
    prefix = "refused"


def files_commit(config: Config) -> str | None:
    """The commit the portal files are, or None: outside git, or edited since HEAD (a plan
    of uncommitted files must not pass for a commit's, `--require-tip` included)."""
    commit = head_commit(config.root)
    # Profiles are files the plan is made from too: an edit to one changes desired settings.
    files = [config.portals_dir, config.catalog, *profile_dirs(config)]
    if commit is None or uncommitted(config.root, files):
        return None
    return commit


def check_tip(config: Config, ref: str, saved: PlanInputs | None) -> None:
    """Refuse to apply anything but the newest commit of ``ref``: a re-run of an old apply
    job would otherwise write an older state over changes merged since."""
    tip = commit_of(config.root, ref, "--require-tip")
    head = head_commit(config.root)
    stale = [f"HEAD is {head[:12]}"] if head != tip and head is not None else []
    if saved is not None and saved.commit != tip:
        made = saved.commit[:12] if saved.commit else "uncommitted files"
        stale.append(f"the plan was made at {made}")
    elif saved is None and files_commit(config) is None:
        stale.append("the portal files have uncommitted changes")
    if stale:
        raise RefusedError(
            f"{' and '.join(stale)}, but {ref} is at {tip[:12]}: applying would put another "
            f"commit's state over {ref}'s; apply {ref}'s newest commit instead"
        )


def check_plan_commit(config: Config, saved: PlanInputs) -> None:
    """Refuse a saved plan made at a commit this repository does not hold: it was made
    from other files (another repository, a branch never fetched), so no review here
    can have seen them."""
    if saved.commit is not None and not has_commit(config.root, saved.commit):
        raise RefusedError(
            f"the plan was made at commit {saved.commit[:12]}, which this repository does "
            "not have; make the plan here (`portal-config diff --out`) or fetch that commit"
        )


def valid_documents(config: Config, paths: Sequence[Path], console: Console) -> list[Document]:
    """The portal files, linted; refused (their errors shown) if any has an error."""
    if not paths:
        require_portals_dir(lint_scope(config))
    run: LintRun = lint(list(paths) or [config.portals_dir], lint_scope(config))
    if run.report.failed(strict=False):
        errors_only = Report(
            run.report.files, [p for p in run.report.problems if p.level.value == "error"]
        )
        console.err(console.views.problems(errors_only, run.sources, console.color))
        refused = InvalidFilesError(
            "the portal files have errors; fix them (see `portal-config lint`) first"
        )
        refused.problems = tuple(errors_only.problems)
        raise refused
    return run.documents


def refuse_unplannable(problems: Sequence[Problem], target: str, console: Console) -> None:
    """Show build_plan's problems and refuse, with one line that counts them by kind."""
    if not problems:
        return
    report = Report([p.path for p in problems], list(problems))
    console.err(console.views.problems(report, {}, console.color))
    counts = Counter(problem.rule for problem in problems)
    parts = [
        text.format(count=counts[rule], target=target)
        for rule, text in (
            (
                MISSING_RULE,
                "{count} portal file(s) name portals that do not exist in target {target}",
            ),
            (IGNORED_RULE, "{count} portal file(s) name portals the config ignores"),
            (
                LIVE_VALUE_RULE,
                "{count} live portal(s) in target {target} hold what no portal file can",
            ),
        )
        if counts[rule]
    ]
    raise InvalidFilesError("; ".join(parts))


def check_live_work_types(
    documents: Sequence[Document], work_types: Sequence[WorkType], target: Target, console: Console
) -> None:
    """The unknown- and inactive-work-type rules against the live account, as errors
    whatever the config says: OutSmart refuses both on write."""
    catalog = Catalog(
        path=f"live, target {target.name}",
        names=tuple(w.name for w in work_types if w.active),
        inactive=tuple(w.name for w in work_types if not w.active),
        source=f"the live account of target {target.name}",
    )
    context = Context(catalog=catalog, project=list(documents))
    full: dict[str, Document] = {}

    def where(document: Document, path: JsonPath) -> Position:
        # Lint keeps documents slim (no positions); the rare file with a hit is read again.
        if document.path not in full:
            loaded = load_file(Path(document.path), document.path).document
            full[document.path] = loaded if loaded is not None else document
        return full[document.path].locate(path)

    def problem(rule_id: str, hit: Hit) -> Problem:
        # A work type a profile set is at the profile's line, as lint says it.
        origin = hit.document.origin(hit.path)
        if origin.file != hit.document.path and origin.position is not None:
            message = f"{hit.message} (effective in {hit.document.path})"
            return Problem(origin.file, Position(*origin.position), Level.ERROR, rule_id, message)
        at = where(hit.document, hit.path)
        return Problem(hit.document.path, at, Level.ERROR, rule_id, hit.message)

    problems = [
        problem(rule.ID, hit)
        for rule in (unknown_work_type, inactive_work_type)
        for hit in run_rule(rule, documents, context)
    ]
    if problems:
        report = Report(sorted({p.path for p in problems}), problems)
        console.err(console.views.problems(report, {}, console.color))
        raise InvalidFilesError(
            f"{len(problems)} work type(s) the live account of target {target.name} would refuse"
        )
