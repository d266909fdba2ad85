"""What a repository holds for `portal-config init`, and turning one account into a fleet.

init writes the recipes and files of one account or of many; `read_layout` says which a
repository holds now, and `convert` moves a one-account repository's files into the
fleet's first account (all or nothing), or refuses with the steps to do it by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from portal_config.errors import ConfigError, PortalConfigError, UsageError
from portal_config.escaping import escape_text
from portal_config.file_access import Repository
from portal_config.lint.loader import Document, load_bytes, load_file
from portal_config.project.config import (
    ACCOUNTS_DIR,
    CONFIG_NAME,
    DEFAULT_CATALOG,
    DEFAULT_PORTALS_DIR,
    account_token_env,
)
from portal_config.project.config_reader import load_config
from portal_config.storage import check_writable, write_atomically

WORKFLOWS = (
    "portal-config-lint.yml",
    "portal-config-diff.yml",
    "portal-config-apply.yml",
    "portal-config-drift.yml",
    "portal-config-report.yml",
)
# A fleet gets the matrix recipes in place of diff, apply, drift and report: both sets
# would run on the same pull requests and merges, the single-account ones with the wrong
# tokens.
FLEET_WORKFLOWS = (
    "portal-config-lint.yml",
    "portal-config-fleet-diff.yml",
    "portal-config-fleet-apply.yml",
    "portal-config-fleet-drift.yml",
    "portal-config-fleet-report.yml",
)


CREATED = "created"
OVERWRITTEN = "overwritten"
KEPT = "exists, kept"
UPDATED = "updated"


@dataclass(frozen=True)
class Outcome:
    path: str  # relative to the scaffolded directory, with forward slashes
    status: str


def account_entries(names: Sequence[str]) -> str:
    return "".join(
        f"  {name}:\n    token_env: {account_token_env(name)}   # the default\n" for name in names
    )


@dataclass
class Layout:
    """What a repository holds before init: one account's files, or a fleet's accounts."""

    one_account: bool = False
    accounts: tuple[str, ...] = ()
    # As portal-config.yaml writes them: the steps init prints when it cannot convert.
    portals_dir: str = DEFAULT_PORTALS_DIR
    catalog: str = DEFAULT_CATALOG
    # portal-config.yaml as loaded, what convert rewrites (no document: no keys to remove).
    document: Document | None = None
    text: str = ""
    done: list[Outcome] = field(default_factory=list)  # what convert moved and removed


class ConversionRefused(PortalConfigError):
    """`init --accounts` cannot move a one-account repository itself: the steps instead."""

    def render(self) -> str:
        # The reason and the steps quote config values (portals_dir, catalog): escaped as
        # every message is, so none sends a terminal sequence or starts a line of its own.
        reason, *steps = (escape_text(str(arg)) for arg in self.args)
        numbered = (f"  {number}. {step}" for number, step in enumerate(steps, start=1))
        return "\n".join([f"{self.prefix}: {reason}; do it by hand:", *numbered])


# The keys a one-account portal-config.yaml may have that mean nothing beside accounts:
# each account's portals and catalog are in its directory.
_ONE_ACCOUNT_KEYS = ("portals_dir", "catalog")
_ACCOUNT_TOKEN_KEYS = ("token_env", "token_command")


def read_layout(root: Path, *, replacing: bool = False) -> Layout:
    """The repository's layout, from its portal-config.yaml and its one-account files.

    The file is read as every other command reads it (load_config), so one they refuse
    (an account name that is no directory name, ``accounts: 5``) is refused here, as
    ``invalid config:`` lines, before init writes anything. Except when ``replacing``
    (``--force --accounts``) a fleet's file: init writes a new one naming the accounts
    given and reads nothing else from it, so it may be broken; that is what --force is for.
    """
    path = root / CONFIG_NAME
    if not path.is_file():
        defaults = (
            DEFAULT_PORTALS_DIR,
            DEFAULT_CATALOG,
            *(f".github/workflows/{n}" for n in WORKFLOWS),
        )
        return Layout(one_account=any((root / relative).exists() for relative in defaults))
    # Read for what a Config does not keep: an accounts: section still empty, the paths
    # as written and where each key is, for convert to rewrite the file.
    loaded = load_file(path, repository=Repository(path.absolute().parent))
    document = loaded.document
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    text = loaded.text or ""
    try:
        config = load_config(path, cwd=root)
    except ConfigError:
        if replacing and "accounts" in data:
            return Layout(document=document, text=text)
        raise
    if "accounts" in data:  # a fleet, even while its section is still empty
        return Layout(accounts=tuple(config.accounts), document=document, text=text)
    return Layout(
        one_account=True,
        portals_dir=str(data.get("portals_dir", DEFAULT_PORTALS_DIR)),
        catalog=str(data.get("catalog", DEFAULT_CATALOG)),
        document=document,
        text=text,
    )


def convert(root: Path, layout: Layout, accounts: Sequence[str]) -> None:
    """Make a one-account repository the fleet's first account, ``accounts[0]``: its
    portals and catalog move to accounts/<name>/, portal-config.yaml gains ``accounts:``
    (the rest of it, comments included, stays as it is), and the one-account recipes go,
    as the fleet recipes replace them. Where that cannot be done safely (files kept
    elsewhere than init puts them, an account directory already there, keys init cannot
    remove), nothing is changed and ConversionRefused gives the steps. Every check comes
    before the first change, and a change that fails all the same is undone."""
    first = accounts[0]
    home = f"{ACCOUNTS_DIR}/{first}"
    config = root / CONFIG_NAME
    recipes = [f".github/workflows/{n}" for n in WORKFLOWS if n not in FLEET_WORKFLOWS]
    parent = root / ACCOUNTS_DIR
    rewritten = None
    obstacle = None
    # As Paths, so `portals/` and `./portals` are the place init uses too.
    if root / layout.portals_dir != root / DEFAULT_PORTALS_DIR or (
        root / layout.catalog != root / DEFAULT_CATALOG
    ):
        obstacle = "portals_dir or catalog is set to another place than init uses"
    elif (root / home).exists() or (root / home).is_symlink():
        obstacle = f"{home}/ exists already"
    elif parent.is_symlink() or (parent.exists() and not parent.is_dir()):
        # A link would put the first account's files wherever it points.
        obstacle = f"{ACCOUNTS_DIR} is a file or a link, not a directory"
    elif config.is_file() and (rewritten := _fleet_config_text(layout, accounts)) is None:
        obstacle = "portals_dir or catalog is written in a way init cannot remove safely"
    if obstacle is not None:
        raise ConversionRefused(
            f"this repository holds one account and {obstacle}",
            f"mkdir -p {home} && git mv {layout.portals_dir} {home}/portals "
            f"&& git mv {layout.catalog} {home}/worktypes.yaml",
            # init keeps an existing portal-config.yaml, so every account is declared here.
            "in portal-config.yaml remove portals_dir, catalog and the targets' token_env, "
            "and add `accounts:` with "
            + ", ".join(f"`  {name}: {{}}`" for name in accounts)
            + " under it",
            f"git rm {' '.join(recipes)}",
            f"portal-config init --accounts {','.join(accounts)}",
        )
    if rewritten is not None:
        check_writable(config, "init:")  # replaced by a rename: its directory takes files
    done: list[Outcome] = []
    undo: list[Callable[[], object]] = []
    try:
        for source, destination in (
            (DEFAULT_PORTALS_DIR, f"{home}/portals"),
            (DEFAULT_CATALOG, f"{home}/worktypes.yaml"),
        ):
            if (root / source).exists():
                _make_parents(root / destination, undo)
                (root / source).rename(root / destination)
                undo.append(partial((root / destination).rename, root / source))
                done.append(Outcome(source, f"moved to {destination}"))
        if rewritten is not None:
            _replace(config, rewritten, undo)
            done.append(Outcome(CONFIG_NAME, f"{UPDATED}: accounts: added"))
        for recipe in recipes:
            if (root / recipe).exists():
                _remove(root / recipe, undo)
                done.append(Outcome(recipe, "removed: a fleet recipe replaces it"))
    except BaseException as exc:
        failed = _undo(undo)
        if not isinstance(exc, OSError):
            raise
        what = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
        if failed:
            raise UsageError(
                f"init --accounts: {what}; undoing the conversion failed too ({failed}): "
                "`git status` shows what moved"
            ) from None
        raise UsageError(f"init --accounts: {what}; nothing was changed") from None
    layout.done.extend(done)
    layout.accounts = tuple(accounts)
    layout.one_account = False


def _fleet_config_text(layout: Layout, accounts: Sequence[str]) -> str | None:
    """portal-config.yaml without portals_dir and catalog and with ``accounts:``, the rest
    exactly as written, comments included. None when the result would not load as just
    that (a key inside a flow mapping, a value continued after a comment line): init
    refuses then rather than leave a line of a value behind to join another key."""
    document = layout.document
    data = document.data if document is not None and isinstance(document.data, dict) else {}
    lines = layout.text.split("\n")
    dropped: set[int] = set()
    raw_targets = data.get("targets")
    targets: dict[str, Any] = raw_targets if isinstance(raw_targets, dict) else {}
    # A target's own account token does nothing once every account names its own: the
    # key would only mislead (init's comment says so beside the accounts).
    owned = [
        ("targets", name, key)
        for name, spec in targets.items()
        if isinstance(spec, dict)
        for key in _ACCOUNT_TOKEN_KEYS
        if key in spec
    ]
    for path in [*((key,) for key in _ONE_ACCOUNT_KEYS if key in data), *owned]:
        assert document is not None  # data came from it
        position = document.keys.get(path)
        if position is None or position.column != 2 * len(path) - 1:
            return None  # a flow mapping, or indented otherwise than init writes
        indent = position.column - 1
        start = end = position.line - 1
        end += 1
        # A block or multi-line value goes on in the more indented (and blank) lines below.
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1  # blank lines after the value separate what follows: kept
        dropped.update(range(start, end))
    kept = "\n".join(line for number, line in enumerate(lines) if number not in dropped)
    separator = "" if not kept or kept.endswith("\n") else "\n"
    text = (
        kept
        + separator
        + "\n# One entry per account, each in accounts/<name>/ (init --accounts).\naccounts:\n"
        + account_entries(accounts)
    )
    expected = {key: value for key, value in data.items() if key not in _ONE_ACCOUNT_KEYS}
    if owned:
        expected["targets"] = {
            name: {k: v for k, v in spec.items() if k not in _ACCOUNT_TOKEN_KEYS}
            if isinstance(spec, dict)
            else spec
            for name, spec in targets.items()
        }
    expected["accounts"] = {name: {"token_env": account_token_env(name)} for name in accounts}
    result = load_bytes(text.encode("utf-8"), CONFIG_NAME).document
    return text if result is not None and result.data == expected else None


def _make_parents(path: Path, undo: list[Callable[[], object]]) -> None:
    """Create the directories above ``path`` that are missing, each undone by a rmdir."""
    missing = [p for p in path.parents if not p.exists()][::-1]
    for directory in missing:
        directory.mkdir()
        undo.append(directory.rmdir)


def _replace(path: Path, text: str, undo: list[Callable[[], object]]) -> None:
    """Replace a file readers see whole, old or new (a commit's file: its own mode kept)."""
    before = path.read_bytes().decode("utf-8")
    mode = path.stat().st_mode & 0o777
    write_atomically(path, text, mode=mode)
    undo.append(lambda: write_atomically(path, before, mode=mode))


def _remove(path: Path, undo: list[Callable[[], object]]) -> None:
    before = path.read_bytes()
    mode = path.stat().st_mode & 0o777
    path.unlink()

    def restore() -> None:
        path.write_bytes(before)
        path.chmod(mode)

    undo.append(restore)


def _undo(undo: list[Callable[[], object]]) -> str:
    """Run the undo steps, last first; what could not be undone, or "" when all was."""
    failed = []
    for step in reversed(undo):
        try:
            step()
        except OSError as exc:
            failed.append(f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else ""))
    return "; ".join(failed)
