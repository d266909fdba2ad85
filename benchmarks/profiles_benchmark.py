"""Profiles at fleet size: lint and diff of 1,000 accounts x 5 portals extending 3 profiles
against the same fleet written out flat (issue 18, point 8: at most 1.2x).

Two repositories of the same accounts and portals are generated side by side:

* **profiles**: `portal-config.yaml` names a repository default (`extends: [house]`),
  every third account adds an account default (`accounts.<a>.extends: [alarm]`, which
  edits the work types), three portals of five name a profile of their own
  (`extends: [desk]`), and the portal files hold a few overrides;
* **flat**: each portal file holds its effective settings, no profiles.

Before timing, every portal of the profiles fleet is resolved by explain's code and its
effective settings compared with the flat file's: the two fleets must be the same. One
standalone sandbox serves every account (`sandbox --accounts N`, no added latency), each
seeded with its own effective settings, so `diff` finds no change in either fleet.

Measured as CLI processes, alternating the fleets, ``--repeats`` times after a warm-up:
`portal-config lint` (the whole repository) and `portal-config diff --quiet` (every
account). Medians of each, wall time and CPU time (the process's own, its forked lint
workers' included), and each ratio profiles / flat against the 1.2x target. On a shared
machine diff's wall time is mostly the sandbox's answers: its CPU time is the client's
own cost, which is what profiles can add to.

    python benchmarks/profiles_benchmark.py [--accounts 1000] [--repeats 3]

`--accounts 20 --repeats 1` is a quick check. `--record` also writes the output to
benchmarks/results/, which docs/internals/benchmarks.md shows as it is.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

import yaml
from measure import (
    BIN,
    RECORDED,
    fleet_environment,
    ms,
    record,
    rounds,
    run,
    summary,
    verdict,
)

from portal_config.project.config import account_state_path
from portal_config.project.config_reader import load_config
from portal_config.run.explain import explain
from portal_config.sandbox.account import STATE_VERSION, record_for
from portal_config.sandbox.process import SandboxProcess
from portal_config.sandbox.tokens import account_names
from portal_config.settings.model import PortalSettings

CLI = str(BIN / "portal-config")
PORTALS = 5
TARGET = 1.2
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie", "Plaatsing alarm"]
SECTION = "guest_workorder"

# The three profiles and what each sets, in a profile file's words.
PROFILES = {
    "house": (  # the repository's default
        "profile: house\n"
        "guest_workorder:\n"
        "  enabled: true\n"
        "  allow_address_change: false\n"
        "  allow_new_relation: false\n"
        "  allow_requests_for_others: false\n"
        "  work_types: [Storing, Onderhoud]\n"
        "locked: [guest_workorder.allow_new_relation]\n"
    ),
    "alarm": (  # the default of every third account
        "profile: alarm\n"
        "guest_workorder:\n"
        "  work_types: {add: [Plaatsing alarm], remove: [Onderhoud]}\n"
    ),
    "desk": (  # named by three portals of five
        "profile: desk\nguest_workorder:\n  work_types: {add: [Inspectie]}\n"
    ),
}
HOUSE: dict[str, Any] = {
    "enabled": True,
    "allow_address_change": False,
    "allow_new_relation": False,
    "allow_requests_for_others": False,
    "work_types": ["Storing", "Onderhoud"],
}


def with_alarm(account: int) -> bool:
    return account % 3 == 0


def with_desk(portal: int) -> bool:
    return portal in (0, 1, 4)


def overrides(portal: int) -> dict[str, Any]:
    """What a portal file sets itself (never what it inherits: that would be redundant)."""
    chosen: dict[int, dict[str, Any]] = {
        1: {"work_types": ["Storing", "Inspectie"]},
        2: {"work_types": ["Inspectie"]},
        4: {"enabled": False, "work_types": []},
    }
    return chosen.get(portal, {})


def effective(account: int, portal: int) -> dict[str, Any]:
    """The settings the merge should give, worked out here independently of it."""
    values = dict(HOUSE)
    if with_alarm(account):
        values["work_types"] = ["Storing", "Plaatsing alarm"]
    if with_desk(portal):
        values["work_types"] = [*values["work_types"], "Inspectie"]
    values.update(overrides(portal))
    return values


def yaml_value(value: Any) -> str:
    return json.dumps(value)  # true, false and ["a", "b"] are YAML as they are


def portal_file(name: str, settings: Mapping[str, Any], extends: list[str]) -> str:
    lines = [f"portal: {name}"]
    if extends:
        lines.append(f"extends: [{', '.join(extends)}]")
    if settings:
        lines.append(f"{SECTION}:")
        lines += [f"  {key}: {yaml_value(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def config_text(url: str, names: list[str], profiles: bool) -> str:
    accounts = "".join(
        f"  {name}: {{extends: [alarm]}}\n"
        if profiles and with_alarm(index)
        else f"  {name}: {{}}\n"
        for index, name in enumerate(names)
    )
    default = "extends: [house]\n" if profiles else ""
    target = f"default_target: bench\ntargets:\n  bench:\n    base_url: {url}\n"
    return f"{default}{target}accounts:\n{accounts}"


def make_fleets(root: Path, names: list[str]) -> tuple[Path, Path]:
    """The profiles fleet and the flat one (no config yet: it needs the sandbox's URL)."""
    fleets = root / "profiles", root / "flat"
    for fleet in fleets:
        for index, account in enumerate(names):
            home = fleet / "accounts" / account
            (home / "portals").mkdir(parents=True)
            (home / "worktypes.yaml").write_text(
                "work_types:\n" + "".join(f"  - {w}\n" for w in WORK_TYPES), encoding="utf-8"
            )
            for portal in range(PORTALS):
                name = f"{account}-portal-{portal}"
                if fleet.name == "flat":
                    text = portal_file(name, effective(index, portal), [])
                else:
                    extends = ["desk"] if with_desk(portal) else []
                    text = portal_file(name, overrides(portal), extends)
                (home / "portals" / f"{name}.yaml").write_text(text, encoding="utf-8")
    (fleets[0] / "profiles").mkdir()
    for name, text in PROFILES.items():
        (fleets[0] / "profiles" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return fleets


def seed_sandbox(state: Path, names: list[str]) -> None:
    """Each account's state file holding its portals' effective settings, so that diff
    finds nothing to change."""
    for index, account in enumerate(names):
        portals = {}
        for portal in range(PORTALS):
            name = f"{account}-portal-{portal}"
            data = {"portal": name, SECTION: effective(index, portal)}
            wire = PortalSettings.from_file_data(data).to_json()
            portals[name] = record_for(name, name, {k: v for k, v in wire.items() if k != "portal"})
        body = {"version": STATE_VERSION, "work_types": WORK_TYPES, "portals": portals}
        account_state_path(state, account).write_text(json.dumps(body), encoding="utf-8")


def check_same(profiles: Path, flat: Path) -> int:
    """Resolve every portal of the profiles fleet as explain does and compare it with the
    flat file; the number of portals compared."""
    config = load_config(profiles / "portal-config.yaml")
    paths = sorted((profiles / "accounts").glob("*/portals/*.yaml"))
    for explained, path in zip(explain(config, paths), paths, strict=True):
        twin = flat / path.relative_to(profiles)
        written = yaml.safe_load(twin.read_text(encoding="utf-8"))
        if explained.resolution.data.get(SECTION) != written[SECTION]:
            raise SystemExit(
                f"{path}: effective {explained.resolution.data.get(SECTION)} "
                f"differs from the flat {written[SECTION]}"
            )
    return len(paths)


def side_by_side(
    command: list[str], fleets: Mapping[str, Path], env: Mapping[str, str], repeats: int, scale: str
) -> None:
    """``command`` run in each fleet in turn; the medians of its wall and CPU time, and
    their ratios profiles / flat against the target."""
    contenders = {name: partial(run, [CLI, *command], fleet, env) for name, fleet in fleets.items()}
    runs = rounds(contenders, repeats)
    for unit, measure in (("wall", attrgetter("seconds")), ("CPU", attrgetter("cpu_seconds"))):
        medians = {name: statistics.median(map(measure, each)) for name, each in runs.items()}
        ratio = medians["profiles"] / medians["flat"]
        print(
            f"  {command[0]:<5} {unit:<5} profiles {ms(medians['profiles'])}   "
            f"flat {ms(medians['flat'])}   ratio {ratio:.2f}x"
        )
        verdict(f"{command[0]} ({unit}), profiles / flat, {scale}", ratio, TARGET, at_most=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--record", action="store_true", help=f"also write the output to {RECORDED.name}/"
    )
    args = parser.parse_args()
    if args.record:
        record(Path(__file__).stem, sys.argv[1:])
    names = account_names(args.accounts)
    scale = f"{args.accounts} accounts x {PORTALS} portals"
    print(f"{scale}; medians of {args.repeats} alternating runs", flush=True)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        profiles, flat = make_fleets(root, names)
        state = root / "state" / "state.json"
        state.parent.mkdir()
        seed_sandbox(state, names)
        started = time.perf_counter()
        sandbox = SandboxProcess(state, "--accounts", str(args.accounts), cwd=root)
        print(f"sandbox with {args.accounts} accounts up in {time.perf_counter() - started:.1f} s")
        env = fleet_environment(names)
        try:
            for fleet in (profiles, flat):
                text = config_text(sandbox.url, names, fleet is profiles)
                (fleet / "portal-config.yaml").write_text(text, encoding="utf-8")
            compared = check_same(profiles, flat)
            print(f"the two fleets' {compared} portals have the same effective settings")
            fleets = {"profiles": profiles, "flat": flat}
            for command in (["lint"], ["diff", "--quiet"]):
                side_by_side(command, fleets, env, args.repeats, scale)
        finally:
            sandbox.stop()
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
