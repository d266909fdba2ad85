"""What a pull request's job trusts: the base branch's config and the programs it names,
and the plans the job made itself; the pull request supplies portal files only.

`--config <base branch's tree>/portal-config.yaml --project <the pull request's checkout>`
reads the portal files in the project and runs the token commands beside the config; a
program or CA bundle the config names inside the project is refused before anything runs.
`show` and `apply` refuse two plans for one account and target, naming both files.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO, SOFTWARE_TOKEN, TOKEN, Invoke
from portal_config.sandbox import Sandbox


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def split(tmp_path: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """base/: the trusted tree (config, token script); pr/: the portal files, as the cwd.
    Returns tmp_path."""
    base, pr = tmp_path / "base", tmp_path / "pr"
    shutil.copytree(REPO / "portals", pr / "portals")
    shutil.copy(REPO / "worktypes.yaml", pr / "worktypes.yaml")
    _script(
        base / "scripts" / "outsmart-token",
        f'#!/bin/sh\necho base >> "{tmp_path}/ran"\necho {TOKEN}\n',
    )
    _script(
        pr / "scripts" / "outsmart-token", f'#!/bin/sh\necho pr >> "{tmp_path}/ran"\necho {TOKEN}\n'
    )
    _configure(base, "token_command: [./scripts/outsmart-token]", sandbox)
    # The pull request's own config, which --config leaves unread.
    (pr / "portal-config.yaml").write_text("portals_dir: elsewhere\n", encoding="utf-8")
    monkeypatch.chdir(pr)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _configure(base: Path, line: str, sandbox: Sandbox) -> None:
    (base / "portal-config.yaml").write_text(
        "default_target: production\n"
        "targets:\n"
        "  production:\n"
        f"    base_url: {sandbox.url}\n"
        f"    {line}\n"
        "    retries: 1\n",
        encoding="utf-8",
    )


def _base_config(split: Path) -> list[str]:
    return ["--config", str(split / "base" / "portal-config.yaml"), "--project", "."]


def test_the_project_gives_the_files_and_the_config_gives_the_token_command(
    split: Path, invoke: Invoke
) -> None:
    result = invoke("diff", *_base_config(split))
    assert result.exit_code == 3, result.output
    assert "~ acme-facilities  (portals/acme-facilities.yaml, revision 1)" in result.output
    assert (split / "ran").read_text() == "base\n"


def test_without_project_the_files_are_beside_the_config(split: Path, invoke: Invoke) -> None:
    (split / "base" / "portals").mkdir()
    result = invoke("diff", "--config", str(split / "base" / "portal-config.yaml"))
    # The base tree has no portal files: nothing of pr/ is read, every portal is unmanaged.
    assert "? acme-facilities  unmanaged: exists in OutSmart, no file" in result.output
    assert (split / "ran").read_text() == "base\n"


def _refused(split: Path, invoke: Invoke, key: str, inside: Path) -> None:
    config = "../base/portal-config.yaml"  # as the cwd, pr/, reaches it
    (split / "pr" / "plan.json").write_text("{}", encoding="utf-8")  # never read
    for command in ("diff", "drift", "show", "apply"):
        args = ["plan.json"] if command in ("show", "apply") else []
        result = invoke(command, *args, *_base_config(split))
        assert result.exit_code == 2, (command, result.output)
        assert result.output == (
            f"invalid config: {config}:5:{5 + len(key) + 2}: targets.production.{key}: {inside} "
            f"is inside --project {split / 'pr'}, whose files are data: name a program or "
            "file outside it (beside the config)\n"
        )
    assert not (split / "ran").exists()


def test_a_token_command_in_the_project_by_its_path_is_refused(
    split: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    script = split / "pr" / "scripts" / "outsmart-token"
    _configure(split / "base", f"token_command: [{script}]", sandbox)
    _refused(split, invoke, "token_command", script)


@pytest.mark.parametrize("tree", ["base", "pr"])
def test_a_bare_program_name_is_found_on_path_and_refused_in_the_project(
    split: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch, tree: str
) -> None:
    _configure(split / "base", "token_command: [outsmart-token]", sandbox)
    scripts = split / tree / "scripts"
    monkeypatch.setenv("PATH", f"{scripts}{os.pathsep}{os.environ['PATH']}")
    if tree == "pr":
        _refused(split, invoke, "token_command", scripts / "outsmart-token")
    else:  # the runner's programs, as the base tree's: found on PATH and run
        assert invoke("diff", *_base_config(split)).exit_code == 3
        assert (split / "ran").read_text() == "base\n"


def test_a_token_command_linked_into_the_project_is_refused(
    split: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    linked = split / "base" / "scripts" / "outsmart-token"
    linked.unlink()
    linked.symlink_to(split / "pr" / "scripts" / "outsmart-token")
    _refused(split, invoke, "token_command", split / "pr" / "scripts" / "outsmart-token")


def test_a_ca_bundle_in_the_project_is_refused(
    split: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    bundle = split / "pr" / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    _configure(split / "base", f"ca_bundle: {bundle}", sandbox)
    _refused(split, invoke, "ca_bundle", bundle)


# --- two plans for one account and target ---------------------------------------------


@pytest.mark.parametrize(
    ("fleet", "whose"), [(False, "target test"), (True, "account acme on target test")]
)
def test_show_and_apply_refuse_two_plans_for_one_account_and_target(
    live_project: Path,
    sandbox: Sandbox,
    invoke: Invoke,
    monkeypatch: pytest.MonkeyPatch,
    fleet: bool,
    whose: str,
) -> None:
    if fleet:  # the same portals as the one account acme of a fleet
        home = live_project / "accounts" / "acme"
        home.mkdir(parents=True)
        shutil.move(live_project / "portals", home / "portals")
        shutil.move(live_project / "worktypes.yaml", home / "worktypes.yaml")
        with (live_project / "portal-config.yaml").open("a", encoding="utf-8") as config:
            config.write("accounts:\n  acme:\n")
        monkeypatch.setenv("OUTSMART_TOKEN_ACME", TOKEN)
    assert invoke("diff", "--out", "plans/acme.json").exit_code == 3
    # Another copy of a genuine plan: each passes every check on its own.
    plan = json.loads((live_project / "plans" / "acme.json").read_text(encoding="utf-8"))
    (live_project / "plans" / "0.json").write_text(json.dumps(plan), encoding="utf-8")
    seen = sandbox.requests_seen
    for command in (["show", "--format", "markdown"], ["apply", "--yes"]):
        result = invoke(*command, "plans/0.json", "plans/acme.json")
        assert result.exit_code == 2
        assert result.output == (
            f"error: plans/0.json and plans/acme.json are both plans for {whose}: "
            "give one plan per account and target\n"
        )
    assert sandbox.requests_seen == seen
    assert invoke("show", "plans/acme.json").exit_code == 0  # one is shown as before
