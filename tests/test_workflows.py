"""The CI recipes an adopter copies: pinned, least-privileged, never running PR code with secrets.

Besides static checks, the recipes' shell steps run here with a stub `portal-config` on
PATH, and their github-script steps run under node against a fake GitHub client, so the
exit-code handling, the PR comment and the drift issue are checked as behaviour.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
RECIPES = sorted(WORKFLOWS.glob("portal-config-*.yml"))
# This repository's own release recipe: not an init template, held to the same checks.
RELEASE = WORKFLOWS / "release.yml"
# What the release job installs to build what it publishes, pinned with hashes.
RELEASE_REQUIREMENTS = REPO / ".github" / "release-requirements.txt"
CHECKED = [*RECIPES, RELEASE]
DIFF = WORKFLOWS / "portal-config-diff.yml"
DRIFT = WORKFLOWS / "portal-config-drift.yml"
APPLY = WORKFLOWS / "portal-config-apply.yml"
FLEET_DIFF = WORKFLOWS / "portal-config-fleet-diff.yml"
FLEET_APPLY = WORKFLOWS / "portal-config-fleet-apply.yml"
FLEET_DRIFT = WORKFLOWS / "portal-config-fleet-drift.yml"
FLEET = [FLEET_DIFF, FLEET_APPLY, FLEET_DRIFT]
# Two environments per account, or two for every shard: apply's, with required reviewers
# and deployment branches limited to main, and the read one (its name and "-read") for diff
# and drift, which run on pull request branches and on a schedule and must not wait.
FLEET_ENVIRONMENT = (
    "${{ vars.PORTAL_CONFIG_SHARDS && 'portal-config-fleet' || "
    "format('portal-config-{0}', matrix.name) }}"
)
FLEET_READ_ENVIRONMENT = (
    "${{ vars.PORTAL_CONFIG_SHARDS && 'portal-config-fleet-read' || "
    "format('portal-config-{0}-read', matrix.name) }}"
)
_PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}")
_SECRETS = {
    "OUTSMART_TOKEN": "${{ secrets.OUTSMART_TOKEN }}",
    "OUTSMART_SOFTWARE_TOKEN": "${{ secrets.OUTSMART_SOFTWARE_TOKEN }}",
}
SHA = "0123456789abcdef0123456789abcdef01234567"
RUN_URL = "https://github.com/acme/portals/actions/runs/42"


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def _job(path: Path) -> dict[str, Any]:
    (job,) = _load(path)["jobs"].values()
    assert isinstance(job, dict)
    return job


def _steps(path: Path) -> list[dict[str, Any]]:
    return [step for job in _load(path)["jobs"].values() for step in job["steps"]]


def _step(path: Path, name: str) -> dict[str, Any]:
    (step,) = [s for s in _steps(path) if s.get("name") == name]
    return step


def _temp(cwd: Path) -> Path:
    """The runner's temporary directory ($RUNNER_TEMP), beside the checkout as on GitHub
    (.../work/_temp next to .../work/repo/repo), never inside it."""
    temp = cwd.with_name(f"{cwd.name}-temp")
    temp.mkdir(exist_ok=True)
    return temp


def _run_step(
    step: dict[str, Any],
    cwd: Path,
    exit_code: int = 0,
    env: dict[str, str] | None = None,
    stub: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a step's script as the runner does (bash -e -o pipefail), with a stub
    `portal-config` that logs its arguments to `calls` and the account token variables it
    sees to `tokens`, then runs `stub` (default: print "report", exit with `exit_code`;
    `show`, which renders a plan the step's own diff or drift just wrote, exits 0).
    $RUNNER_TEMP is `_temp(cwd)`."""
    bin_dir = cwd / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / "portal-config"
    program.write_text(
        f'#!/bin/sh\necho "$@" >> "{cwd}/calls"\n'
        f'env | grep "^OUTSMART_TOKEN_" | sort >> "{cwd}/tokens"\n'
        + (stub or f'echo report\n[ "$1" = show ] && exit 0\nexit {exit_code}')
        + "\n",
        encoding="utf-8",
    )
    program.chmod(0o755)
    (cwd / "summary").touch()
    (cwd / "output").touch()
    variables = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(cwd / "summary"),
        "GITHUB_OUTPUT": str(cwd / "output"),
        "RUNNER_TEMP": str(_temp(cwd)),
        **(env or {}),
    }
    return _bash(step, cwd, variables)


def _bash(step: dict[str, Any], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A step's script as the runner runs it: bash -e -o pipefail, in ``env`` alone."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run_script(
    step: dict[str, Any], cwd: Path, fake: dict[str, Any], env: dict[str, str]
) -> list[list[Any]]:
    """Run a github-script step under node against a fake client; return its API calls.

    `fake` holds what the listing endpoints answer: "comments" and "issues"."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    harness = cwd / "harness.js"
    harness.write_text(
        """
const fake = JSON.parse(process.env.FAKE);
const calls = [];
const record = name => async args => { calls.push([name, args]); return { data: {} }; };
const github = {
  paginate: async (list, args) => (await list(args)).data,
  rest: { issues: {
    listComments: async args => { calls.push(['listComments', args]); return { data: fake.comments || [] }; },
    listForRepo: async args => { calls.push(['listForRepo', args]); return { data: fake.issues || [] }; },
    createComment: record('createComment'),
    updateComment: record('updateComment'),
    create: record('create'),
    update: record('update'),
  } },
};
const context = {
  repo: { owner: 'acme', repo: 'portals' },
  serverUrl: 'https://github.com',
  runId: 42,
  payload: { pull_request: { number: 7 } },
};
const script = require('fs').readFileSync(process.env.SCRIPT, 'utf8');
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('github', 'context', 'require', script)(github, context, require)
  .then(() => console.log(JSON.stringify(calls)));
