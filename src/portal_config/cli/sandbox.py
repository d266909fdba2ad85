"""The sandbox command: a local OutSmart-compatible API, with faults as flags."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from portal_config.cli.group import cli
from portal_config.errors import UsageError
from portal_config.sandbox.tokens import account_names

# Each command imports what it runs inside its body: `lint` runs on every commit and must
# start fast, without the HTTP client (urllib3), deepdiff or the plan model.


_SHARE = click.FloatRange(0, 1)
# The sandbox's faults as flags: (flag, field of sandbox.faults.Faults, type, help).
_FAULT_FLAGS: tuple[tuple[str, str, click.ParamType[Any], str], ...] = (
    ("--latency", "latency_ms", click.FLOAT, "Add this many ms to every answer."),
    ("--error-rate", "error_rate", _SHARE, "Share of requests answered 500/502/503."),
    (
        "--envelope-error-rate",
        "envelope_error_rate",
        _SHARE,
        "Share of requests answered HTTP 200 with envelope code 1007 (uncaught error).",
    ),
    (
        "--rate-limit",
        "rate_limit",
        click.FloatRange(0),
        "Requests per second before 429 + Retry-After.",
    ),
    ("--throttle-rate", "throttle_rate", _SHARE, "Share of requests answered 429."),
    ("--drop-rate", "drop_rate", _SHARE, "Share of connections closed mid-response."),
    ("--lost-write-rate", "lost_write_rate", _SHARE, "Share of writes applied but never answered."),
    (
        "--conflict-rate",
        "conflict_rate",
        _SHARE,
        "Share of writes preceded by a concurrent UI edit.",
    ),
    (
        "--unstored-write-rate",
        "unstored_write_rate",
        _SHARE,
        "Share of writes answered as stored but not stored.",
    ),
    (
        "--applied-error-rate",
        "applied_error_rate",
        _SHARE,
        "Share of writes stored, then answered 500.",
    ),
    (
        "--gone-after-writes",
        "gone_after_writes",
        click.IntRange(0),
        "Stop answering (and refuse connections) after this many stored writes.",
    ),
)


def _fault_options(command: Callable[..., None]) -> Callable[..., None]:
    """One option per fault of _FAULT_FLAGS, in its order, each passed by its field name."""
    for flag, field, kind, text in reversed(_FAULT_FLAGS):
        command = click.option(flag, field, type=kind, help=text)(command)
    return command


@cli.command("sandbox")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on."
)
@click.option(
    "--port",
    default=8808,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".portal-config/sandbox.json"),
    show_default=True,
    help="JSON state file; with --accounts, each account's is named after it "
    "(sandbox-account-001.json, ...).",
)
@click.option(
    "--accounts",
    type=click.IntRange(1),
    metavar="N",
    help="Serve N accounts (account-001, ...), each seeded as --from says and with "
    "its own token (sandbox-token-account-001, ...).",
)
@click.option(
    "--from",
    "seed",
    default="demo",
    show_default=True,
    help="Seed a new state file from 'demo' or from a directory of portal files.",
)
@_fault_options
@click.option("--random-seed", "random_seed", type=int, help="Seed for the fault dice.")
@click.option(
    "--http-status-errors",
    is_flag=True,
    default=None,
    help="Send errors with the HTTP status of their code, as a proxy might, instead of "
    "OutSmart's HTTP 200 + envelope code (also: SANDBOX_HTTP_STATUS_ERRORS=1).",
)
def sandbox_command(
    host: str,
    port: int,
    state_file: Path,
    accounts: int | None,
    seed: str,
    random_seed: int | None,
    http_status_errors: bool | None,
    **faults: float | None,
) -> None:
    """Run a local OutSmart-compatible API with a demo account, on loopback.

    Tokens: OUTSMART_TOKEN and OUTSMART_SOFTWARE_TOKEN if set, else
    sandbox-token / sandbox-software-token. Faults are off unless asked for
    (flags here, or SANDBOX_* environment variables).

    With --accounts N it serves N accounts instead, as OutSmart serves an installer's
    customers: account-001 answers to the token sandbox-token-account-001 and keeps its
    state in sandbox-account-001.json beside --state (OUTSMART_TOKEN is not used); the
    software token is shared, as above.

    \b
    Exit codes: 0 stopped (Ctrl-C or SIGTERM), 2 usage error (address, state file).
    \b
    Examples:
      portal-config sandbox                       # http://127.0.0.1:8808/openapi/8/
      portal-config sandbox --from portals --state /tmp/state.json
      portal-config sandbox --latency 50 --error-rate 0.1 --random-seed 1
      portal-config sandbox --accounts 3          # account-001 ... account-003
    """
    from portal_config.project.config import (
        account_state_path,  # start-up: --version skips the config value (~3 ms)
    )
    from portal_config.project.config_reader import (
        url_problem,  # start-up: --version skips the config reader (~30 ms)
    )
    from portal_config.run.seed import (
        account_from_directory,  # start-up: --version skips the lint pipeline (~25 ms)
    )
    from portal_config.sandbox.demo import (
        demo_account,  # start-up: --version skips the sandbox's state (~10 ms)
    )
    from portal_config.sandbox.runner import (
        serve,  # start-up: --version skips the HTTP server (~55 ms)
    )

    if url_problem(f"http://{host}:{port or 1}/"):
        raise UsageError(f"--host {host}: the sandbox only listens on loopback addresses")
    if seed != "demo":
        if not Path(seed).is_dir():
            raise UsageError(f"--from {seed}: no such directory")
        state_files = (
            [state_file]
            if accounts is None
            else [account_state_path(state_file, name) for name in account_names(accounts)]
        )
        existing = next((path for path in state_files if path.exists()), None)
        if existing is not None:
            # --from only seeds a new state file; silently serving the old one would
            # make the user believe the sandbox holds their files.
            raise UsageError(
                f"--from {seed}: the state file {existing} already exists and would be "
                "served as it is; delete it or pass another --state"
            )
    serve(
        host,
        port,
        state_file,
        demo_account if seed == "demo" else lambda: account_from_directory(Path(seed)),
        {**faults, "seed": random_seed},
        lambda line: click.echo(line, err=True),
        http_status_errors=http_status_errors,
        accounts=accounts,
    )
