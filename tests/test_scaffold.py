"""`portal-config init`: an adopter's repository, from nothing to a passing lint and diff."""

from __future__ import annotations

import datetime as dt
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import ADOPTED_ON, REPO, Invoke, adopted_secura_alarm
from portal_config.files.scaffold import (
    CREATED,
    FLEET_WORKFLOWS,
    REV_PLACEHOLDER,
    SOURCE_PLACEHOLDER,
    TEMPLATES,
    WORKFLOWS,
    Outcome,
    Pin,
    Scaffold,
    pin_from_direct_url,
    scaffold,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def adopter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository as the cwd: where an adopter runs `portal-config init`."""
    root = tmp_path / "adopter"
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    monkeypatch.chdir(root)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts[:1]
    }


def test_init_then_pull_lint_and_diff_pass_and_init_again_changes_nothing(
    adopter: Path, invoke: Invoke
) -> None:
    first = invoke("init")
    assert first.exit_code == 0, first.output
    assert "portal-config.yaml: created\n" in first.output
    assert (adopter / "portals" / ".gitkeep").is_file()
    assert (adopter / "schema" / "portal.schema.json").read_text() == (
        REPO / "schema" / "portal.schema.json"
    ).read_text()

    pulled = invoke("pull", "--target", "sandbox")
    assert pulled.exit_code == 0, pulled.output
    assert sorted(p.name for p in (adopter / "portals").glob("*.yaml"))
    linted = invoke("lint")
    assert linted.exit_code == 0, linted.output
    diffed = invoke("diff", "--target", "sandbox")
    assert diffed.exit_code == 0, diffed.output  # pull wrote what live holds
    # The sandbox's state file and the recipes' outputs stay out of git.
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=adopter,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".portal-config/" not in status and "portals/acme-facilities.yaml" in status

    before = _tree(adopter)
    again = invoke("init")
    assert again.exit_code == 0, again.output
    assert _tree(adopter) == before
    assert "created" not in again.output and "overwritten" not in again.output
    assert "portal-config.yaml: exists, kept\n" in again.output
    assert "portals/: exists, kept\n" in again.output


def test_force_overwrites_the_files_init_owns_and_only_those(adopter: Path, invoke: Invoke) -> None:
    invoke("init")
    (adopter / "portal-config.yaml").write_text("portals_dir: elsewhere\n")
    (adopter / ".github" / "workflows" / "portal-config-lint.yml").write_text("name: mine\n")
    (adopter / ".gitignore").write_text("node_modules/\n")
    (adopter / ".pre-commit-config.yaml").write_text("repos: []\n")

    kept = invoke("init")
    assert "portal-config.yaml: exists, kept\n" in kept.output
    assert (adopter / "portal-config.yaml").read_text() == "portals_dir: elsewhere\n"

    forced = invoke("init", "--force")
    assert forced.exit_code == 0, forced.output
    assert "portal-config.yaml: overwritten\n" in forced.output
    assert (adopter / "portal-config.yaml").read_bytes() == (
        TEMPLATES / "portal-config.yaml"
    ).read_bytes()
    assert (adopter / ".github" / "workflows" / "portal-config-lint.yml").read_bytes() == (
        REPO / ".github" / "workflows" / "portal-config-lint.yml"
    ).read_bytes()
    # Shared with other tools: appended to or advised on, never replaced.
    assert (adopter / ".gitignore").read_text().startswith("node_modules/\n.portal-config/\n")
    assert (adopter / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_an_existing_gitignore_gains_only_the_missing_lines(adopter: Path) -> None:
    (adopter / ".gitignore").write_text("/plan.json\n.venv/")
    scaffold(adopter)
    lines = (adopter / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["/plan.json", ".venv/"]
    assert "plan.json" not in lines and lines.count(".portal-config/") == 1
    assert scaffold(adopter).outcomes[1].status == "exists, kept"


def test_an_existing_pre_commit_config_is_kept_and_the_snippet_printed(
    adopter: Path, invoke: Invoke
) -> None:
    (adopter / ".pre-commit-config.yaml").write_text("repos: []  # mine\n")
    result = invoke("init")
    assert ".pre-commit-config.yaml: exists, kept\n" in result.output
    assert "Add the published hook" in result.output
    assert "      - id: portal-config-lint\n" in result.output
    assert (adopter / ".pre-commit-config.yaml").read_text() == "repos: []  # mine\n"

    (adopter / ".pre-commit-config.yaml").write_text("# has - id: portal-config-lint\n")
    assert "Add the published hook" not in invoke("init").output


@pytest.mark.parametrize(
    ("accounts", "recipes"), [((), WORKFLOWS), (("acme", "beta"), FLEET_WORKFLOWS)]
)
def test_a_git_install_pins_the_recipes_and_the_hook_to_its_commit(
    adopter: Path, accounts: tuple[str, ...], recipes: tuple[str, ...]
) -> None:
    pin = Pin("https://github.com/acme/portal-config", SHA)
    done = scaffold(adopter, pin=pin, accounts=accounts)
    assert done.placeholders == []
    for name in recipes:
        text = (adopter / ".github" / "workflows" / name).read_text()
        assert "PORTAL_CONFIG_SOURCE: https://github.com/acme/portal-config\n" in text
        assert f"PORTAL_CONFIG_REV: {SHA}\n" in text
        assert SOURCE_PLACEHOLDER not in text and REV_PLACEHOLDER not in text
    hook = (adopter / ".pre-commit-config.yaml").read_text()
    assert f"rev: {SHA} " in hook and "repo: https://github.com/acme/portal-config\n" in hook


def test_without_a_pin_init_names_the_files_that_carry_placeholders(
    adopter: Path, invoke: Invoke
) -> None:
    result = invoke("init")
    assert "not installed from a git commit" in result.output
    assert "  .github/workflows/portal-config-diff.yml" in result.output


def test_a_file_url_install_says_so_and_what_to_fill_in(
    adopter: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal_config.files.scaffold

    monkeypatch.setattr(portal_config.files.scaffold, "installed_pin", lambda: Pin(None, SHA))
    result = invoke("init")
    assert (
        "This portal-config was installed from a file:// URL (or one CI cannot use): in these"
        " files, replace <your-org> with the https URL of its repository:\n"
        "  .pre-commit-config.yaml\n"
        "  .github/workflows/portal-config-lint.yml\n"
    ) in result.output
    assert "local clone" not in result.output


def _git(url: str, commit: str = SHA, requested: str | None = None) -> dict[str, object]:
    vcs: dict[str, object] = {"vcs": "git", "commit_id": commit}
    if requested is not None:
        vcs["requested_revision"] = requested
    return {"url": url, "vcs_info": vcs}


@pytest.mark.parametrize(
    ("direct_url", "expected"),
    [
        (
            _git("https://github.com/acme/portal-config"),
            Pin("https://github.com/acme/portal-config", SHA),
        ),
        # Any git install is recognised: over ssh it is the same repository over https
        # (a hosted runner has no key); a local clone pins only the commit.
        (_git("ssh://git@github.com/acme/pc.git"), Pin("https://github.com/acme/pc.git", SHA)),
        (_git("git@github.com:acme/pc.git"), Pin("https://github.com/acme/pc.git", SHA)),
        (_git("ssh://git@git.example:2222/acme/pc.git"), Pin(None, SHA)),
        (_git("file:///home/me/portal-config"), Pin(None, SHA)),
        # A credential is never written into a file.
        (_git("https://me:tok@github.com/acme/portal-config"), Pin(None, SHA)),
        # The release tag it was installed at is named beside the commit; a branch is not.
        (
            _git("https://github.com/a/pc", requested="v1.2.0"),
            Pin("https://github.com/a/pc", SHA, "v1.2.0"),
        ),
        (
            _git("https://github.com/a/pc", requested="1.2.0"),
            Pin("https://github.com/a/pc", SHA, "1.2.0"),
        ),
        (_git("https://github.com/a/pc", requested="main"), Pin("https://github.com/a/pc", SHA)),
        (_git("https://github.com/acme/portal-config", commit="main"), None),
        ({"url": "file:///home/me/portal-config", "dir_info": {"editable": True}}, None),
    ],
)
def test_a_git_install_from_any_url_is_a_pin_at_its_commit(
    direct_url: dict[str, object], expected: Pin | None
) -> None:
    assert pin_from_direct_url(direct_url, "1.2.0") == expected


def test_a_pin_at_a_release_tag_names_it_beside_the_commit(adopter: Path) -> None:
    done = scaffold(adopter, pin=Pin("https://github.com/a/pc", SHA, "v1.2.0"))
    assert done.placeholders == []
    hook = (adopter / ".pre-commit-config.yaml").read_text()
    assert f"    rev: {SHA}  # frozen: v1.2.0\n" in hook
    recipe = (adopter / ".github" / "workflows" / "portal-config-lint.yml").read_text()
    assert f"  PORTAL_CONFIG_REV: {SHA}  # frozen: v1.2.0\n" in recipe
    assert yaml.safe_load(recipe)["env"]["PORTAL_CONFIG_REV"] == SHA


def test_a_local_clone_pins_the_commit_and_leaves_the_source_to_fill_in(
    adopter: Path,
) -> None:
    done = scaffold(adopter, pin=Pin(None, SHA))
    recipe = (adopter / ".github" / "workflows" / "portal-config-diff.yml").read_text()
    assert f"PORTAL_CONFIG_REV: {SHA}\n" in recipe and SOURCE_PLACEHOLDER in recipe
    assert done.placeholders == [
        ".pre-commit-config.yaml",
        *(f".github/workflows/{name}" for name in WORKFLOWS),
    ]


def test_a_rerun_still_lists_the_placeholders_left_in_kept_files(
    adopter: Path, invoke: Invoke
) -> None:
    invoke("init")
    recipe = adopter / ".github" / "workflows" / "portal-config-lint.yml"
    recipe.write_text(
        recipe.read_text()
        .replace(REV_PLACEHOLDER, SHA)
        .replace(SOURCE_PLACEHOLDER, "https://github.com/a/pc")
    )
    again = invoke("init")
    assert again.exit_code == 0
    assert "portal-config.yaml: exists, kept\n" in again.output
    listed = again.output.split("release tag:\n")[1].split("\n\n")[0].splitlines()
    assert listed == [
        "  .pre-commit-config.yaml",
        *(f"  .github/workflows/{name}" for name in WORKFLOWS if name != recipe.name),
    ]


def test_the_generated_gitignore_ignores_the_virtualenv_the_adoption_steps_make(
    adopter: Path, invoke: Invoke
) -> None:
    invoke("init")
    assert ".venv/" in (adopter / ".gitignore").read_text().splitlines()


def test_init_writes_the_recipes_this_repository_runs_for_one_account_or_a_fleet(
    adopter: Path, invoke: Invoke
) -> None:
    workflows = sorted(p.name for p in (REPO / ".github" / "workflows").glob("*.yml"))
    # Every workflow is a recipe init writes, except this repository's own release recipe.
    recipes = [name for name in workflows if name != "release.yml"]
    assert workflows == sorted([*recipes, "release.yml"])
    assert sorted({*WORKFLOWS, *FLEET_WORKFLOWS}) == recipes
    assert sorted(p.name for p in (TEMPLATES / "workflows").iterdir()) == recipes
    for args, written, left_out in [
        ((), WORKFLOWS, FLEET_WORKFLOWS),
        (("--accounts", "acme"), FLEET_WORKFLOWS, WORKFLOWS),
    ]:
        shutil.rmtree(adopter / ".github", ignore_errors=True)
        output = invoke("init", *args).output
        for name in written:
            assert f".github/workflows/{name}: created\n" in output
            copy = adopter / ".github" / "workflows" / name
            assert copy.read_bytes() == (REPO / ".github" / "workflows" / name).read_bytes()
        # Both sets would run on the same pull requests and merges.
        for name in set(left_out) - set(written):
            assert not (adopter / ".github" / "workflows" / name).exists()


@pytest.mark.parametrize("name", sorted({*WORKFLOWS, *FLEET_WORKFLOWS}))
def test_the_workflow_templates_are_this_repositorys_workflows(name: str) -> None:
    # In the checkout the templates are links to .github/workflows/ (GitHub does not follow
    # links in workflow files, so the real file lives there); test_package checks the wheel
    # ships those bytes.
    template = TEMPLATES / "workflows" / name
    assert template.is_symlink()
    assert template.resolve() == (REPO / ".github" / "workflows" / name).resolve()


def test_an_adopters_first_hour(adopter: Path, invoke: Invoke) -> None:
    """The issue's walk-through: init, pull from the sandbox, then every check passes; a
    second pull changes nothing; a comment survives a pull; a safety typo fails lint."""
    fresh = invoke("init")
    assert fresh.output.endswith(
        "Next: portal-config pull --target sandbox, then portal-config lint.\n"
    )
    assert invoke("pull", "--target", "sandbox").exit_code == 0
    assert "Next:" not in invoke("init").output  # the hint is for a new repository only
    subprocess.run(["git", "add", "-A"], cwd=adopter, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pull"],
        cwd=adopter,
        check=True,
    )
    strict = invoke("lint", "--strict")
    # The lint recipe's own command passes: what the demo account allows guests (it lets
    # them create relations) is recorded in each new file for review in this first commit.
    # The six portals and init's starter profile.
    assert (strict.exit_code, strict.stdout) == (0, "7 files checked: no problems\n")
    assert (
        "acknowledged:\n  allow_new_relation: as found in OutSmart on "
        in (adopter / "portals" / "acme-facilities.yaml").read_text()
    )
    assert invoke("lint").exit_code == 0
    assert invoke("fmt", "--check").exit_code == 0
    assert invoke("diff", "--target", "sandbox").exit_code == 0
    before = _tree(adopter)
    again = invoke("pull", "--target", "sandbox")
    assert "Pull: 0 written" in again.stdout
    assert _tree(adopter) == before

    acme = adopter / "portals" / "acme-facilities.yaml"
    acme.write_text(
        acme.read_text().replace("guest_workorder:", "# Reviewed with Acme.\nguest_workorder:")
    )
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "note"],
        cwd=adopter,
        check=True,
    )
    live = adopter / ".portal-config" / "sandbox.json"
    live.write_text(
        live.read_text().replace('"allow_new_relation":true', '"allow_new_relation":false')
    )
    assert invoke("pull", "--target", "sandbox", "--portal", "acme-facilities").exit_code == 0
    assert "# Reviewed with Acme.\nguest_workorder:" in acme.read_text()
    assert "allow_new_relation: false" in acme.read_text()

    config = adopter / "portal-config.yaml"
    config.write_text(config.read_text() + "\n")
    text = config.read_text().replace("max_portals:", "max_portalz:")
    config.write_text(text)
    typo = invoke("lint")
    assert typo.exit_code == 2
    assert typo.output.startswith("invalid config: portal-config.yaml:")
    assert "unknown key 'max_portalz' in safety; did you mean 'max_portals'?" in typo.output


def _recipe_commands(root: Path) -> list[str]:
    """The portal-config commands the lint recipe runs, as its steps spell them."""
    recipe = yaml.safe_load((root / ".github" / "workflows" / "portal-config-lint.yml").read_text())
    return [
        line.strip()
        for step in recipe["jobs"]["lint"]["steps"]
        for line in step.get("run", "").splitlines()
        if line.strip().startswith("portal-config ")
    ]


def test_a_fleet_adopted_from_the_sandbox_passes_its_own_lint_recipe(
    adopter: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's trial at a smaller scale: init --accounts, pull every account, then the
    recipe's commands exactly as CI runs them (GITHUB_ACTIONS=true) all pass."""
    monkeypatch.setattr(
        "portal_config.files.pull.adoption_day", lambda: dt.date.fromisoformat(ADOPTED_ON)
    )
    names = "account-001,account-002,account-003"
    assert invoke("init", "--accounts", names).exit_code == 0
    pulled = invoke("pull", "--target", "sandbox")
    assert pulled.exit_code == 0, pulled.output
    assert pulled.stdout.endswith("Accounts: 3 run, 3 done, 0 failed.\n")
    subprocess.run(["git", "add", "-A"], cwd=adopter, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "adopt"],
        cwd=adopter,
        check=True,
    )
    commands = _recipe_commands(adopter)
    assert commands == [
        "portal-config lint --strict",
        "portal-config fmt --check",
        "portal-config lint --strict --format sarif > portal-config.sarif",
    ]
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    outputs = []
    for command in commands:
        args = shlex.split(command.split(" > ")[0])[1:]
        result = invoke(*args)
        assert result.exit_code == 0, (command, result.output)
        outputs.append(result.stdout)
    assert outputs[0] == "19 files checked: no problems\n"  # and the starter profile, once
    # The status quo, reviewed in the adoption's pull request: one entry per permission on.
    assert (adopter / "accounts" / "account-002" / "portals" / "secura-alarm.yaml").read_text() == (
        adopted_secura_alarm("../../../schema/portal.schema.json", every_section=True)
    )


