"""`portal-config pull`: lint-clean, diff-clean files; no lost edits; no path traversal."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from conftest import ADOPTED_ON, Invoke, adopted_secura_alarm
from portal_config.files.roundtrip import scalar
from portal_config.sandbox import Sandbox


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _commit(repo: Path) -> None:
    """Commit everything, so pull sees no local edits."""
    _git("add", "-A", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "c", cwd=repo)


@pytest.fixture
def repo(live_project: Path) -> Path:
    _git("init", "-q", cwd=live_project)
    _commit(live_project)
    return live_project


def test_pull_round_trip_is_lint_clean_and_diff_clean(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["work_types"] += ["NO", "010", "1:30", "Yes: maybe", "#hash"]
    sandbox.state.edit(
        "woonstede-noord", work_types=["Storing", "NO", "010", "1:30", "Yes: maybe", "#hash"]
    )
    result = invoke("pull", "--force")
    assert result.exit_code == 0, result.output
    text = (repo / "portals" / "woonstede-noord.yaml").read_text()
    assert text == (
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "portal: woonstede-noord\n"
        "description: Housing association; caretakers often report on behalf of elderly tenants.\n"
        "guest_workorder:\n"
        "  enabled: true\n"
        "  allow_address_change: false\n"
        "  allow_new_relation: false\n"
        "  allow_requests_for_others: true\n"
        "  work_types:\n"
        "    - Storing\n"
        "    - 'NO'\n"
        "    - '010'\n"
        "    - '1:30'\n"
        "    - 'Yes: maybe'\n"
        "    - '#hash'\n"
        "acknowledged:\n"
        "  allow_requests_for_others: Caretakers submit requests for tenants who do not use the portal.\n"
    )
    assert (repo / "portals" / "oud-portaal.yaml").is_file()
    lint = invoke("lint")
    assert lint.exit_code == 0, lint.output
    diff = invoke("diff")
    assert diff.exit_code == 0, diff.output
    assert diff.output.endswith("No changes. 6 portals up to date.\n")


def test_pull_refreshes_the_catalog(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    sandbox.state.data["work_types"].append("Schilderwerk")
    assert invoke("pull", "--portal", "acme-facilities", "--force").exit_code == 0
    catalog = (repo / "worktypes.yaml").read_text()
    assert "  - Schilderwerk\n" in catalog and catalog.startswith(
        "# Work types of the OutSmart account"
    )


def test_pull_keeps_inactive_work_types_visible_and_lint_refuses_them(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["inactive_work_types"].append("Reparatie oud")
    assert invoke("pull", "--portal", "acme-facilities", "--force").exit_code == 0
    # Only the new name is added; the catalog's own comments and order stay.
    assert (repo / "worktypes.yaml").read_text() == (
        "# Work types of the OutSmart account, as OutSmart spells them.\n"
        "# Lint checks every portal's work_types against this list; `portal-config pull` refreshes it.\n"
        "work_types:\n"
        "  - Storing\n  - Onderhoud\n  - Inspectie\n  - Plaatsing alarm\n"
        "  - Reparatie\n  - Oplevering\n"
        "# Switched off in OutSmart: guests cannot be offered these (rule inactive-work-type).\n"
        "inactive_work_types:\n"
        "  - Legionellacontrole\n  - Reparatie oud\n"
    )
    acme = repo / "portals" / "acme-facilities.yaml"
    acme.write_text(acme.read_text().replace("    - Storing\n", "    - Reparatie oud\n"))
    lint = invoke("lint")
    assert lint.exit_code == 1
    assert (
        "portals/acme-facilities.yaml:10:7: error [inactive-work-type] work type 'Reparatie oud' "
        "is inactive in the OutSmart account (worktypes.yaml); did you mean 'Reparatie'?"
    ) in lint.output.splitlines()


def test_pull_refuses_to_overwrite_local_edits(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    acme = repo / "portals" / "acme-facilities.yaml"
    acme.write_text(acme.read_text() + "# local note\n")
    result = invoke("pull", "--portal", "acme-facilities", "--no-catalog")
    assert result.exit_code == 1
    assert (
        "refused: portals/acme-facilities.yaml: it has uncommitted local edits; commit or stash them, or pass --force"
        in result.output
    )
    assert acme.read_text().endswith("# local note\n")
    forced = invoke("pull", "--portal", "acme-facilities", "--no-catalog", "--force")
    assert forced.exit_code == 0
    assert "allow_new_relation: true" in acme.read_text()


def test_pull_overwrites_committed_files(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    result = invoke("pull", "--portal", "acme-facilities", "--no-catalog")
    assert result.exit_code == 0, result.output
    assert "wrote portals/acme-facilities.yaml" in result.output


def test_pull_refuses_unsafe_portal_ids(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    evil = dict(sandbox.state.data["portals"]["oud-portaal"], portal_id="../../etc/evil")
    sandbox.state.data["portals"]["../../etc/evil"] = evil
    result = invoke("pull", "--dir", "pulled")
    assert result.exit_code == 1
    assert 'refused: "../../etc/evil": not a safe file name; refusing to write it' in result.output
    assert sorted(p.name for p in (repo / "pulled").iterdir()) == [
        "acme-facilities.yaml",
        "gemeente-intern.yaml",
        "klimaat-techniek.yaml",
        "oud-portaal.yaml",
        "secura-alarm.yaml",
        "woonstede-noord.yaml",
    ]
    assert not (repo.parent / "etc").exists()


def test_pull_of_an_unknown_portal(repo: Path, invoke: Invoke) -> None:
    result = invoke("pull", "--portal", "nope", "--no-catalog")
    assert result.exit_code == 1
    assert "refused: nope: no such portal in the target" in result.output


@pytest.mark.parametrize(
    "text",
    [
        "NO",
        "on",
        "010",
        "1:30",
        "2024-01-01",
        "~",
        "null",
        "",
        "a: b",
        "- x",
        "x #y",
        "'q'",
        '"d"',
        "é ü",
        "line\nbreak",
        " lead",
        "trail ",
        "@at",
        "`tick",
        "0x1F",
        ".inf",
    ],
)
def test_scalars_read_back_as_the_same_string(text: str) -> None:
    import yaml

    assert yaml.safe_load(f"v: {scalar(text)}\n") == {"v": text}


def test_pull_outside_git_refuses_to_overwrite_changed_files(
    live_project: Path, invoke: Invoke
) -> None:
    acme = live_project / "portals" / "acme-facilities.yaml"
    before = acme.read_text()
    result = invoke("pull", "--portal", "acme-facilities", "--no-catalog")
    assert result.exit_code == 1
    assert (
        "refused: portals/acme-facilities.yaml: it is not in a git repository, so local edits "
        "cannot be ruled out; commit or stash them, or pass --force"
    ) in result.output
    assert acme.read_text() == before


def test_pull_changes_only_the_values_that_differ_and_keeps_comments(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    acme = repo / "portals" / "acme-facilities.yaml"
    written = (
        "# yaml-language-server: $schema=../schema/portal.schema.json\n"
        "# portal-config: disable permissive-guest-access\n"
        "portal: acme-facilities\n"
        "description: Tenants report faults without an account.\n"
        "guest_workorder:\n"
        "  enabled: true  # since the 2023 pilot\n"
        "  # Tenants must not redirect technicians.\n"
        "  allow_address_change: false\n"
        "  work_types:\n"
        "    - Storing\n"
        "    - Onderhoud  # planned work, by phone only from 2025\n"
        "# Reviewed with the account manager.\n"
    )
    acme.write_text(written)
    _commit(repo)
    result = invoke("pull", "--no-catalog")
    assert result.exit_code == 0, result.output
    # Live, guests may create relations and have only Storing; nothing else moves, and
    # the removed line's end-of-line comment goes with it.
    assert acme.read_text() == written.replace(
        "  allow_address_change: false\n",
        "  allow_address_change: false\n  allow_new_relation: true\n",
    ).replace("    - Onderhoud  # planned work, by phone only from 2025\n", "")
    assert "wrote portals/acme-facilities.yaml" in result.output
    lint = invoke("lint")
    assert lint.exit_code == 0, lint.output
    assert invoke("diff").output.endswith("No changes. 6 portals up to date.\n")


def test_pull_leaves_files_that_match_live_untouched(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # gemeente-intern matches live but is written unlike the canonical form.
    gemeente = repo / "portals" / "gemeente-intern.yaml"
    gemeente.write_text(
        "portal: gemeente-intern   # odd spacing, a flow mapping, `no`\n"
        "guest_workorder: {enabled: no, work_types: []}\n"
    )
    _commit(repo)
    before = gemeente.read_bytes()
    stamp = gemeente.stat().st_mtime_ns
    result = invoke("pull", "--portal", "gemeente-intern", "--no-catalog")
    assert result.exit_code == 0, result.output
    assert result.output.endswith("Pull: 0 written, 1 unchanged, 0 refused.\n")
    assert gemeente.read_bytes() == before
    assert gemeente.stat().st_mtime_ns == stamp


def test_a_second_pull_writes_nothing(repo: Path, sandbox: Sandbox, invoke: Invoke) -> None:
    first = invoke("pull", "--force")
    assert first.exit_code == 0, first.output
    # acme and secura differ live, oud-portaal has no file yet, the catalog is as live.
    assert first.output.endswith("Pull: 3 written, 4 unchanged, 0 refused.\n"), first.output
    files = {path: path.read_bytes() for path in (repo / "portals").iterdir()}
    second = invoke("pull", "--force")
    assert second.output.endswith("Pull: 0 written, 7 unchanged, 0 refused.\n"), second.output
    assert "wrote" not in second.output
    assert {path: path.read_bytes() for path in (repo / "portals").iterdir()} == files


def test_pull_without_config_says_it_reads_the_sandbox_demo_account(
    project: Path, invoke: Invoke
) -> None:
    result = invoke("pull", "--quiet")
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("Target: sandbox (in-process sandbox) http://127.0.0.1:")
    assert first.endswith(
        ": reading the sandbox's demo account, not OutSmart "
        "(state in .portal-config/sandbox.json; set a target with base_url for a real account)"
    )
    assert (project / "portals" / "acme-facilities.yaml").is_file()


def test_pull_from_a_configured_target_names_it_and_the_token(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    result = invoke("pull", "--no-catalog", "--portal", "gemeente-intern")
    assert result.output.splitlines()[0] == (
        f"Target: test {sandbox.url}: reading the account of the token in $OUTSMART_TOKEN"
    )


# --- adoption: a new file records the permissions it finds on --------------------------------
def test_a_new_file_acknowledges_the_permissions_found_on(
    repo: Path, sandbox: Sandbox, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "portal_config.files.pull.adoption_day", lambda: dt.date.fromisoformat(ADOPTED_ON)
    )
    secura = repo / "portals" / "secura-alarm.yaml"
    secura.unlink()
    _commit(repo)
    result = invoke("pull", "--portal", "secura-alarm", "--no-catalog")
    assert result.exit_code == 0, result.output
    assert secura.read_text() == adopted_secura_alarm("../schema/portal.schema.json")
    strict = invoke("lint", "--strict", str(secura))
    assert (strict.exit_code, strict.stdout) == (0, "1 file checked: no problems\n")
    assert invoke("fmt", "--check", str(secura)).exit_code == 0


def test_a_new_file_of_a_restricted_portal_acknowledges_nothing(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    gemeente = repo / "portals" / "gemeente-intern.yaml"
    gemeente.unlink()
    _commit(repo)
    assert invoke("pull", "--portal", "gemeente-intern", "--no-catalog").exit_code == 0
    assert "acknowledged" not in gemeente.read_text()


def test_refreshing_a_file_never_acknowledges_a_permission_switched_on_live(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    # Live, acme-facilities lets guests create relations; its file does not. Accepting that
    # edit with pull brings the value in, and lint still asks a person for the reason.
    acme = repo / "portals" / "acme-facilities.yaml"
    before = acme.read_text()
    result = invoke("pull", "--portal", "acme-facilities", "--no-catalog")
    assert result.exit_code == 0, result.output
    assert acme.read_text() == before.replace(
        "  allow_new_relation: false\n", "  allow_new_relation: true\n"
    ).replace("    - Onderhoud\n", "", 1)  # the guests' (user_settings lists it too)
    strict = invoke("lint", "--strict", "-q", str(acme))
    assert (strict.exit_code, strict.stdout) == (
        1,
        "  1  warning  permissive-guest-access\n"
        "1 file checked: 0 errors, 1 warning not shown (failed)\n",
    )


def test_pull_writes_no_catalog_name_a_portal_file_could_not_hold(
    repo: Path, sandbox: Sandbox, invoke: Invoke
) -> None:
    sandbox.state.data["work_types"] += ["Storing\n", " Lekkage"]
    result = invoke("pull", "--portal", "acme-facilities", "--force")
    refused = [line for line in result.output.splitlines() if line.startswith("refused: ")]
    assert refused == [
        'refused: worktypes.yaml: live work type "Storing\\n" not written: '
        "'Storing\\n' is not a valid work type; remove the line break",
        'refused: worktypes.yaml: live work type " Lekkage" not written: '
        "' Lekkage' is not a valid work type; remove the leading or trailing spaces",
    ]
    assert "Lekkage" not in (repo / "worktypes.yaml").read_text()
    assert invoke("lint").exit_code == 0
    assert result.exit_code == 1


def test_lint_holds_the_catalog_to_the_portal_files_work_type_names(
    repo: Path, invoke: Invoke
) -> None:
    (repo / "worktypes.yaml").write_text('work_types:\n  - Storing\n  - "Lekkage\\n"\n')
    result = invoke("lint")
    assert result.stdout.splitlines()[0] == (
        "worktypes.yaml:3:5: error [catalog] 'Lekkage\\n' is not a valid work type; "
        "remove the line break"
    )
    assert result.exit_code == 1
