"""The `portal-config` command line: parse options, call one function, pick the exit code.

No YAML, schema or HTTP logic lives here. One module per command group registers its
commands on the group (`cli.group`); heavy modules are imported inside the commands that
need them, so `lint` (run on every commit) starts fast and never loads the HTTP client or
deepdiff.
"""

from __future__ import annotations

from portal_config.cli import files, plans, project, sandbox, writes
from portal_config.cli.group import PLAN_FORMAT_NAMES, cli, main, use_color
from portal_config.cli.project import SCHEMAS

# The command modules register their commands when imported; named so nothing drops them.
COMMAND_MODULES = (files, plans, project, sandbox, writes)

__all__ = ["COMMAND_MODULES", "PLAN_FORMAT_NAMES", "SCHEMAS", "cli", "main", "use_color"]
