"""Many accounts in one repository, against a real sandbox serving several accounts.

Three accounts, acme, beta and gamma, each with its own token on one sandbox server (as
OutSmart serves every customer at one URL); the software token is shared.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import REPO, SOFTWARE_TOKEN, Invoke
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

ACCOUNTS = ("acme", "beta", "gamma")
TOKENS = {name: f"tok-{name}-Zq8v3XsECRET" for name in ACCOUNTS}
FLEET_SCHEMA = json.loads((REPO / "schema" / "fleet.schema.json").read_text(encoding="utf-8"))
PLAN_SCHEMA = json.loads((REPO / "schema" / "plan.schema.json").read_text(encoding="utf-8"))


def serve_accounts(tmp_path: Path, tokens: Mapping[str, str]) -> Iterator[Sandbox]:
    """One sandbox server holding an account per name of ``tokens``, each with its own
    token and state file (the first account's also the server's own)."""
    states = {
        token: SandboxState.open(tmp_path / "state" / f"{name}.json", demo_account())
        for name, token in tokens.items()
    }
    first = next(iter(tokens.values()))
    with start_sandbox(
        states[first], token=first, software_token=SOFTWARE_TOKEN, accounts=states
    ) as running:
        yield running


@pytest.fixture
def fleet_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    yield from serve_accounts(tmp_path, TOKENS)


def state_of(sandbox: Sandbox, account: str) -> SandboxState:
    return sandbox.accounts[TOKENS[account]]


@pytest.fixture
def fleet(project: Path, fleet_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository of three accounts, each holding the shipped portals and catalog."""
    shutil.rmtree(project / "portals")
    for name in ACCOUNTS:
        home = project / "accounts" / name
        shutil.copytree(REPO / "portals", home / "portals")
        shutil.copy(REPO / "worktypes.yaml", home / "worktypes.yaml")
        monkeypatch.setenv(f"OUTSMART_TOKEN_{name.upper()}", TOKENS[name])
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    (project / "portal-config.yaml").write_text(
        "default_target: test\n"
        "targets:\n"
        "  test:\n"
        f"    base_url: {fleet_sandbox.url}\n"
        "    retries: 1\n"
        "    backoff: 0.01\n"
        "accounts:\n" + "".join(f"  {name}:\n" for name in ACCOUNTS),
        encoding="utf-8",
    )
    return project


