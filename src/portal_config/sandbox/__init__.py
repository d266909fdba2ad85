"""A local OutSmart-compatible portal-settings API: the dev target and the test server.

`start_sandbox()` runs it in-process on a loopback port; `portal-config sandbox`
runs it in the foreground. It speaks the contract in openapi/portal-settings.yaml,
keeps its state in a JSON file written atomically, and can inject faults.
"""

from __future__ import annotations

from portal_config.sandbox.faults import Faults
from portal_config.sandbox.server import Sandbox, start_sandbox
from portal_config.sandbox.state import SandboxState

__all__ = ["Faults", "Sandbox", "SandboxState", "start_sandbox"]