""",
        encoding="utf-8",
    )
    (cwd / "script.js").write_text(step["with"]["script"], encoding="utf-8")
    done = subprocess.run(
        [node, str(harness)],
        cwd=cwd,
        env={
            **os.environ,
            "RUNNER_TEMP": str(_temp(cwd)),
            **env,
            "FAKE": json.dumps(fake),
            "SCRIPT": str(cwd / "script.js"),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    calls: list[list[Any]] = json.loads(done.stdout)
    return [call for call in calls if not call[0].startswith("list")]


def test_there_are_four_recipes_and_three_for_fleets() -> None:
    # Besides the recipes, only this repository's own release recipe (not a template).
    assert sorted(p.name for p in WORKFLOWS.iterdir()) == sorted(
        [*(p.name for p in RECIPES), "release.yml"]
    )
    assert [p.name for p in RECIPES] == [
        "portal-config-apply.yml",
        "portal-config-diff.yml",
        "portal-config-drift.yml",
        "portal-config-fleet-apply.yml",
        "portal-config-fleet-diff.yml",
        "portal-config-fleet-drift.yml",
        "portal-config-fleet-report.yml",
        "portal-config-lint.yml",
        "portal-config-report.yml",
    ]


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: p.name)
def test_every_action_is_pinned_by_full_sha_with_its_version(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    uses = [line for line in lines if line.strip().removeprefix("- ").startswith("uses:")]
    assert uses
    for line in uses:
        reference = line.split("uses:", 1)[1].split("#", 1)[0].strip()
        assert _PINNED.fullmatch(reference), line
        assert re.search(r"# v\d+\.\d+\.\d+$", line), line


def test_the_recipes_pin_each_action_at_the_same_commit() -> None:
    pins: dict[str, set[str]] = {}
    for path in CHECKED:
        for step in _steps(path):
            if "uses" in step:
                action, commit = step["uses"].split("@")
                pins.setdefault(action, set()).add(commit)
    assert {action: len(commits) for action, commits in pins.items()} == dict.fromkeys(pins, 1)


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_the_tool_comes_from_the_pinned_commit_never_from_the_checkout(path: Path) -> None:
    document = _load(path)
    assert set(document["env"]) == {"PORTAL_CONFIG_SOURCE", "PORTAL_CONFIG_REV"}
    runs = "\n".join(step.get("run", "") for step in _steps(path))
    assert 'pip install "portal-config @ git+${PORTAL_CONFIG_SOURCE}@${PORTAL_CONFIG_REV}"' in runs
    # The guard refuses anything but a full SHA, so a tag cannot slip in.
    assert "grep -Eqx '[0-9a-f]{40}'" in runs
    assert not re.search(r"pip install (-e )?\.", runs)
    for step in _steps(path):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_only_jobs_grant_permissions_and_only_what_they_use(path: Path) -> None:
    document = _load(path)
    assert document["permissions"] == {}
    read = {"contents": "read"}
    pages = {"pages": "write", "id-token": "write"}  # the report recipes' deployment
    expected = {
        "portal-config-apply.yml": {"apply": read},
        "portal-config-diff.yml": {"diff": {**read, "pull-requests": "write"}},
        "portal-config-drift.yml": {"drift": {**read, "issues": "write"}},
        "portal-config-lint.yml": {"lint": {**read, "security-events": "write"}},
        "portal-config-fleet-apply.yml": {"accounts": read, "apply": read},
        "portal-config-fleet-diff.yml": {
            "accounts": read,
            "diff": {**read, "pull-requests": "write"},
            "diffed": {},
            "fan-out": {**read, "pull-requests": "write"},  # one comment, no token
        },
        "portal-config-fleet-drift.yml": {
            "accounts": read,
            "drift": {**read, "issues": "write"},
        },
        "portal-config-report.yml": {"report": read, "pages": pages},
        "portal-config-fleet-report.yml": {"report": read, "pages": pages, "failed": {}},
    }
    jobs = document["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == expected[path.name]


@pytest.mark.parametrize("path", [DIFF, APPLY, DRIFT, *FLEET], ids=lambda p: p.name)
def test_the_tokens_come_from_an_environment_and_reach_only_portal_config(path: Path) -> None:
    document = _load(path)
    assert "pull_request_target" not in document[True]  # PyYAML reads `on:` as True
    expected = {
        "portal-config-diff.yml": {"diff": "production-read"},
        "portal-config-apply.yml": {"apply": "production"},
        "portal-config-drift.yml": {"drift": "${{ matrix.target }}-read"},
        "portal-config-fleet-diff.yml": {"diff": FLEET_READ_ENVIRONMENT},
        "portal-config-fleet-apply.yml": {"apply": FLEET_ENVIRONMENT},
        "portal-config-fleet-drift.yml": {"drift": FLEET_READ_ENVIRONMENT},
    }
    jobs = document["jobs"]
    environments = {name: job["environment"] for name, job in jobs.items() if "environment" in job}
    assert environments == expected[path.name]
    for job in jobs.values():
        for step in job["steps"]:
            env = step.get("env", {})
            secrets = {key: value for key, value in env.items() if "secrets." in value}
            talks_to_outsmart = re.search(r"portal-config (diff|apply|drift) ", step.get("run", ""))
            assert secrets == (_SECRETS if talks_to_outsmart else {}), step.get("name")


@pytest.mark.slow
def test_the_recipes_are_valid_github_workflows() -> None:
    pytest.importorskip("check_jsonschema")
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        *map(str, CHECKED),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_zizmor_finds_nothing_in_the_recipes() -> None:
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install -e '.[test]')")
    # --offline: no GitHub API calls, so the result depends on these files alone.
    done = subprocess.run(
        [zizmor, "--offline", "--format", "json", "--no-config", *map(str, CHECKED)],
        capture_output=True,
        text=True,
    )
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr
    findings = json.loads(done.stdout)
    assert [
        (f["ident"], f["determinations"]["severity"])
        for f in findings
        if f["determinations"]["severity"] in ("Medium", "High")
    ] == []
    audited = re.findall(r"completed \S*/((?:portal-config-\S+|release)\.yml)", done.stderr)
    assert sorted(audited) == sorted(p.name for p in CHECKED)


def test_the_release_builds_on_a_tag_and_publishes_with_trusted_publishing() -> None:
    document = _load(RELEASE)
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    assert document[True] == {"push": {"tags": ["v*"]}}
    assert document["permissions"] == {}
    build, publish = document["jobs"]["build"], document["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python -m build" in runs
    # The builder is pinned as the actions are: nothing but the pinned files is installed.
    installs = [line.strip() for line in runs.splitlines() if "pip install" in line]
    assert installs == [
        "python -m pip install --require-hashes --only-binary :all: "
        "-r .github/release-requirements.txt"
    ]
    assert 'test -f "dist/portal_config-${version}-py3-none-any.whl"' in runs
    assert 'test -f "dist/portal_config-${version}.tar.gz"' in runs
    assert 'grep -qF "## [${version}]" CHANGELOG.md' in runs
    checkout = build["steps"][0]
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}
    # Only the job that publishes can mint the OIDC token, and only in the environment
    # the package index trusts; nothing else is granted and no secret is read.
    assert publish["needs"] == "build"
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish["steps"][-1]
    assert "secrets." not in RELEASE.read_text(encoding="utf-8")


def test_the_release_requirements_pin_every_file_by_version_and_hash() -> None:
    lines = RELEASE_REQUIREMENTS.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    pinned = [line.split() for line in lines if line and not line.startswith("#")]
    assert [words[0].split("==")[0] for words in pinned] == [
        "build",
        "packaging",
        "pyproject_hooks",
    ]
    for words in pinned:
        assert re.fullmatch(r"[a-z_]+==\d+(\.\d+)+", words[0]), words
        assert len(words) == 2 and re.fullmatch(r"--hash=sha256:[0-9a-f]{64}", words[1]), words


@pytest.mark.slow  # pip resolves and checks the files, as the release job does
def test_the_release_requirements_install_with_their_hashes(tmp_path: Path) -> None:
    # --require-hashes also refuses a dependency that is not pinned: the list is complete.
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"),
            *("--require-hashes", "--only-binary", ":all:", "--target", str(tmp_path)),
            *("-r", str(RELEASE_REQUIREMENTS)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == (
        "Would install build-1.6.1 packaging-26.4 pyproject_hooks-1.3.3"
    )


def test_lint_uploads_sarif_to_code_scanning() -> None:
    job = _job(WORKFLOWS / "portal-config-lint.yml")
    assert job["permissions"]["security-events"] == "write"
    upload = next(s for s in job["steps"] if "upload-sarif@" in s.get("uses", ""))
    assert upload["if"].startswith("always()")
    assert upload["with"]["sarif_file"] == "portal-config.sarif"
    assert any("--format sarif > portal-config.sarif" in s.get("run", "") for s in job["steps"])


# --- diff: the PR comment -------------------------------------------------------------


_BASE_TREE = "The base branch's tree, for portal-config.yaml and the files it names"
# The base branch's config (and so its token commands and ca_bundle), the PR's files.
_BASE_CONFIG = '--config "$RUNNER_TEMP/base/portal-config.yaml" --project .'


@pytest.mark.parametrize("path", [DIFF, FLEET_DIFF], ids=lambda p: p.name)
def test_a_pull_request_job_runs_the_tool_on_the_base_branchs_config_and_the_prs_files(
    path: Path,
) -> None:
    steps = _matrix_job(path)["steps"] if path in FLEET else _job(path)["steps"]
    base = _step(path, _BASE_TREE)
    assert base["env"] == {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"}
    names = [s.get("name", "") for s in steps]
    assert names.index(_BASE_TREE) < names.index("portal-config diff")
    # Only the pull request's checkout; the base branch's files come from its history.
    checkouts = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert [c["with"] for c in checkouts] == [{"fetch-depth": 0, "persist-credentials": False}]
    callers = [s for s in steps if re.search(r"portal-config (diff|show) ", s.get("run", ""))]
    assert [s["name"] for s in callers] == ["portal-config diff", "Render the plan"]
    for step in callers:
        assert _BASE_CONFIG in step["run"], step["name"]


def test_the_base_branchs_tree_is_unpacked_outside_the_checkout(tmp_path: Path) -> None:
    origin = tmp_path / "checkout"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    (origin / "scripts").mkdir()
    (origin / "scripts" / "outsmart-token").write_text("base\n")
    (origin / "portal-config.yaml").write_text("targets: {}\n")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "base")
    base = _git(origin, "rev-parse", "HEAD")
    _git(origin, "checkout", "-q", "-b", "pr")
    (origin / "scripts" / "outsmart-token").write_text("pull request\n")
    (origin / "scripts" / "added-by-the-pr").write_text("pull request\n")
    _git(origin, "commit", "-q", "-am", "pr")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "pr")

    done = _run_step(_step(DIFF, _BASE_TREE), origin, env={"BASE_SHA": base})
    assert done.returncode == 0, done.stderr
    tree = _temp(origin) / "base"
    assert sorted(str(p.relative_to(tree)) for p in tree.rglob("*")) == [
        "portal-config.yaml",
        "scripts",
        "scripts/outsmart-token",
    ]
    assert (tree / "scripts" / "outsmart-token").read_text() == "base\n"
    # The checkout is left as it was (the step's stub logs are untracked files).
    assert _git(origin, "status", "--porcelain", "--untracked-files=no") == ""
    assert _git(origin, "rev-parse", "HEAD") != base
    assert _step(FLEET_DIFF, _BASE_TREE) == _step(DIFF, _BASE_TREE)


# Plans and reports live in $RUNNER_TEMP: a file the pull request commits is never one.
_OUTPUT = re.compile(r"""\S*\.(?:json|md)\b""")


@pytest.mark.parametrize("path", [DIFF, DRIFT, APPLY, *FLEET], ids=lambda p: p.name)
def test_plans_and_reports_are_written_and_read_outside_the_checkout(path: Path) -> None:
    jobs = _load(path)["jobs"]
    steps = [step for name, job in jobs.items() if name != "accounts" for step in job["steps"]]
    files = [
        name.replace('"', "")
        for step in steps
        for line in step.get("run", "").splitlines()
        if not line.lstrip().startswith("#")
        for name in _OUTPUT.findall(line)
    ]
    assert files
    assert [name for name in files if not name.startswith("$RUNNER_TEMP/")] == []
    scripts = [step["with"]["script"] for step in steps if "script" in step.get("with", {})]
    for script in scripts:
        assert "RUNNER_TEMP" in script
        assert not re.search(r"(readFileSync|existsSync)\('", script)
    uploads = [
        step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    for upload in uploads:
        kept = upload["with"]["path"].splitlines()
        assert kept and all(name.startswith("${{ runner.temp }}/") for name in kept)


def test_diff_checks_out_the_merge_commit_with_the_history_a_three_way_plan_needs() -> None:
    checkout = _step(DIFF, "The pull request's files (data only)")
    assert "ref" not in checkout["with"]  # pull_request's default: refs/pull/N/merge
    assert checkout["with"]["fetch-depth"] == 0
    run = _step(DIFF, "portal-config diff")["run"]
    assert (
        f"portal-config diff {_BASE_CONFIG} \\\n"
        '  --target production --base "$GITHUB_BASE_REF" '
        '--format json --out "$RUNNER_TEMP/plan.json"' in run
    )


def test_diff_reads_live_state_once_and_renders_the_saved_plan_twice(tmp_path: Path) -> None:
    temp = _temp(tmp_path)
    (temp / "plan.json").write_text("{}")
    done = _run_step(_step(DIFF, "Render the plan"), tmp_path)
    assert done.returncode == 0, done.stderr
    config = f"--config {temp}/base/portal-config.yaml --project . --format markdown"
    assert (tmp_path / "calls").read_text().splitlines() == [
        f"show {temp}/plan.json {config}",
        f"show {temp}/plan.json {config} --max-chars 60000",
    ]
    assert (tmp_path / "summary").read_text() == "report\n"  # the full plan
    assert (temp / "comment.md").read_text() == "report\n"
    assert (temp / "plan.md").read_text() == "report\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bin",
        "calls",
        "output",
        "summary",
        "tokens",
    ]
    upload = _step(DIFF, "Keep the plan")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"].splitlines() == [
        "${{ runner.temp }}/plan.json",
        "${{ runner.temp }}/plan.md",
    ]


@pytest.mark.parametrize(("code", "step_code"), [(0, 0), (3, 0), (1, 1), (2, 2), (4, 4)])
def test_diff_fails_the_check_unless_diff_exits_0_or_3(
    tmp_path: Path, code: int, step_code: int
) -> None:
    done = _run_step(_step(DIFF, "portal-config diff"), tmp_path, exit_code=code)
    assert done.returncode == step_code


BOT = {"type": "Bot", "login": "github-actions[bot]"}


def test_a_comment_that_forges_the_marker_is_never_taken_for_the_plan(tmp_path: Path) -> None:
    """A pull request's author can post the marker first: only the bot's comment is the
    plan's, so theirs stays as written and the plan gets a comment of its own."""
    (_temp(tmp_path) / "comment.md").write_text("## Changes in this pull request\n")
    forged = "<!-- portal-config-diff -->\nNo changes for acme"
    comments = [
        {"id": 8, "body": forged, "user": {"type": "User", "login": "mallory"}},
        {"id": 9, "body": forged, "user": {"type": "Bot", "login": "someone-else[bot]"}},
    ]
    env = {"HEAD_SHA": SHA, "JOB_STATUS": "success"}
    calls = _run_script(_comment_step(), tmp_path, {"comments": comments}, env)
    assert [name for name, _ in calls] == ["createComment"]


