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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from portal_config.config import ACCOUNT_NAME, account_token_env

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

CREATED = "created"
OVERWRITTEN = "overwritten"
KEPT = "exists, kept"
UPDATED = "updated"


@dataclass(frozen=True)
class Pin:
    """Where CI installs portal-config from: an https git URL and a full commit SHA."""

    source: str
    rev: str

    def fill(self, text: str) -> str:
        return text.replace(SOURCE_PLACEHOLDER, self.source).replace(REV_PLACEHOLDER, self.rev)


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
    entries = "".join(
        f"  {name}:\n    token_env: {account_token_env(name)}   # the default\n" for name in names
    )
    return _template("portal-config.accounts.yaml").replace(_ACCOUNTS_SLOT, entries)


def pin_from_direct_url(data: Mapping[str, Any]) -> Pin | None:
    """The pin of a copy pip installed from git (PEP 610's direct_url.json), if CI can use it.

    Only an https URL without credentials and a full commit SHA qualify: a local or ssh
    clone cannot be fetched by a hosted runner, and a branch name would float.
    """
    vcs = data.get("vcs_info")
    url = data.get("url")
    if not isinstance(vcs, Mapping) or vcs.get("vcs") != "git" or not isinstance(url, str):
        return None
    commit = vcs.get("commit_id")
    if not isinstance(commit, str) or not _FULL_SHA.fullmatch(commit):
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or parts.username or parts.password:
        return None
    return Pin(url, commit)


def installed_pin() -> Pin | None:
    """The pin of the running copy of portal-config, when it was installed from git."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("portal-config").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return pin_from_direct_url(data) if isinstance(data, dict) else None


def scaffold(
    root: Path, *, force: bool = False, pin: Pin | None = None, accounts: Sequence[str] = ()
) -> Scaffold:
    """Lay out `root` for portal-config; `force` replaces the files init owns.

    With `accounts` (valid names, see `account_names`), for that fleet of accounts.
    """
    from portal_config.schema import schema_text

    result = Scaffold(has_portals=_has_portals(root))
    fill = pin.fill if pin is not None else _unchanged

    def owned(relative: str, text: str) -> None:
        status = _write(root / relative, text, force)
        result.outcomes.append(Outcome(relative, status))
        if status != KEPT and REV_PLACEHOLDER in text:
            result.placeholders.append(relative)

    config = fleet_config(accounts) if accounts else _template("portal-config.yaml")
    owned("portal-config.yaml", config)
    result.outcomes.append(Outcome(".gitignore", _merge_lines(root / ".gitignore")))
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
    return result


def _has_portals(root: Path) -> bool:
    return any(root.glob("portals/*.y*ml")) or any(root.glob("accounts/*/portals/*.y*ml"))


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def _unchanged(text: str) -> str:
    return text


def _write(path: Path, text: str, force: bool) -> str:
    existed = path.exists()
    if existed and not force:
        return KEPT
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bytes, so a Windows checkout gets the same \n files that git and the tests compare.
    path.write_bytes(text.encode("utf-8"))
    return OVERWRITTEN if existed else CREATED


def _merge_lines(path: Path) -> str:
    """Append the ignore lines .gitignore lacks; the user's own lines stay as they are."""
    wanted = _template("gitignore").splitlines()
    if not path.exists():
        _write(path, "\n".join(wanted) + "\n", force=False)
        return CREATED
    text = path.read_text(encoding="utf-8")
    # "/plan.json" ignores the same file at the root as "plan.json" does.
    present = {line.strip().lstrip("/") for line in text.splitlines()}
    missing = [line for line in wanted if line.lstrip("/") not in present]
    if not missing:
        return KEPT
    separator = "" if text.endswith("\n") or not text else "\n"
    path.write_bytes((text + separator + "\n".join(missing) + "\n").encode("utf-8"))
    return UPDATED