# --- init --accounts: a repository for a fleet ----------------------------------------


def test_init_accounts_lays_out_a_fleet_and_init_again_changes_nothing(
    adopter: Path, invoke: Invoke
) -> None:
    first = invoke("init", "--accounts", "acme,north-west")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("portal-config.yaml: created\n.gitignore: created\n")
    assert "accounts/acme/portals/.gitkeep: created\n" in first.output
    assert "accounts/north-west/portals/.gitkeep: created\n" in first.output
    assert first.output.endswith(
        "Next: portal-config pull --target sandbox, then portal-config lint.\n"
    )
    files = set(_tree(adopter))
    assert {
        "accounts/acme/portals/.gitkeep",
        "accounts/north-west/portals/.gitkeep",
        "schema/portal.schema.json",
        ".gitignore",
        ".pre-commit-config.yaml",
    } <= files
    # The catalog comes from the live account (`pull --account`); no single-account layout.
    assert not {f for f in files if f.endswith("worktypes.yaml") or f.startswith("portals/")}

    text = (adopter / "portal-config.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["accounts"] == {
        "acme": {"token_env": "OUTSMART_TOKEN_ACME"},
        "north-west": {"token_env": "OUTSMART_TOKEN_NORTH_WEST"},
    }
    assert "  acme:\n    token_env: OUTSMART_TOKEN_ACME   # the default\n" in text
    # The software token is shared by every account, so the target declares it once.
    production = config["targets"]["production"]
    assert production["software_token_env"] == "OUTSMART_SOFTWARE_TOKEN"
    assert "token_env" not in production
    assert config["default_target"] == "sandbox"  # nothing reaches OutSmart unasked
    comments = " ".join(line.strip("# ") for line in text.splitlines() if line.startswith("#"))
    assert "init writes no worktypes.yaml: `portal-config pull --account NAME` creates it" in (
        comments
    )

    before = _tree(adopter)
    again = invoke("init", "--accounts", "acme,north-west")
    assert again.exit_code == 0, again.output
    assert _tree(adopter) == before
    assert "created" not in again.output and "overwritten" not in again.output
    assert "accounts/acme/portals/: exists, kept\n" in again.output


