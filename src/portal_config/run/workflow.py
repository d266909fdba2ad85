"""The live loop as single calls: diff, apply and pull, each from files to an exit code.

The CLI parses options and hands them here; this module strings the pipeline
together (lint -> target -> live read -> plan -> render/apply) and reports
through the `Console` it is given, so it never touches click's globals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from portal_config.errors import ExitCode, PortalConfigError
from portal_config.escaping import escape_line, escape_text
from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.catalog import Catalog
from portal_config.lint.check import LintRun, lint, require_portals_dir
from portal_config.lint.loader import Document, JsonPath, display, load_bytes, load_file
from portal_config.lint.rules import Context, inactive_work_type, run_rule, unknown_work_type
from portal_config.live.api import OutSmartClient
from portal_config.plan.results import (
    ApplyReport,
    Outcome,
    PortalResult,
    interrupt_reason,
    now,
    unsure,
)
from portal_config.plan.saved import read_plan_file, read_plan_files
from portal_config.plan.value import (
    DRIFT_REPORT,
    IGNORED_RULE,
    LIVE_VALUE_RULE,
    MISSING_RULE,
    BaseRef,
    Plan,
    RefusedError,
    SavedPlan,
    build_plan,
)
from portal_config.problems import Level, Position, Problem, Report
from portal_config.project.config import Config, Ignore, Target
from portal_config.project.history import (
    base_files,
    commit_of,
    has_commit,
    head_commit,
    uncommitted,
)
from portal_config.render.lint import Style, render_text
from portal_config.render.plan import PLAN_FORMATS, account_heading, render_result
from portal_config.run.console import Console, confirm_apply, count_portals
from portal_config.run.options import ApplyOptions
from portal_config.run.targets import announce, open_client, resolve_target, target_line
from portal_config.settings.model import PortalSettings, WorkType
from portal_config.storage import check_writable, json_text, write_atomically

# A three-way plan's base: what was compared with, and its settings by portal id.
Base = tuple[BaseRef, Mapping[str, PortalSettings]]


class InvalidFilesError(PortalConfigError):
    exit_code = ExitCode.PROBLEMS
    prefix = "refused"


def diff(
    config: Config,
    paths: Sequence[Path],
    target_name: str | None,
    output_format: str,
    out_file: Path | None,
    console: Console,
    concurrency: int | None = None,
    *,
    base_ref: str | None = None,
    max_chars: int | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> int:
    """``on_plan`` sees the plan made (a fleet run adds up its accounts' changes)."""
    if out_file is not None:
        check_writable(out_file, "--out", Repository(config.root))  # before any request
    plan, header = make_plan(config, paths, target_name, console, concurrency, base_ref=base_ref)
    if on_plan is not None:
        on_plan(plan)
    return _emit(plan, header, output_format, out_file, console, max_chars)


def drift(
    config: Config,
    target_name: str | None,
    output_format: str,
    console: Console,
    concurrency: int | None = None,
    *,
    max_chars: int | None = None,
    out_file: Path | None = None,
) -> int:
    """Live against the files of the checkout: every difference is an edit made outside git.

    The files are their own base, so each change's origin is drift; each drifted portal
    is shown with the two ways to settle it (pull it into git, or apply the files).
    """
    if out_file is not None:
        check_writable(out_file, "--out", Repository(config.root))  # before any request
    plan, header = make_plan(config, (), target_name, console, concurrency, drift=True)
    return _emit(plan, header, output_format, out_file, console, max_chars)


def make_plan(
    config: Config,
    paths: Sequence[Path],
    target_name: str | None,
    console: Console,
    concurrency: int | None = None,
    *,
    base_ref: str | None = None,
    drift: bool = False,
) -> tuple[Plan, str]:
    """The plan diff (or, with ``drift``, the drift report) shows, and the line saying
    where it was read: no output, no file."""
    documents = _valid_documents(config, paths, console)
    target = resolve_target(config, target_name)
    commit = _files_commit(config)
    base: Base | None = None
    if drift:  # the checkout is its own base: every difference was made outside git
        files = {d.data["portal"]: PortalSettings.from_file_data(d.data) for d in documents}
        base = (BaseRef("HEAD", commit), files)
    elif base_ref:  # git is asked before the API: a wrong --base must not cost a live read
        base = _base_settings(config, base_ref, console)
    with _client(target, concurrency, console) as client:
        _say_reading(console, target, client, len(documents))
        plan = _plan(documents, bool(paths), target, client, console, config.ignore, base)
        header = _with_account(announce(target, client), config.account)
    plan.commit = commit
    plan.account = config.account
    if drift:
        plan.kind = DRIFT_REPORT
    else:
        plan.apply_refusal = plan.refusal(config.safety)
    return plan, header


def _emit(
    plan: Plan,
    header: str,
    output_format: str,
    out_file: Path | None,
    console: Console,
    max_chars: int | None,
) -> int:
    """Save the plan (--out), print it, and say with the exit code whether it changes."""
    if out_file is not None:
        write_atomically(out_file, json_text(plan.to_json()))
    console.out(PLAN_FORMATS[output_format](plan, header, console.color, max_chars))
    return ExitCode.CHANGES if plan.has_changes else ExitCode.OK


def show(
    config: Config,
    plan_files: Sequence[Path],
    output_format: str,
    console: Console,
    max_chars: int | None,
) -> int:
    """Saved plans rendered as diff rendered them, with no request: the PR comment and the
    job summary can then come from one live read. Several plans (one per account of a
    many-account repository) are shown one after another, headed by their account, each
    with an equal share of ``max_chars``."""
    plans = read_plan_files(plan_files, config)  # all checked first
    share = max_chars // len(plans) if max_chars is not None else None
    many = len(plans) > 1
    for saved in plans:
        header = saved_header(config, saved)
        if many:  # json shows one plan: the CLI refuses several
            console.out(account_heading(saved.account, output_format == "markdown"))
        rendered = PLAN_FORMATS[output_format](saved.as_recorded(), header, console.color, share)
        console.out(rendered + ("\n" if many else ""))
    return ExitCode.OK


def apply(
    config: Config,
    paths: Sequence[Path],
    plan_file: Path | None,
    options: ApplyOptions,
    console: Console,
    *,
    saved: SavedPlan | None = None,
    show_plan: bool = True,
) -> int:
    """Apply the files, a plan file, or ``saved``: a plan made in this process (a fleet
    run plans every account before it writes to any, and has shown the plans already:
    ``show_plan`` False)."""
    report_file = options.report_file
    if report_file is not None:
        # Before any request, not after the writes.
        check_writable(report_file, "--report", Repository(config.root))
    report = ApplyReport()
    try:
        code = _apply(config, paths, plan_file, options, console, report, saved, show_plan)
    except PortalConfigError as exc:
        write_report(report_file, report, exc.exit_code, exc.render())
        raise
    except KeyboardInterrupt:
        # Outside the writes (apply_plan counts interrupts instead of raising them): before
        # them, nothing was written; after them, the run's results are in the report.
        reason = interrupt_reason(report.run) if report.run else "interrupted before any write"
        write_report(report_file, report, ExitCode.INTERRUPTED, reason)
        raise
    if code == ExitCode.INTERRUPTED and report.run is not None:
        reason = interrupt_reason(report.run)
    elif code == ExitCode.APPLY_FAILED and report.run is not None and unsure(report.run.results):
        reason = "the outcome of some writes is unknown: OutSmart may have stored them; run diff"
    elif code == ExitCode.APPLY_FAILED:
        reason = "some portals were not applied; see their results"
    else:
        reason = ""
    write_report(report_file, report, code, reason)
    return code


def _apply(
    config: Config,
    paths: Sequence[Path],
    plan_file: Path | None,
    options: ApplyOptions,
    console: Console,
    report: ApplyReport,
    saved: SavedPlan | None,
    show_plan: bool,
) -> int:
    if plan_file is not None:
        saved = read_plan_file(plan_file, config)
        if saved.account is not None:  # its account's token, catalog and sandbox state
            config = config.for_account(saved.account)
    report.saved = saved
    report.account = config.account
    if plan_file is not None and saved is not None:
        check_plan_commit(config, saved)
    if options.require_tip is not None:
        check_tip(config, options.require_tip, saved)
    documents = [] if saved is not None else _valid_documents(config, paths, console)
    target = resolve_target(config, options.target or (saved.target if saved else None))
    report.target = target.name
    if saved is not None and saved.target != target.name:
        raise RefusedError(f"the plan was made for target {saved.target}, not {target.name}")
    with _client(target, options.concurrency, console) as client:
        _say_reading(console, target, client, len(saved.portals) if saved else len(documents))
        report.base_url = client.display_url
        if saved is not None:
            if not target.is_sandbox and saved.base_url != client.display_url:
                raise RefusedError(
                    f"the plan was made for {saved.base_url}, not {client.display_url}"
                )
            plan = saved.replan(client.list_portals(), config.ignore)
        else:
            plan = _plan(documents, bool(paths), target, client, console, config.ignore)
        report.plan = plan
        if show_plan:
            console.progress(PLAN_FORMATS["text"](plan, announce(target, client), console.color))
        if plan.already_applied:
            names = ", ".join(escape_text(name) for name in plan.already_applied)
            console.out(f"already applied: live equals the plan for {names}\n")
        if not plan.has_changes:
            console.out("Nothing to apply.\n")
            return ExitCode.OK
        plan.raise_if_unsafe(config.safety, options.allow_large_change)
        confirm_apply(console, len(plan.changed), f"target {target.name}", options.assume_yes)
        client.restart_deadline()  # time spent reading the plan at the prompt is not the API's
        width = max(len(escape_text(p.portal)) for p in plan.changed)
        shown: dict[str, PortalResult] = {}

        def show(result: PortalResult) -> None:
            shown[result.portal] = result
            line = render_result(result, width, console.color, progress=True)
            # Failures show even with --quiet: they are results, not progress.
            (console.out if result.outcome is not Outcome.APPLIED else console.progress)(line)

        from portal_config.live.apply import apply_plan  # the writes: not on diff's start-up path

        run = apply_plan(plan, client, on_result=show, note=console.note)
        report.run = run
    for result in run.results:
        # What no progress line told (skipped, unknown), or told otherwise: a write's
        # answer said applied, and the read-back found it was not stored.
        if result.outcome is not Outcome.UNCHANGED and shown.get(result.portal) != result:
            console.out(render_result(result, width, console.color))
    console.out(run.summary() + "\n")
    if run.interrupted:
        console.err(interrupt_reason(run) + "\n")
        return ExitCode.INTERRUPTED
    return ExitCode.APPLY_FAILED if run.failed else ExitCode.OK


def _files_commit(config: Config) -> str | None:
    """The commit the portal files are, or None: outside git, or edited since HEAD (a plan
    of uncommitted files must not pass for a commit's, `--require-tip` included)."""
    commit = head_commit(config.root)
    if commit is None or uncommitted(config.root, [config.portals_dir, config.catalog]):
        return None
    return commit


def saved_header(config: Config, saved: SavedPlan) -> str:
    """The line diff printed above this plan, as diff printed it (sandbox or not)."""
    known = config.targets.get(saved.target)
    line = target_line(saved.target, known is not None and known.is_sandbox, saved.base_url)
    return _with_account(line, saved.account)


def _with_account(header: str, account: str | None) -> str:
    return f"{header} (account {account})" if account is not None else header


def check_tip(config: Config, ref: str, saved: SavedPlan | None) -> None:
    """Refuse to apply anything but the newest commit of ``ref``: a re-run of an old apply
    job would otherwise write an older state over changes merged since."""
    tip = commit_of(config.root, ref, "--require-tip")
    head = head_commit(config.root)
    stale = [f"HEAD is {head[:12]}"] if head != tip and head is not None else []
    if saved is not None and saved.commit != tip:
        made = saved.commit[:12] if saved.commit else "uncommitted files"
        stale.append(f"the plan was made at {made}")
    elif saved is None and _files_commit(config) is None:
        stale.append("the portal files have uncommitted changes")
    if stale:
        raise RefusedError(
            f"{' and '.join(stale)}, but {ref} is at {tip[:12]}: applying would put another "
            f"commit's state over {ref}'s; apply {ref}'s newest commit instead"
        )


def check_plan_commit(config: Config, saved: SavedPlan) -> None:
    """Refuse a saved plan made at a commit this repository does not hold: it was made
    from other files (another repository, a branch never fetched), so no review here
    can have seen them."""
    if saved.commit is not None and not has_commit(config.root, saved.commit):
        raise RefusedError(
            f"the plan was made at commit {saved.commit[:12]}, which this repository does "
            "not have; make the plan here (`portal-config diff --out`) or fetch that commit"
        )


def _client(
    target: Target, concurrency: int | None, console: Console
) -> AbstractContextManager[OutSmartClient]:
    return open_client(
        target, concurrency, say=console.note, trace=console.trace if console.verbose else None
    )


def _say_reading(console: Console, target: Target, client: OutSmartClient, count: int) -> None:
    """Said before the live read, on stderr: a server that does not answer is then a
    known wait (up to the target's timeout), not silence. stdout stays the plan alone."""
    if not console.watched:
        return
    console.note(
        f"reading {count_portals(count)} from {announce(target, client).removeprefix('Target: ')}"
    )


def write_report(path: Path | None, report: ApplyReport, code: int, reason: str) -> None:
    if path is not None:
        write_atomically(path, json_text(report.to_json(code, reason)))


def pull(
    config: Config,
    target_name: str | None,
    portals: Sequence[str],
    directory: Path | None,
    *,
    catalog: bool,
    force: bool,
    console: Console,
    concurrency: int | None = None,
) -> int:
    # Imported here: ruamel.yaml, which pull edits files with, costs diff and apply ~20 ms.
    from portal_config.files.pull import pull_catalog, pull_portals

    target = resolve_target(config, target_name)
    with _client(target, concurrency, console) as client:
        # Not progress: even with --quiet, a pull says whose settings it writes into git.
        console.out(escape_line(_pull_source(target, client)) + "\n")
        live = client.list_portals()
        work_types = client.list_work_types() if catalog else []
    schema_path = config.root / "schema" / "portal.schema.json"
    result = pull_portals(
        live,
        directory or config.portals_dir,
        schema_path,
        only=portals,
        force=force,
        ignore=config.ignore,
        root=config.root,
    )
    if catalog:
        catalog_result = pull_catalog(work_types, config.catalog, force, root=config.root)
        result.written += catalog_result.written
        result.unchanged += catalog_result.unchanged
        result.refused += catalog_result.refused
    for path in result.written:
        console.progress(f"wrote {escape_text(str(path))}\n")
    for reason in result.refused:
        console.err(f"refused: {escape_line(reason)}\n")
    console.out(
        f"Pull: {len(result.written)} written, {len(result.unchanged)} unchanged, "
        f"{len(result.refused)} refused.\n"
    )
    return ExitCode.PROBLEMS if result.failed else ExitCode.OK


def _pull_source(target: Target, client: OutSmartClient) -> str:
    """Pull's first line: the target and whose account it reads.

    The in-process sandbox serves the built-in demo account; pulling it into portals/
    by accident (no config, default target) must not pass for OutSmart's settings.
    """
    if target.is_sandbox:
        state = display(target.sandbox_state) if target.sandbox_state else "memory"
        return (
            f"{announce(target, client)}: reading the sandbox's demo account, not OutSmart "
            f"(state in {state}; set a target with base_url for a real account)"
        )
    source = f"${target.token_env}" if target.token_command is None else target.token_origin
    return f"{announce(target, client)}: reading the account of the token in {source}"


def _valid_documents(config: Config, paths: Sequence[Path], console: Console) -> list[Document]:
    if not paths:
        require_portals_dir(config)
    run: LintRun = lint(list(paths) or [config.portals_dir], config)
    if run.report.failed(strict=False):
        errors_only = Report(
            run.report.files, [p for p in run.report.problems if p.level.value == "error"]
        )
        console.err(render_text(errors_only, run.sources, Style(console.color)))
        raise InvalidFilesError(
            "the portal files have errors; fix them (see `portal-config lint`) first"
        )
    return run.documents


def _plan(
    documents: list[Document],
    subset: bool,
    target: Target,
    client: OutSmartClient,
    console: Console,
    ignore: Ignore,
    base: Base | None = None,
) -> Plan:
    """The plan from one read of live portals, after checking the files' work types
    against the live account's (a second read): a name OutSmart does not know would
    otherwise fail only at apply, after review."""
    live_read_at = now()
    live, work_types = client.read_account()
    _check_live_work_types(documents, work_types, target, console)
    plan, problems = build_plan(
        documents, live, target.name, client.display_url, base[1] if base else None, ignore
    )
    if problems:
        console.err(
            render_text(Report([p.path for p in problems], problems), {}, Style(console.color))
        )
        raise InvalidFilesError(_unplannable_summary(problems, target.name))
    if subset:
        plan.unmanaged = []  # with a subset of files, "no file" cannot be judged
    plan.base = base[0] if base else None
    plan.live_read_at = live_read_at
    return plan


def _unplannable_summary(problems: Sequence[Problem], target: str) -> str:
    """The one line that ends a plan refused for build_plan's problems, by kind."""
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
    return "; ".join(parts)


def _check_live_work_types(
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

    problems = [
        Problem(hit.document.path, where(hit.document, hit.path), Level.ERROR, rule.ID, hit.message)
        for rule in (unknown_work_type, inactive_work_type)
        for hit in run_rule(rule, documents, context)
    ]
    if problems:
        console.err(
            render_text(
                Report(sorted({p.path for p in problems}), problems), {}, Style(console.color)
            )
        )
        raise InvalidFilesError(
            f"{len(problems)} work type(s) the live account of target {target.name} would refuse"
        )


def _base_settings(config: Config, ref: str, console: Console) -> Base:
    """The base's portal settings by id, from the files under the portals directory at
    the merge-base of HEAD and ``ref``. A base file that is not a valid portal file gives
    no base for its portal: its changes then count as this branch's."""
    found = base_files(config.root, ref, config.portals_dir)
    if found.tip != found.commit:
        # The branch forked from an older ref: a change merged since is in neither the
        # base nor these files, and would read as drift. CI plans the merge commit instead.
        console.note(
            f"note: {ref} has moved on since this branch forked ({found.commit[:12]} -> "
            f"{found.tip[:12]}); merge {ref} into the branch for the plan a merge would give"
        )
    settings: dict[str, PortalSettings] = {}
    for path, data in found.files:
        loaded = load_bytes(data, f"{path}@{ref}")
        if loaded.document is None or list(schema.check(loaded.document)):
            console.note(f"base: {path} at {ref} is not a valid portal file; compared as new")
            continue
        desired = PortalSettings.from_file_data(loaded.document.data)
        settings[desired.portal] = desired
    return BaseRef(ref, found.commit), settings
