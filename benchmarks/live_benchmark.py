"""The live loop, each figure measured side by side in one run (issue 11's targets):

1. `portal-config diff` with no changes on the in-process sandbox (a fresh clone's
   default target, after one apply) paired with `portal-config --version`: <= 250 ms.
2. Concurrency: `portal-config apply` of 200 changed portals against a sandbox process
   adding 50 ms to every request, at --concurrency 1, 4, 8 and 16, without and with a
   rate limit (429 + Retry-After): the speed-up over 1 and the failures of each, to choose
   DEFAULT_CONCURRENCY (src/portal_config/project/config.py).
3. Scale: apply at 5,000 portals against 1,000, no added latency, default concurrency:
   writes per second, >= 80% of the 1,000-portal rate. A write's time is the apply run's
   less a `diff` run's on the same files (start-up, lint and the bulk read). Apply reads
   back what it wrote (one bulk read of every portal): its cost is measured beside, as
   one `list_portals()` against the same sandbox after the apply.

    python benchmarks/live_benchmark.py [--repeats 3] [--only 1,2,3] [--large 5000]

`--repeats 1 --large 2000` is a quick check. `--record` also writes the output to
benchmarks/results/, which docs/internals/benchmarks.md shows as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import BIN, RECORDED, REPO, alternate, ms, record, run, summary, timer, verdict

from portal_config.project.config import DEFAULT_CONCURRENCY
from portal_config.sandbox.process import SandboxProcess

CLI = str(BIN / "portal-config")
ENV = {
    **os.environ,
    "OUTSMART_TOKEN": "sandbox-token",
    "OUTSMART_SOFTWARE_TOKEN": "sandbox-software-token",
}
OLD = {
    "enabled": True,
    "allow_address_change": False,
    "allow_new_relation": False,
    "allow_requests_for_others": False,
    "work_types": ["Storing"],
}


def no_change_diff(root: Path, repeats: int) -> None:
    print("1. diff with no changes on the in-process sandbox vs --version", flush=True)
    project = root / "clone"
    for name in ("portals", "worktypes.yaml", "portal-config.yaml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    run([CLI, "apply", "--yes", "--allow-large-change"], project, ENV)
    medians = alternate(
        {
            "diff": timer([CLI, "diff"], project, ENV),
            "version": timer([CLI, "--version"], project, ENV),
        },
        repeats * 3,
    )
    print(f"  diff {ms(medians['diff'])}   --version {ms(medians['version'])}")
    verdict(
        "diff with no changes, in-process sandbox",
        medians["diff"] * 1000,
        250,
        at_most=True,
        unit=" ms",
    )


def changed_project(root: Path, count: int) -> bytes:
    """``count`` portal files that all differ from the seed state returned."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "portals").mkdir(parents=True)
    portals = {}
    for index in range(count):
        name = f"portal-{index:05d}"
        (root / "portals" / f"{name}.yaml").write_text(
            f"portal: {name}\nguest_workorder:\n  enabled: true\n"
            "  work_types: [Storing, Onderhoud]\n",
            encoding="utf-8",
        )
        portals[name] = {"portal_id": name, "name": name, "revision": 1, "guest_workorder": OLD}
    seed = {"version": 1, "work_types": ["Storing", "Onderhoud"], "portals": portals}
    return json.dumps(seed).encode()


def apply_once(
    root: Path, seed: bytes, concurrency: int, *flags: str
) -> tuple[float, dict[str, int | bool]]:
    """One apply of every portal on a fresh sandbox process; its time and report summary."""
    for stale in root.glob("state.json*"):
        stale.unlink()
    (root / "state.json").write_bytes(seed)
    sandbox = SandboxProcess(root / "state.json", *flags, cwd=root, env=ENV)
    try:
        (root / "portal-config.yaml").write_text(
            f"default_target: bench\ntargets:\n  bench:\n    base_url: {sandbox.url}\n"
            "    deadline: 600\n",
            encoding="utf-8",
        )
        command = [CLI, "apply", "--yes", "--allow-large-change", "--report", "report.json"]
        seconds = run([*command, "--concurrency", str(concurrency)], root, ENV).seconds
    finally:
        sandbox.stop()
    summary: dict[str, int | bool] = json.loads((root / "report.json").read_text())["summary"]
    return seconds, summary


