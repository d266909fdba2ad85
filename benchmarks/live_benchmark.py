"""diff + apply for 200 portals against the sandbox with 50 ms latency per request.

Compares, in one run, portal-config at --concurrency 16 with the same tool at
--concurrency 1 (sequential), and then runs the concurrent apply against a
sandbox that enforces a rate limit (429 + Retry-After) to count failures.
Target: at least 8x faster than sequential, and zero failed portals under the
rate limit. The sandbox runs as a separate process, as a real API would.

Two measurements per round: the `diff` and `apply` workflows called in this
process (what concurrency can change: lint, reads, plan, writes), and the same
two commands as CLI processes, which add ~0.4 s of interpreter start-up and
imports to each run whatever the concurrency.

    python benchmarks/live_benchmark.py [--portals 200] [--latency 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from portal_config.sandbox.process import SandboxProcess

WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm"]


def make_project(root: Path, count: int) -> Path:
    """Portal files that all differ from the live state the sandbox starts with."""
    portals = root / "portals"
    portals.mkdir(parents=True)
    live = {}
    for index in range(count):
        name = f"portal-{index:04d}"
        (portals / f"{name}.yaml").write_text(
            f"portal: {name}\nguest_workorder:\n"
            "  enabled: true\n  work_types: [Storing, Onderhoud]\n",
            encoding="utf-8",
        )
        live[name] = {
            "portal_id": name,
            "name": name,
            "revision": 1,
            "guest_workorder": {
                "enabled": True,
                "allow_address_change": False,
                "allow_new_relation": False,
                "allow_requests_for_others": False,
                "work_types": ["Storing"],
            },
        }
    seed = root / "seed.json"
    seed.write_text(
        json.dumps({"version": 1, "work_types": WORK_TYPES, "portals": live}), encoding="utf-8"
    )
    return seed


def start_sandbox(root: Path, seed: Path, *flags: str) -> SandboxProcess:
    """A fresh copy of the seed state, served by a separate sandbox process."""
    state = root / "state.json"
    state.write_bytes(seed.read_bytes())
    sandbox = SandboxProcess(state, *flags, cwd=root)
    (root / "portal-config.yaml").write_text(
        f"default_target: bench\ntargets:\n  bench:\n    base_url: {sandbox.url}\n",
        encoding="utf-8",
    )
    return sandbox


def timed(root: Path, *args: str) -> tuple[float, int]:
    exe = Path(sys.executable).parent / "portal-config"
    env = {
        **os.environ,
        "OUTSMART_TOKEN": "sandbox-token",
        "OUTSMART_SOFTWARE_TOKEN": "sandbox-software-token",
    }
    started = time.perf_counter()
    done = subprocess.run([str(exe), *args], cwd=root, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode


def one_round(root: Path, seed: Path, latency: float, concurrency: int) -> tuple[float, float]:
    """The CLI, end to end: two processes."""
    sandbox = start_sandbox(root, seed, "--latency", str(latency))
    try:
        diff_time, diff_code = timed(root, "diff", "--concurrency", str(concurrency))
        apply_time, apply_code = timed(
            root,
            "apply",
            "--yes",
            "--allow-large-change",
            "--concurrency",
            str(concurrency),
            "--report",
            "report.json",
        )
    finally:
        sandbox.stop()
    assert diff_code == 3, f"diff exited {diff_code}"
    assert apply_code == 0, f"apply exited {apply_code}"
    return diff_time, apply_time


def one_round_in_process(
    root: Path, seed: Path, latency: float, concurrency: int
) -> tuple[float, float]:
    """The same workflows called in this process: no interpreter start-up in the figure."""
    from portal_config.config import load_config
    from portal_config.workflow import Console, apply, diff

    sandbox = start_sandbox(root, seed, "--latency", str(latency))
    console = Console(out=lambda text: None, err=lambda text: None, color=False, confirm=None)
    os.environ.update(
        OUTSMART_TOKEN="sandbox-token", OUTSMART_SOFTWARE_TOKEN="sandbox-software-token"
    )
    previous = Path.cwd()
    os.chdir(root)
    try:
        config = load_config()
        started = time.perf_counter()
        diff_code = diff(config, [], None, "text", None, console, concurrency)
        middle = time.perf_counter()
        apply_code = apply(
            config,
            [],
            None,
            None,
            assume_yes=True,
            allow_large_change=True,
            report_file=None,
            console=console,
            concurrency=concurrency,
        )
        finished = time.perf_counter()
    finally:
        os.chdir(previous)
        sandbox.stop()
    assert (diff_code, apply_code) == (3, 0), (diff_code, apply_code)
    return middle - started, finished - middle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portals", type=int, default=200)
    parser.add_argument("--latency", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate-limit", type=float, default=100.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        seed = make_project(root, args.portals)
        print(
            f"{args.portals} portals, {args.latency:g} ms latency per request, "
            f"medians of {args.repeats}:"
        )
        speedups = {}
        for mode, runner in (("in-process", one_round_in_process), ("CLI", one_round)):
            fast: list[tuple[float, float]] = []
            slow: list[tuple[float, float]] = []
            for _ in range(args.repeats):  # alternate, so noise hits both alike
                fast.append(runner(root, seed, args.latency, args.concurrency))
                slow.append(runner(root, seed, args.latency, 1))
            rows = []
            for label, index in (("diff", 0), ("apply", 1)):
                ours = statistics.median(r[index] for r in fast)
                base = statistics.median(r[index] for r in slow)
                rows.append((label, ours, base))
            ours_total = statistics.median(sum(r) for r in fast)
            base_total = statistics.median(sum(r) for r in slow)
            rows.append(("diff + apply", ours_total, base_total))
            speedups[mode] = base_total / ours_total
            for label, ours, base in rows:
                print(
                    f"  {mode:<10} {label:<13} concurrency {args.concurrency}: {ours:6.2f} s"
                    f"   concurrency 1: {base:6.2f} s   speed-up {base / ours:5.1f}x"
                )

        sandbox = start_sandbox(
            root, seed, "--latency", str(args.latency), "--rate-limit", str(args.rate_limit)
        )
        try:
            elapsed, code = timed(
                root,
                "apply",
                "--yes",
                "--allow-large-change",
                "--concurrency",
                str(args.concurrency),
                "--report",
                "report.json",
            )
        finally:
            stats = sandbox.stop()
        report = json.loads((root / "report.json").read_text())
        summary = report["summary"]
        print(
            f"rate limit {args.rate_limit:g} req/s: apply exit {code} in {elapsed:.2f} s; "
            f"{summary['applied']} applied, {summary['failed']} failed, "
            f"{summary['skipped']} skipped; "
            f"sandbox: {stats}"
        )
        print()
        for mode, speedup in speedups.items():
            print(
                f"{mode}: diff + apply {speedup:.1f}x faster than sequential "
                f"(target >= 8x: {'meets' if speedup >= 8 else 'MISSES'})"
            )
        print(
            "failed portals under the rate limit: "
            f"{summary['failed'] + summary['skipped']} (target 0)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
