"""A local OutSmart-compatible portal-settings API: the dev target and the test server.

`start_sandbox()` runs it in-process on a loopback port; `portal-config sandbox`
runs it in the foreground. It speaks the contract in openapi/portal-settings.yaml,
keeps its state in a JSON file written atomically, and can inject faults.

The sandbox sits below the product: it imports only leaves (model, storage, envelope,
errors, tokens), never lint, config or targets; what it needs from them is passed in.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal_config.sandbox.faults import Faults
    from portal_config.sandbox.server import Sandbox, start_sandbox
    from portal_config.sandbox.state import SandboxState

__all__ = ["Faults", "Sandbox", "SandboxState", "start_sandbox"]

_HOMES = {
    "Faults": "portal_config.sandbox.faults",
    "Sandbox": "portal_config.sandbox.server",
    "start_sandbox": "portal_config.sandbox.server",
    "SandboxState": "portal_config.sandbox.state",
}


def __getattr__(name: str) -> Any:
    # Lazy, so that targets.py can import the default tokens of sandbox.tokens without
    # starting up the HTTP server's modules on every diff against a real endpoint.
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