def test_the_fleet_config_init_writes_loads(adopter: Path, invoke: Invoke) -> None:
    from portal_config.project.config_reader import load_config

    invoke("init", "--accounts", "acme,north-west")
    config = load_config(adopter / "portal-config.yaml")
    assert list(config.accounts) == ["acme", "north-west"]
    assert config.accounts["north-west"].token_env == "OUTSMART_TOKEN_NORTH_WEST"
    assert config.for_account("acme").portals_dir == adopter / "accounts" / "acme" / "portals"


def test_init_accounts_force_rewrites_the_config_and_keeps_the_portals(
    adopter: Path, invoke: Invoke
) -> None:
    invoke("init", "--accounts", "acme")
    (adopter / "portal-config.yaml").write_text("accounts: {}\n")
    (adopter / "accounts" / "acme" / "portals" / "x.yaml").write_text("portal: x\n")
    forced = invoke("init", "--accounts", "acme,beta", "--force")
    assert forced.exit_code == 0, forced.output
    assert "portal-config.yaml: overwritten\n" in forced.output
    assert "accounts/acme/portals/: exists, kept\n" in forced.output
    assert "accounts/beta/portals/.gitkeep: created\n" in forced.output
    assert list(yaml.safe_load((adopter / "portal-config.yaml").read_text())["accounts"]) == [
        "acme",
        "beta",
    ]
    assert (adopter / "accounts" / "acme" / "portals" / "x.yaml").read_text() == "portal: x\n"
    assert "Next:" not in forced.output  # acme has a portal file: not a new repository


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("", "give at least one account name"),
        (" , ", "give at least one account name"),
        ("acme,", "a name is empty (two commas, or one at either end)"),
        ("acme,,beta", "a name is empty (two commas, or one at either end)"),
        ("Acme", "not an account name: 'Acme' (lower-case letters and digits,"),
        ("acme,x_y,-a,a-,a--b", "not account names: 'x_y', '-a', 'a-', 'a--b' (lower-case"),
        ("acme,beta,acme", "named more than once: 'acme'"),
        ("../x", "not an account name: '../x' (lower-case letters and digits,"),
    ],
)
def test_init_accounts_refuses_names_that_are_not_account_names(
    adopter: Path, invoke: Invoke, names: str, message: str
) -> None:
    result = invoke("init", "--accounts", names)
    assert result.exit_code == 2
    assert "Invalid value for '--accounts': " in result.output
    assert message in result.output
    assert _tree(adopter) == {}  # nothing written