def _comment_step() -> dict[str, Any]:
    return _step(DIFF, "Comment on the pull request (updated in place)")


def test_the_comment_step_runs_after_a_failure_but_not_after_a_cancel() -> None:
    step = _comment_step()
    assert step["if"] == "success() || failure()"
    assert step["env"] == {
        "HEAD_SHA": "${{ github.event.pull_request.head.sha }}",
        "JOB_STATUS": "${{ job.status }}",
    }
    names = [s.get("name") for s in _steps(DIFF)]
    assert names[-1] == step["name"]


def test_the_comment_names_the_pull_requests_commit_and_carries_the_capped_plan(
    tmp_path: Path,
) -> None:
    (tmp_path / "comment.md").write_text("a comment.md the pull request committed\n")
    (_temp(tmp_path) / "comment.md").write_text("## Changes in this pull request\n")
    env = {"HEAD_SHA": SHA, "JOB_STATUS": "success"}
    calls = _run_script(_comment_step(), tmp_path, {"comments": []}, env)
    assert calls == [
        [
            "createComment",
            {
                "owner": "acme",
                "repo": "portals",
                "issue_number": 7,
                "body": f"<!-- portal-config-diff -->\nPlan for {SHA}:\n\n"
                "## Changes in this pull request\n",
            },
        ]
    ]


