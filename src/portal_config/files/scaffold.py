"""Scaffold: what `portal-config init` lays out in an adopter's repository.

Every file comes from package data (`templates/`): the config, the schema, a starter
profile and an example portal file that extends it (outside portals/, so diff and apply
never take it for a live portal). The workflow templates are this
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal_config import __version__
from portal_config.errors import UsageError
from portal_config.file_access import OUTSIDE, Repository
from portal_config.lint.schema import schema_text
from portal_config.paths import display
from portal_config.project.config import (
    ACCOUNT_NAME,
    CONFIG_NAME,
)
from portal_config.project.repository_layout import (
    CREATED,
    FLEET_WORKFLOWS,
    KEPT,
    OVERWRITTEN,
    UPDATED,
    WORKFLOWS,
    Outcome,
    account_entries,
    convert,
    read_layout,
)

TEMPLATES = Path(__file__).parent.parent.joinpath("templates")
# The profile init writes (profiles/baseline.yaml), which its example portal extends.
STARTER_PROFILE = "baseline"
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
    return _template("portal-config.accounts.yaml").replace(_ACCOUNTS_SLOT, account_entries(names))


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
    # A starter profile and a portal file that extends it: the layout, shown by example.
    owned(f"profiles/{STARTER_PROFILE}.yaml", _template("profile.yaml"))
    owned("examples/example-portal.yaml", _template("example-portal.yaml"))
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
