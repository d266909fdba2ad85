"""`portal-config drift` across a fleet: 1,000 accounts x 5 portals, 50 ms per answer.

One standalone sandbox process serves every account (`sandbox --accounts N`), each on its
own token, adding ``--latency`` ms to every answer, as one OutSmart URL serves every
customer. The repository declares all accounts; every account's files match its live
state, so drift reads everything and finds nothing (exit 0), which is the scheduled
check's usual day.

Measured in one run, as CLI processes:

* drift at the defaults (16 accounts at once) against ``--parallel 1 --concurrency 1``
  (one request at a time): medians of ``--repeats`` alternating runs, the sequential one
  ``--sequential-repeats`` times (it takes minutes);
* peak RSS of the drift process (``wait4``) at a quarter, half and all of the accounts,
  to show memory flat in the number of accounts (MiB per 1,000 accounts is the slope).

Targets (issue 10): >= 10x faster than sequential, under 60 s, memory flat.

    python benchmarks/fleet_benchmark.py [--accounts 1000] [--latency 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import RECORDED, fleet_environment, record

from portal_config.sandbox.process import SandboxProcess
from portal_config.sandbox.tokens import account_names

PORTALS = 5
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie"]


def make_fleet(root: Path, count: int) -> tuple[Path, list[str]]:
    """The portal files every sandbox account starts from (`sandbox --from`), and each
    account's copy of them in the repository, so live and files agree."""
    portal_files = {
        f"portal-{index}.yaml": (
            f"portal: portal-{index}\nguest_workorder:\n  enabled: true\n"
            "  work_types: [Storing, Onderhoud]\n"
        )
        for index in range(PORTALS)
    }
    seed = root / "seed"
    seed.mkdir()
    for name, text in portal_files.items():
        (seed / name).write_text(text)
    names = account_names(count)
    for account in names:
        home = root / "accounts" / account
        (home / "portals").mkdir(parents=True)
        (home / "worktypes.yaml").write_text(
            "work_types:\n" + "".join(f"  - {w}\n" for w in WORK_TYPES)
        )
        for name, text in portal_files.items():
            (home / "portals" / name).write_text(text)
    return seed, names


def write_config(root: Path, url: str, names: list[str], file: str) -> Path:
    path = root / file
    path.write_text(
        "default_target: bench\n"
        f"targets:\n  bench:\n    base_url: {url}\n"
        "accounts:\n" + "".join(f"  {name}: {{}}\n" for name in names)
    )
    return path


def run_drift(root: Path, config: Path, env: dict[str, str], *flags: str) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one `portal-config drift` process."""
    exe = Path(sys.executable).parent / "portal-config"
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(exe), "drift", "--config", str(config), "--quiet", *flags],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    code = process.returncode
    if code != 0:
        assert process.stderr is not None
        raise RuntimeError(f"drift exited {code}: {process.stderr.read().decode()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=50.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sequential-repeats", type=int, default=1)
    parser.add_argument(
        "--record", action="store_true", help=f"also write the output to {RECORDED.name}/"
    )
    args = parser.parse_args()
    if args.record:
        record(Path(__file__).stem, sys.argv[1:])

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seed, names = make_fleet(root, args.accounts)
        (root / "state").mkdir()
        started = time.perf_counter()
        sandbox = SandboxProcess(
            root / "state" / "state.json",
            "--accounts",
            str(args.accounts),
            "--from",
            str(seed),
            "--latency",
            str(args.latency),
            cwd=root,
        )
        print(f"sandbox with {args.accounts} accounts up in {time.perf_counter() - started:.1f} s")
        env = fleet_environment(names)
        try:
            full = write_config(root, sandbox.url, names, "portal-config.yaml")
            parallel: list[float] = []
            sequential: list[float] = []
            for index in range(max(args.repeats, args.sequential_repeats)):
                if index < args.repeats:
                    parallel.append(run_drift(root, full, env)[0])
                if index < args.sequential_repeats:
                    flags = ("--parallel", "1", "--concurrency", "1")
                    sequential.append(run_drift(root, full, env, *flags)[0])
            memory = {}
            for share in (4, 2, 1):
                subset = names[: len(names) // share]
                config = write_config(root, sandbox.url, subset, f"fleet-{len(subset)}.yaml")
                memory[len(subset)] = run_drift(root, config, env)[1]
        finally:
            sandbox.stop()

    fast, slow = statistics.median(parallel), statistics.median(sequential)
    scale = f"{args.accounts} accounts x {PORTALS} portals, {args.latency:.0f} ms a request"
    print(f"\ndrift over {scale}")
    print(f"  defaults (16 accounts at once): {fast:6.2f} s  (median of {len(parallel)})")
    print(f"  --parallel 1 --concurrency 1:   {slow:6.2f} s  (median of {len(sequential)})")
    print(
        f"  speed-up {slow / fast:.1f}x (target >= 10x: {'met' if slow / fast >= 10 else 'MISSED'})"
    )
    print(f"  time {fast:.1f} s (target < 60 s: {'met' if fast < 60 else 'MISSED'})")
    print("\npeak RSS of drift (defaults):")
    for count, mib in sorted(memory.items()):
        print(f"  {count:5d} accounts: {mib:6.1f} MiB")
    low, high = min(memory), max(memory)
    slope = (memory[high] - memory[low]) / (high - low) * 1000
    print(f"  growth: {slope:.1f} MiB per 1,000 accounts")


if __name__ == "__main__":
    main()