def test_a_failed_diff_replaces_the_plan_in_the_one_comment(tmp_path: Path) -> None:
    comments = [
        {"id": 5, "body": "looks good"},
        {"id": 6, "body": "<!-- portal-config-diff -->\nPlan for an older commit", "user": BOT},
    ]
    env = {"HEAD_SHA": SHA, "JOB_STATUS": "failure"}
    calls = _run_script(_comment_step(), tmp_path, {"comments": comments}, env)
    assert calls == [
        [
            "updateComment",
            {
                "owner": "acme",
                "repo": "portals",
                "comment_id": 6,
                "body": f"<!-- portal-config-diff -->\n"
                f"**diff failed at {SHA}: see [the check]({RUN_URL})**\n",
            },
        ]
    ]


# --- drift: one issue per target ------------------------------------------------------


def test_drift_runs_on_a_schedule_and_on_demand_once_per_target() -> None:
    document = _load(DRIFT)
    assert set(document[True]) == {"schedule", "workflow_dispatch"}
    assert document[True]["schedule"][0]["cron"]
    job = _job(DRIFT)
    assert job["strategy"]["matrix"] == {"target": ["production"]}
    assert job["strategy"]["fail-fast"] is False  # one target's outage hides no other's drift
    drift = _step(DRIFT, "portal-config drift")
    assert drift["env"]["TARGET"] == "${{ matrix.target }}"
    assert (
        'portal-config drift --target "$TARGET" --format markdown --out "$RUNNER_TEMP/drift.json" '
        '> "$RUNNER_TEMP/drift.md"' in drift["run"]
    )


@pytest.mark.parametrize(
    ("code", "step_code", "drifted"),
    [(0, 0, "false"), (3, 0, "true"), (1, 1, None), (4, 4, None)],
)
def test_drift_reports_0_and_3_and_fails_on_anything_else(
    tmp_path: Path, code: int, step_code: int, drifted: str | None
) -> None:
    done = _run_step(_step(DRIFT, "portal-config drift"), tmp_path, code, {"TARGET": "production"})
    assert done.returncode == step_code
    temp = _temp(tmp_path)
    calls = [f"drift --target production --format markdown --out {temp}/drift.json"]
    if drifted == "true":  # the issue's copy, cut at a portal boundary
        calls.append(f"show {temp}/drift.json --format markdown --max-chars 60000")
    assert (tmp_path / "calls").read_text().splitlines() == calls
    expected = f"drifted={drifted}\n" if drifted else ""
    assert (tmp_path / "output").read_text() == expected
    assert (tmp_path / "summary").read_text() == ("report\n" if drifted else "")


def _issue_step() -> dict[str, Any]:
    return _step(DRIFT, "Open, update or close the target's drift issue")


def test_the_issue_step_runs_only_when_drift_succeeded() -> None:
    step = _issue_step()
    assert "if" not in step  # a failed drift step skips it: the issue stays as it was
    assert step["env"] == {
        "TARGET": "${{ matrix.target }}",
        "DRIFTED": "${{ steps.drift.outputs.drifted }}",
    }


_OPEN = {"number": 12, "title": "portal-config drift: production"}
_ELSEWHERE = {"number": 13, "title": "portal-config drift: staging"}


def test_drift_opens_one_labelled_issue_for_the_target(tmp_path: Path) -> None:
    (_temp(tmp_path) / "issue.md").write_text("## Drift\n")
    env = {"TARGET": "production", "DRIFTED": "true"}
    calls = _run_script(_issue_step(), tmp_path, {"issues": [_ELSEWHERE]}, env)
    assert calls == [
        [
            "create",
            {
                "owner": "acme",
                "repo": "portals",
                "title": "portal-config drift: production",
                "body": f"## Drift\n\n\nFound by [this run]({RUN_URL}).\n",
                "labels": ["portal-config-drift"],
            },
        ]
    ]


def test_drift_updates_the_open_issue_with_the_report_cut_by_the_tool(tmp_path: Path) -> None:
    (_temp(tmp_path) / "issue.md").write_text("## Drift\n")
    env = {"TARGET": "production", "DRIFTED": "true"}
    calls = _run_script(_issue_step(), tmp_path, {"issues": [_ELSEWHERE, _OPEN]}, env)
    ((name, args),) = calls
    assert (name, args["issue_number"]) == ("update", 12)
    assert args["body"] == f"## Drift\n\n\nFound by [this run]({RUN_URL}).\n"
    # The cut is the tool's, at a portal boundary (`show --max-chars`), not the script's.
    step = _step(DRIFT, "portal-config drift")
    assert (
        'portal-config show "$RUNNER_TEMP/drift.json" --format markdown --max-chars 60000 '
        '> "$RUNNER_TEMP/issue.md"' in step["run"]
    )


def test_no_drift_closes_the_open_issue_with_a_comment(tmp_path: Path) -> None:
    env = {"TARGET": "production", "DRIFTED": "false"}
    calls = _run_script(_issue_step(), tmp_path, {"issues": [_OPEN, _ELSEWHERE]}, env)
    assert [(name, args.get("issue_number"), args.get("state")) for name, args in calls] == [
        ("createComment", 12, None),
        ("update", 12, "closed"),
    ]
    assert calls[0][1]["body"] == f"No drift any more ([this run]({RUN_URL})): closing."
    assert _run_script(_issue_step(), tmp_path, {"issues": [_ELSEWHERE]}, env) == []


# --- apply: only main's tip, and a reviewed override ----------------------------------


def test_apply_refuses_a_commit_that_is_no_longer_mains_tip() -> None:
    names = [s.get("name") for s in _steps(APPLY)]
    fetch = names.index("Fetch the tip of main")
    apply = names.index("Apply exactly that plan, if this commit is still main's tip")
    assert fetch < apply
    assert "--require-tip origin/main" in _steps(APPLY)[apply]["run"]


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_fetch_step_moves_origin_main_to_the_tip_and_leaves_head(tmp_path: Path) -> None:
    origin, clone = tmp_path / "origin", tmp_path / "clone"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "merged first")
    old = _git(origin, "rev-parse", "HEAD")
    # What actions/checkout leaves: the run's commit checked out, origin/main pointing at it.
    _git(tmp_path, "clone", "-q", "--depth=1", f"file://{origin}", str(clone))
    _git(origin, "commit", "-q", "--allow-empty", "-m", "merged since")
    tip = _git(origin, "rev-parse", "HEAD")
    assert _git(clone, "rev-parse", "origin/main") == old

    done = _run_step(_step(APPLY, "Fetch the tip of main"), clone, env={"GITHUB_TOKEN": "t0k"})
    assert done.returncode == 0, done.stderr
    assert _git(clone, "rev-parse", "origin/main") == tip
    assert _git(clone, "rev-parse", "HEAD") == old
    assert "extraheader" not in _git(clone, "config", "--list")  # nothing of the token stays