def test_diff_runs_every_account_and_groups_the_output(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("diff")
    assert result.exit_code == 3
    groups = result.output.split("=== account ")[1:]
    assert [group.split(" ===")[0] for group in groups] == list(ACCOUNTS)
    for name, group in zip(ACCOUNTS, groups, strict=True):
        assert f"(account {name})" in group.splitlines()[1]
        assert f"~ acme-facilities  (accounts/{name}/portals/acme-facilities.yaml" in group
    assert result.output.endswith("Accounts: 3 run, 3 with changes, 0 failed.\n")


def test_account_filters(fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke) -> None:
    result = invoke("diff", "--account", "gamma", "-a", "acme")
    assert result.exit_code == 3
    assert [g.split(" ===")[0] for g in result.output.split("=== account ")[1:]] == [
        "acme",
        "gamma",
    ]
    assert "beta" not in result.output


def test_an_unknown_account_is_a_usage_error(fleet: Path, invoke: Invoke) -> None:
    result = invoke("diff", "--account", "acmee")
    assert result.exit_code == 2
    assert result.output == "error: unknown account 'acmee'; did you mean 'acme'?\n"


def test_account_in_a_one_account_repository_is_refused(live_project: Path, invoke: Invoke) -> None:
    result = invoke("lint", "--account", "acme")
    assert result.exit_code == 2
    assert result.output == (
        "error: --account: this repository holds one account (no accounts: section in "
        "portal-config.yaml)\n"
    )


def test_one_account_failing_never_stops_the_others(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN_BETA", "a-wrong-token-123")
    result = invoke("diff")
    assert result.exit_code == 7  # a partial failure
    assert (
        "account beta failed (exit 4): api error: GET portals/: OutSmart code 1004: the "
        "account token was refused; check OUTSMART_TOKEN_BETA\n"
    ) in result.output
    assert "~ acme-facilities  (accounts/gamma/portals/" in result.output
    assert result.output.endswith("Accounts: 3 run, 2 with changes, 1 failed: beta (exit 4).\n")
    assert "a-wrong-token-123" not in result.output


def test_every_account_failing_alike_exits_with_that_code(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    fleet_sandbox.stop()
    result = invoke("drift")
    assert result.exit_code == 4
    assert result.output.count("failed (exit 4): api error: GET portals/: cannot reach") == 3


def test_json_carries_the_account_on_every_portal(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN_GAMMA", "a-wrong-token-123")
    result = invoke("diff", "--format", "json")
    assert result.exit_code == 7
    payload = json.loads(result.output)
    Draft202012Validator(FLEET_SCHEMA).validate(payload)
    assert payload["exit_code"] == 7 and payload["summary"] == {
        "accounts": 3,
        "failed": 1,
        "ok": False,
    }
    by_name = {entry["account"]: entry for entry in payload["accounts"]}
    assert by_name["gamma"]["result"] is None and by_name["gamma"]["exit_code"] == 4
    for name in ("acme", "beta"):
        plan = by_name[name]["result"]
        Draft202012Validator(PLAN_SCHEMA).validate(plan)
        assert plan["account"] == name
        assert {portal["account"] for portal in plan["portals"]} == {name}


def test_each_account_is_linted_against_its_own_catalog(fleet: Path, invoke: Invoke) -> None:
    # The same portal ids in every account are no duplicates: ids are per account.
    assert invoke("lint").exit_code == 0
    catalog = fleet / "accounts" / "beta" / "worktypes.yaml"
    catalog.write_text(catalog.read_text().replace("  - Onderhoud\n", ""), encoding="utf-8")
    result = invoke("lint", "--format", "json")
    assert result.exit_code == 1
    files = {f["path"] for f in json.loads(result.output)["files"] if f["errors"]}
    assert files == {
        "accounts/beta/portals/acme-facilities.yaml",
        "accounts/beta/portals/woonstede-noord.yaml",
    }
    # A duplicate within one account is still one.
    shutil.copy(
        fleet / "accounts" / "acme" / "portals" / "secura-alarm.yaml",
        fleet / "accounts" / "acme" / "portals" / "secura-copy.yaml",
    )
    dup = invoke("lint", "--account", "acme")
    assert "[duplicate-portal-id]" in dup.output and "accounts/beta" not in dup.output


def test_lint_of_files_finds_their_accounts(fleet: Path, invoke: Invoke) -> None:
    path = "accounts/gamma/portals/klimaat-techniek.yaml"
    result = invoke("lint", path)
    assert result.exit_code == 0 and result.output.startswith("1 file checked")
    outside = invoke("lint", ".")
    assert outside.exit_code == 2
    assert "not in an account's directory (accounts/<account>/)" in outside.output


def test_apply_plans_every_account_then_writes_each(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("apply", "--yes", "--report", "reports/{account}.json")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Accounts: 3 run, 3 done, 0 failed.\n")
    for name in ACCOUNTS:
        report = json.loads((fleet / "reports" / f"{name}.json").read_text())
        assert report["outcome"] == "applied"
        assert state_of(fleet_sandbox, name).data["portals"]["acme-facilities"]["revision"] == 2
    assert invoke("diff").exit_code == 0


def test_the_fleet_wide_threshold_refuses_before_any_write(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    with (fleet / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  fleet_max_portals: 5\n")
    seen = {name: json.dumps(state_of(fleet_sandbox, name).data) for name in ACCOUNTS}
    result = invoke("apply", "--yes")
    assert result.exit_code == 5
    assert result.output.endswith(
        "refused: the accounts' plans change 6 portals, more than safety.fleet_max_portals "
        "(5); re-run with --allow-large-change if this is intended\n"
    )
    assert {name: json.dumps(state_of(fleet_sandbox, name).data) for name in ACCOUNTS} == seen
    assert invoke("apply", "--yes", "--allow-large-change").exit_code == 0


def test_saved_plans_name_their_account(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    one_file = invoke("diff", "--out", "plan.json")
    assert one_file.exit_code == 2
    assert "put {account} in the path (--out plans/{account}.json)" in one_file.output
    assert invoke("diff", "--out", "plans/{account}.json").exit_code == 3
    assert json.loads((fleet / "plans" / "beta.json").read_text())["account"] == "beta"
    shown = invoke("show", "plans/beta.json")
    assert shown.exit_code == 0 and "(account beta)" in shown.output
    applied = invoke("apply", "plans/acme.json", "plans/gamma.json", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "=== account beta ===" not in applied.output
    assert state_of(fleet_sandbox, "beta").data["portals"]["acme-facilities"]["revision"] == 1
    assert state_of(fleet_sandbox, "gamma").data["portals"]["acme-facilities"]["revision"] == 2


def test_pull_account_creates_a_new_accounts_directory_and_catalog(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    shutil.rmtree(fleet / "accounts" / "gamma")
    assert invoke("lint").exit_code == 2  # its portals are not there yet
    result = invoke("pull", "--account", "gamma")
    assert result.exit_code == 0, result.output
    assert (fleet / "accounts" / "gamma" / "worktypes.yaml").is_file()
    assert (fleet / "accounts" / "gamma" / "portals" / "oud-portaal.yaml").is_file()
    assert invoke("drift", "--account", "gamma").exit_code == 0


def test_drift_says_how_to_settle_per_account(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("apply", "--yes").exit_code == 0
    state_of(fleet_sandbox, "beta").edit("secura-alarm", allow_address_change=False)
    result = invoke("drift")
    assert result.exit_code == 3
    assert (
        "    accept: portal-config pull --target test --account beta --portal secura-alarm  "
        "(on a branch, then a pull request)\n"
        "    revert: portal-config apply --target test --account beta  (the files win)\n"
    ) in result.output
    assert result.output.endswith("Accounts: 3 run, 1 with changes, 0 failed.\n")


def test_an_accounts_token_may_come_from_a_command(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.delenv("OUTSMART_TOKEN_ACME")
    config = fleet / "portal-config.yaml"
    command = json.dumps([sys.executable, "-c", f"print({TOKENS['acme']!r})"])
    config.write_text(
        config.read_text().replace("  acme:\n", f"  acme:\n    token_command: {command}\n")
    )
    result = invoke("diff", "--account", "acme")
    assert result.exit_code == 3, result.output
    assert TOKENS["acme"] not in result.output


def test_the_in_process_sandbox_gives_each_account_its_own_state(
    fleet: Path, invoke: Invoke
) -> None:
    config = fleet / "portal-config.yaml"
    config.write_text(
        config.read_text()
        .replace("default_target: test\n", "default_target: sandbox\n")
        .replace("targets:\n", "targets:\n  sandbox:\n    sandbox: .portal-config/sandbox.json\n")
    )
    assert invoke("apply", "--yes", "--account", "beta").exit_code == 0
    assert (fleet / ".portal-config" / "sandbox-beta.json").is_file()
    assert not (fleet / ".portal-config" / "sandbox-acme.json").exists()
    assert invoke("diff", "--account", "beta").exit_code == 0
    assert invoke("diff", "--account", "acme").exit_code == 3


@pytest.mark.parametrize(
    "args, matrix",
    [
        ((), [{"name": n, "accounts": n} for n in ACCOUNTS]),
        (
            ("--shards", "2"),
            [
                {"name": "shard-1-of-2", "accounts": "acme gamma"},
                {"name": "shard-2-of-2", "accounts": "beta"},
            ],
        ),
        (
            ("--shards", "9"),
            [{"name": f"shard-{i}-of-3", "accounts": n} for i, n in enumerate(ACCOUNTS, 1)],
        ),
    ],
)
def test_accounts_prints_the_ci_matrix(
    fleet: Path, invoke: Invoke, args: tuple[str, ...], matrix: list[dict[str, str]]
) -> None:
    result = invoke("accounts", *args)
    assert result.exit_code == 0
    assert json.loads(result.output) == matrix


def test_accounts_in_a_one_account_repository(live_project: Path, invoke: Invoke) -> None:
    assert json.loads(invoke("accounts").output) == [{"name": "default", "accounts": ""}]


@pytest.mark.slow  # bash and real portal-config processes
def test_the_fleet_recipes_steps_run_with_the_real_tool(
    fleet: Path, fleet_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shard of two accounts through the fleet diff and apply recipes' own steps."""
    import os
    import subprocess
    import sys

    import yaml

    def step(recipe: str, name: str) -> str:
        document = yaml.safe_load((REPO / ".github" / "workflows" / recipe).read_text())
        (run,) = [
            s["run"] for j in document["jobs"].values() for s in j["steps"] if s.get("name") == name
        ]
        return str(run)

    config = fleet / "portal-config.yaml"
    config.write_text(
        config.read_text()
        .replace("  test:\n", "  production:\n")
        .replace("default_target: test\n", "default_target: production\n")
    )
    # The diff recipe unpacks the base branch's tree from git into $RUNNER_TEMP.
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*who, "commit", "-q", "-m", "m"]):
        subprocess.run(["git", *args], cwd=fleet, check=True, capture_output=True)
    temp = fleet.with_name(f"{fleet.name}-temp")
    temp.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "ACCOUNTS": "acme beta",
        "BASE_SHA": "main",
        "GITHUB_BASE_REF": "",
        "GITHUB_STEP_SUMMARY": str(fleet / "summary.md"),
        "GITHUB_OUTPUT": str(fleet / "output"),
        "RUNNER_TEMP": str(temp),
    }

    def run(recipe: str, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(recipe, name)],
            cwd=fleet,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    base = run(
        "portal-config-fleet-diff.yml",
        "The base branch's tree, for portal-config.yaml and the files it names",
    )
    assert base.returncode == 0, base.stderr
    diff = run("portal-config-fleet-diff.yml", "portal-config diff")
    assert diff.returncode == 0, diff.stderr
    assert sorted(p.name for p in (temp / "plans").iterdir()) == ["acme.json", "beta.json"]
    render = run("portal-config-fleet-diff.yml", "Render the plan")
    assert render.returncode == 0, render.stderr
    comment = (temp / "comment.md").read_text()
    assert "## Account `acme`" in comment and "## Account `beta`" in comment
    assert "gamma" not in comment
    shutil.rmtree(temp / "plans")
    shutil.rmtree(fleet / ".git")  # the apply half runs outside git: see below
    plan = run("portal-config-fleet-apply.yml", "Plan")
    assert plan.returncode == 0, plan.stderr
    apply = run(
        "portal-config-fleet-apply.yml",
        "Apply exactly that plan, if this commit is still main's tip",
    )
    # Not a git checkout: --require-tip refuses, and says why, before any write.
    assert apply.returncode == 2 and "not in a git repository" in apply.stderr
    assert state_of(fleet_sandbox, "acme").data["portals"]["acme-facilities"]["revision"] == 1


def test_each_accounts_own_threshold_refuses_it_before_the_question(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    with (fleet / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  max_portals: 1\n")
    seen = {name: json.dumps(state_of(fleet_sandbox, name).data) for name in ACCOUNTS}
    result = invoke("apply", "--yes")
    assert result.exit_code == 5  # every account refused alike
    assert (
        result.output.count(
            "failed (exit 5): refused: plan changes 2 portals, more than safety.max_portals (1); "
            "re-run with --allow-large-change if intended\n"
        )
        == 3
    )
    assert {name: json.dumps(state_of(fleet_sandbox, name).data) for name in ACCOUNTS} == seen


def test_saved_plans_are_shown_before_they_are_applied(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    assert invoke("diff", "--out", "plans/{account}.json").exit_code == 3
    result = invoke("apply", "plans/acme.json", "plans/beta.json", "--yes")
    assert result.exit_code == 0, result.output
    shown = result.output.index("~ acme-facilities  (accounts/acme/portals/acme-facilities.yaml")
    assert shown < result.output.index("Apply: 2 applied")


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ("apply", "plans/acme.json", "--account", "beta", "--yes"),
            "error: --account and the plans disagree: no plan for beta\n",
        ),
        (
            ("diff", "accounts/beta/portals/secura-alarm.yaml", "--account", "acme"),
            "error: --account leaves out beta, whose files are given\n",
        ),
    ],
)
def test_what_account_leaves_out_is_refused_not_skipped(
    fleet: Path, invoke: Invoke, args: tuple[str, ...], message: str
) -> None:
    assert invoke("diff", "--out", "plans/{account}.json").exit_code == 3
    result = invoke(*args)
    assert (result.exit_code, result.output) == (2, message)


def test_json_output_keeps_each_accounts_diagnostics_on_stderr(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    broken = fleet / "accounts" / "beta" / "portals" / "gemeente-intern.yaml"
    broken.write_text(broken.read_text().replace("enabled: false", "enabled: maybe"))
    result = invoke("diff", "--format", "json")
    assert result.exit_code == 7
    json.loads(result.stdout)  # stdout stays one JSON document
    assert "[beta] accounts/beta/portals/gemeente-intern.yaml:5:12: error [schema]" in result.stderr


def test_every_account_gets_its_report_whatever_stopped_it(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTSMART_TOKEN_GAMMA", "a-wrong-token-123")
    result = invoke("apply", "--yes", "--report", "reports/{account}.json")
    assert result.exit_code == 7
    outcomes = {
        name: json.loads((fleet / "reports" / f"{name}.json").read_text())["outcome"]
        for name in ACCOUNTS
    }
    assert outcomes == {"acme": "applied", "beta": "applied", "gamma": "api-error"}
    for name in ACCOUNTS:  # each report names its account
        assert json.loads((fleet / "reports" / f"{name}.json").read_text())["account"] == name
    # Per-portal results, as in one account, under each account's heading.
    assert "  acme-facilities   written   revision 1 -> 2" in result.output


def test_a_refused_fleet_still_writes_every_report(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("apply", "--report", "reports/{account}.json")  # no terminal, no --yes
    assert result.exit_code == 5
    for name in ACCOUNTS:
        report = json.loads((fleet / "reports" / f"{name}.json").read_text())
        assert report["outcome"] == "refused" and "no terminal" in report["reason"]


def test_a_fleet_refuses_without_a_terminal_as_one_account_does(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("apply")  # no terminal, no --yes
    assert result.exit_code == 5
    # The one refusal wording, for one account and many: nothing was written.
    assert result.output.endswith(
        "refused: no terminal to confirm on; review the plan and pass --yes to apply it\n"
    )
    for name in ACCOUNTS:
        assert {p["revision"] for p in state_of(fleet_sandbox, name).data["portals"].values()} == {
            1
        }


def test_fmt_and_lint_cover_every_account(fleet: Path, invoke: Invoke) -> None:
    assert invoke("fmt", "--check").exit_code == 0
    messy = fleet / "accounts" / "beta" / "portals" / "klimaat-techniek.yaml"
    messy.write_text(messy.read_text().replace("  enabled: true", "  enabled:   true"))
    check = invoke("fmt", "--check")
    assert check.exit_code == 1 and "accounts/beta/portals/klimaat-techniek.yaml" in check.output
    assert invoke("lint", "accounts").exit_code == 0  # the accounts directory: all of them


def test_diff_previews_the_fleet_wide_threshold(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    with (fleet / "portal-config.yaml").open("a") as config:
        config.write("safety:\n  fleet_max_portals: 5\n")
    warning = (
        "apply will refuse this without --allow-large-change: the accounts' plans change "
        "6 portals, more than safety.fleet_max_portals (5)"
    )
    text = invoke("diff")
    assert text.exit_code == 3 and f"! {warning}\n\nAccounts: 3 run" in text.output
    payload = json.loads(invoke("diff", "--format", "json").output)
    Draft202012Validator(FLEET_SCHEMA).validate(payload)
    assert payload["apply_refusal"] == warning.split(": ", 1)[1]
    calm = json.loads(invoke("diff", "--format", "json", "--account", "acme").output)
    assert calm["apply_refusal"] is None


def test_an_accounts_ignore_adds_to_the_top_level_one_in_every_command(
    fleet: Path, fleet_sandbox: Sandbox, invoke: Invoke
) -> None:
    for name in ACCOUNTS:
        portals = state_of(fleet_sandbox, name).data["portals"]
        portals["Acme_Legacy"] = dict(portals["oud-portaal"], portal_id="Acme_Legacy")
    config = fleet / "portal-config.yaml"
    text = config.read_text(encoding="utf-8").replace(
        "  beta:\n", "  beta:\n    ignore: [Acme_*]\n"
    )
    config.write_text(text + "ignore: [oud-portaal]\n", encoding="utf-8")
    result = invoke("diff")
    assert result.exit_code == 3, result.output
    groups = dict(g.split(" ===", 1) for g in result.output.split("=== account ")[1:])
    for name in ("acme", "gamma"):
        assert '? "Acme_Legacy"  unmanaged' in groups[name]
        assert "oud-portaal" not in groups[name]
    assert "unmanaged" not in groups["beta"]
