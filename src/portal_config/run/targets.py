"""Targets: opening a client for the place diff, apply and pull send their requests.

    default_target: sandbox
    targets:
      sandbox:
        sandbox: .portal-config/sandbox.json   # in-process sandbox with this state file
      production:
        base_url: https://www.werkbonapp.nl/openapi/8/
        token_env: OUTSMART_TOKEN                # names of variables, never the tokens
        software_token_env: OUTSMART_SOFTWARE_TOKEN  # or *_command: see tokens.py
        concurrency: 4
        ca_bundle: certs/corporate-ca.pem        # optional; TLS verification is always on

The section is read and checked with the rest of the config (config_reader.py); here a
`Target` is only chosen and connected to. Without a ``targets`` section there is one
target, ``sandbox``, with its state in ``.portal-config/sandbox.json``, so a fresh
clone can diff and apply at once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from portal_config.errors import UsageError
from portal_config.live.api import ClientSettings, OutSmartClient
from portal_config.live.tokens import TokenError, read_token
from portal_config.project.config import Config, Target, TokenCommand, unknown_target
from portal_config.run.console import Console
from portal_config.sandbox.tokens import SANDBOX_TOKENS


def resolve_target(config: Config, name: str | None) -> Target:
    """The target named on the command line (or in a saved plan), else the default one."""
    chosen = name or config.default_target
    if chosen not in config.targets:
        raise UsageError(unknown_target(f"unknown target '{chosen}'", chosen, list(config.targets)))
    return config.targets[chosen]


@contextlib.contextmanager
def open_client(
    target: Target,
    concurrency: int | None = None,
    *,
    say: Callable[[str], None] | None = None,
    trace: Callable[[str], None] | None = None,
) -> Iterator[OutSmartClient]:
    """A client for the target; for a sandbox target, a sandbox started for this run.

    ``say`` gets one line per retry, ``trace`` one redacted line per request and answer.
    """
    settings = ClientSettings(
        concurrency=concurrency or target.concurrency,
        deadline=target.deadline,
        retries=target.retries,
        backoff=target.backoff,
        read_timeout=target.timeout,
        verify=str(target.ca_bundle) if target.ca_bundle else True,
    )

    def client(base_url: str, token: str, software_token: str) -> OutSmartClient:
        # The variable names let an authentication error say which one to check.
        return OutSmartClient(
            base_url,
            token,
            software_token,
            settings,
            token_env=target.token_origin,
            software_token_env=target.software_token_origin,
            say=say,
            trace=trace,
        )

    if target.is_sandbox:
        from portal_config.sandbox import (  # start-up: a real endpoint's run never
            Faults,  # loads the sandbox's HTTP server (~10 ms)
            SandboxState,
            start_sandbox,
        )
        from portal_config.sandbox.demo import demo_account  # start-up: as above
        from portal_config.sandbox.state import StateError  # start-up: as above

        assert target.sandbox_state is not None
        token, software_token = read_tokens(target)
        try:
            state = SandboxState.open(target.sandbox_state, demo_account())
        except StateError as exc:
            raise UsageError(str(exc)) from None
        with start_sandbox(
            state, token=token, software_token=software_token, faults=Faults.from_env()
        ) as sandbox:
            with client(sandbox.url, token, software_token) as opened:
                yield opened
        return
    assert target.base_url is not None
    token, software_token = read_tokens(target)
    with client(target.base_url, token, software_token) as opened:
        yield opened


def open_client_for(
    target: Target, concurrency: int | None, console: Console
) -> AbstractContextManager[OutSmartClient]:
    """`open_client`, its retries told on the console, and with --verbose its requests."""
    return open_client(
        target, concurrency, say=console.note, trace=console.trace if console.verbose else None
    )


def read_tokens(target: Target) -> tuple[str, str]:
    """The target's account and software token, from its variables or its commands.

    A sandbox target falls back to the sandbox's own tokens for an unset variable.
    Every variable is checked before any command runs: a missing variable is the
    cheaper mistake to report, and a password manager's prompt for nothing is avoided.
    """
    sources: list[tuple[str, TokenCommand | None, str]] = [
        (target.token_env, target.token_command, SANDBOX_TOKENS[0]),
        (target.software_token_env, target.software_token_command, SANDBOX_TOKENS[1]),
    ]
    from_env = {
        variable: os.environ.get(variable, "") or (fallback if target.is_sandbox else "")
        for variable, command, fallback in sources
        if command is None
    }
    missing = [variable for variable, value in from_env.items() if not value]
    if missing:
        raise TokenError(
            f"target {target.name}: set the environment variable(s) {', '.join(missing)}"
        )
    token, software_token = (
        read_token(command) if command is not None else from_env[variable]
        for variable, command, _ in sources
    )
    return token, software_token


def announce(target: Target, client: OutSmartClient) -> str:
    """The first line of every diff and apply output: where this run goes, no secrets."""
    return target_line(target.name, target.is_sandbox, client.display_url)


def target_line(name: str, is_sandbox: bool, display_url: str) -> str:
    """`announce`'s line from its parts: `show` prints a saved plan's with no client."""
    kind = " (in-process sandbox)" if is_sandbox else ""
    return f"Target: {name}{kind} {display_url}"
