"""The project config, `portal-config.yaml`, as a plain value: `Config` and its parts.

    portals_dir: portals          # where lint looks by default
    catalog: worktypes.yaml       # the account's work-type catalog (optional file)
    rules:                        # per rule: error | warning | disable
      permissive-guest-access: error
    default_target: sandbox
    targets:                      # where diff, apply and pull go (see run/targets.py)
      sandbox:
        sandbox: .portal-config/sandbox.json
    safety:                       # apply's thresholds
      max_portals: 10
    ignore:                       # live portals left alone: ids or glob patterns
      - Acme_Legacy
      - test-*

Everything below the CLI gets a `Config` and never the YAML. Reading and checking the
file is `config_reader`'s; this module holds values only and imports only the package's
root leaves, so lint, plans and the live side can all take a `Config` or its parts.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from portal_config.errors import UsageError
from portal_config.escaping import quote
from portal_config.problems import Level, Position

CONFIG_NAME = "portal-config.yaml"
ACCOUNTS_DIR = "accounts"
# As config.schema.json's propertyNames for accounts: a name that is also a directory.
ACCOUNT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
DEFAULT_PORTALS_DIR = "portals"
DEFAULT_CATALOG = "worktypes.yaml"
DEFAULT_TARGET = "sandbox"
DEFAULT_SANDBOX_STATE = ".portal-config/sandbox.json"
# Requests in flight. Measured against a sandbox adding 50 ms a request (live_benchmark.py):
# 8 applies 6.1x faster than 1 (4: 3.4x, 16: 9.2x), and under a 40 req/s rate limit 8 is
# the fastest (16 only adds 429s). OutSmart documents no rate limit, so not 16.
DEFAULT_CONCURRENCY = 8
# The tokens' variables, spelled once: the API adapter and the sandbox take them from here.
DEFAULT_TOKEN_ENV = "OUTSMART_TOKEN"
DEFAULT_SOFTWARE_TOKEN_ENV = "OUTSMART_SOFTWARE_TOKEN"
DEFAULT_TOKEN_COMMAND_TIMEOUT = 30.0


@dataclass(frozen=True)
class TokenCommand:
    """A command whose standard output is a token (``op read``, ``vault kv get`` ...)."""

    argv: tuple[str, ...]
    # The config file's directory: `[./scripts/token.sh]` works from any cwd, as every
    # other path in portal-config.yaml is relative to the file.
    cwd: Path
    timeout: float = DEFAULT_TOKEN_COMMAND_TIMEOUT
    # The config key, "targets.production.token_command": errors and the API's
    # "check ..." hints name it where they would name a variable.
    origin: str = "token_command"


@dataclass(frozen=True)
class Target:
    """One place diff, apply and pull can talk to: an OutSmart API or an in-process sandbox."""

    name: str
    base_url: str | None = None
    sandbox_state: Path | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    software_token_env: str = DEFAULT_SOFTWARE_TOKEN_ENV
    # A command replaces the variable: the config may name one or the other, not both.
    token_command: TokenCommand | None = None
    software_token_command: TokenCommand | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    ca_bundle: Path | None = None
    deadline: float = 300.0
    retries: int = 6
    backoff: float = 0.25
    timeout: float = 30.0

    @property
    def is_sandbox(self) -> bool:
        return self.base_url is None

    @property
    def token_origin(self) -> str:
        """Where the account token comes from, for "check ..." hints: a variable or a command."""
        return self.token_command.origin if self.token_command else self.token_env

    @property
    def software_token_origin(self) -> str:
        command = self.software_token_command
        return command.origin if command else self.software_token_env

    def for_account(self, account: Account) -> Target:
        """This target as one account sees it: the account's token (the software token
        stays the target's, shared), its own URL if it has one, and, for a sandbox, its
        own state file beside the target's, so each account has its own demo data."""
        if self.sandbox_state is not None:
            # The in-process sandbox takes any token: an account's token command (say,
            # `op read`) would run a thousand times for nothing.
            return replace(self, sandbox_state=account_state_path(self.sandbox_state, account.name))
        own = replace(self, token_env=account.token_env, token_command=account.token_command)
        return replace(own, base_url=account.base_url or self.base_url)


@dataclass(frozen=True)
class Account:
    """One OutSmart account of a many-account repository (``accounts:``)."""

    name: str
    token_env: str
    token_command: TokenCommand | None = None
    base_url: str | None = None
    ignore: tuple[str, ...] = ()  # on top of the top-level ignore:
    extends: tuple[str, ...] = ()  # profiles its portals extend, after the repository's
    # Where the config names each of them, so a missing one is reported at its line.
    extends_at: Mapping[str, Position] = field(default_factory=dict)


@dataclass(frozen=True)
class Ignore:
    """Live portals portal-config leaves alone (``ignore:``): ids or glob patterns.

    An ignored portal is not in any plan, not even as unmanaged, and pull does not write
    it: for portals another team runs, or whose ids no file can use (``Acme_Legacy``).
    Patterns are shell globs (``*``, ``?``, ``[...]``), matched case-sensitively against
    the whole id, as OutSmart spells it. A plain value, patterns and matching only: the
    plan and pull code leaves ignored live portals out (`live_values.not_ignored`).
    """

    patterns: tuple[str, ...] = ()

    def pattern_for(self, portal: str) -> str | None:
        """The first pattern that ignores ``portal``, or None."""
        return next((p for p in self.patterns if fnmatch.fnmatchcase(portal, p)), None)

    def why(self, portal: str) -> str | None:
        """Why ``portal`` is left alone, as messages say it, or None if it is not."""
        pattern = self.pattern_for(portal)
        return None if pattern is None else f"ignored by ignore: {quote(pattern)} in {CONFIG_NAME}"


