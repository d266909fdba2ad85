"""What every benchmark here shares: running a command for its time and peak memory,
alternating contenders so machine noise hits them alike, and printing each measured
ratio next to its target. Scripts import it as a sibling (`python benchmarks/X.py`)."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, TypeVar

from portal_config.sandbox.tokens import SANDBOX_TOKENS, account_token

REPO = Path(__file__).resolve().parent.parent
RECORDED = REPO / "benchmarks" / "results"  # what --record writes; the docs include it
Measured = TypeVar("Measured")
BIN = Path(sys.executable).parent  # the venv's scripts: portal-config, check-jsonschema
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm", "Reparatie", "Oplevering"]


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_kib: int  # the process's peak resident set, its children's included
    code: int
    # CPU time (user + system), its forked workers' included: what the process itself
    # costs, whatever else the machine (or a server it waits for) is doing meanwhile.
    cpu_seconds: float = 0.0


def run(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, expect: int = 0
) -> Run:
    """Run ``command`` to its end; its wall time and peak RSS (wait4's ru_maxrss).

    Python writes its .pyc files as usual (PYTHONDONTWRITEBYTECODE is dropped): a user's
    install has them, and compiling the package's sources again on every run would add
    ~90 ms that no user pays.
    """
    environment = dict(os.environ if env is None else env)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    process.stderr.close()
    if process.returncode != expect:
        raise SystemExit(
            f"{' '.join(command)[:200]} exited {process.returncode}, not {expect}:\n"
            + stderr.decode(errors="replace")[-2000:]
        )
    return Run(elapsed, usage.ru_maxrss, process.returncode, usage.ru_utime + usage.ru_stime)


def timer(
    command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, expect: int = 0
) -> Callable[[], float]:
    """A contender for `alternate`: one run of ``command``, its seconds."""
    return lambda: run(command, cwd, env, expect).seconds


def alternate(contenders: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    """Median seconds of each contender, run in turn ``repeats`` times after one warm-up
    round (file cache, .pyc files)."""
    return {name: statistics.median(values) for name, values in rounds(contenders, repeats).items()}


def rounds(
    contenders: Mapping[str, Callable[[], Measured]], repeats: int
) -> dict[str, list[Measured]]:
    """What each contender measured, run in turn ``repeats`` times after one warm-up round."""
    for measure in contenders.values():
        measure()
    measured: dict[str, list[Measured]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, measure in contenders.items():
            measured[name].append(measure())
    return measured


def fleet_environment(accounts: Sequence[str]) -> dict[str, str]:
    """This process's environment with the tokens of a multi-account sandbox's
    ``accounts`` (`sandbox --accounts N`), as an installer's CI holds them."""
    return {
        **os.environ,
        "OUTSMART_SOFTWARE_TOKEN": SANDBOX_TOKENS[1],
        **{
            f"OUTSMART_TOKEN_{name.upper().replace('-', '_')}": account_token(name)
            for name in accounts
        },
    }


RESULTS: list[str] = []


def verdict(label: str, value: float, target: float, *, at_most: bool, unit: str = "x") -> None:
    """One result line, kept for the summary: the figure, the target, met or missed."""
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    line = (
        f"{label}: {value:.2f}{unit} (target {sign} {target:g}{unit}: {'met' if met else 'MISSED'})"
    )
    RESULTS.append(line)
    print("  -> " + line, flush=True)


def summary() -> None:
    print("\nSummary (medians):")
    for line in RESULTS:
        print("  " + line)


class _Tee:
    """Standard output that is also written to a file."""

    def __init__(self, *streams: TextIO) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


def record(script: str, arguments: Sequence[str]) -> None:
    """From now on, also write what this run prints to benchmarks/results/SCRIPT.txt.

    The documentation's benchmark page includes these files as they are, so its figures
    are always a run's output, never typed in; the first lines say what ran where and when.
    """
    RECORDED.mkdir(exist_ok=True)
    file = (RECORDED / f"{script}.txt").open("w", encoding="utf-8")
    shown = " ".join(a for a in arguments if a != "--record")
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    file.write(f"$ python benchmarks/{script}.py {shown}".rstrip() + "\n")
    file.write(f"# {when}; {platform.python_implementation()} {platform.python_version()}; ")
    file.write(f"{len(os.sched_getaffinity(0))} CPUs available\n")
    sys.stdout = _Tee(sys.stdout, file)


def portal_text(index: int, broken: bool = False) -> str:
    """A generated portal file; ``broken`` adds an unknown key (a schema error for both
    portal-config and check-jsonschema)."""
    enabled = index % 5 != 0
    types = WORK_TYPES[: 1 + index % len(WORK_TYPES)] if enabled else []
    lines = [
        "# yaml-language-server: $schema=../schema/portal.schema.json",
        f"portal: portal-{index:05d}",
        f"description: Generated portal {index}",
        "guest_workorder:",
        f"  enabled: {'true' if enabled else 'false'}",
        "  allow_address_change: false",
        "  allow_new_relation: false",
        "  allow_requests_for_others: false",
    ]
    if types:
        lines.append("  work_types:")
        lines += [f"    - {name}" for name in types]
    if broken:
        lines.append("  enabeld: yes")
    return "\n".join(lines) + "\n"


def make_project(root: Path, count: int, broken_every: int | None = None) -> list[Path]:
    """A project (portals/ and the catalog) of ``count`` files; returns the portal files."""
    portals = root / "portals"
    portals.mkdir(parents=True)
    (root / "worktypes.yaml").write_text(
        "work_types:\n" + "".join(f"  - {name}\n" for name in WORK_TYPES), encoding="utf-8"
    )
    paths = []
    for index in range(count):
        path = portals / f"portal-{index:05d}.yaml"
        broken = broken_every is not None and index % broken_every == 0
        path.write_text(portal_text(index, broken), encoding="utf-8")
        paths.append(path)
    return paths


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"
