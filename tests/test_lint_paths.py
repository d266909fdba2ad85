"""Lint's fast paths print exactly what the plain, full path prints.

The fast path forks workers for large batches, keeps only slim documents, runs the
per-file rules as each file is read, answers valid files with the compiled precheck,
keeps the texts of files with problems only and scans unlinted files by their
`portal:` line. The full path here does none of that: every document whole, jsonschema
on every file, every rule over every document at the end, every text kept. Both are
rendered in every format and must be byte-identical.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import REPO, SHARED
from portal_config.lint import schema, workers
from portal_config.lint.check import (
    LintRun,
    _directives,
    _unused_directives,
    lint,
    load_config_catalog,
)
from portal_config.lint.loader import Document, load_file
from portal_config.lint.reader.project import expand
from portal_config.lint.rules import RULES, Context, run_rule
from portal_config.paths import display
from portal_config.problems import Position, Problem, Report
from portal_config.project.config_reader import load_config
from portal_config.project.lint_scope import lint_scope
from portal_config.render.lint import FORMATS, Style

CORPUS = SHARED / "corpus" / "yaml-test-suite-errors"
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Reparatie"]


def full_lint(paths: list[Path]) -> LintRun:
    """The reference: whole documents, jsonschema always, rules at the end (per-file rules
    on the part of each document the schema did not refuse, project rules on valid ones)."""
    config = lint_scope(load_config())
    files = list(expand(paths, config))
    run = LintRun(Report(files=[display(f) for f in files]))
    catalog, problems = load_config_catalog(config)
    run.report.extend(problems)
    valid: list[Document] = []
    checked: list[Document] = []
    directives: dict[tuple[str, str], Position] = {}
    for path in files:
        loaded = load_file(path, display(path))
        run.report.extend(loaded.problems)
        disabled: dict[str, Position] = {}
        if loaded.text is not None:
            run.sources[loaded.path] = loaded.text
            disabled = dict(_directives(loaded.path, loaded.text, run.report))
        if loaded.document is None:
            continue
        errors, part = schema.check_parts(loaded.document, against=schema.validator())
        run.report.extend(errors)
        if part is not None:
            checked.append(replace(loaded.document, data=part, disabled_rules=frozenset(disabled)))
        if not errors:
            loaded.document.disabled_rules = frozenset(disabled)
            directives.update({(loaded.path, r): at for r, at in disabled.items()})
            valid.append(loaded.document)
    project = list(valid)
    linted = {str(f.resolve()) for f in files}
    for path in expand([config.portals_dir], config) if config.portals_dir.is_dir() else []:
        if str(path.resolve()) not in linted:
            other = load_file(path, display(path)).document
            if other is not None and not list(schema.check(other, against=schema.validator())):
                project.append(other)
    silenced: set[tuple[str, str]] = set()
    context = Context(catalog=catalog, project=project)
    for rule_id, rule in RULES.items():
        level = config.level_of(rule_id)
        if level is None:
            continue
        documents = valid if hasattr(rule, "check_project") else checked
        for hit in run_rule(rule, documents, context):
            if rule_id in hit.document.disabled_rules:
                silenced.add((hit.document.path, rule_id))
            else:
                where = hit.document.locate(hit.path, key=hit.on_key)
                run.report.extend([Problem(hit.document.path, where, level, rule_id, hit.message)])
    run.report.extend(_unused_directives(directives, silenced, config))
    run.documents = valid
    return run


def rendered(run: LintRun) -> dict[str, str]:
    return {
        f"{name} colour={color}": render(run.report, run.sources, Style(color=color, strict=True))
        for name, render in FORMATS.items()
        for color in (False, True)
    }


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Workers for any batch, two CPUs or not; yields how many children were forked."""
    forks: list[int] = []
    real_fork = workers._fork

    def counting_fork(*args: object) -> object:
        forks.append(1)
        return real_fork(*args)  # type: ignore[arg-type]

    real_collect = workers._collect

    def checking_collect(child: object) -> object:
        # A worker that fails costs only time (the parent redoes its slice), so only
        # this tells that the workers really did the work.
        results = real_collect(child)  # type: ignore[arg-type]
        assert results is not None, "a worker failed; its slice was done again in the parent"
        return results

    monkeypatch.setattr(workers, "_collect", checking_collect)
    monkeypatch.setattr(workers, "MIN_JOBS", 2)
    monkeypatch.setattr(workers, "available_cpus", lambda: 3)
    monkeypatch.setattr(workers, "_fork", counting_fork)
    # An xdist worker runs execnet's threads; the children here touch none of them.
    monkeypatch.setattr(workers, "_other_threads_running", lambda: False)
    yield forks