@pytest.mark.parametrize("path", [DIFF, APPLY, DRIFT, *FLEET], ids=lambda p: p.name)
def test_only_apply_runs_in_the_environment_with_reviewers(path: Path) -> None:
    """A pull request's branch and a schedule never reach the apply environment, which is
    limited to main and waits for reviewers: that would refuse every diff job and hold every
    drift run. They read in the apply environment's name and "-read"; apply runs on main."""
    document = _load(path)
    applies = "apply" in path.name
    triggers = set(document[True])
    if applies:
        assert triggers == {"push", "workflow_dispatch"}
        assert document[True]["push"]["branches"] == ["main"]
    else:
        assert triggers in ({"pull_request"}, {"schedule", "workflow_dispatch"})
    environments = [job["environment"] for job in document["jobs"].values() if "environment" in job]
    assert len(environments) == 1
    apply_environment = FLEET_ENVIRONMENT if path in FLEET else "production"
    if applies:
        assert environments == [apply_environment]
    elif path in FLEET:
        read = apply_environment.replace("'portal-config-fleet'", "'portal-config-fleet-read'")
        assert environments == [read.replace("{0}'", "{0}-read'")]
    else:
        assert environments[0] in ("production-read", "${{ matrix.target }}-read")


def test_large_changes_pass_only_through_a_reviewed_manual_run() -> None:
    document = _load(APPLY)
    ticked = document[True]["workflow_dispatch"]["inputs"]["allow-large-change"]
    assert (ticked["type"], ticked["default"]) == ("boolean", False)
    assert _job(APPLY)["environment"] == "production"  # its reviewers approve the run
    step = _step(APPLY, "Apply exactly that plan, if this commit is still main's tip")
    assert step["env"]["ALLOW_LARGE_CHANGE"] == "${{ inputs.allow-large-change }}"
    users = [s.get("name") for s in _steps(APPLY) if "inputs." in json.dumps(s)]
    assert users == [step["name"]]


@pytest.mark.parametrize(("ticked", "override"), [("true", True), ("false", False), ("", False)])
def test_the_apply_step_passes_the_override_only_when_ticked(
    tmp_path: Path, ticked: str, override: bool
) -> None:
    step = _step(APPLY, "Apply exactly that plan, if this commit is still main's tip")
    done = _run_step(step, tmp_path, env={"ALLOW_LARGE_CHANGE": ticked})
    assert done.returncode == 0, done.stderr
    temp = _temp(tmp_path)
    expected = (
        f"apply {temp}/plan.json --target production --yes --report {temp}/apply-report.json "
        "--require-tip origin/main"
    )
    if override:
        expected += " --allow-large-change"
    assert (tmp_path / "calls").read_text() == expected + "\n"


@pytest.mark.parametrize("code", [4, 5, 6])
def test_a_refused_or_failed_apply_fails_the_job(tmp_path: Path, code: int) -> None:
    step = _step(APPLY, "Apply exactly that plan, if this commit is still main's tip")
    assert _run_step(step, tmp_path, exit_code=code).returncode == code


# --- fleets: one job per account, or per shard ----------------------------------------


def _matrix_job(path: Path) -> dict[str, Any]:
    (job,) = [job for job in _load(path)["jobs"].values() if "strategy" in job]
    assert isinstance(job, dict)
    return job


def _accounts_step(path: Path) -> dict[str, Any]:
    (step,) = [s for s in _load(path)["jobs"]["accounts"]["steps"] if s.get("id") == "accounts"]
    return step


_PRINTED = json.dumps(
    [
        {"name": "shard-1-of-3", "accounts": "acme gamma"},
        {"name": "shard-2-of-3", "accounts": "beta"},
        {"name": "shard-3-of-3", "accounts": ""},
    ]
)


@pytest.mark.parametrize("path", FLEET, ids=lambda p: p.name)
def test_a_fleet_recipe_runs_a_job_per_entry_of_portal_config_accounts(path: Path) -> None:
    accounts = _load(path)["jobs"]["accounts"]
    assert accounts["outputs"] == {"matrix": "${{ steps.accounts.outputs.matrix }}"}
    assert "portal-config accounts " in _accounts_step(path)["run"]
    job = _matrix_job(path)
    assert job["needs"] == "accounts"
    # One account's failure (a refused token, its API down) cancels no other account's job.
    assert job["strategy"] == {
        "fail-fast": False,
        "matrix": {"include": "${{ fromJSON(needs.accounts.outputs.matrix) }}"},
    }
    # Only apply deploys; diff and drift read, in environments that ask no reviewer.
    read = path != FLEET_APPLY
    assert job["environment"] == (FLEET_READ_ENVIRONMENT if read else FLEET_ENVIRONMENT)
    assert job["name"].endswith(" ${{ matrix.name }}")
    steps_with_tokens = [s for s in job["steps"] if "secrets." in json.dumps(s)]
    assert steps_with_tokens
    for step in steps_with_tokens:
        assert step["env"]["ACCOUNTS"] == "${{ matrix.accounts }}"


@pytest.mark.parametrize("path", FLEET, ids=lambda p: p.name)
@pytest.mark.parametrize(("shards", "call"), [("", "accounts"), ("4", "accounts --shards 4")])
def test_the_matrix_is_what_portal_config_accounts_prints_without_empty_shards(
    tmp_path: Path, path: Path, shards: str, call: str
) -> None:
    step = _accounts_step(path)
    assert step["env"] == {"SHARDS": "${{ vars.PORTAL_CONFIG_SHARDS }}"}
    done = _run_step(step, tmp_path, env={"SHARDS": shards}, stub=f"echo '{_PRINTED}'")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calls").read_text() == call + "\n"
    output = (tmp_path / "output").read_text()
    assert output.startswith("matrix=") and output.endswith("\n")
    # An entry without accounts would run portal-config for every account.
    assert json.loads(output.removeprefix("matrix=")) == json.loads(_PRINTED)[:2]


@pytest.mark.parametrize("shards", ["0", "four", "4 --help", "-1"])
def test_a_shard_count_that_is_not_a_whole_number_stops_the_run(
    tmp_path: Path, shards: str
) -> None:
    done = _run_step(_accounts_step(FLEET_DIFF), tmp_path, env={"SHARDS": shards})
    assert done.returncode == 1
    assert "::error::the repository variable PORTAL_CONFIG_SHARDS must be" in done.stdout
    assert not (tmp_path / "calls").exists()
    assert (tmp_path / "output").read_text() == ""


@pytest.mark.parametrize("path", FLEET, ids=lambda p: p.name)
def test_a_repository_without_accounts_is_sent_to_the_single_account_recipe(
    tmp_path: Path, path: Path
) -> None:
    single = '[{"name": "default", "accounts": ""}]'
    done = _run_step(_accounts_step(path), tmp_path, env={"SHARDS": ""}, stub=f"echo '{single}'")
    assert done.returncode == 1
    recipe = path.name.replace("fleet-", "")
    assert f"::error::portal-config.yaml declares no accounts: use {recipe}" in done.stdout
    assert (tmp_path / "output").read_text() == ""


