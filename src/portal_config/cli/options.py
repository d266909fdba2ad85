"""The options several commands share, declared once, and the Console they build."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from portal_config.cli.group import PLAN_FORMAT_NAMES, use_color

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

if TYPE_CHECKING:
    from portal_config.project.config import Config
    from portal_config.run.console import Console

account_option = click.option(
    "--account",
    "-a",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Only this account of a many-account repository (repeatable; default: every one).",
)
config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Project config file. Default: the nearest portal-config.yaml above the cwd.",
)

# Only on the commands the pull request recipes run with tokens (diff, drift, show, apply).
project_option = click.option(
    "--project",
    "project_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Read the portal files (portals_dir, catalog, accounts/) and git history in DIR; "
    "the config's token commands and ca_bundle stay relative to the config file and must "
    "not be in DIR. Default: the config file's directory. CI on a pull request: "
    "--config <base branch's tree>/portal-config.yaml --project .",
)


def make_console(color: bool | None, quiet: bool = False, verbose: bool = False) -> Console:
    from portal_config.run.console import Console

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose cannot be used together")
    confirm = None
    if sys.stdin.isatty():

        def confirm(question: str) -> bool:
            return click.confirm(question, default=False, err=True)

    painted = use_color(color)
    return Console(
        out=unbreakable(lambda text: click.echo(text, nl=False, color=painted), sys.stdout),
        err=unbreakable(
            lambda text: click.echo(text, nl=False, err=True, color=painted), sys.stderr
        ),
        color=painted,
        confirm=confirm,
        quiet=quiet,
        verbose=verbose,
        watched=sys.stderr.isatty() or os.environ.get("GITHUB_ACTIONS") == "true",
    )


def unbreakable(write: Callable[[str], None], stream: Any) -> Callable[[str], None]:
    """``write``, but a closed pipe (`apply | head -1`) silences it instead of raising.

    Output is a courtesy; the writes to OutSmart, their results and the --report file are
    not. A BrokenPipeError raised from a progress line would abort apply mid-run, so the
    stream is pointed at /dev/null (as Python's docs advise) and the run goes on.
    """

    def guarded(text: str) -> None:
        try:
            write(text)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)

    return guarded


target_option = click.option(
    "--target", "-t", "target", help="Target from the config (default: default_target)."
)
concurrency_option = click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Requests in flight at once (default: the target's, 8).",
)
color_option = click.option("--color/--no-color", default=None, help="Force colour on or off.")
parallel_option = click.option(
    "--parallel",
    type=click.IntRange(1, 256),
    default=None,
    help="Accounts handled at once in a many-account repository (default 16); each "
    "account's requests keep --concurrency.",
)


def own_path(path: Path | None, account: str | None, option: str, many: bool) -> Path | None:
    """A path option as one account's run uses it (``{account}`` filled in)."""
    if account is None:
        return path
    from portal_config.run.fleet import per_account_path

    return per_account_path(path, account, option, many)


def each_account(
    config: Config,
    accounts: tuple[str, ...],
    paths: tuple[Path, ...],
    command: str,
    output_format: str,
    console: Console,
    parallel: int | None,
    run: Callable[[Config, Console, list[Path], bool], int],
    files: tuple[tuple[str, Path | None], ...] = (),
) -> int:
    """``run`` once, or once per account of a many-account repository (fleet.py)."""
    if not config.is_fleet:
        config.select_accounts(accounts)  # refuses --account: there is one account
        return run(config, console, list(paths), False)
    from portal_config.run import fleet

    return fleet.each_account(
        command, config, accounts, paths, output_format, console, parallel, run, files
    )


quiet_option = click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Only results, failures and errors: no progress, plan preview or retry lines.",
)
verbose_option = click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also log every request and answer on stderr (tokens redacted).",
)


def plan_format_option(markdown_for: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format",
        "-f",
        "output_format",
        type=click.Choice(PLAN_FORMAT_NAMES),
        default="text",
        help=f"text (terraform-like), markdown ({markdown_for}) or json.",
    )


def cut_only_text(output_format: str, max_chars: int | None) -> int | None:
    # JSON is read by programs, whole; silently ignoring the option would hide a mistake.
    if max_chars is not None and output_format == "json":
        raise click.BadParameter(
            "cuts text and markdown; json is never cut", None, None, "--max-chars"
        )
    return max_chars


max_chars_option = click.option(
    "--max-chars",
    "max_chars",
    type=click.IntRange(min=1000),
    metavar="N",
    help="Cut text or markdown at a portal boundary to stay under N characters, ending "
    "with how many portals were left out (a GitHub comment holds 65,536).",
)


def account_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of every command that reads live accounts with a pull request's view
    (diff, drift, apply), in the order their help lists them."""
    for option in reversed(
        (
            account_option,
            parallel_option,
            config_option,
            project_option,
            concurrency_option,
            color_option,
            quiet_option,
            verbose_option,
        )
    ):
        command = option(command)
    return command


def file_option(text: str, flag: str = "--out", name: str = "out_file") -> Decorator:
    """An option naming a file the command writes (a plan, a report, a schema)."""
    return click.option(flag, name, type=click.Path(dir_okay=False, path_type=Path), help=text)
