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
from click.testing import CliRunner

from conftest import REPO
from portal_config.cli import cli
from portal_config.lint.rules import RULES
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


def test_every_anchor_the_readme_links_to_is_a_heading_of_its_page() -> None:
    # mkdocs --strict checks links between pages, not the README's: a renamed heading
    # would leave a link that lands at the top of the page.
    anchored = re.findall(r"\]\((docs/[^)#]+)#([^)]+)\)", README)
    assert anchored
    for linked, anchor in anchored:
        headings = re.findall(r"^#+ (.+)$", (REPO / linked).read_text(encoding="utf-8"), re.M)
        slugs = {re.sub(r"[^a-z0-9 -]", "", h.lower()).strip().replace(" ", "-") for h in headings}
        assert anchor in slugs, (linked, anchor)


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


_TOKENS = {
    "OUTSMART_SOFTWARE_TOKEN": "software-secret",
    "OUTSMART_TOKEN_ACME": "acme-secret",
    "OUTSMART_TOKEN_NORTH_WEST": "nw-secret",
}


class _GitHubScript:
    """The script of the GitHub setup page, run in a fleet repository with a stand-in
    `gh` that logs each call and what it was given on standard input."""

    def __init__(self, tmp_path: Path, config: str) -> None:
        script = re.findall(r"```bash\n(.+?)```", page("guide/github-setup.md"), re.S)[0]
        self.script = tmp_path / "setup.sh"
        self.script.write_text(script)
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        gh = bin_dir / "gh"
        gh.write_text(
            "#!/bin/sh\n"
            'echo "gh $*" >> "$LOG"\n'
            'case "$1 $2" in "api users/"*) echo 1234; exit 0;; esac\n'
            'case "$*" in *--input*|"secret "*) echo "  stdin: $(cat)" >> "$LOG";; esac\n'
        )
        gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
        self.project = tmp_path / "fleet"
        self.project.mkdir()
        (self.project / "portal-config.yaml").write_text(config)
        self.log = tmp_path / "log"
        path = [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        self.env = {
            **os.environ,
            "PATH": os.pathsep.join(path),
            "LOG": str(self.log),
            "REVIEWERS": "alice",
            **_TOKENS,
        }

    def run(self) -> subprocess.CompletedProcess[str]:
        self.log.unlink(missing_ok=True)
        return subprocess.run(
            ["bash", str(self.script), "org/portals"],
            cwd=self.project,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self) -> list[str]:
        if not self.log.exists():
            return []
        return [line for line in self.log.read_text().splitlines() if line.startswith("gh ")]


_FLEET = "accounts:\n  acme: {}\n  north-west: {}\n"


def test_the_github_script_creates_a_read_and_an_apply_environment_per_account(
    tmp_path: Path,
) -> None:
    script = _GitHubScript(tmp_path, _FLEET)
    done = script.run()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    log = script.log.read_text()
    for token in _TOKENS.values():
        assert token not in done.stdout
    environments = "gh api -X PUT repos/org/portals/environments"
    policies = "repos/org/portals/environments/{}/deployment-branch-policies"
    calls = []
    for account in ("acme", "north-west"):
        apply = f"portal-config-{account}"
        calls += [
            f"{environments}/{apply} --input -",
            f"gh api {policies.format(apply)} --jq .branch_policies[].name",
            f"gh api -X POST {policies.format(apply)} -f name=main -f type=branch",
            f"{environments}/{apply}-read --input -",
            f"gh secret set OUTSMART_TOKEN --env {apply} --repo org/portals",
            f"gh secret set OUTSMART_TOKEN --env {apply}-read --repo org/portals",
        ]
    assert script.calls() == [
        "gh api users/alice --jq .id",
        "gh secret set OUTSMART_SOFTWARE_TOKEN --repo org/portals",
        *calls,
    ]
    # Every token goes in on standard input, to both of its account's environments, and
    # none is on a command line.
    assert log.count("  stdin: acme-secret\n") == 2
    assert log.count("  stdin: nw-secret\n") == 2
    assert log.count("  stdin: software-secret\n") == 1
    for call in script.calls():
        for token in _TOKENS.values():
            assert token not in call
    # apply: the reviewers, and deployment branches limited to main (the POST above);
    # read: no reviewers and no branch limit, so pull request branches and schedules pass.
    bodies = [line for line in log.splitlines() if line.startswith("  stdin: {")]
    apply_body = (
        '  stdin: {"wait_timer": 0, "reviewers": [{"type": "User", "id": 1234}], '
        '"deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true}}'
    )
    read_body = '  stdin: {"wait_timer": 0, "reviewers": [], "deployment_branch_policy": null}'
    assert bodies == [apply_body, read_body] * 2


@pytest.mark.parametrize(
    ("config", "change", "errors"),
    [
        (
            _FLEET,
            {"OUTSMART_TOKEN_NORTH_WEST": None},
            ["error: OUTSMART_TOKEN_NORTH_WEST is not set (the token of account north-west)"],
        ),
        (
            _FLEET,
            {"OUTSMART_TOKEN_ACME": "", "OUTSMART_SOFTWARE_TOKEN": None},
            [
                "error: OUTSMART_SOFTWARE_TOKEN is not set",
                "error: OUTSMART_TOKEN_ACME is not set (the token of account acme)",
            ],
        ),
        (
            _FLEET,
            {"REVIEWERS": ""},
            [
                "error: set REVIEWERS to the 1 to 6 GitHub logins who approve applies, "
                'e.g. REVIEWERS="alice bob"'
            ],
        ),
        (
            _FLEET,
            {"REVIEWERS": "a b c d e f g"},
            [
                "error: set REVIEWERS to the 1 to 6 GitHub logins who approve applies, "
                'e.g. REVIEWERS="alice bob"'
            ],
        ),
        (
            "portals_dir: portals\n",
            {},
            [
                "error: portal-config.yaml has no accounts: section; for one account, "
                "create production and production-read by hand"
            ],
        ),
        (
            "accounts:\n  acme: {}\n  acme-read: {}\n",
            {"OUTSMART_TOKEN_ACME_READ": "x"},
            [
                "error: the accounts acme and acme-read would share the environment "
                "portal-config-acme-read: rename one"
            ],
        ),
    ],
    ids=[
        "a-token-unset",
        "two-tokens-empty-or-unset",
        "no-reviewers",
        "seven-reviewers",
        "one-account",
        "a-name-clash",
    ],
)
def test_the_github_script_stops_before_any_gh_call_naming_what_is_wrong(
    tmp_path: Path, config: str, change: dict[str, str | None], errors: list[str]
) -> None:
    script = _GitHubScript(tmp_path, config)
    for name, value in change.items():
        if value is None:
            del script.env[name]
        else:
            script.env[name] = value
    failed = script.run()
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == errors
    assert failed.stdout == ""
    assert script.calls() == []  # nothing sent: no environment half set up


def test_the_github_setup_names_the_environments_the_recipes_use() -> None:
    """Its table of environments lists every environment a recipe runs in, read and apply,
    per account or per shard, by the name the recipe gives it."""
    rows = re.findall(r"^\| (`.+?) \|", page("guide/github-setup.md"), re.M)
    listed = {name for row in rows for name in re.findall(r"`([^`]+)`", row)}
    assert listed == {
        "production-read",
        "production",
        "portal-config-<account>-read",
        "portal-config-<account>",
        "portal-config-fleet-read",
        "portal-config-fleet",
    }
    recipes = REPO / ".github" / "workflows"
    named = set()
    for path in recipes.glob("portal-config-*.yml"):
        for environment in re.findall(r"^    environment: (.+)$", path.read_text(), re.M):
            named.add(
                environment.replace("${{ matrix.target }}", "production")
                .replace("${{ vars.PORTAL_CONFIG_SHARDS && ", "")
                .replace(" }}", "")
            )
    assert named == {
        "production-read",
        "production",
        "'portal-config-fleet-read' || format('portal-config-{0}-read', matrix.name)",
        "'portal-config-fleet' || format('portal-config-{0}', matrix.name)",
        "portal-config-fleet-read",  # the fleet report: one job reads every account
    }


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