def test_every_reason_a_set_of_names_is_refused_is_given_at_once(
    adopter: Path, invoke: Invoke
) -> None:
    result = invoke("init", "--accounts", "Acme,,beta,beta")
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: Invalid value for '--accounts': a name is empty (two commas, or one at either"
        " end); not an account name: 'Acme' (lower-case letters and digits, words joined by"
        " one '-': acme, north-west); named more than once: 'beta'"
    )


def test_init_accounts_converts_a_one_account_repository_into_the_first_account(
    adopter: Path, invoke: Invoke
) -> None:
    from portal_config.project.config_reader import load_config

    invoke("init")
    assert invoke("pull", "--target", "sandbox").exit_code == 0
    config = adopter / "portal-config.yaml"
    config.write_text("# ours, kept\n" + config.read_text())
    portals = sorted(p.name for p in (adopter / "portals").iterdir())

    result = invoke("init", "--accounts", "acme,beta")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "portals: moved to accounts/acme/portals\n"
        "worktypes.yaml: moved to accounts/acme/worktypes.yaml\n"
        "portal-config.yaml: updated: accounts: added\n"
        ".github/workflows/portal-config-diff.yml: removed: a fleet recipe replaces it\n"
        ".github/workflows/portal-config-apply.yml: removed: a fleet recipe replaces it\n"
        ".github/workflows/portal-config-drift.yml: removed: a fleet recipe replaces it\n"
        ".github/workflows/portal-config-report.yml: removed: a fleet recipe replaces it\n"
        ".gitignore: exists, kept\n"
    )
    assert "accounts/beta/portals/.gitkeep: created\n" in result.output
    assert not (adopter / "portals").exists() and not (adopter / "worktypes.yaml").exists()
    assert sorted(p.name for p in (adopter / "accounts" / "acme" / "portals").iterdir()) == (
        portals
    )
    assert (adopter / "accounts" / "acme" / "worktypes.yaml").is_file()
    # One set of recipes: the fleet's, beside the shared lint recipe.
    recipes = sorted(p.name for p in (adopter / ".github" / "workflows").iterdir())
    assert recipes == sorted(FLEET_WORKFLOWS)
    text = config.read_text()
    assert text.startswith("# ours, kept\n# portal-config project settings")
    assert "\nportals_dir:" not in text
    loaded = load_config(config)
    assert list(loaded.accounts) == ["acme", "beta"]
    assert loaded.targets["production"].base_url == "https://www.werkbonapp.nl/openapi/8/"
    linted = invoke("lint", "--account", "acme")
    assert linted.exit_code == 0, linted.output
    assert "7 files checked" in linted.output  # acme's six portals, the starter profile

    # A rerun (with or without --accounts) keeps it a fleet.
    before = _tree(adopter)
    for args in (("--accounts", "acme,beta"), ()):
        again = invoke("init", *args)
        assert again.exit_code == 0, again.output
        assert _tree(adopter) == before