# The account's environment holds its token as OUTSMART_TOKEN; portal-config reads it from
# the account's default variable. A shard's environment has no account tokens.
_ACCOUNT_TOKENS = [
    ("acme", "t0k", "--account acme", "OUTSMART_TOKEN_ACME=t0k\n"),
    ("north-west", "t0k", "--account north-west", "OUTSMART_TOKEN_NORTH_WEST=t0k\n"),
    ("acme", "", "--account acme", ""),  # its token from a token_command
    ("acme beta", "t0k", "--account acme --account beta", ""),
]


@pytest.mark.parametrize(("accounts", "token", "args", "tokens"), _ACCOUNT_TOKENS)
def test_each_diff_job_diffs_its_accounts_with_the_token_under_the_accounts_name(
    tmp_path: Path, accounts: str, token: str, args: str, tokens: str
) -> None:
    env = {"ACCOUNTS": accounts, "OUTSMART_TOKEN": token, "GITHUB_BASE_REF": "main"}
    done = _run_step(_step(FLEET_DIFF, "portal-config diff"), tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    temp = _temp(tmp_path)
    assert (tmp_path / "calls").read_text() == (
        f"diff --config {temp}/base/portal-config.yaml --project . --target production "
        f"--base main {args} --format json --out {temp}/plans/{{account}}.json\n"
    )
    assert (tmp_path / "tokens").read_text() == tokens


@pytest.mark.parametrize(
    ("code", "step_code", "changes"),
    [(0, 0, "false"), (3, 0, "true"), (1, 1, None), (2, 2, None), (4, 4, None), (7, 7, None)],
)
def test_a_fleet_diff_job_fails_unless_diff_exits_0_or_3(
    tmp_path: Path, code: int, step_code: int, changes: str | None
) -> None:
    env = {"ACCOUNTS": "acme", "GITHUB_BASE_REF": "main"}
    done = _run_step(_step(FLEET_DIFF, "portal-config diff"), tmp_path, code, env)
    assert done.returncode == step_code
    assert (tmp_path / "output").read_text() == (f"changes={changes}\n" if changes else "")


def test_the_fleet_diff_reads_accounts_and_targets_from_the_base_branch() -> None:
    base = "${{ github.event.pull_request.base.sha }}"
    (checkout,) = [s for s in _load(FLEET_DIFF)["jobs"]["accounts"]["steps"] if "uses" in s][:1]
    assert checkout["with"]["ref"] == base  # the matrix, and so the environments
    # The diff jobs' config: test_a_pull_request_job_runs_the_tool_on_the_base_branchs_config.
    # One plan per account of the job, shown in turn; the comment is cut as the single one.
    assert _step(FLEET_DIFF, "Render the plan")["run"] == _step(DIFF, "Render the plan")[
        "run"
    ].replace('show "$RUNNER_TEMP/plan.json"', 'show "$RUNNER_TEMP"/plans/*.json')
    upload = _step(FLEET_DIFF, "Keep the plan")
    assert upload["with"]["name"] == "portal-config-plan-${{ matrix.name }}"
    assert upload["with"]["path"].splitlines() == [
        "${{ runner.temp }}/plans/",
        "${{ runner.temp }}/plan.md",
    ]


def _fleet_comment_step() -> dict[str, Any]:
    return _step(FLEET_DIFF, "Comment on the pull request (one per account, updated in place)")


_OTHERS = [
    {"id": 4, "body": "<!-- portal-config-diff -->\nPlan for a single-account target"},
    {"id": 5, "body": "<!-- portal-config-diff: acme-west -->\nPlan for **acme-west**"},
]


def test_an_account_with_changes_gets_its_own_comment(tmp_path: Path) -> None:
    step = _fleet_comment_step()
    assert step["if"] == "success() || failure()"
    assert step["env"]["NAME"] == "${{ matrix.name }}"
    assert step["env"]["CHANGES"] == "${{ steps.diff.outputs.changes }}"
    (_temp(tmp_path) / "comment.md").write_text("## Changes in this pull request\n")
    env = {"NAME": "acme", "CHANGES": "true", "HEAD_SHA": SHA, "JOB_STATUS": "success"}
    calls = _run_script(step, tmp_path, {"comments": _OTHERS}, env)
    assert calls == [
        [
            "createComment",
            {
                "owner": "acme",
                "repo": "portals",
                "issue_number": 7,
                "body": f"<!-- portal-config-diff: acme -->\nPlan for **acme** at {SHA}:\n\n"
                "## Changes in this pull request\n",
            },
        ]
    ]


def test_an_account_without_changes_stays_quiet_unless_it_commented_before(
    tmp_path: Path,
) -> None:
    (_temp(tmp_path) / "comment.md").write_text("No changes.\n")
    env = {"NAME": "acme", "CHANGES": "false", "HEAD_SHA": SHA, "JOB_STATUS": "success"}
    assert _run_script(_fleet_comment_step(), tmp_path, {"comments": _OTHERS}, env) == []

    forged = {
        "id": 5,
        "body": "<!-- portal-config-diff: acme -->\nforged",
        "user": {"type": "User", "login": "mallory"},
    }
    # A comment by the pull request's author that carries the marker is not one "before".
    assert _run_script(_fleet_comment_step(), tmp_path, {"comments": [*_OTHERS, forged]}, env) == []
    earlier = {
        "id": 6,
        "body": "<!-- portal-config-diff: acme -->\nPlan for **acme** at old",
        "user": BOT,
    }
    calls = _run_script(_fleet_comment_step(), tmp_path, {"comments": [*_OTHERS, earlier]}, env)
    assert [(name, args["comment_id"]) for name, args in calls] == [("updateComment", 6)]
    assert calls[0][1]["body"].endswith(f"Plan for **acme** at {SHA}:\n\nNo changes.\n")


def test_a_failed_account_says_so_in_its_comment(tmp_path: Path) -> None:
    env = {"NAME": "acme", "CHANGES": "", "HEAD_SHA": SHA, "JOB_STATUS": "failure"}
    calls = _run_script(_fleet_comment_step(), tmp_path, {"comments": _OTHERS}, env)
    assert [name for name, _ in calls] == ["createComment"]
    assert calls[0][1]["body"] == (
        f"<!-- portal-config-diff: acme -->\n**acme: diff failed at {SHA}: "
        f"see [the check]({RUN_URL})**\n"
    )


@pytest.mark.parametrize(
    ("result", "code"), [("success", 0), ("failure", 1), ("cancelled", 1), ("skipped", 1)]
)
def test_one_check_of_a_stable_name_says_whether_every_account_was_diffed(
    tmp_path: Path, result: str, code: int
) -> None:
    gate = _load(FLEET_DIFF)["jobs"]["diffed"]
    assert gate["needs"] == "diff" and gate["if"].startswith("always() && ")
    (step,) = gate["steps"]
    assert step["env"] == {"RESULT": "${{ needs.diff.result }}"}
    assert _run_step(step, tmp_path, env={"RESULT": result}).returncode == code


# --- fleet apply ----------------------------------------------------------------------

_FLEET_APPLY_STEP = "Apply exactly that plan, if this commit is still main's tip"


def test_the_fleet_apply_fetches_mains_tip_as_the_single_apply_does() -> None:
    assert _step(FLEET_APPLY, "Fetch the tip of main") == _step(APPLY, "Fetch the tip of main")
    names = [s.get("name") for s in _matrix_job(FLEET_APPLY)["steps"]]
    assert names.index("Fetch the tip of main") < names.index(_FLEET_APPLY_STEP)
    document = _load(FLEET_APPLY)
    assert document[True]["push"]["branches"] == ["main"]
    ticked = document[True]["workflow_dispatch"]["inputs"]["allow-large-change"]
    assert (ticked["type"], ticked["default"]) == ("boolean", False)
    assert document["concurrency"] == {
        "group": "portal-config-fleet-apply",
        "cancel-in-progress": False,
    }


@pytest.mark.parametrize(("accounts", "token", "args", "tokens"), _ACCOUNT_TOKENS)
def test_each_apply_job_plans_its_accounts(
    tmp_path: Path, accounts: str, token: str, args: str, tokens: str
) -> None:
    env = {"ACCOUNTS": accounts, "OUTSMART_TOKEN": token}
    done = _run_step(_step(FLEET_APPLY, "Plan"), tmp_path, 3, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calls").read_text() == (
        f"diff --target production {args} --format markdown "
        f"--out {_temp(tmp_path)}/plans/{{account}}.json\n"
    )
    assert (tmp_path / "tokens").read_text() == tokens
    assert (tmp_path / "summary").read_text() == "report\n"


@pytest.mark.parametrize(("ticked", "override"), [("true", " --allow-large-change"), ("", "")])
def test_each_apply_job_applies_exactly_its_plan_only_at_mains_tip(
    tmp_path: Path, ticked: str, override: str
) -> None:
    step = _step(FLEET_APPLY, _FLEET_APPLY_STEP)
    assert step["env"]["ALLOW_LARGE_CHANGE"] == "${{ inputs.allow-large-change }}"
    env = {"ACCOUNTS": "north-west", "OUTSMART_TOKEN": "t0k", "ALLOW_LARGE_CHANGE": ticked}
    plans = _temp(tmp_path) / "plans"
    plans.mkdir()
    (plans / "north-west.json").write_text("{}")
    (tmp_path / "plans").mkdir()  # committed to the repository: never applied
    (tmp_path / "plans" / "0.json").write_text("{}")
    done = _run_step(step, tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calls").read_text() == (
        f"apply {plans}/north-west.json --target production --yes --report "
        f"{_temp(tmp_path)}/reports/{{account}}.json --require-tip origin/main{override}\n"
    )
    assert (tmp_path / "tokens").read_text() == "OUTSMART_TOKEN_NORTH_WEST=t0k\n"


@pytest.mark.parametrize("code", [2, 4, 5, 6, 7])
def test_a_refused_or_failed_fleet_apply_fails_its_job(tmp_path: Path, code: int) -> None:
    step = _step(FLEET_APPLY, _FLEET_APPLY_STEP)
    (_temp(tmp_path) / "plans").mkdir()
    (_temp(tmp_path) / "plans" / "acme.json").write_text("{}")
    assert _run_step(step, tmp_path, code, {"ACCOUNTS": "acme"}).returncode == code
    plan = _run_step(_step(FLEET_APPLY, "Plan"), tmp_path, code, {"ACCOUNTS": "acme"})
    # 7: some accounts could not be planned; the others are still applied.
    assert plan.returncode == (0 if code in (3, 7) else code)


def test_a_shard_applies_the_accounts_it_could_plan_then_fails(tmp_path: Path) -> None:
    step = _step(FLEET_APPLY, _FLEET_APPLY_STEP)
    (_temp(tmp_path) / "plans").mkdir()
    (_temp(tmp_path) / "plans" / "acme.json").write_text("{}")
    done = _run_step(step, tmp_path, env={"ACCOUNTS": "acme beta", "PLANNED": "7"})
    assert done.returncode == 7
    assert (tmp_path / "calls").read_text().startswith(f"apply {_temp(tmp_path)}/plans/acme.json ")
    assert "some accounts of this job could not be planned" in done.stdout
    nothing = tmp_path / "empty"
    nothing.mkdir()
    assert _run_step(step, nothing, env={"ACCOUNTS": "beta", "PLANNED": "7"}).returncode == 7
    assert not (nothing / "calls").exists()  # no plan: apply is not run at all


def test_each_apply_job_keeps_its_report_under_its_own_name() -> None:
    upload = _step(FLEET_APPLY, "Keep the plan and the per-portal results")
    assert upload["if"] == "always()"
    assert upload["with"]["name"] == "apply-report-${{ matrix.name }}"
    assert upload["with"]["path"].splitlines() == [
        "${{ runner.temp }}/plans/",
        "${{ runner.temp }}/reports/",
    ]


# --- fleet drift: one issue per account -----------------------------------------------

_DRIFT_LOOP = "portal-config drift, account by account"
# beta has drifted, gamma's check fails, acme is clean.
_PER_ACCOUNT = """case "$*" in
  *"--account beta "*) echo "beta drifted"; exit 3 ;;
  *"--account gamma "*) exit 4 ;;
esac
echo "clean"
"""


def test_fleet_drift_runs_on_a_schedule_and_on_demand() -> None:
    document = _load(FLEET_DRIFT)
    assert set(document[True]) == {"schedule", "workflow_dispatch"}
    assert document[True]["schedule"][0]["cron"]


def test_drift_checks_each_account_of_a_job_on_its_own(tmp_path: Path) -> None:
    env = {"ACCOUNTS": "acme beta gamma", "OUTSMART_TOKEN": "t0k"}
    done = _run_step(_step(FLEET_DRIFT, _DRIFT_LOOP), tmp_path, env=env, stub=_PER_ACCOUNT)
    # The failed account fails the job, after every account was checked.
    assert done.returncode == 4
    assert "::error::drift of gamma failed with exit code 4" in done.stdout
    assert (tmp_path / "calls").read_text().splitlines() == [
        f"drift --target production --account {name} --format markdown"
        for name in ("acme", "beta", "gamma")
    ]
    assert (tmp_path / "tokens").read_text() == ""  # a shard: no account's token
    drift = _temp(tmp_path) / "drift"
    assert (drift / "clean").read_text() == "acme\n"
    assert (drift / "drifted").read_text() == "beta\n"
    assert (drift / "beta.md").read_text() == "beta drifted\n"
    assert (tmp_path / "summary").read_text() == "beta drifted\n"


def test_a_job_for_one_clean_account_passes_with_its_token(tmp_path: Path) -> None:
    env = {"ACCOUNTS": "north-west", "OUTSMART_TOKEN": "t0k"}
    done = _run_step(_step(FLEET_DRIFT, _DRIFT_LOOP), tmp_path, env=env, stub=_PER_ACCOUNT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tokens").read_text() == "OUTSMART_TOKEN_NORTH_WEST=t0k\n"
    assert (_temp(tmp_path) / "drift" / "clean").read_text() == "north-west\n"
    assert (tmp_path / "summary").read_text() == ""


def _account_issue_step() -> dict[str, Any]:
    return _step(FLEET_DRIFT, "Open, update or close each account's drift issue")


def test_each_account_has_its_own_drift_issue(tmp_path: Path) -> None:
    step = _account_issue_step()
    assert step["if"] == "success() || failure()"  # the others, after one account failed
    drift = _temp(tmp_path) / "drift"
    drift.mkdir()
    (drift / "drifted").write_text("beta\nnorth-west\n")
    (drift / "clean").write_text("acme\ndelta\n")
    (drift / "beta.md").write_text("## beta\n")
    (drift / "north-west.md").write_text("## north-west\n")
    issues = [
        {"number": 21, "title": "portal-config drift: acme"},  # clean now: closed
        {"number": 22, "title": "portal-config drift: north-west"},  # drifted still: updated
        {"number": 23, "title": "portal-config drift: gamma"},  # failed: left as it is
    ]
    calls = _run_script(step, tmp_path, {"issues": issues}, {})
    found = f"\n\nFound by [this run]({RUN_URL}).\n"
    assert calls == [
        [
            "create",
            {
                "owner": "acme",
                "repo": "portals",
                "title": "portal-config drift: beta",
                "body": f"## beta\n{found}",
                "labels": ["portal-config-drift"],
            },
        ],
        [
            "update",
            {
                "owner": "acme",
                "repo": "portals",
                "issue_number": 22,
                "body": f"## north-west\n{found}",
            },
        ],
        [
            "createComment",
            {
                "owner": "acme",
                "repo": "portals",
                "issue_number": 21,
                "body": f"No drift any more ([this run]({RUN_URL})): closing.",
            },
        ],
        [
            "update",
            {
                "owner": "acme",
                "repo": "portals",
                "issue_number": 21,
                "state": "closed",
                "state_reason": "completed",
            },
        ],
    ]


def test_no_drift_results_leave_every_issue_alone(tmp_path: Path) -> None:
    # The drift step never ran (the install failed, say): nothing is known about any account.
    issues = [{"number": 21, "title": "portal-config drift: acme"}]
    assert _run_script(_account_issue_step(), tmp_path, {"issues": issues}, {}) == []


# --- a pull request's job, with the real tool against the sandbox ---------------------
#
# A repository made in a temporary directory: main as reviewed, a pull request branch on
# top, and the recipe's own steps run in its checkout with this portal-config on PATH.


def _run_real(
    step: dict[str, Any], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """A recipe's shell step as the runner runs it, with this checkout's portal-config."""
    variables = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OUTSMART_", "GITHUB_", "RUNNER_"))
    }
    variables.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(_temp(cwd)),
            "GITHUB_STEP_SUMMARY": str(_temp(cwd) / "summary"),
            "GITHUB_OUTPUT": str(_temp(cwd) / "output"),
            **env,
        }
    )
    return _bash(step, cwd, variables)


