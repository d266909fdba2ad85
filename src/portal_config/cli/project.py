"""The commands that set a repository up and describe it: init, schema and accounts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from portal_config.cli.group import cli
from portal_config.cli.options import config_option, file_option
from portal_config.errors import UsageError
from portal_config.escaping import escape_text
from portal_config.storage import check_writable, write_atomically

# Each command imports what it runs inside its body: `lint` runs on every commit and must
# start fast, without the HTTP client (urllib3), deepdiff or the plan model.


@cli.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite the files init writes if they exist.")
@click.option(
    "--accounts",
    metavar="NAMES",
    help="Lay out a fleet: these accounts (comma-separated), accounts/NAME/ each.",
)
def init_command(directory: Path, force: bool, accounts: str | None) -> None:
    """Set up a repository for portal-config: config, schema, portals/, hooks and CI.

    Files that exist are kept (reported "exists, kept") unless --force; .gitignore only
    gains missing lines and an existing .pre-commit-config.yaml is never changed. When
    this copy was installed from git (https, ssh or file://), the CI recipes and the
    pre-commit hook are pinned to its commit, and to its release tag when it was installed
    at one (`@v1.2.0`); otherwise set PORTAL_CONFIG_SOURCE and PORTAL_CONFIG_REV in them.
    Every run lists the files that still name placeholders.

    With --accounts, a repository for many accounts: an accounts: section in
    portal-config.yaml with each account's token variable, accounts/NAME/portals/, and the
    fleet CI recipes (one job per account) instead of diff, apply and drift. In a
    repository that holds one account, its portals/ and worktypes.yaml become the first
    named account's (accounts/NAME/), portal-config.yaml gains the accounts: section and
    the one-account recipes are removed; where that cannot be done safely, nothing changes
    and init prints the steps. Without --accounts, a fleet's repository stays a fleet.

    \b
    Exit codes: 0 written or kept, 2 usage error (DIR cannot be written, a bad name,
                a one-account repository init cannot convert).
    \b
    Examples:
      portal-config init
      portal-config init settings --force
      portal-config init --accounts acme,beta,north-west
    """
    from portal_config.files.scaffold import (
        account_names,  # start-up: --version skips init's templates (~35 ms)
        installed_pin,
        scaffold,
    )

    try:
        names = account_names(accounts) if accounts is not None else ()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--accounts'") from None
    pin = installed_pin()
    done = scaffold(directory, force=force, pin=pin, accounts=names)
    for outcome in done.outcomes:
        # A path names the user's files (the accounts, the portals moved): data, escaped.
        click.echo(f"{escape_text(outcome.path)}: {outcome.status}")
    if done.pre_commit_snippet is not None:
        click.echo("\nAdd the published hook to .pre-commit-config.yaml:\n")
        click.echo(done.pre_commit_snippet, nl=False)
    if done.placeholders:
        if pin is None:
            why = (
                "This portal-config was not installed from a git commit, so these files name"
                " <your-org> and <commit-sha>: replace them with the https URL of the"
                " repository portal-config is installed from and the full commit SHA of a"
                " release tag"
            )
        elif pin.source is None:
            why = (
                "This portal-config was installed from a file:// URL (or one CI cannot use):"
                " in these files, replace <your-org> with the https URL of its repository"
            )
        else:  # kept from an earlier init
            why = (
                "These files still name <your-org> or <commit-sha>: `portal-config init"
                " --force` pins them to this copy, or fill them in by hand"
            )
        click.echo(f"\n{why}:\n  " + "\n  ".join(map(escape_text, done.placeholders)))
    if not done.has_portals:  # the hint only for a new repository
        click.echo("\nNext: portal-config pull --target sandbox, then portal-config lint.")


# The JSON Schemas this package ships, by what they describe: its KIND.schema.json files
# (package data), so a schema added to the package is offered with no list to update.
SCHEMAS = tuple(
    sorted(
        p.name.removesuffix(".schema.json")
        for p in Path(__file__).parent.parent.glob("*.schema.json")
    )
)


@cli.command("schema")
@click.argument("kind", type=click.Choice(SCHEMAS), required=False)
@click.option(
    "--plan", "plan", is_flag=True, help="The saved plan's schema (same as: schema plan)."
)
@file_option("Write the schema to this file instead of printing it.")
def schema_command(kind: str | None, plan: bool, out_file: Path | None) -> None:
    """Print a JSON Schema (draft 2020-12) this portal-config checks with.

    KIND: portal (a portal file, the default), config (portal-config.yaml), plan
    (`diff --out`), lint (`lint --format json`) or report (`apply --report`). Editors
    that read JSON Schema (VS Code's YAML extension, JetBrains) complete and check
    files against them; write them next to the files they describe.

    \b
    Exit codes: 0 printed or written, 2 --out cannot be written, or KIND with --plan.
    \b
    Examples:
      portal-config schema > schema/portal.schema.json
      portal-config schema config --out schema/config.schema.json
      portal-config schema plan
    """
    from importlib.resources import files  # start-up: --version skips tempfile and zipfile (~5 ms)

    if plan and kind is not None:
        # Printing one of the two would silently ignore the other.
        raise UsageError(f"give KIND ({kind}) or --plan, not both: --plan is KIND plan")
    chosen = "plan" if plan else kind or "portal"
    text = files("portal_config").joinpath(f"{chosen}.schema.json").read_text(encoding="utf-8")
    if out_file is None:
        click.echo(text, nl=False)
        return
    check_writable(out_file, "--out")
    write_atomically(out_file, text, mode=0o644)  # a file to commit, not a secret


@cli.command("accounts")
@click.option(
    "--shards",
    type=click.IntRange(1, 256),
    default=None,
    help="Spread the accounts over N jobs (GitHub allows 256 per matrix).",
)
@config_option
def accounts_command(shards: int | None, config_path: Path | None) -> None:
    """Print the accounts as a GitHub Actions matrix (JSON, one line).

    One entry per account, {"name": ..., "accounts": ...}; with --shards N,
    N entries whose "accounts" are space-separated names, spread round-robin
    in name order. A one-account repository prints one entry whose
    "accounts" is empty.

    \b
    Exit codes: 0 printed, 2 usage or config error.
    \b
    Examples:
      portal-config accounts
      portal-config accounts --shards 4
    """
    from portal_config.project.config_reader import (
        load_config,  # start-up: --version skips the config reader (~30 ms)
    )

    names = sorted(load_config(config_path).accounts)
    if not names:
        matrix = [{"name": "default", "accounts": ""}]
    elif shards is None:
        matrix = [{"name": name, "accounts": name} for name in names]
    else:
        count = min(shards, len(names))  # an empty shard would run every account
        matrix = [
            {"name": f"shard-{i + 1}-of-{count}", "accounts": " ".join(names[i::count])}
            for i in range(count)
        ]
    click.echo(json.dumps(matrix, separators=(",", ":")))