def test_init_accounts_refuses_a_conversion_it_cannot_do_and_gives_the_steps(
    adopter: Path, invoke: Invoke
) -> None:
    invoke("init")
    config = adopter / "portal-config.yaml"
    config.write_text(config.read_text().replace("portals_dir: portals", "portals_dir: settings"))
    before = _tree(adopter)
    result = invoke("init", "--accounts", "acme,beta")
    assert result.exit_code == 2
    assert result.output == (
        "error: this repository holds one account and portals_dir or catalog is set to"
        " another place than init uses; do it by hand:\n"
        "  1. mkdir -p accounts/acme && git mv settings accounts/acme/portals"
        " && git mv worktypes.yaml accounts/acme/worktypes.yaml\n"
        "  2. in portal-config.yaml remove portals_dir, catalog and the targets' token_env, and add `accounts:` with"
        " `  acme: {}`, `  beta: {}` under it\n"
        "  3. git rm .github/workflows/portal-config-diff.yml .github/workflows/portal-config-apply.yml"
        " .github/workflows/portal-config-drift.yml .github/workflows/portal-config-report.yml\n"
        "  4. portal-config init --accounts acme,beta\n"
    )
    assert _tree(adopter) == before  # nothing changed


def _steps(names: str, moved: str = "portals") -> str:
    """The steps init prints when it cannot convert a one-account repository itself."""
    first = names.split(",")[0]
    declared = ", ".join(f"`  {name}: {{}}`" for name in names.split(","))
    return (
        f"  1. mkdir -p accounts/{first} && git mv {moved} accounts/{first}/portals"
        f" && git mv worktypes.yaml accounts/{first}/worktypes.yaml\n"
        f"  2. in portal-config.yaml remove portals_dir, catalog and the targets' token_env, and add `accounts:` with"
        f" {declared} under it\n"
        "  3. git rm .github/workflows/portal-config-diff.yml"
        " .github/workflows/portal-config-apply.yml .github/workflows/portal-config-drift.yml"
        " .github/workflows/portal-config-report.yml\n"
        f"  4. portal-config init --accounts {names}\n"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            'accounts: {"../../escaped": {}}\n',
            "invalid config: portal-config.yaml:1:11: accounts: '../../escaped' is not a valid"
            " accounts; it must match ^[a-z0-9]+(-[a-z0-9]+)*$\n",
        ),
        (
            "accounts: 5\n",
            "invalid config: portal-config.yaml:1:11: accounts must be a mapping or null, got 5\n",
        ),
    ],
)
def test_init_refuses_a_config_every_other_command_refuses_and_writes_nothing(
    adopter: Path, invoke: Invoke, config: str, message: str
) -> None:
    (adopter / "portal-config.yaml").write_text(config)
    for args in ((), ("--accounts", "acme")):
        result = invoke("init", *args)
        assert result.exit_code == 2
        assert result.output == message
        assert _tree(adopter) == {"portal-config.yaml": config.encode()}
        # Nothing beside the repository either: an account name is never a path out of it.
        assert [p.name for p in adopter.parent.iterdir()] == ["adopter"]


