"""The documentation site builds with --strict, its generated parts render from the code,
and the README stays a short door into it."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

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


def test_generated_text_stays_text_outside_code_spans() -> None:
    escape = hooks().escape
    assert escape("in accounts/<name>/portals/ & `<name>` here") == (
        "in accounts/&lt;name&gt;/portals/ &amp; `<name>` here"
    )
    rendered = hooks().render(page("reference/configuration.md"))
    assert "accounts/&lt;name&gt;/portals/" in rendered


def test_the_command_reference_is_each_commands_help_once_with_its_alias() -> None:
    rendered = hooks().render(page("reference/commands.md"))
    assert isinstance(cli, click.Group)
    width = hooks().HELP_WIDTH
    ctx = click.Context(cli, info_name="portal-config")
    aliases = {"plan": "diff"}
    assert cli.aliases == aliases  # type: ignore[attr-defined]
    for name in ["", *cli.list_commands(ctx)]:
        args = [name, "--help"] if name else ["--help"]
        shown = CliRunner().invoke(
            cli, args, prog_name="portal-config", terminal_width=width, max_content_width=width
        )
        assert shown.exit_code == 0
        title = f"portal-config {name}".strip()
        assert rendered.count(f"\n## {title}\n") == 1, title
        assert f"```text\n{shown.output.rstrip()}\n```" in rendered, title
    assert "## portal-config plan" not in rendered
    assert "Alias: `portal-config plan` is another name for `portal-config diff`." in rendered


@pytest.mark.parametrize("name", ["commands", "configuration", "rules", "formats"])
def test_a_reference_page_says_what_to_run_where_it_is_not_built(name: str) -> None:
    text = page(f"reference/{name}.md")
    note = text.split("\n\n", 2)[1]
    assert note.startswith("> **On GitHub** this page ")
    assert "generated when the site is built" in note
    assert "`portal-config " in note
    assert "`pip install -e '.[docs]' && mkdocs serve`" in note
    assert text.index(note) < text.index("<!-- portal-config:")


def test_the_fault_matrix_figures_are_the_recorded_run() -> None:
    rendered = hooks().fault_matrix()
    assert "| **total** | **48** |" in rendered
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
    for built in site.rglob("*.html"):
        assert "Sentinel" not in built.read_text(encoding="utf-8"), built
    assert isinstance(cli, click.Group)
    headings = re.findall(r'<h2 id="portal-config-([a-z-]+)"', commands)
    assert headings == cli.list_commands(click.Context(cli)) and "plan" not in headings
    assert (
        "<p>Alias: <code>portal-config plan</code> is another name for "
        "<code>portal-config diff</code>.</p>"
    ) in commands
    configuration = (site / "reference" / "configuration" / "index.html").read_text("utf-8")
    assert "accounts/&lt;name&gt;/portals/" in configuration
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
