"""The real process: exit codes, tty colour, start-up imports, `python -m`."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, VALID, run_cli

HEAVY = ("deepdiff", "httpx", "httpcore", "requests", "urllib3", "ruamel")


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, *args, env=os.environ if env is None else env)


def test_lint_never_imports_the_http_client_or_deepdiff() -> None:
    code = (
        "import sys\n"
        "from portal_config.cli import cli\n"
        "try:\n"
        f"    cli(['lint', {str(REPO / 'portals')!r}])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("files", "args", "code"),
    [
        ({"portals/a.yaml": VALID.format(portal="a")}, [], 0),
        ({"portals/a.yaml": "portal: b\nguest_workorder: {enabled: false}\n"}, [], 1),
        (
            {"portals/a.yaml": "portal: a\nguest_workorder: {enabled: false, work_types: [x]}\n"},
            [],
            0,
        ),
        (
            {"portals/a.yaml": "portal: a\nguest_workorder: {enabled: false, work_types: [x]}\n"},
            ["--strict"],
            1,
        ),
        ({"portals/a.yaml": VALID.format(portal="a")}, ["--format", "xml"], 2),
        (
            {
                "portal-config.yaml": "rules: {nope: error}\n",
                "portals/a.yaml": VALID.format(portal="a"),
            },
            [],
            2,
        ),
    ],
)
def test_documented_exit_codes(
    tmp_path: Path, files: dict[str, str], args: list[str], code: int
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    done = run("lint", *args, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def _on_a_tty(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal_config", *args],
        cwd=cwd,
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO once the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode()


def test_colour_on_a_tty_unless_no_color(tmp_path: Path) -> None:
    (tmp_path / "portals").mkdir()
    (tmp_path / "portals" / "a.yaml").write_text("portal: b\nguest_workorder: {enabled: false}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_ACTIONS")}
    assert "\x1b[31m" in _on_a_tty(["lint"], tmp_path, env)
    assert "\x1b[" not in _on_a_tty(["lint"], tmp_path, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in run("lint", cwd=tmp_path, env=env).stdout


def test_a_closed_stdout_does_not_stop_apply(tmp_path: Path) -> None:
    # `portal-config apply --yes | head -1`: the reader goes away after the first line.
    for name in ("portals", "worktypes.yaml", "portal-config.yaml"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    env = {**os.environ, "SANDBOX_LATENCY_MS": "300"}  # progress lines come after the close
    apply = subprocess.Popen(
        [sys.executable, "-m", "portal_config", "apply", "--yes", "--report", "report.json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert apply.stdout is not None and apply.stdout.readline().startswith("Target: sandbox")
    apply.stdout.close()
    _, err = apply.communicate(timeout=60)
    assert apply.returncode == 0, err
    assert "Traceback" not in err
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["outcome"], report["summary"]["applied"]) == ("applied", 2)
