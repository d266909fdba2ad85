"""The options several commands share, declared once, and the Console they build."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from portal_config.cli.group import PLAN_FORMAT_NAMES, use_color

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

if TYPE_CHECKING:
    from portal_config.run.console import Console
    from portal_config.run.options import RunOptions  # noqa: F401

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
    from portal_config.render.views import (
        VIEWS,  # start-up: lint never loads the plan model (~40 ms)
    )
    from portal_config.run.console import (
        Console,  # start-up: lint never loads the plan model (~40 ms)
    )

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
        views=VIEWS,
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


def run_options(command: Callable[..., None]) -> Callable[..., None]:
    """Hands ``command`` its --target, --concurrency, --parallel and --account as one
    `RunOptions` (``options``), which it completes with its own (`dataclasses.replace`).

    Goes right below the command's decorator, above the options it gathers."""

    @functools.wraps(command)
    def with_options(
        *,
        target: str | None,
        concurrency: int | None,
        parallel: int | None,
        accounts: tuple[str, ...],
        **rest: Any,
    ) -> None:
        from portal_config.run.options import (
            RunOptions,  # start-up: lint, which takes no run options, spares ~1 ms
        )

        options = RunOptions(
            target=target, concurrency=concurrency, parallel=parallel, accounts=accounts
        )
        command(options=options, **rest)

    return with_options
