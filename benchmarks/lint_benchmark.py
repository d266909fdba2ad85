"""Lint speed, measured side by side with its baselines in one run.

1. N portal files (valid, and a variant where every 10th file is broken):
   `portal-config lint DIR`  vs  `check-jsonschema --schemafile schema/portal.schema.json FILES...`
   Target at N=1000: portal-config at least 4x faster, while also reporting positions and rules.
2. One file, the pre-commit case:
   `portal-config lint FILE`  vs  `python -c "import yaml, jsonschema"`.
   Target: within 1.5x.

Runs alternate between the contenders so machine noise hits both alike; medians are quoted.

    python benchmarks/lint_benchmark.py [--files 1000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm", "Reparatie", "Oplevering"]


def portal_text(index: int, broken: bool) -> str:
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
        lines.append("  enabeld: yes")  # unknown key: a schema error for both tools
    return "\n".join(lines) + "\n"


def generate(directory: Path, count: int, broken_every: int | None) -> list[Path]:
    directory.mkdir(parents=True)
    paths = []
    for index in range(count):
        path = directory / f"portal-{index:05d}.yaml"
        broken = broken_every is not None and index % broken_every == 0
        path.write_text(portal_text(index, broken), encoding="utf-8")
        paths.append(path)
    return paths


def timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    )
    return time.perf_counter() - started


def compare(name: str, ours: list[str], theirs: list[str], cwd: Path, repeats: int) -> float:
    timed(ours, cwd), timed(theirs, cwd)  # warm the file cache and .pyc files
    mine, base = [], []
    for _ in range(repeats):
        mine.append(timed(ours, cwd))
        base.append(timed(theirs, cwd))
    ours_median, base_median = statistics.median(mine), statistics.median(base)
    ratio = base_median / ours_median
    print(
        f"{name:<34} portal-config {ours_median * 1000:8.1f} ms"
        f"   baseline {base_median * 1000:8.1f} ms   baseline/ours = {ratio:5.2f}x"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    exe_dir = Path(sys.executable).parent
    portal_config = [str(exe_dir / "portal-config")]
    check_jsonschema = [str(exe_dir / "check-jsonschema")]
    if not Path(check_jsonschema[0]).exists():
        print("check-jsonschema is not installed in this environment: pip install -e '.[test]'")
        return 2
    schema = str(REPO / "schema" / "portal.schema.json")
    results = {}
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        for label, broken_every in (("valid", None), ("every 10th broken", 10)):
            files = generate(root / label.replace(" ", "-") / "portals", args.files, broken_every)
            cwd = files[0].parent.parent
            results[label] = compare(
                f"{args.files} files, {label}",
                [*portal_config, "lint", "portals"],
                [*check_jsonschema, "--schemafile", schema, *map(str, files)],
                cwd,
                args.repeats,
            )
        single = root / "single"
        shutil.copytree(REPO / "portals", single / "portals")
        shutil.copy(REPO / "worktypes.yaml", single / "worktypes.yaml")
        one = sorted((single / "portals").glob("*.yaml"))[0]
        # For this one, lower is better for us: report ours/baseline.
        startup = 1 / compare(
            "1 file (pre-commit case)",
            [*portal_config, "lint", str(one.relative_to(single))],
            [sys.executable, "-c", "import yaml, jsonschema"],
            single,
            args.repeats * 2,
        )
    print()
    for label, ratio in results.items():
        verdict = "meets" if ratio >= 4 else "MISSES"
        print(
            f"N={args.files} {label}: portal-config is {ratio:.2f}x faster than check-jsonschema "
            f"(target >= 4x: {verdict})"
        )
    verdict = "meets" if startup <= 1.5 else "MISSES"
    print(
        f"single file: portal-config takes {startup:.2f}x the time of importing yaml+jsonschema "
        f"(target <= 1.5x: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