def concurrency(root: Path, repeats: int, portals: int = 200) -> None:
    print(f"2. apply {portals} portals, 50 ms per request, by concurrency", flush=True)
    project = root / "concurrency"
    seed = changed_project(project, portals)
    levels = [1, 4, 8, 16]
    for limit in (None, 40.0):
        flags = ["--latency", "50"] + (["--rate-limit", str(limit)] if limit else [])
        times: dict[int, list[float]] = {level: [] for level in levels}
        failed: dict[int, int] = dict.fromkeys(levels, 0)
        for _ in range(repeats):  # alternate the levels, so noise hits them alike
            for level in levels:
                seconds, done = apply_once(project, seed, level, *flags)
                times[level].append(seconds)
                failed[level] += done["failed"] + done["skipped"] + done["unknown"]
        medians = {level: statistics.median(values) for level, values in times.items()}
        label = f"rate limit {limit:g} req/s" if limit else "no rate limit"
        for level in levels:
            speed_up = medians[1] / medians[level]
            print(
                f"  {label:<22} concurrency {level:>2}: {medians[level]:6.2f} s  "
                f"speed-up {speed_up:5.2f}x  failed, skipped or unknown portals {failed[level]}"
            )
        default = DEFAULT_CONCURRENCY
        if default in medians:
            verdict(
                f"apply speed-up at the default concurrency {default}, {label}",
                medians[1] / medians[default],
                1.0,
                at_most=False,
            )
            verdict(
                f"failed portals at the default concurrency, {label}",
                failed[default],
                0,
                at_most=True,
                unit="",
            )


def scale(root: Path, repeats: int, large: int) -> None:
    print(f"3. apply rate at {large} portals vs 1000, no added latency", flush=True)
    rates: dict[int, list[float]] = {1000: [], large: []}
    read_backs: dict[int, list[float]] = {1000: [], large: []}
    applies: dict[int, list[float]] = {1000: [], large: []}
    projects = {count: root / f"scale-{count}" for count in rates}
    seeds = {count: changed_project(projects[count], count) for count in rates}
    for _ in range(repeats):
        for count in rates:
            project = projects[count]
            for stale in project.glob("state.json*"):
                stale.unlink()
            (project / "state.json").write_bytes(seeds[count])
            sandbox = SandboxProcess(project / "state.json", cwd=project, env=ENV)
            try:
                (project / "portal-config.yaml").write_text(
                    f"default_target: bench\ntargets:\n  bench:\n    base_url: {sandbox.url}\n"
                    "    deadline: 600\n",
                    encoding="utf-8",
                )
                reading = run([CLI, "diff"], project, ENV, expect=3).seconds
                applying = run([CLI, "apply", "--yes", "--allow-large-change"], project, ENV)
                read_backs[count].append(bulk_read_seconds(sandbox.url))
            finally:
                sandbox.stop()
            applies[count].append(applying.seconds)
            rates[count].append(count / max(1e-3, applying.seconds - reading))
    medians = {count: statistics.median(values) for count, values in rates.items()}
    print(
        f"  1000 portals: {medians[1000]:7.1f} writes/s   {large} portals: "
        f"{medians[large]:7.1f} writes/s"
    )
    verdict(
        f"apply rate at {large} portals vs 1000", medians[large] / medians[1000], 0.8, at_most=False
    )
    for count in read_backs:
        read_back, whole = statistics.median(read_backs[count]), statistics.median(applies[count])
        print(
            f"  read-back at {count} portals: {ms(read_back)} "
            f"({read_back / whole:.1%} of the apply run's {whole:.2f} s)"
        )

    # The sandbox's own share: 1,000 writes straight to its state, journal and fsync
    # included, at either size (what the journal changed; the client is not in it).
    from portal_config.sandbox.state import SandboxState

    state_rates: dict[int, list[float]] = {1000: [], large: []}
    new = dict(OLD, work_types=["Storing", "Onderhoud"])
    for _ in range(repeats):
        for count in state_rates:
            path = projects[count] / "state.json"
            for stale in projects[count].glob("state.json*"):
                stale.unlink()
            path.write_bytes(seeds[count])
            state = SandboxState.load(path)
            started = time.perf_counter()
            for index in range(1000):
                state.replace(f"portal-{index:05d}", 1, new)
            state_rates[count].append(1000 / (time.perf_counter() - started))
    small, big = (statistics.median(state_rates[c]) for c in (1000, large))
    print(
        f"  sandbox state alone: 1000 portals {small:7.1f} writes/s   {large} portals "
        f"{big:7.1f} writes/s"
    )
    verdict(f"sandbox state write rate at {large} portals vs 1000", big / small, 0.8, at_most=False)


def bulk_read_seconds(url: str) -> float:
    """One bulk read of every portal, as apply's read-back makes it (default settings)."""
    from portal_config.live.api import OutSmartClient

    with OutSmartClient(url, ENV["OUTSMART_TOKEN"], ENV["OUTSMART_SOFTWARE_TOKEN"]) as client:
        started = time.perf_counter()
        client.list_portals()
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", type=int, default=5000)
    parser.add_argument("--only", default="", help="comma-separated section numbers")
    parser.add_argument(
        "--record", action="store_true", help=f"also write the output to {RECORDED.name}/"
    )
    args = parser.parse_args()
    if args.record:
        record(Path(__file__).stem, sys.argv[1:])
    chosen = {int(n) for n in args.only.split(",") if n} or {1, 2, 3}
    print(f"default concurrency {DEFAULT_CONCURRENCY}; medians of {args.repeats} runs")
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        if 1 in chosen:
            no_change_diff(root, args.repeats)
        if 2 in chosen:
            concurrency(root, args.repeats)
        if 3 in chosen:
            scale(root, args.repeats, args.large)
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
