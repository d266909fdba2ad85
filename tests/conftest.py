from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from portal_config.cli import cli
from portal_config.sandbox import Sandbox, SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

VALID = """\
portal: {portal}
guest_workorder:
  enabled: true
  work_types:
    - Storing
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory with a portals/ folder, as the cwd."""
    (tmp_path / "portals").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)  # diff --base's default
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


Write = Callable[[str, str], Path]


@pytest.fixture
def write(project: Path) -> Write:
    def _write(relative: str, text: str) -> Path:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    def _invoke(*args: str, **kwargs: object) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)  # type: ignore[arg-type]

    return _invoke


ADOPTED_ON = "2026-12-04"  # the date tests fix for pull's adoption acknowledgements


def adopted_secura_alarm(schema: str, *, every_section: bool = False) -> str:
    """The demo account's secura-alarm as pull first writes it on ADOPTED_ON: both
    permissions it finds on are acknowledged, with ``schema`` in the modeline. With
    ``every_section`` (a repository `init` made, whose config names them all), the
    sections besides the guest one the demo account holds for it too."""
    reason = f"as found in OutSmart on {ADOPTED_ON} (adopted by pull)"
    users = (
        "user_settings:\n"
        "  work_types:\n"
        "    - Plaatsing alarm\n"
        "    - Inspectie\n"
        "    - Storing\n"
        "    - Reparatie\n"
        "  allow_customer_details_change: true\n"
        "  allow_contact_details_change: true\n"
        "  view_only: false\n"
        "general:\n"
        "  enabled: true\n"
        "  url_name: secura-alarm\n"
        "  name: Secura Alarmsystemen\n"
        "  request_email: planning@secura-alarm.example\n"
        "  language: nl\n"
        "  date_format: dd-mm-yyyy\n"
        "  required_to_accept: true\n"
        "  welcome_text: Welkom bij Secura Alarmsystemen.\n"
        "  default_description: ''\n"
        "display:\n"
        "  invoices: false\n"
        "  workorder_details: true\n"
        "  photos: true\n"
        "  objects: false\n"
        "  documents: false\n"
    )
    return (
        f"# yaml-language-server: $schema={schema}\n"
        "portal: secura-alarm\n"
        "guest_workorder:\n"
        "  enabled: true\n"
        "  allow_address_change: true\n"
        "  allow_new_relation: true\n"
        "  allow_requests_for_others: false\n"
        "  work_types:\n"
        "    - Plaatsing alarm\n"
        "    - Inspectie\n"
        "    - Storing\n" + (users if every_section else "") + "acknowledged:\n"
        f"  allow_address_change: {reason}\n"
        f"  allow_new_relation: {reason}\n"
    )


# -- the live loop: a real sandbox server on loopback ---------------------------------------
TOKEN = "tok-Zq8v3XsECRET-41"
SOFTWARE_TOKEN = "sw-Pk2m9YsECRET-77"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """The demo account served on an ephemeral loopback port, state in tmp_path/state."""
    state = SandboxState.open(tmp_path / "state" / "sandbox.json", demo_account())
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN) as running:
        yield running


@pytest.fixture
def live_project(project: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with the shipped portals, whose default target is the test sandbox."""
    shutil.rmtree(project / "portals")
    shutil.copytree(REPO / "portals", project / "portals")
    shutil.copy(REPO / "worktypes.yaml", project / "worktypes.yaml")
    (project / "portal-config.yaml").write_text(
        "default_target: test\n"
        "targets:\n"
        "  test:\n"
        f"    base_url: {sandbox.url}\n"
        "    retries: 2\n"
        "    backoff: 0.01\n"
        "    deadline: 60\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("OUTSMART_TOKEN", TOKEN)
    monkeypatch.setenv("OUTSMART_SOFTWARE_TOKEN", SOFTWARE_TOKEN)
    return project


# Live settings before, and desired settings in every file of, a generated project.
OLD_GUEST = {
    "enabled": False,
    "allow_address_change": False,
    "allow_new_relation": False,
    "allow_requests_for_others": False,
    "work_types": [],
}
NEW_GUEST = {
    "enabled": True,
    "allow_address_change": False,
    "allow_new_relation": False,
    "allow_requests_for_others": False,
    "work_types": ["Storing", "Onderhoud"],
}


def generated_project(root: Path, count: int, prefix: str) -> dict[str, object]:
    """``count`` portal files wanting NEW_GUEST, and a sandbox account holding OLD_GUEST."""
    (root / "portals").mkdir(parents=True)
    portals = {}
    for index in range(count):
        name = f"{prefix}{index:02d}"
        (root / "portals" / f"{name}.yaml").write_text(
            f"portal: {name}\nguest_workorder:\n  enabled: true\n  work_types: [Storing, Onderhoud]\n"
        )
        portals[name] = {
            "portal_id": name,
            "name": name,
            "revision": 1,
            "guest_workorder": dict(OLD_GUEST),
        }
    return {"version": 1, "work_types": ["Storing", "Onderhoud"], "portals": portals}


TOKEN_ENV = {**os.environ, "OUTSMART_TOKEN": TOKEN, "OUTSMART_SOFTWARE_TOKEN": SOFTWARE_TOKEN}


def apply_process(root: Path, *args: str) -> subprocess.Popen[str]:
    """`portal-config apply --yes --allow-large-change` in ``root``, as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "portal_config", "apply", "--yes", "--allow-large-change", *args],
        cwd=root,
        env=TOKEN_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_cli(
    root: Path,
    *args: str,
    env: Mapping[str, str] = TOKEN_ENV,
    timeout: float = 120,
    memory: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """`portal-config ARGS` in ``root`` as a real process, to its end (at most ``timeout``
    seconds); with ``memory``, its address space is capped at that many bytes."""

    def cap() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "portal_config", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap if memory is not None else None,
    )


