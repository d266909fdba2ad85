"""The README and the documentation tell the truth: the README's test command is CI's, the
rules table is the registry, every table and example is what the code does."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from conftest import REPO, Invoke, Write
from portal_config import TOOL
from portal_config.cli import cli
from portal_config.lint.rules import RULES, summary
from portal_config.live.envelope import CODES

README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = REPO / "docs"


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def hooks() -> ModuleType:
    """docs/hooks.py, which renders the generated parts of the documentation."""
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_test_one() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[0] in ci.splitlines()
    assert commands[1] in ci.splitlines()
    assert commands[0].endswith("pip install . && portal-config lint")
    assert commands[1].endswith("pip install -e '.[test]' && pytest")


def test_rules_table_lists_every_rule_with_its_default_level() -> None:
    rendered = hooks().render(page("reference/rules.md"))
    for rule_id, rule in RULES.items():
        assert f"| `{rule_id}` | {rule.LEVEL.value} |" in rendered
        assert (rule.__doc__ or "").strip() in rendered


def test_envelope_table_lists_every_code_with_its_meaning() -> None:
    section = (
        page("internals/api-contract.md")
        .split("| code | meaning | the client |", 1)[1]
        .split("\n\n", 1)[0]
    )
    rows = [line.split(" | ") for line in section.strip().splitlines()[1:]]
    listed = {int(code.strip("| ")): meaning for code, meaning, _ in rows}
    assert listed == {code: entry.meaning for code, entry in CODES.items()}
    retried = {int(code.strip("| ")) for code, _, client in rows if client.startswith("retried")}
    assert retried == {code for code, entry in CODES.items() if entry.retry}


def test_exit_code_table_lists_every_exit_code() -> None:
    from portal_config.errors import ExitCode

    section = page("reference/exit-codes.md").split("# Exit codes", 1)[1].split("\n#", 1)[0]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)}
    codes = {value for name, value in vars(ExitCode).items() if name.isupper()}
    assert documented == codes


def test_the_lint_examples_are_what_lint_prints(write: Write, invoke: Invoke) -> None:
    write(
        "portals/acme.yaml",
        "portal: acme\nguest_workorder:\n  enabeld: true\n  work_types: [Storing]\n",
    )
    section = page("guide/lint.md").split("Text output (colour only", 1)[1]
    shown_text = re.findall(r"```text\n(.+?)```", section, re.S)[0]
    assert invoke("lint", "--no-color").stdout == shown_text
    shown_json = json.loads(re.findall(r"```json\n(.+?)```", section, re.S)[0])
    printed = json.loads(invoke("lint", "--format", "json").stdout)
    # The version in the example is an example: the tool's is whatever git tags say.
    assert printed.pop("tool") == TOOL and shown_json.pop("tool").startswith("portal-config ")
    assert printed == shown_json


def test_the_diff_example_is_what_a_fresh_clone_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("portals", "worktypes.yaml", "portal-config.yaml"):
        source = REPO / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["diff", "--no-color"])
    assert result.exit_code == 3
    printed = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", result.stdout)
    guide = page("guide/pull-request-workflow.md").split("# `portal-config diff`", 1)[1]
    tour = README.split("## A five-minute tour", 1)[1]
    for section in (guide, tour):
        shown = re.findall(r"```text\n(.+?)```", section, re.S)[0]
        assert printed == shown


def ui_edit_snippet(text: str) -> str:
    """The block that simulates a UI edit through the standalone sandbox's API."""
    (block,) = [b for b in re.findall(r"```sh\n(.+?)```", text, re.S) if "curl" in b]
    return block