def _commit(root: Path, message: str) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)
    return _git(root, "rev-parse", "HEAD")


def _script(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)


def _main_branch(checkout: Path, files: Path, url: str, config: str) -> str:
    """main as reviewed: the shipped portal files in ``files``, a production target at
    ``url`` with ``config`` lines added; its commit."""
    shutil.copytree(REPO / "portals", files / "portals")
    shutil.copy(REPO / "worktypes.yaml", files / "worktypes.yaml")
    (checkout / "portal-config.yaml").write_text(
        f"default_target: production\ntargets:\n  production:\n    base_url: {url}\n"
        f"    retries: 1\n    backoff: 0.01\n{config}",
        encoding="utf-8",
    )
    # The in-process sandbox state of `portal-config apply` is not the repository's.
    (checkout / ".gitignore").write_text(".portal-config/\n", encoding="utf-8")
    _git(checkout, "init", "-q", "-b", "main")
    return _commit(checkout, "main, as reviewed")


def _offer_onderhoud(portals: Path) -> None:
    """The pull request's change: klimaat-techniek's guests may order Onderhoud too."""
    portal = portals / "klimaat-techniek.yaml"
    portal.write_text(
        portal.read_text().replace("    - Storing\n", "    - Storing\n    - Onderhoud\n")
    )


