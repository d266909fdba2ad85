"""The command group loads a command's module only when the command is asked for."""

from __future__ import annotations

import importlib
import subprocess
import sys

from portal_config.cli import COMMANDS, cli


def test_every_command_is_where_the_group_looks_for_it() -> None:
    for module in set(COMMANDS.values()):
        importlib.import_module(f"portal_config.cli.{module}")
    assert sorted(cli.commands) == sorted(COMMANDS)
    for name, module in COMMANDS.items():
        assert cli.commands[name].callback.__module__ == f"portal_config.cli.{module}", name


def test_lint_loads_no_other_commands_module() -> None:
    code = (
        "import sys\nfrom portal_config.cli import cli\n"
        "cli.get_command(None, 'lint')\n"
        "print(sorted(m for m in sys.modules if m.startswith('portal_config.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(
        ["portal_config.cli.files", "portal_config.cli.group", "portal_config.cli.options"]
    )
