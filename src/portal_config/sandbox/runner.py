"""`portal-config sandbox`: the sandbox in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from portal_config.errors import UsageError
from portal_config.sandbox.faults import Faults
from portal_config.sandbox.server import start_sandbox
from portal_config.sandbox.state import SandboxState, StateError
from portal_config.sandbox.tokens import SANDBOX_TOKENS
from portal_config.tokens import DEFAULT_SOFTWARE_TOKEN_ENV, DEFAULT_TOKEN_ENV


def serve(
    host: str,
    port: int,
    state_file: Path,
    seed: Callable[[], dict[str, Any]],
    fault_overrides: Mapping[str, float | int | None],
    say: Callable[[str], None],
    *,
    http_status_errors: bool | None = None,
) -> None:
    """Serve ``state_file`` (made from ``seed()`` if it does not exist) until stopped.

    The caller checks ``host`` is a loopback address: that policy is the product's.
    """
    try:
        state = SandboxState.open(state_file, seed())
    except StateError as exc:
        raise UsageError(str(exc)) from None
    token = os.environ.get(DEFAULT_TOKEN_ENV) or SANDBOX_TOKENS[0]
    software_token = os.environ.get(DEFAULT_SOFTWARE_TOKEN_ENV) or SANDBOX_TOKENS[1]
    faults = Faults.from_env().merged(**fault_overrides)
    try:
        sandbox = start_sandbox(
            state,
            token=token,
            software_token=software_token,
            faults=faults,
            host=host,
            port=port,
            background=False,
            http_status_errors=http_status_errors,
        )
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    say(f"Sandbox listening on {sandbox.url} (state: {state_file}). Ctrl-C to stop.")
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