def revisions(sandbox: Sandbox) -> dict[str, int]:
    return {name: record["revision"] for name, record in sandbox.state.data["portals"].items()}


# Under pytest-xdist the fault tests run in worker processes, each with its own TALLY:
# a worker hands its counts over when it finishes, and the controller adds them up.
_WORKER_TALLIES: Counter[tuple[str, str]] = Counter()
_TALLY_KEY = "fault_tally"


def _local_tally() -> Counter[tuple[str, str]]:
    module = sys.modules.get("test_faults")
    tally: Counter[tuple[str, str]] | None = getattr(module, "TALLY", None)
    return tally if tally is not None else Counter()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-fault-matrix",
        metavar="PATH",
        default=None,
        help="also write the fault matrix figures to PATH as JSON "
        "(docs/results/fault-matrix.json is what the documentation shows)",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: send the counts ("scenario|outcome")
        workeroutput[_TALLY_KEY] = {"|".join(key): n for key, n in _local_tally().items()}


@pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown when xdist is not installed
def pytest_testnodedown(node: Any, error: object) -> None:
    for key, count in getattr(node, "workeroutput", {}).get(_TALLY_KEY, {}).items():
        scenario, outcome = key.split("|", 1)
        _WORKER_TALLIES[scenario, outcome] += count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault matrix figures; with --record-fault-matrix, also write them as the
    JSON file the documentation's table is rendered from (never typed in by hand).

    "silent failures" counts, as measured, portals reported applied or unchanged that do
    not hold the desired settings, and UI edits overwritten; the tests fail on any.
    """
    tally = _local_tally() + _WORKER_TALLIES
    if not tally:
        return
    terminalreporter.section("apply fault matrix")
    scenarios = sorted({scenario for scenario, _ in tally})
    for scenario in scenarios:
        converged, failed = tally[scenario, "converged"], tally[scenario, "failed cleanly"]
        terminalreporter.line(
            f"{scenario:<22} runs {converged + failed:3}  converged {converged:3}  "
            f"failed cleanly {failed:3}  silent failures {tally[scenario, 'silent']}"
        )
    converged = sum(v for (_, outcome), v in tally.items() if outcome == "converged")
    failed = sum(v for (_, outcome), v in tally.items() if outcome == "failed cleanly")
    silent = sum(v for (_, outcome), v in tally.items() if outcome == "silent")
    terminalreporter.line(
        f"{'total':<22} runs {converged + failed:3}  converged {converged:3}  "
        f"failed cleanly {failed:3}  silent failures {silent}"
    )
    path = terminalreporter.config.getoption("--record-fault-matrix")
    if path:
        _record_fault_matrix(Path(path), tally, scenarios)


def _record_fault_matrix(path: Path, tally: Counter[tuple[str, str]], scenarios: list[str]) -> None:
    def row(outcomes: Callable[[str], int]) -> dict[str, int]:
        counts = {o: outcomes(o) for o in ("converged", "failed cleanly", "silent")}
        return {"runs": counts["converged"] + counts["failed cleanly"], **counts}

    record = {
        "command": "pytest tests/test_faults.py --record-fault-matrix " + str(path),
        "scenarios": [
            {"scenario": s, **row(lambda outcome, s=s: tally[s, outcome])} for s in scenarios
        ],
        "total": row(lambda outcome: sum(v for (_, o), v in tally.items() if o == outcome)),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
