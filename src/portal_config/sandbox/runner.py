"""`portal-config sandbox`: the sandbox in the foreground, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from portal_config.errors import UsageError
from portal_config.sandbox.demo import demo_account
from portal_config.sandbox.faults import Faults
from portal_config.sandbox.server import start_sandbox
from portal_config.sandbox.state import SandboxState, StateError, record_for
from portal_config.targets import (
    DEFAULT_SOFTWARE_TOKEN_ENV,
    DEFAULT_TOKEN_ENV,
    SANDBOX_TOKENS,
    url_problem,
)


def seed_from_directory(directory: Path) -> dict[str, Any]:
    """An account holding exactly the valid portal files of ``directory``."""
    from portal_config.config import load_config
    from portal_config.lint import lint
    from portal_config.model import PortalSettings

    run = lint([directory], load_config())
    if run.report.failed(strict=False):
        raise UsageError(f"cannot seed the sandbox: files in {directory} fail lint")
    portals: dict[str, Any] = {}
    work_types: set[str] = set()
    for document in run.documents:
        settings = PortalSettings.from_file_data(document.data)
        guest = {key: value for key, value in settings.to_json().items() if key != "portal"}
        portals[settings.portal] = record_for(settings.portal, settings.portal, guest)
        work_types.update(settings.work_types)
    return {"version": 1, "work_types": sorted(work_types), "portals": portals}


def serve(
    host: str,
    port: int,
    state_file: Path,
    seed: str,
    fault_overrides: Mapping[str, float | int | None],
    say: Callable[[str], None],
    *,
    http_status_errors: bool | None = None,
) -> None:
    problem = url_problem(f"http://{host}:{port or 1}/")
    if problem:
        raise UsageError(f"--host {host}: the sandbox only listens on loopback addresses")
    initial = demo_account() if seed == "demo" else seed_from_directory(Path(seed))
    try:
        state = SandboxState.open(state_file, initial)
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
        say(f"Sandbox stopped after {seen} requests ({throttled} answered 429).")