def _run(script: str, project: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=60)
    finally:  # the snippet's background sandbox, whatever happened
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("where", ["README.md", "docs/guide/simulate-ui-edit.md"])
@pytest.mark.parametrize("start", ["after the tour's apply", "freshly adopted"])
def test_the_ui_edit_snippet_makes_an_edit_that_drift_finds(
    tmp_path: Path, where: str, start: str
) -> None:
    """Run as written (on a free port instead of 8808): it reads the revision, so it works
    at revision 1 (a fresh adoption) and 2 (after the tour's apply); drift then finds it."""
    snippet = ui_edit_snippet((REPO / where).read_text(encoding="utf-8"))
    assert snippet.count("8808") == 2
    snippet = snippet.replace("8808", str(_free_port()))
    project = tmp_path / "project"
    if start == "after the tour's apply":
        shutil.copytree(REPO / "portals", project / "portals")
        for name in ("worktypes.yaml", "portal-config.yaml"):
            shutil.copy(REPO / name, project / name)
        setup = "portal-config apply --yes"
    else:
        project.mkdir()
        setup = "git init -q && portal-config init && portal-config pull --target sandbox"
    assert _run(setup, project).returncode == 0
    done = _run(snippet, project)
    assert done.returncode == 0, done.stderr
    assert "edit refused" not in done.stderr
    drift = _run("portal-config drift --no-color", project)
    assert drift.returncode == 3, drift.stdout + drift.stderr
    assert "~ acme-facilities" in drift.stdout
    assert "allow_address_change: true -> false" in drift.stdout


@pytest.mark.slow
def test_the_ui_edit_snippet_says_so_when_the_edit_is_refused(tmp_path: Path) -> None:
    """A stale revision is answered with code 409 (in an HTTP 200): the snippet says so."""
    snippet = ui_edit_snippet(README)
    assert "'\"$REVISION\"'" in snippet
    stale = snippet.replace("8808", str(_free_port())).replace("'\"$REVISION\"'", "0")
    project = tmp_path / "project"
    shutil.copytree(REPO / "portals", project / "portals")
    for name in ("worktypes.yaml", "portal-config.yaml"):
        shutil.copy(REPO / name, project / name)
    assert _run("portal-config apply --yes", project).returncode == 0
    done = _run(stale, project)
    assert 'edit refused: {"code": 409' in done.stderr
    assert _run("portal-config drift", project).returncode == 0  # nothing changed


@pytest.mark.parametrize("where", ["README.md", "docs/install.md"])
def test_the_install_names_its_source_and_upgrades_pip_before_a_git_install(where: str) -> None:
    text = (REPO / where).read_text(encoding="utf-8")
    # No release yet: the git URL at a commit SHA, what `<your-org>` stands for, how to
    # find the SHA.
    assert "There is no release yet" in text
    assert "`<your-org>/portal-config` stands for wherever your" in " ".join(text.split())
    assert "`git remote get-url origin`" in text and "`git rev-parse HEAD`" in text
    block = next(b for b in re.findall(r"```sh\n(.+?)```", text, re.S) if "git+" in b)
    lines = block.splitlines()
    upgrade = next(
        i for i, line in enumerate(lines) if line.startswith("python -m pip install -U pip")
    )
    install = next(i for i, line in enumerate(lines) if "git+https://" in line)
    assert upgrade < install
    assert "@<commit-sha>" in lines[install]


def test_the_readmes_rules_table_lists_every_rule_with_its_level_and_summary() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Rules", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [
        f"| `{rule_id}` | {rule.LEVEL.value} | {summary(rule)} |" for rule_id, rule in RULES.items()
    ]


@pytest.mark.slow  # a real shell, git and nine portal-config processes
def test_the_baselines_example_adopts_a_fleet_and_shows_what_a_profile_edit_reaches(
    tmp_path: Path,
) -> None:
    section = README.split("## Baselines", 1)[1].split("\n## ", 1)[0]
    (script,) = re.findall(r"```sh\n(.+?)```", section, re.S)
    (shown,) = re.findall(r"```text\n(.+?)```", section, re.S)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env |= {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr  # the last command, apply, applied
    assert "Traceback" not in done.stderr
    # Adopted: the files hold only overrides, and nothing differs from live.
    assert out.count("No changes. 6 portals up to date.") == 3
    acme = (tmp_path / "accounts" / "account-001" / "portals" / "acme-facilities.yaml").read_text()
    assert "extends:\n  - restrictive\n" in acme and "allow_address_change" not in acme
    # The comment opens with the reach, and names the profile's line on the change.
    headline, _, change = shown.splitlines()
    comment = out[out.index(headline) :]
    assert comment.startswith(headline + "\n\n<details>\n")
    assert comment.count(change) == 3
    assert "Apply: 1 applied, 5 unchanged, 0 failed, 0 skipped." in out
