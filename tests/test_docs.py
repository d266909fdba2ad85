"""The documentation site builds with --strict, its generated parts render from the code,
and the README stays a short door into it."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import REPO
from portal_config.cli import cli
from portal_config.rules import RULES
from test_readme import README, hooks, page

DOCS = REPO / "docs"


def test_the_readme_is_at_most_15_kb_and_opens_with_its_contents() -> None:
    assert len(README.encode("utf-8")) <= 15_000
    contents = README.split("**Contents:**", 1)[1].split("\n\n", 1)[0]
    for heading in re.findall(r"^## (.+)$", README, re.M):
        anchor = re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        assert f"(#{anchor})" in contents, heading


def test_every_link_from_the_readme_into_docs_names_a_page() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)(?:#[^)]*)?\)", README)
    assert links
    for link in links:
        assert (REPO / link).is_file(), link


def test_every_marker_renders_and_none_is_left() -> None:
    render = hooks().render
    pages = sorted(DOCS.rglob("*.md"))
    markers = 0
    for path in pages:
        text = path.read_text(encoding="utf-8")
        markers += text.count("<!-- portal-config:")
        assert "<!-- portal-config:" not in render(text), path
    assert markers >= 10


def test_the_configuration_reference_names_every_key_of_the_schema() -> None:
    rendered = hooks().render(page("reference/configuration.md"))
    for key in ("portals_dir", "targets.<name>.token_command_timeout", "safety.fleet_max_portals"):
        assert f"| `{key}` |" in rendered
    assert "| `guest_workorder.allow_new_relation` | boolean |  | `false` |" in rendered
    assert "| `portal` | string, matching" in rendered


def test_the_fault_matrix_figures_are_the_recorded_run() -> None:
    from test_faults import SCENARIOS, SEEDS

    # The record is of the matrix test_faults runs now: a scenario added, dropped or
    # renamed, or another seed, leaves it stale until it is recorded again.
    record = json.loads((DOCS / "results" / "fault-matrix.json").read_text(encoding="utf-8"))
    assert [row["scenario"] for row in record["scenarios"]] == sorted(SCENARIOS)
    assert {row["scenario"]: row["runs"] for row in record["scenarios"]} == dict.fromkeys(
        SCENARIOS, len(SEEDS)
    )
    total = len(SCENARIOS) * len(SEEDS)
    assert record["total"]["runs"] == total
    rendered = hooks().fault_matrix()
    assert f"| **total** | **{total}** |" in rendered
    assert "--record-fault-matrix" in rendered


def test_the_github_script_creates_one_environment_per_account(tmp_path: Path) -> None:
    script = re.findall(r"```bash\n(.+?)```", page("guide/github-setup.md"), re.S)[0]
    (tmp_path / "setup.sh").write_text(script)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    # A stand-in for gh: logs its arguments and what it was given on stdin.
    gh.write_text(
        "#!/bin/sh\n"
        'echo "gh $*" >> "$LOG"\n'
        'case "$1 $2" in "api users/"*) echo 1234; exit 0;; esac\n'
        'case "$1" in secret|api) echo "  stdin: $(cat)" >> "$LOG";; esac\n'
    )
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    project = tmp_path / "fleet"
    project.mkdir()
    (project / "portal-config.yaml").write_text("accounts:\n  acme: {}\n  north-west: {}\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "LOG": str(tmp_path / "log"),
        "REVIEWERS": "alice",
        "OUTSMART_SOFTWARE_TOKEN": "software-secret",
        "OUTSMART_TOKEN_ACME": "acme-secret",
        "OUTSMART_TOKEN_NORTH_WEST": "nw-secret",
    }

    def setup() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(tmp_path / "setup.sh"), "org/portals"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = setup()
    assert done.returncode == 0, done.stderr
    log = (tmp_path / "log").read_text()
    assert "acme-secret" not in done.stdout + done.stderr
    calls = [line for line in log.splitlines() if line.startswith("gh ")]
    assert calls == [
        "gh api users/alice --jq .id",
        "gh secret set OUTSMART_SOFTWARE_TOKEN --repo org/portals",
        "gh api -X PUT repos/org/portals/environments/portal-config-acme --input -",
        "gh secret set OUTSMART_TOKEN --env portal-config-acme --repo org/portals",
        "gh api -X PUT repos/org/portals/environments/portal-config-north-west --input -",
        "gh secret set OUTSMART_TOKEN --env portal-config-north-west --repo org/portals",
    ]
    assert "  stdin: acme-secret" in log and "  stdin: nw-secret" in log
    assert '"reviewers": [{"type": "User", "id": 1234}]' in log
    # A missing token stops the run before anything of that account is sent.
    del env["OUTSMART_TOKEN_NORTH_WEST"]
    (tmp_path / "log").unlink()
    failed = setup()
    assert failed.returncode != 0
    assert "portal-config-north-west --repo" not in (tmp_path / "log").read_text()


@pytest.mark.slow
def test_the_site_builds_strict_with_the_reference_generated(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    assert mkdocs, "mkdocs is a test dependency: pip install -e '.[test]'"
    site = tmp_path / "site"
    done = subprocess.run(
        [mkdocs, "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    commands = (site / "reference" / "commands" / "index.html").read_text(encoding="utf-8")
    assert isinstance(cli, click.Group)
    for command in cli.commands.values():  # each once: `plan` is an alias of diff
        name = command.name
        assert f"portal-config {name}" in commands, name
        for parameter in command.params:
            for option in getattr(parameter, "opts", []):
                if option.startswith("--"):
                    assert option in commands, (name, option)
    rules = (site / "reference" / "rules" / "index.html").read_text(encoding="utf-8")
    for rule_id in RULES:
        assert f"<code>{rule_id}</code>" in rules
    formats = (site / "reference" / "formats" / "index.html").read_text(encoding="utf-8")
    for name in ("lint", "plan", "report", "fleet"):
        assert f"urn:portal-config:schema:{name}" in formats or f"{name}.schema.json" in formats
