"""`portal-config report` of a fleet: 1,000 accounts x 5 portals over a baseline profile.

Every portal extends the repository's default profile (`extends:` in portal-config.yaml);
one portal in five overrides its work types. Measured as CLI processes, alternating the
contenders so machine noise hits them alike, medians of ``--repeats`` runs:

* `portal-config lint` of the fleet: the named baseline (what every commit runs);
* `portal-config report --out report.html` (files only) and `--format json`;
* with ``--live-repeats`` > 0, `report --live` against a standalone sandbox serving every
  account (`sandbox --accounts N`, no added latency), whose portals equal the files.

Printed: each median, the time per account, and each report's ratio to lint.

    python benchmarks/report_benchmark.py [--accounts 1000] [--repeats 3] [--live-repeats 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from measure import BIN, RECORDED, alternate, record, run, timer

from portal_config.sandbox.process import SandboxProcess
from portal_config.sandbox.tokens import SANDBOX_TOKENS, account_names, account_token

PORTALS = 5
WORK_TYPES = ["Storing", "Onderhoud", "Inspectie"]
PROFILE = (
    "profile: restrictive\nguest_workorder:\n  enabled: true\n  allow_new_relation: false\n"
    "  work_types: [Storing, Onderhoud]\nlocked: [guest_workorder.allow_new_relation]\n"
)
OVERRIDE = "guest_workorder:\n  work_types: [Storing]\n"


def make_fleet(root: Path, count: int) -> tuple[Path, list[str]]:
    """The repository (a profile, each account's portals) and the flat portal files the
    sandbox's accounts start from, equal to what the files give."""
    seed = root / "seed"
    seed.mkdir()
    for index in range(PORTALS):
        types = "[Storing]" if index == PORTALS - 1 else "[Storing, Onderhoud]"
        (seed / f"portal-{index}.yaml").write_text(
            f"portal: portal-{index}\nguest_workorder:\n  enabled: true\n"
            f"  allow_new_relation: false\n  work_types: {types}\n"
        )
    (root / "profiles").mkdir()
    (root / "profiles" / "restrictive.yaml").write_text(PROFILE)
    names = account_names(count)
    for account in names:
        home = root / "accounts" / account
        (home / "portals").mkdir(parents=True)
        (home / "worktypes.yaml").write_text(
            "work_types:\n" + "".join(f"  - {w}\n" for w in WORK_TYPES)
        )
        for index in range(PORTALS):
            own = OVERRIDE if index == PORTALS - 1 else ""
            (home / "portals" / f"portal-{index}.yaml").write_text(f"portal: portal-{index}\n{own}")
    return seed, names


def write_config(root: Path, url: str, names: list[str]) -> None:
    (root / "portal-config.yaml").write_text(
        "default_target: bench\nextends: [restrictive]\n"
        f"targets:\n  bench:\n    base_url: {url}\n"
        "accounts:\n" + "".join(f"  {name}: {{}}\n" for name in names)
    )


def per_account(seconds: float, accounts: int) -> str:
    return f"{seconds:6.2f} s  ({seconds / accounts * 1000:.2f} ms per account)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--live-repeats", type=int, default=1)
    parser.add_argument(
        "--record", action="store_true", help=f"also write the output to {RECORDED.name}/"
    )
    args = parser.parse_args()
    if args.record:
        record(Path(__file__).stem, sys.argv[1:])
    exe = str(BIN / "portal-config")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seed, names = make_fleet(root, args.accounts)
        (root / "state").mkdir()
        sandbox = SandboxProcess(
            root / "state" / "state.json",
            *("--accounts", str(args.accounts), "--from", str(seed)),
            cwd=root,
        )
        env = {
            **os.environ,
            "OUTSMART_SOFTWARE_TOKEN": SANDBOX_TOKENS[1],
            **{
                f"OUTSMART_TOKEN_{name.upper().replace('-', '_')}": account_token(name)
                for name in names
            },
        }
        try:
            write_config(root, sandbox.url, names)
            count = args.accounts
            print(f"{count:,} accounts x {PORTALS} portals, extending one profile")
            html, json_out = root / "report.html", root / "report.json"
            medians = alternate(
                {
                    "lint": timer([exe, "lint"], root, env),
                    "report (html)": timer([exe, "report", "--out", str(html)], root, env),
                    "report (json)": timer(
                        [exe, "report", "--format", "json", "--out", str(json_out)], root, env
                    ),
                },
                args.repeats,
            )
            lint = medians["lint"]
            print(f"  medians of {args.repeats} alternating runs (after one warm-up):")
            for name, seconds in medians.items():
                ratio = "" if name == "lint" else f"  {seconds / lint:.2f}x lint"
                print(f"  {name:<15} {per_account(seconds, count)}{ratio}")
            sizes = html.stat().st_size / 1e6, json_out.stat().st_size / 1e6
            print(f"  page: {sizes[0]:.1f} MB, JSON {sizes[1]:.1f} MB")
            if args.live_repeats:
                live = sorted(
                    run([exe, "report", "--live", "--out", str(html)], root, env).seconds
                    for _ in range(args.live_repeats)
                )[args.live_repeats // 2]
                shown = per_account(live, count)
                print(f"  report --live   {shown}  {live / lint:.2f}x lint (sandbox, no latency)")
        finally:
            sandbox.stop()


if __name__ == "__main__":
    main()