NOTHING_IGNORED = Ignore()


@dataclass(frozen=True)
class Safety:
    """octoDNS-style thresholds: an absolute cap and a share, the share only for larger sets."""

    max_portals: int = 10
    max_share: float = 0.5
    min_portals_for_share: int = 4
    # Across every account of one run, on top of each account's own thresholds.
    fleet_max_portals: int = 100

    def violation(self, changed: int, total: int) -> str | None:
        if changed > self.max_portals:
            return (
                f"plan changes {changed} portal{'s' if changed != 1 else ''}, more than "
                f"safety.max_portals ({self.max_portals})"
            )
        if total >= self.min_portals_for_share and changed / total > self.max_share:
            share = f"{changed}/{total}"
            return (
                f"plan changes {share} portals, more than safety.max_share ({self.max_share:.0%})"
            )
        return None


def default_targets(root: Path) -> dict[str, Target]:
    # A fresh clone can diff and apply at once, against a sandbox kept in the project.
    return {DEFAULT_TARGET: Target(DEFAULT_TARGET, sandbox_state=root / DEFAULT_SANDBOX_STATE)}


@dataclass(frozen=True)
class Config:
    """The whole project config, typed; paths are absolute. ``root`` is the project's: its
    portal files and git history (``--project``, or the config file's directory)."""

    root: Path
    source: Path | None = None
    portals_dir: Path = Path(DEFAULT_PORTALS_DIR)
    catalog: Path = Path(DEFAULT_CATALOG)
    # Where the catalog was asked for ("portal-config.yaml:2:10", "--catalog"), so a missing
    # file can be reported there; None: the default, which may be absent.
    catalog_origin: str | None = None
    rule_levels: Mapping[str, Level | None] = field(default_factory=dict)
    targets: Mapping[str, Target] = field(default_factory=dict)
    default_target: str = DEFAULT_TARGET
    safety: Safety = Safety()
    accounts: Mapping[str, Account] = field(default_factory=dict)
    # Set in the view of one account (for_account): whose portals and catalog these are.
    account: str | None = None
    ignore: Ignore = NOTHING_IGNORED
    # The sections of a portal the repository manages (`sections:`): what pull writes into
    # a file. None: the config does not say, so those every portal file has (the guest one).
    sections: tuple[str, ...] | None = None
    # The profiles every portal extends first (`extends:`, then in one account's view
    # the account's own after them), and where the config names each.
    extends: tuple[str, ...] = ()
    extends_at: Mapping[str, Position] = field(default_factory=dict)

    @property
    def is_fleet(self) -> bool:
        """Many accounts, each in accounts/<name>/: every command runs once per account."""
        return bool(self.accounts)

    def for_account(self, name: str) -> Config:
        """The config as one account sees it: its portals, its catalog, its token on
        every target. Everything that works on one account works on this view."""
        account = self.accounts[name]
        home = self.root / ACCOUNTS_DIR / name
        return replace(
            self,
            portals_dir=home / DEFAULT_PORTALS_DIR,
            catalog=home / DEFAULT_CATALOG,
            catalog_origin=None,
            targets={key: target.for_account(account) for key, target in self.targets.items()},
            account=name,
            ignore=Ignore(self.ignore.patterns + account.ignore),
            extends=self.extends + account.extends,
            extends_at={**account.extends_at, **self.extends_at},
        )

    def account_of(self, path: Path) -> str | None:
        """The account whose directory holds ``path`` (accounts/<name>/...); None for a
        file outside every account's, and always in a one-account repository."""
        resolved = path.resolve()
        for name in self.accounts:
            if resolved.is_relative_to(self.root / ACCOUNTS_DIR / name):
                return name
        return None

    def view_of(self, path: Path) -> Config:
        """The config as the account that holds ``path`` sees it (itself when none does):
        the profiles and catalog a file is read with are its own account's."""
        account = self.account_of(path)
        return self if account is None else self.for_account(account)

    def select_accounts(self, names: Sequence[str]) -> list[str]:
        """The accounts ``--account`` names (all without it), in config order."""
        if not names:
            return list(self.accounts)
        if not self.accounts:
            raise UsageError(
                "--account: this repository holds one account (no accounts: section in "
                f"{CONFIG_NAME})"
            )
        for name in names:
            if name not in self.accounts:
                raise UsageError(
                    unknown_target(f"unknown account '{name}'", name, list(self.accounts)).replace(
                        "configured targets", "configured accounts"
                    )
                )
        return [name for name in self.accounts if name in names]

    @classmethod
    def defaults(cls, root: Path) -> Config:
        return cls(
            root=root,
            portals_dir=root / DEFAULT_PORTALS_DIR,
            catalog=root / DEFAULT_CATALOG,
            targets=default_targets(root),
        )


def account_token_env(name: str) -> str:
    """An account's token variable unless the config names one: OUTSMART_TOKEN_ACME_NOORD."""
    return f"{DEFAULT_TOKEN_ENV}_{name.upper().replace('-', '_')}"


def account_state_path(state_file: Path, account: str) -> Path:
    """Where a multi-account sandbox keeps ``account``: beside ``state_file``, named after it.

    ``.portal-config/sandbox.json`` and ``account-001`` give
    ``.portal-config/sandbox-account-001.json``.
    """
    return state_file.with_name(f"{state_file.stem}-{account}.json")


def unknown_target(message: str, name: str, known: list[str]) -> str:
    """``message`` with a did-you-mean, or the configured targets when nothing is close."""
    import difflib  # start-up: only a misspelt name asks, and lint loads the config every run

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; configured targets: {', '.join(known)}"
