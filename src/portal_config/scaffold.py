"""Scaffold: what `portal-config init` lays out in an adopter's repository.

Every file comes from package data (`templates/`), and the workflow templates are this
repository's own `.github/workflows/` files, so an adopter runs the recipes this project
runs. With account names (`init --accounts`) it lays out a fleet instead: an `accounts:`
section, `accounts/<name>/portals/` per account and the fleet recipes. Running init twice
changes nothing: a file that exists is kept unless `force`, and the two files other tools
share (`.gitignore`, `.pre-commit-config.yaml`) are never replaced, only appended to or,
for pre-commit, given a snippet to paste.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal_config import __version__
from portal_config.config import (
    ACCOUNT_NAME,
    ACCOUNTS_DIR,
    CONFIG_NAME,
    DEFAULT_CATALOG,
    DEFAULT_PORTALS_DIR,
    account_token_env,
    load_config,
)
from portal_config.errors import ConfigError, PortalConfigError, UsageError
from portal_config.escaping import escape_text
from portal_config.file_access import Repository
from portal_config.loader import Document, load_bytes, load_file
from portal_config.schema import schema_text
from portal_config.storage import check_writable, write_atomically

TEMPLATES = Path(__file__).with_name("templates")
WORKFLOWS = (
    "portal-config-lint.yml",
    "portal-config-diff.yml",
    "portal-config-apply.yml",
    "portal-config-drift.yml",
)
# A fleet gets the matrix recipes in place of diff, apply and drift: both sets would run on
# the same pull requests and merges, the single-account ones with the wrong tokens.
FLEET_WORKFLOWS = (
    "portal-config-lint.yml",
    "portal-config-fleet-diff.yml",
    "portal-config-fleet-apply.yml",
    "portal-config-fleet-drift.yml",
)
# The names portal-config.yaml accepts under `accounts:` (they become directory, GitHub
# environment and variable names).
_ACCOUNTS_SLOT = "#<accounts>\n"

# The placeholders the workflow and pre-commit templates carry until a pin replaces them.
SOURCE_PLACEHOLDER = "https://github.com/<your-org>/portal-config"
REV_PLACEHOLDER = "<commit-sha>"
_FULL_SHA = re.compile(r"[0-9a-f]{40}")
_REV_LINE = re.compile(r"(.*)" + re.escape(REV_PLACEHOLDER) + r"[^\n]*")
# git@host:path, ssh's short form (pip keeps it as written after git+).
_SCP_URL = re.compile(r"(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)")

CREATED = "created"
OVERWRITTEN = "overwritten"
KEPT = "exists, kept"
UPDATED = "updated"


@dataclass(frozen=True)
class Pin:
    """Where CI installs portal-config from: a git URL a hosted runner can fetch (None when
    this copy came from a local clone), the full commit SHA, and the release tag that
    commit is, if any (named beside the SHA, as pre-commit's ``autoupdate --freeze`` does:
    the SHA cannot move, the tag tells a reader which release it is)."""

    source: str | None
    rev: str
    tag: str | None = None

    def fill(self, text: str) -> str:
        if self.source is not None:
            text = text.replace(SOURCE_PLACEHOLDER, self.source)
        if self.tag is None:
            return text.replace(REV_PLACEHOLDER, self.rev)
        # The tag replaces the template's comment after the placeholder, on the same line.
        return _REV_LINE.sub(lambda m: f"{m.group(1)}{self.rev}  # frozen: {self.tag}", text)


@dataclass(frozen=True)
class Outcome:
    path: str  # relative to the scaffolded directory, with forward slashes
    status: str


@dataclass
class Scaffold:
    """What init did, file by file, and what it leaves the user to do."""

    outcomes: list[Outcome] = field(default_factory=list)
    # The hook to paste into an existing .pre-commit-config.yaml that lacks it.
    pre_commit_snippet: str | None = None
    # Files still carrying the <your-org>/<commit-sha> placeholders.
    placeholders: list[str] = field(default_factory=list)
    # Whether any portal file was there: init's hint to pull is for a new repository.
    has_portals: bool = False


def account_names(text: str) -> tuple[str, ...]:
    """The names of `--accounts acme,beta`, in the order given.

    Raises ValueError saying everything that is wrong with them, so one run shows it all.
    """
    names = tuple(name.strip() for name in text.split(","))
    if not any(names):
        raise ValueError("give at least one account name")
    problems = []
    if not all(names):
        problems.append("a name is empty (two commas, or one at either end)")
    invalid = [name for name in dict.fromkeys(names) if name and not ACCOUNT_NAME.fullmatch(name)]
    if invalid:
        problems.append(
            f"not {'an account name' if len(invalid) == 1 else 'account names'}: "
            + ", ".join(map(repr, invalid))
            + " (lower-case letters and digits, words joined by one '-': acme, north-west)"
        )
    twice = [name for name in dict.fromkeys(names) if name and names.count(name) > 1]
    if twice:
        problems.append("named more than once: " + ", ".join(map(repr, twice)))
    if problems:
        raise ValueError("; ".join(problems))
    return names


def fleet_config(names: Sequence[str]) -> str:
    """portal-config.yaml for these accounts, each with its token variable spelled out."""
    return _template("portal-config.accounts.yaml").replace(_ACCOUNTS_SLOT, _account_entries(names))


def _account_entries(names: Sequence[str]) -> str:
    return "".join(
        f"  {name}:\n    token_env: {account_token_env(name)}   # the default\n" for name in names
    )


def pin_from_direct_url(data: Mapping[str, Any], version: str | None = None) -> Pin | None:
    """The pin of a copy pip installed from git (PEP 610's direct_url.json), whatever the
    URL: https, ssh (pinned as the same repository over https) or a local clone (only the
    commit is pinned; its URL means nothing to a hosted runner). A URL carrying a
    credential is never written into a file. ``version`` is this copy's version: when the
    revision asked for is its release tag (`@v1.2.0`), the pin names that tag too.
    """
    vcs = data.get("vcs_info")
    url = data.get("url")
    if not isinstance(vcs, Mapping) or vcs.get("vcs") != "git" or not isinstance(url, str):
        return None
    commit = vcs.get("commit_id")
    if not isinstance(commit, str) or not _FULL_SHA.fullmatch(commit):
        return None
    requested = vcs.get("requested_revision")
    is_release = version is not None and requested in (version, f"v{version}")
    return Pin(_fetchable(url), commit, requested if is_release else None)


def _fetchable(url: str) -> str | None:
    """The https URL a hosted runner can install ``url``'s repository from, if there is one."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return None if parts.username or parts.password else url
    # Over ssh: the same repository over https, which a hosted runner fetches without a
    # key. A custom ssh port says the host is not that simple: no guess then.
    if parts.scheme == "ssh" and parts.hostname and not parts.port and not parts.password:
        return f"https://{parts.hostname}{parts.path}"
    if not parts.scheme and (found := _SCP_URL.fullmatch(url)) is not None:
        return f"https://{found['host']}/{found['path']}"
    return None  # file://, or a local path: a clone only this machine has


def installed_pin() -> Pin | None:
    """The pin of the running copy of portal-config, when it was installed from git."""
    try:
        text = distribution("portal-config").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return pin_from_direct_url(data, __version__) if isinstance(data, dict) else None


def scaffold(
    root: Path, *, force: bool = False, pin: Pin | None = None, accounts: Sequence[str] = ()
) -> Scaffold:
    """Lay out `root` for portal-config; `force` replaces the files init owns.

    With `accounts` (valid names, see `account_names`), for that fleet of accounts. A
    one-account repository given `accounts` is converted first (`convert`); a fleet's
    repository given none stays a fleet: either way one set of recipes runs.
    """
    layout = read_layout(root, replacing=force and bool(accounts))
    if accounts and layout.one_account:
        convert(root, layout, accounts)
    accounts = accounts or layout.accounts
    result = Scaffold(has_portals=_has_portals(root))
    result.outcomes.extend(layout.done)
    fill = pin.fill if pin is not None else _unchanged

    def owned(relative: str, text: str) -> None:
        result.outcomes.append(Outcome(relative, _write(root / relative, text, force, root)))

    # Converted: portal-config.yaml is the user's, with accounts: added. A one-account
    # repository without one (its portals/ only) gets the fleet's, as a new one does.
    if all(outcome.path != CONFIG_NAME for outcome in layout.done):
        owned(
            "portal-config.yaml",
            fleet_config(accounts) if accounts else _template("portal-config.yaml"),
        )
    result.outcomes.append(Outcome(".gitignore", _merge_lines(root / ".gitignore", root)))
    owned("schema/portal.schema.json", schema_text())
    # A fleet's work types come with `pull --account`: init cannot know them.
    portal_dirs = [f"accounts/{name}/portals" for name in accounts] or ["portals"]
    for portals in portal_dirs:
        if (root / portals).exists():
            result.outcomes.append(Outcome(f"{portals}/", KEPT))
        else:
            owned(f"{portals}/.gitkeep", "")
    snippet = fill(_template("pre-commit-config.yaml"))
    pre_commit = root / ".pre-commit-config.yaml"
    if pre_commit.exists():
        result.outcomes.append(Outcome(".pre-commit-config.yaml", KEPT))
        # Merging YAML would lose the user's comments; pasting is theirs to do.
        if "portal-config-lint" not in pre_commit.read_text(encoding="utf-8"):
            result.pre_commit_snippet = snippet
    else:
        owned(".pre-commit-config.yaml", snippet)
    for name in FLEET_WORKFLOWS if accounts else WORKFLOWS:
        owned(f".github/workflows/{name}", fill(_template(f"workflows/{name}")))
    # Kept files count too: a rerun must still say what is left to fill in.
    result.placeholders = [
        outcome.path for outcome in result.outcomes if _has_placeholder(root / outcome.path)
    ]
    return result


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
        + _account_entries(accounts)
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


def _has_placeholder(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False  # a directory (portals/), or not init's to read
    return SOURCE_PLACEHOLDER in text or REV_PLACEHOLDER in text


def _has_portals(root: Path) -> bool:
    return any(root.glob("portals/*.y*ml")) or any(root.glob("accounts/*/portals/*.y*ml"))


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _unchanged(text: str) -> str:
    return text


def _write(path: Path, text: str, force: bool, root: Path) -> str:
    existed = path.exists()
    if existed and not force:
        return KEPT
    # A cloned repository's links are its author's: init writes none of its files
    # through a link out of the directory (or into .git), and replaces a linked file
    # rather than writing where it points (write_bytes would follow it).
    _contained(path, root)
    if path.is_symlink():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bytes, so a Windows checkout gets the same \n files that git and the tests compare.
    path.write_bytes(text.encode("utf-8"))
    return OVERWRITTEN if existed else CREATED


def _contained(path: Path, root: Path) -> None:
    """Refuse (exit 2, one line) a file init would write through a link out of ``root``."""
    from portal_config.file_access import Repository
    from portal_config.loader import display

    refusal = Repository(root).write_refusal(path)
    if refusal is not None:
        link, reason = refusal
        raise UsageError(f"{display(path)}: not written: {display(Path(link))}: {reason}")


def _inside_root(path: Path, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def _merge_lines(path: Path, root: Path) -> str:
    """Append the ignore lines .gitignore lacks; the user's own lines stay as they are."""
    wanted = _template("gitignore").splitlines()
    if not path.exists():
        _write(path, "\n".join(wanted) + "\n", force=False, root=root)
        return CREATED
    _contained(path, root)
    if path.is_symlink() and not _inside_root(path, root):
        # Appending through it would write where the link points, outside the directory.
        from portal_config.file_access import OUTSIDE

        raise UsageError(f"{path.name}: not written: {OUTSIDE}")
    text = path.read_text(encoding="utf-8")
    # "/plan.json" ignores the same file at the root as "plan.json" does.
    present = {line.strip().lstrip("/") for line in text.splitlines()}
    missing = [line for line in wanted if line.lstrip("/") not in present]
    if not missing:
        return KEPT
    separator = "" if text.endswith("\n") or not text else "\n"
    path.write_bytes((text + separator + "\n".join(missing) + "\n").encode("utf-8"))
    return UPDATED
