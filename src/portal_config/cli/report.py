"""The report command: the fleet's alignment with its baselines, as a web page, JSON or CSV."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import click

from portal_config.cli.group import cli
from portal_config.cli.options import (
    account_run_options,
    file_option,
    make_console,
    run_options,
    target_option,
)
from portal_config.errors import UsageError
from portal_config.run.options import RunOptions

# Formats as render.report names them (REPORT_FORMATS); a test keeps the two equal, so
# `report --help` needs no Jinja2.
FORMATS = ("html", "json", "csv")
SHARED = 0o644  # a page to publish (an artifact, GitHub Pages): it holds no secret


@cli.command("report", short_help="Write the fleet's alignment report (HTML, JSON or CSV).")
@run_options
@target_option
@click.option(
    "--format",
    "-f",
    "output_format",
    type=click.Choice(FORMATS),
    default="html",
    show_default=True,
    help="html (one self-contained page), json (schema/alignment.schema.json) or csv.",
)
@file_option("Write the report to this file instead of stdout.")
@click.option(
    "--live",
    is_flag=True,
    help="Also read every account's live portals: drift, live values and revisions.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Say since when each override differs from the baseline: the date and commit "
    "that last changed its line (one git call per portal file that overrides).",
)
@click.option(
    "--reference",
    metavar="ACCOUNT",
    help="Compare every account with this one: the fields whose values differ.",
)
@account_run_options
def report_command(
    output_format: str,
    out_file: Path | None,
    live: bool,
    history: bool,
    reference: str | None,
    config_path: Path | None,
    project_dir: Path | None,
    color: bool | None,
    quiet: bool,
    verbose: bool,
    options: RunOptions,
) -> None:
    """Show, per account and field, whether the portals follow the baseline profiles.

    Each cell of the matrix (accounts by managed fields) is aligned, local,
    overridden, waived (an override with a waiver) or, with --live, drift, and
    says when it widens access; each account lists its portals' fields with the
    file and line that set them. The report names the commit it was made from
    and when live state was read; it never holds a token.

    \b
    Exit codes: 0 written, 1 invalid files (one account), 2 usage/config error
                (an unknown --reference account), 4 API error, 7 some accounts
                failed (the report is written, with their errors).
    \b
    Examples:
      portal-config report --out report.html
      portal-config report --live --target production --out report.html
      portal-config report --format csv --reference acme > alignment.csv
      portal-config report --history --out report.html
    """
    from portal_config.live.redaction import (
        redact,  # start-up: --help skips it
    )
    from portal_config.project.config_reader import (
        load_config,  # start-up: --help skips the config reader (~30 ms)
    )
    from portal_config.render.report import (
        REPORTERS,  # start-up: lint never loads Jinja2 (~25 ms)
        reasons,  # start-up: as REPORTERS
    )
    from portal_config.run.report import (
        alignment,  # start-up: lint never loads urllib3 and the plan (~115 ms)
    )
    from portal_config.storage import (  # start-up: as render.report above
        check_writable,
        write_atomically,
    )

    config = load_config(config_path, project=project_dir)
    console = make_console(color, quiet, verbose)
    stream = None  # before any request: the file is known to be writable
    if out_file is not None and _stream(out_file):
        stream = _opened(out_file)
    elif out_file is not None:
        check_writable(out_file, "--out", None)
    found = alignment(
        config,
        replace(options, out_file=None),
        console,
        live=live,
        reference=reference,
        history=history,
    )
    text = REPORTERS[output_format](found)
    # A server may echo the tokens it was sent in any value it returns, and the page is
    # published: no token this run read is in it, whatever value held it.
    text = redact(text)
    if out_file is None:
        click.echo(text, nl=False)
    else:
        try:
            if stream is not None:
                with stream:
                    stream.write(text)
            else:  # replaced by a rename: a link there is replaced too, never followed
                write_atomically(out_file, text, SHARED)
        except OSError as exc:  # a full disk, a reader gone
            raise _unwritable(out_file, exc) from None
        console.note(f"report written to {out_file}")
    if history and found.commit is None:
        console.note("--history: not a git repository; no override can be dated")
    for entry in found.accounts:  # in every format: a failed row is easy to miss
        if entry.alignment is None:
            name = entry.account if entry.account is not None else "the repository"
            console.note(f"account {name} failed (exit {entry.code}): {entry.error}")
            for reason in reasons(entry):
                console.note(f"  {reason}")
    sys.exit(found.code)


def _stream(path: Path) -> bool:
    """Whether ``path`` is a FIFO, a terminal-like device or a name for one of the
    process's own files (``/dev/stdout``, ``/proc/self/fd/1``, a shell's ``>(gzip)``): a
    reader waits on that very file, so it is written to, never replaced by a rename (which
    would replace /dev/stdout itself for every process of a container run as root)."""
    system = Path(os.path.realpath(path.parent)).parts[:2] in (("/", "dev"), ("/", "proc"))
    return system or path.is_fifo() or path.is_char_device()


def _opened(path: Path) -> TextIO:
    # Opened as a shell's `>>` opens it, never created: the kernel's checks on links in
    # shared directories apply, and standard output redirected to a log is added to.
    try:
        handle = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    return os.fdopen(handle, "w", encoding="utf-8")


def _unwritable(path: Path, exc: OSError) -> UsageError:
    return UsageError(f"--out {path}: cannot write the report ({exc.strerror})")