def test_init_shows_each_path_escaped(
    adopter: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = "accounts/a\x1b]0;pwned\x07\nb/portals/.gitkeep"
    done = Scaffold(outcomes=[Outcome(hostile, CREATED)], placeholders=[hostile], has_portals=True)
    monkeypatch.setattr("portal_config.files.scaffold.scaffold", lambda *args, **kwargs: done)
    monkeypatch.setattr("portal_config.files.scaffold.installed_pin", lambda: Pin(None, SHA))
    result = invoke("init")
    assert result.output == (
        "accounts/a\\x1b]0;pwned\\x07\\nb/portals/.gitkeep: created\n"
        "\nThis portal-config was installed from a file:// URL (or one CI cannot use): in these"
        " files, replace <your-org> with the https URL of its repository:\n"
        "  accounts/a\\x1b]0;pwned\\x07\\nb/portals/.gitkeep\n"
    )


def test_a_conversion_that_fails_midway_is_undone(
    adopter: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("init")
    assert invoke("pull", "--target", "sandbox").exit_code == 0
    before = _tree(adopter)
    unlink = Path.unlink

    def refused(path: Path, missing_ok: bool = False) -> None:
        if path.name == "portal-config-drift.yml":  # the last step: everything else is done
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", refused)
    result = invoke("init", "--accounts", "acme,beta")
    assert result.exit_code == 2
    assert result.output == (
        "error: init --accounts: Permission denied (.github/workflows/portal-config-drift.yml);"
        " nothing was changed\n"
    )
    assert _tree(adopter) == before
    assert not (adopter / "accounts").exists()


def test_init_accounts_removes_portals_dir_and_catalog_written_over_several_lines(
    adopter: Path, invoke: Invoke
) -> None:
    from portal_config.project.config_reader import load_config

    invoke("init")
    config = adopter / "portal-config.yaml"
    template = config.read_text()
    config.write_text(
        template.replace("portals_dir: portals\n", "portals_dir:\n  portals\n")
        + "catalog: >-\n  worktypes.yaml\n\n# kept\n"
    )
    (adopter / "worktypes.yaml").write_text("work_types: []\n")
    result = invoke("init", "--accounts", "acme")
    assert result.exit_code == 0, result.output
    # The target's own account token goes too: each account names its own now.
    assert config.read_text() == (
        template.replace("portals_dir: portals\n", "").replace(
            "    token_env: OUTSMART_TOKEN\n", ""
        )
        + "\n# kept\n"
        + "\n# One entry per account, each in accounts/<name>/ (init --accounts).\naccounts:\n"
        + "  acme:\n    token_env: OUTSMART_TOKEN_ACME   # the default\n"
    )
    assert list(load_config(config).accounts) == ["acme"]
    assert (adopter / "accounts" / "acme" / "worktypes.yaml").is_file()


def _replace_in_config(root: Path, old: str, new: str) -> None:
    config = root / "portal-config.yaml"
    config.write_text(config.read_text().replace(old, new))


@pytest.mark.parametrize(
    ("obstacle", "reason", "moved"),
    [
        pytest.param(
            lambda root: _replace_in_config(
                root, "portals_dir: portals", r'portals_dir: "p\e]0;pwned\a\nx"'
            ),
            "portals_dir or catalog is set to another place than init uses",
            r"p\x1b]0;pwned\x07\nx",  # escaped: no terminal sequence, no forged line
            id="a-value-escaped",
        ),
        pytest.param(
            lambda root: (root / "accounts").write_text("a file where the directory would go\n"),
            "accounts is a file or a link, not a directory",
            "portals",
            id="accounts-a-file",
        ),
        pytest.param(
            # Valid YAML: the value comes after a comment line, which removing the key
            # would leave behind with the value under it.
            lambda root: _replace_in_config(
                root, "portals_dir: portals\n", "portals_dir:\n# why\n  portals\n"
            ),
            "portals_dir or catalog is written in a way init cannot remove safely",
            "portals",
            id="a-key-it-cannot-remove",
        ),
    ],
)
def test_init_accounts_checks_everything_before_it_changes_anything(
    adopter: Path, invoke: Invoke, obstacle: Callable[[Path], object], reason: str, moved: str
) -> None:
    invoke("init")
    obstacle(adopter)
    before = _tree(adopter)
    result = invoke("init", "--accounts", "acme")
    assert result.exit_code == 2
    assert result.output == (
        f"error: this repository holds one account and {reason}; do it by hand:\n"
        + _steps("acme", moved)
    )
    assert _tree(adopter) == before


def test_init_accounts_converts_a_repository_that_has_portals_but_no_config(
    adopter: Path, invoke: Invoke
) -> None:
    from portal_config.project.config_reader import load_config

    (adopter / "portals").mkdir()
    (adopter / "portals" / "a.yaml").write_text("portal: a\n")
    result = invoke("init", "--accounts", "acme")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "portals: moved to accounts/acme/portals\nportal-config.yaml: created\n"
    )
    assert list(load_config(adopter / "portal-config.yaml").accounts) == ["acme"]
    assert (adopter / "accounts" / "acme" / "portals" / "a.yaml").is_file()