def assert_same(paths: list[Path], forks: list[int], expect_forks: bool = True) -> LintRun:
    fast = lint(paths, lint_scope(load_config()))
    full = full_lint(paths)
    assert rendered(fast) == rendered(full)
    slim = [(d.path, d.data, d.locate(("portal",)), d.disabled_rules) for d in fast.documents]
    whole = [(d.path, d.data, d.locate(("portal",)), d.disabled_rules) for d in full.documents]
    assert slim == whole
    assert bool(forks) == expect_forks  # the workers really ran (or really did not)
    return fast


def generated_portal(rng: random.Random, index: int) -> str:
    """A portal file that is valid, or broken in one of the ways lint explains."""
    portal = f"p-{index:03d}" if rng.random() > 0.05 else "p-000"  # some duplicate ids
    enabled = rng.choice(["true", "false", "yes", "on"])
    types = rng.sample(WORK_TYPES + ["Schilderwerk"], rng.randint(0, 3))
    lines = [f"portal: {portal}", "guest_workorder:", f"  enabled: {enabled}"]
    if rng.random() < 0.3:
        lines.insert(0, "# portal-config: disable truthy, permissive-guest-access")
    if rng.random() < 0.2:
        lines.append("  allow_new_relation: true")
    if types:
        lines += ["  work_types:"] + [f"    - {name}" for name in types]
    breakage = rng.random()
    if breakage < 0.08:
        lines.append("  enabeld: yes")
    elif breakage < 0.12:
        lines.append("guest_workorder: {}")
    elif breakage < 0.15:
        lines.append("  work_types: [unclosed")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_projects_lint_the_same_both_ways(
    project: Path, forked: list[int], seed: int
) -> None:
    rng = random.Random(seed)
    (project / "worktypes.yaml").write_text(f"work_types: {WORK_TYPES}\n")
    for index in range(60):
        text = generated_portal(rng, index)
        (project / "portals" / f"p-{index:03d}.yaml").write_text(text)
    fast = assert_same([project / "portals"], forked)
    assert fast.report.problems  # the generator does break files
    # The pre-commit case: some files as arguments, the rest read for duplicate ids.
    forked.clear()
    chosen = sorted(rng.sample(sorted((project / "portals").iterdir()), 20))
    assert_same(chosen, forked)


def test_the_shared_corpus_lints_the_same_both_ways(project: Path, forked: list[int]) -> None:
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not available")
    shutil.copytree(CORPUS, project / "portals" / "corpus")
    shutil.copytree(REPO / "portals", project / "portals" / "shipped")
    shutil.copy(REPO / "worktypes.yaml", project / "worktypes.yaml")
    assert_same([project / "portals"], forked)


def test_a_small_batch_stays_in_one_process(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forks: list[int] = []
    monkeypatch.setattr(workers, "available_cpus", lambda: 4)
    monkeypatch.setattr(workers, "_fork", lambda *args: forks.append(1))
    shutil.copytree(REPO / "portals", project / "portals", dirs_exist_ok=True)
    assert_same([project / "portals"], forks, expect_forks=False)