def _pull_request_job(
    path: Path, checkout: Path, base: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The recipe's job from the base branch's tree to the rendered comment: the last
    step's result (or the first that failed)."""
    for name in (_BASE_TREE, "portal-config diff", "Render the plan"):
        done = _run_real(_step(path, name), checkout, {"BASE_SHA": base, **env})
        if done.returncode != 0:
            break
    return done


@pytest.mark.slow  # git, bash and real portal-config processes
def test_the_diff_recipe_runs_the_base_branchs_token_script_not_the_pull_requests(
    tmp_path: Path, sandbox: Any
) -> None:
    from conftest import SOFTWARE_TOKEN, TOKEN

    checkout = tmp_path / "checkout"
    ran = tmp_path / "ran"
    script = checkout / "scripts" / "outsmart-token"
    _script(script, f'#!/bin/sh\necho base >> "{ran}"\necho {TOKEN}\n')
    # The README's shape: a script in the repository prints the token.
    command = "    token_command: [./scripts/outsmart-token]\n"
    base = _main_branch(checkout, checkout, sandbox.url, command)
    _git(checkout, "checkout", "-q", "-b", "pr")
    # The pull request's script would send the job's secrets anywhere; it prints the
    # token too, so the run would pass unnoticed.
    _script(script, f'#!/bin/sh\nenv > "{tmp_path / "stolen"}"\necho pr >> "{ran}"\necho {TOKEN}\n')
    _offer_onderhoud(checkout / "portals")
    _commit(checkout, "the pull request")

    env = {
        "GITHUB_BASE_REF": "main",
        "OUTSMART_TOKEN": "",
        "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN,
    }
    done = _pull_request_job(DIFF, checkout, base, env)
    assert done.returncode == 0, done.stderr
    assert ran.read_text() == "base\n"  # once, for the diff; show asks for no token
    assert not (tmp_path / "stolen").exists()
    comment = (_temp(checkout) / "comment.md").read_text()
    assert "klimaat-techniek" in comment and "Onderhoud" in comment


@pytest.mark.slow  # git, bash and real portal-config processes
def test_a_plan_the_pull_request_commits_is_not_shown_in_the_fleet_comment(
    tmp_path: Path, sandbox: Any
) -> None:
    from conftest import SOFTWARE_TOKEN, TOKEN

    checkout = tmp_path / "checkout"
    home = checkout / "accounts" / "acme"
    base = _main_branch(checkout, home, sandbox.url, "accounts:\n  acme:\n")
    tokens = {"OUTSMART_TOKEN_ACME": TOKEN, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}
    tool = [str(Path(sys.executable).parent / "portal-config")]
    environment = {**os.environ, **tokens}
    subprocess.run(
        [*tool, "apply", "--yes"], cwd=checkout, env=environment, capture_output=True, check=True
    )
    # A genuine plan of main, for the same account and target: "No changes".
    forged = checkout / "plans" / "0.json"
    subprocess.run(
        [*tool, "diff", "--format", "json", "--out", str(forged)],
        cwd=checkout,
        env=environment,
        capture_output=True,
        check=True,
    )
    _git(checkout, "checkout", "-q", "-b", "pr")
    _offer_onderhoud(home / "portals")
    _commit(checkout, "the pull request, with a plan of its own")

    env = {"ACCOUNTS": "acme", "GITHUB_BASE_REF": "main", "OUTSMART_TOKEN": TOKEN, **tokens}
    done = _pull_request_job(FLEET_DIFF, checkout, base, env)
    assert done.returncode == 0, done.stderr
    comment = (_temp(checkout) / "comment.md").read_text()
    # One plan, the job's own: the committed one would come first, saying "No changes".
    assert comment.startswith("**Plan: 1 to update, 4 unchanged, 1 unmanaged; ")
    assert "## Account" not in comment and "No changes" not in comment
    assert "klimaat-techniek" in comment and "Onderhoud" in comment
    assert sorted(p.name for p in (_temp(checkout) / "plans").iterdir()) == ["acme.json"]
