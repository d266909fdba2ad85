"""The `portal-config` command line: parse options, call one function, pick the exit code.

No YAML, schema or HTTP logic lives here. One module per command group registers its
commands on the group (`cli.group`), which loads a command's module when the command is
asked for; heavy modules are imported inside the commands that need them, so `lint` (run
on every commit) starts fast and never loads the HTTP client or deepdiff.
"""

from __future__ import annotations

from typing import Any

from portal_config.cli.group import COMMANDS, PLAN_FORMAT_NAMES, cli, main, use_color

__all__ = ["COMMANDS", "PLAN_FORMAT_NAMES", "SCHEMAS", "cli", "main", "use_color"]


def __getattr__(name: str) -> Any:
    # The schema names are the schema command's; its module loads when they are asked for.
    if name == "SCHEMAS":
        from portal_config.cli.project import SCHEMAS  # start-up: lint never loads init's

        return SCHEMAS
    raise AttributeError(name)
