"""Lint speed and memory, each measured side by side with its baseline in one run.

Medians of alternating repetitions; every ratio is printed next to its target (issues 11
and 21):

1. `portal-config lint portals` vs `check-jsonschema --schemafile schema/portal.schema.json
   FILES...` on the same generated files: 1,000 valid files (>= 8x faster), 10,000
   (>= 12x), 1,000 files with every 10th broken (>= 6x).
2. One file linted in a 10,000-file project (the pre-commit case, which still reads every
   other file's id for duplicate ids) vs `python -c "import yaml, jsonschema"` (<= 1.0x).
3. Lint time against N = 100, 1,000, 10,000: the directory, and half of its files as
   arguments (<= 0.8x of the directory: linting half must not cost more than the whole).
4. `pre-commit run --all-files` with the published hook (as .pre-commit-hooks.yaml
   declares it, language switched to the installed command) vs one lint (<= 1.5x).
5. Peak RSS of lint at 10,000 files (<= 40 MiB).

    python benchmarks/lint_benchmark.py [--repeats 7] [--large 10000] [--only 1,2,...]

`--repeats 1 --large 2000` is a quick check. `--record` also writes the output to
benchmarks/results/, which docs/internals/benchmarks.md shows as it is.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import (
    BIN,
    RECORDED,
    REPO,
    alternate,
    make_project,
    ms,
    record,
    run,
    summary,
    timer,
    verdict,
)

SCHEMA = str(REPO / "schema" / "portal.schema.json")
LINT = [str(BIN / "portal-config"), "lint"]


def versus_check_jsonschema(root: Path, large: int, repeats: int) -> None:
    print("1. lint vs check-jsonschema, same files", flush=True)
    cases = [(1000, None, 8.0), (large, None, 12.0), (1000, 10, 6.0)]
    for count, broken_every, target in cases:
        label = f"{count} files" + (f", every {broken_every}th broken" if broken_every else "")
        project = root / label.replace(" ", "_").replace(",", "")
        files = make_project(project, count, broken_every)
        code = 1 if broken_every else 0
        check = [str(BIN / "check-jsonschema"), "--schemafile", SCHEMA, *map(str, files)]
        medians = alternate(
            {
                "lint": timer([*LINT, "portals"], project, expect=code),
                "check-jsonschema": timer(check, project, expect=code),
            },
            repeats,
        )
        print(
            f"  {label:<32} lint {ms(medians['lint'])}   check-jsonschema "
            f"{ms(medians['check-jsonschema'])}"
        )
        verdict(
            f"lint vs check-jsonschema, {label}",
            medians["check-jsonschema"] / medians["lint"],
            target,
            at_most=False,
        )


def single_file(root: Path, large: int, repeats: int) -> None:
    print(f"2. one file linted in a {large}-file project vs import yaml, jsonschema", flush=True)
    project = root / "single"
    files = make_project(project, large)
    one = str(files[len(files) // 2].relative_to(project))
    index = project / ".portal-config"

    def cold() -> float:
        # The first run after a clone, or after the index went: every file's id is read.
        shutil.rmtree(index, ignore_errors=True)
        return run([*LINT, one], project).seconds

    medians = alternate(
        {
            "lint": timer([*LINT, one], project),
            "lint, no id index": cold,
            "imports": lambda: (
                run([sys.executable, "-c", "import yaml, jsonschema"], project).seconds
            ),
        },
        repeats * 2,
    )
    print(f"  lint {one} {ms(medians['lint'])}   import yaml, jsonschema {ms(medians['imports'])}")
    # Information, not a target: the index is what a pre-commit run on one file meets.
    print(
        f"  without the id index (a fresh clone): {ms(medians['lint, no id index'])}, "
        f"{medians['lint, no id index'] / medians['imports']:.2f}x the imports"
    )
    verdict(
        f"single-file lint in a {large}-file project vs imports",
        medians["lint"] / medians["imports"],
        1.0,
        at_most=True,
    )


def scaling(root: Path, large: int, repeats: int) -> None:
    print("3. lint time against N: the directory, and half of the files as arguments", flush=True)
    for count in sorted({100, 1000, large}):
        project = root / f"scale-{count}"
        files = make_project(project, count)
        half = [str(path.relative_to(project)) for path in files[::2]]
        medians = alternate(
            {
                "directory": timer([*LINT, "portals"], project),
                "half": timer([*LINT, *half], project),
            },
            repeats,
        )
        print(
            f"  N={count:<6} directory {ms(medians['directory'])}   "
            f"half as arguments {ms(medians['half'])}"
        )
        verdict(
            f"half of {count} files as arguments vs the directory",
            medians["half"] / medians["directory"],
            0.8,
            at_most=True,
        )


def pre_commit(root: Path, large: int, repeats: int) -> None:
    print(f"4. pre-commit run --all-files on {large} files vs one lint", flush=True)
    project = root / "pre-commit"
    make_project(project, large)
    hook = _published_hook()
    (project / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: local\n    hooks:\n"
        f"      - id: {hook['id']}\n        name: {hook['name']}\n"
        f"        entry: {BIN / 'portal-config'} lint\n        language: system\n"
        f"        pass_filenames: {str(hook['pass_filenames']).lower()}\n"
        f"        require_serial: {str(hook['require_serial']).lower()}\n"
        f"        files: '{hook['files']}'\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(root / "pre-commit-home")}
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "portals"]):
        subprocess.run([*git, *command], cwd=project, check=True, env=env)
    pre_commit = [str(BIN / "pre-commit"), "run", "--all-files"]
    medians = alternate(
        {
            "pre-commit": timer(pre_commit, project, env),
            "lint": timer([*LINT], project),
        },
        repeats,
    )
    print(f"  pre-commit {ms(medians['pre-commit'])}   lint {ms(medians['lint'])}")
    verdict(
        f"pre-commit run --all-files vs lint, {large} files",
        medians["pre-commit"] / medians["lint"],
        1.5,
        at_most=True,
    )


def _published_hook() -> dict[str, object]:
    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook: dict[str, object] = next(h for h in hooks if h["id"] == "portal-config-lint")
    return hook


def memory(root: Path, large: int, repeats: int) -> None:
    print(f"5. peak RSS of lint at {large} files", flush=True)
    project = root / "memory"
    make_project(project, large)
    peaks = sorted(run([*LINT, "portals"], project).peak_kib for _ in range(max(3, repeats)))
    peak = peaks[len(peaks) // 2] / 1024
    print(f"  peak RSS {peak:.1f} MiB (runs: {', '.join(f'{p / 1024:.1f}' for p in peaks)})")
    verdict(f"peak RSS of lint, {large} files", peak, 40, at_most=True, unit=" MiB")


SECTIONS = [versus_check_jsonschema, single_file, scaling, pre_commit, memory]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--large", type=int, default=10000, help="the large project's size")
    parser.add_argument("--only", default="", help="comma-separated section numbers")
    parser.add_argument(
        "--record", action="store_true", help=f"also write the output to {RECORDED.name}/"
    )
    args = parser.parse_args()
    if args.record:
        record(Path(__file__).stem, sys.argv[1:])
    if not (BIN / "check-jsonschema").exists() or not (BIN / "pre-commit").exists():
        print("check-jsonschema and pre-commit are needed: pip install -e '.[test]'")
        return 2
    chosen = {int(n) for n in args.only.split(",") if n} or set(range(1, len(SECTIONS) + 1))
    print(f"CPUs available: {len(os.sched_getaffinity(0))}; medians of {args.repeats} runs")
    with tempfile.TemporaryDirectory() as temp:
        for number, section in enumerate(SECTIONS, start=1):
            if number in chosen:
                section(Path(temp), args.large, args.repeats)
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
