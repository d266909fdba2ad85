"""`portal-config sandbox`: the sandbox in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

from portal_config.errors import UsageError
from portal_config.project.config import (
    DEFAULT_SOFTWARE_TOKEN_ENV,
    DEFAULT_TOKEN_ENV,
    account_state_path,
)
from portal_config.sandbox.faults import Faults
from portal_config.sandbox.server import start_sandbox
from portal_config.sandbox.state import SandboxState, StateError
from portal_config.sandbox.tokens import (
    SANDBOX_TOKENS,
    account_names,
    account_token,
)


def serve(
    host: str,
    port: int,
    state_file: Path,
    seed: Callable[[], dict[str, Any]],
    fault_overrides: Mapping[str, float | int | None],
    say: Callable[[str], None],
    *,
    http_status_errors: bool | None = None,
    accounts: int | None = None,
) -> None:
    """Serve ``state_file`` (made from ``seed()`` if it does not exist) until stopped.

    With ``accounts``, serve that many accounts instead, each seeded from ``seed()``,
    with its own token and its own state file beside ``state_file`` (sandbox.tokens
    names them).
    The caller checks ``host`` is a loopback address: that policy is the product's.
    """
    software_from_env = bool(os.environ.get(DEFAULT_SOFTWARE_TOKEN_ENV))
    software_token = os.environ.get(DEFAULT_SOFTWARE_TOKEN_ENV) or SANDBOX_TOKENS[1]
    try:
        if accounts is None:
            token = os.environ.get(DEFAULT_TOKEN_ENV) or SANDBOX_TOKENS[0]
            served = {token: SandboxState.open(state_file, seed())}
            serving = f"state: {state_file}"
        else:
            served = _open_accounts(state_file, seed(), account_names(accounts))
            serving = _accounts_served(state_file, accounts, software_from_env)
    except StateError as exc:
        raise UsageError(str(exc)) from None
    token, state = next(iter(served.items()))
    faults = Faults.from_env().merged(**fault_overrides)
    try:
        sandbox = start_sandbox(
            state,
            token=token,
            accounts=served,
            software_token=software_token,
            faults=faults,
            host=host,
            port=port,
            background=False,
            http_status_errors=http_status_errors,
        )
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = " (--port 0 picks a free port, or choose another --port)"
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    say(f"Sandbox listening on {sandbox.url} ({serving}). Ctrl-C to stop.")
    try:
        sandbox.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.server.server_close()
        server = sandbox.server
        seen, throttled = server.requests_seen, server.throttled
        requests = "1 request" if seen == 1 else f"{seen} requests"
        limited = f", {throttled} answered 429" if throttled else ""
        say(f"Sandbox stopped after {requests}{limited}.")


# Seeding a state file costs two fsyncs (file and directory): 1,000 accounts one after
# the other take about 3 s on a first start, side by side about 1 s. Reading existing
# files is CPU-bound and gains nothing from threads, but loses nothing either.
OPEN_WORKERS = 8


def _open_accounts(
    state_file: Path, seed: dict[str, Any], names: list[str]
) -> dict[str, SandboxState]:
    """Each account's state by its token, in the order of ``names``."""

    def open_account(name: str) -> SandboxState:
        try:
            return SandboxState.open(account_state_path(state_file, name), seed)
        except StateError as exc:
            # Some of its messages name no file: among 1,000, say which account it is.
            raise StateError(f"{name}: {exc}") from None

    with ThreadPoolExecutor(max_workers=OPEN_WORKERS) as pool:
        states = list(pool.map(open_account, names))
    return {account_token(name): state for name, state in zip(names, states, strict=True)}


def _accounts_served(state_file: Path, count: int, software_from_env: bool) -> str:
    """How the accounts' tokens and files are named, for the startup line.

    A software token from the environment may be real: named by its variable, never shown.
    """
    names = account_names(count)
    accounts = (
        f"{count} accounts {names[0]} to {names[-1]}" if count > 1 else f"1 account {names[0]}"
    )
    software = (
        f"software token from {DEFAULT_SOFTWARE_TOKEN_ENV}"
        if software_from_env
        else f"software token {SANDBOX_TOKENS[1]}"
    )
    pattern = "<account>"
    return (
        f"{accounts}: token {account_token(pattern)}, "
        f"state {account_state_path(state_file, pattern)}; {software}"
    )
