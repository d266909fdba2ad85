"""The project config file, `portal-config.yaml`, interpreted once into a typed `Config`.

    portals_dir: portals          # where lint looks by default
    catalog: worktypes.yaml       # the account's work-type catalog (optional file)
    rules:                        # per rule: error | warning | disable
      permissive-guest-access: error
    default_target: sandbox
    targets:                      # where diff, apply and pull go (see targets.py)
      sandbox:
        sandbox: .portal-config/sandbox.json
    safety:                       # apply's thresholds
      max_portals: 10
    ignore:                       # live portals left alone: ids or glob patterns
      - Acme_Legacy
      - test-*

The file is found by walking up from the cwd; without one, the defaults are anchored
at the git work tree's top (or the cwd outside git). Paths are relative to the file.

The project (``--project DIR``) can be elsewhere: the portal files (portals_dir, catalog,
accounts/) and the git history are then read in DIR, while the programs, CA bundle and
sandbox state the file names stay relative to the file. A pull request job points at the
base branch's tree for the config and at the pull request's checkout for the files, so
the pull request supplies data only: a token command or ca_bundle that resolves inside
DIR (by its path, a PATH entry or a symlink) is refused, never run or trusted.

Everything below the CLI gets a `Config` and never the YAML: the structure is checked
by ``schema/config.schema.json`` (so editors and lint agree on it), the few things a
schema cannot say (URL rules, ``default_target`` naming a target) by a short pass
after it. Every mistake is a `ConfigError` line ``invalid config: FILE:LINE:COL: ...``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from portal_config.errors import ConfigError, UsageError
from portal_config.escaping import quote
from portal_config.file_access import Repository
from portal_config.lint.loader import Document, JsonPath, load_file
from portal_config.lint.rules import RULES
from portal_config.live.tokens import (
    DEFAULT_SOFTWARE_TOKEN_ENV,
    DEFAULT_TOKEN_COMMAND_TIMEOUT,
    DEFAULT_TOKEN_ENV,
    TokenCommand,
)
from portal_config.problems import Level
from portal_config.sandbox.tokens import account_state_path

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


def _default_targets(root: Path) -> dict[str, Target]:
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
        )

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
            targets=_default_targets(root),
        )

    def level_of(self, rule_id: str) -> Level | None:
        """The configured level of a rule; None means disabled."""
        if rule_id in self.rule_levels:
            return self.rule_levels[rule_id]
        default: Level = RULES[rule_id].LEVEL
        return default


def find_config(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(
    explicit: Path | None = None, cwd: Path | None = None, project: Path | None = None
) -> Config:
    """Load the given config file, or the nearest one above ``cwd``, or the defaults.

    ``project``: where the portal files are, if not beside the config file (module doc)."""
    here = (cwd or Path.cwd()).resolve()
    root = project.resolve() if project is not None else None
    source = explicit if explicit is not None else find_config(here)
    if source is None:
        return Config.defaults(root or project_root(here))
    if not source.is_file():
        raise ConfigError(f"{source}: file not found")
    own = source.resolve().parent
    # The config may be a link only within its own directory, as a portal file may only
    # within the project: a link to /proc/self/environ must not reach an error message.
    result = load_file(source, repository=Repository(source.absolute().parent))
    if result.document is None:
        if result.text is not None and _only_comments(result.text):
            return replace(Config.defaults(root or own), source=source)
        raise ConfigError(*(f"{p.location()}: {p.message}" for p in result.problems))
    config = _interpret(result.document, root or own, source, own)
    if root is not None and root != own:
        # The project's files are another party's (a pull request's): none may be run
        # or trusted as a CA, however the config reaches it.
        reasons = list(_inside_project(result.document, config))
        if reasons:
            raise ConfigError(*reasons)
    return config


def project_root(here: Path) -> Path:
    """The git work tree's top, where a project without a config keeps its files."""
    if not _may_be_in_git(here):
        return here  # what git would answer, without starting it (~10 ms of every lint)
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return here  # no git installed: the cwd is all there is to go on
    top = done.stdout.strip()
    return Path(top).resolve() if done.returncode == 0 and top else here


def _may_be_in_git(here: Path) -> bool:
    """False only when git cannot find a work tree for ``here``: no ``.git`` in it or above
    it, and no GIT_ variable that points git elsewhere (GIT_DIR, GIT_WORK_TREE, ...)."""
    if any(name.startswith("GIT_") for name in os.environ):
        return True
    return any(os.path.lexists(os.path.join(d, ".git")) for d in (here, *here.parents))


def _only_comments(text: str) -> bool:
    # An empty or comment-only file means "all defaults", as in a fresh `portal-config init`.
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def _interpret(document: Document, root: Path, source: Path, own: Path) -> Config:
    from portal_config.lint import schema

    problems = sorted(schema.check_config(document), key=lambda p: p.sort_key())
    if problems:
        raise ConfigError(*(f"{p.location()}: {p.message}" for p in problems))
    reasons = list(_semantic_problems(document))
    if reasons:
        raise ConfigError(*reasons)
    data: dict[str, Any] = document.data
    targets = _targets(data.get("targets"), root, own)
    default = data.get("default_target")
    if default is None:
        default = DEFAULT_TARGET if DEFAULT_TARGET in targets else next(iter(targets))
    rules = data.get("rules") or {}
    return Config(
        root=root,
        source=source,
        portals_dir=root / data.get("portals_dir", DEFAULT_PORTALS_DIR),
        catalog=root / data.get("catalog", DEFAULT_CATALOG),
        catalog_origin=_where(document, ("catalog",)) if "catalog" in data else None,
        rule_levels={
            rule: None if setting == "disable" else Level(setting)
            for rule, setting in rules.items()
        },
        targets=targets,
        default_target=default,
        safety=_safety(data.get("safety") or {}),
        accounts=_accounts(data.get("accounts") or {}, own),
        ignore=Ignore(tuple(data.get("ignore") or ())),
    )


def _targets(section: dict[str, Any] | None, root: Path, own: Path) -> dict[str, Target]:
    """The targets; paths the file names are relative to its directory, ``own``."""
    if section is None:
        return _default_targets(root)
    targets = {}
    for name, spec in section.items():
        state, bundle = spec.get("sandbox"), spec.get("ca_bundle")
        timeout = float(spec.get("token_command_timeout", DEFAULT_TOKEN_COMMAND_TIMEOUT))
        commands = {
            key: TokenCommand(tuple(spec[key]), own, timeout, f"targets.{name}.{key}")
            for key in _TOKEN_COMMANDS
            if key in spec
        }
        # int()/float(): the schema lets 2.0 be an integer and 2 a number, as JSON does.
        targets[name] = Target(
            name=name,
            base_url=spec.get("base_url"),
            sandbox_state=own / state if state is not None else None,
            token_env=spec.get("token_env", DEFAULT_TOKEN_ENV),
            software_token_env=spec.get("software_token_env", DEFAULT_SOFTWARE_TOKEN_ENV),
            token_command=commands.get("token_command"),
            software_token_command=commands.get("software_token_command"),
            concurrency=int(spec.get("concurrency", DEFAULT_CONCURRENCY)),
            ca_bundle=own / bundle if bundle is not None else None,
            deadline=float(spec.get("deadline", Target.deadline)),
            retries=int(spec.get("retries", Target.retries)),
            backoff=float(spec.get("backoff", Target.backoff)),
            timeout=float(spec.get("timeout", Target.timeout)),
        )
    return targets


def _accounts(section: dict[str, Any], own: Path) -> dict[str, Account]:
    accounts = {}
    for name, spec in section.items():
        spec = spec or {}
        command = spec.get("token_command")
        accounts[name] = Account(
            name=name,
            token_env=spec.get("token_env", account_token_env(name)),
            token_command=TokenCommand(
                tuple(command),
                own,
                float(spec.get("token_command_timeout", DEFAULT_TOKEN_COMMAND_TIMEOUT)),
                f"accounts.{name}.token_command",
            )
            if command is not None
            else None,
            base_url=spec.get("base_url"),
            ignore=tuple(spec.get("ignore") or ()),
        )
    return accounts


def _inside_project(document: Document, config: Config) -> Iterator[str]:
    """Each program and CA bundle of the config that resolves inside the project."""
    named: list[tuple[JsonPath, Path | None]] = []
    for name, target in config.targets.items():
        for key in _TOKEN_COMMANDS:
            command = getattr(target, key)
            if command is not None:
                named.append((("targets", name, key), program_path(command)))
        if target.ca_bundle is not None:
            named.append((("targets", name, "ca_bundle"), target.ca_bundle))
    for name, account in config.accounts.items():
        if account.token_command is not None:
            where = program_path(account.token_command)
            named.append((("accounts", name, "token_command"), where))
    for at, path in named:
        if path is not None and path.resolve().is_relative_to(config.root):
            yield (
                f"{_where(document, at)}: {'.'.join(map(str, at))}: {path.resolve()} is inside "
                f"--project {config.root}, whose files are data: name a program or file "
                "outside it (beside the config)"
            )


def program_path(command: TokenCommand) -> Path | None:
    """The file the command runs, found as the child process will find it: a path is
    relative to the command's directory, and so is a relative PATH entry; None: not found."""
    program = command.argv[0]
    if os.sep in program or (os.altsep and os.altsep in program):
        return command.cwd / program
    import shutil  # ~3 ms of compression modules that lint, which runs no command, spares

    entries = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which(program, path=os.pathsep.join(str(command.cwd / e) for e in entries))
    return Path(found) if found is not None else None


def account_token_env(name: str) -> str:
    """An account's token variable unless the config names one: OUTSMART_TOKEN_ACME_NOORD."""
    return f"{DEFAULT_TOKEN_ENV}_{name.upper().replace('-', '_')}"


def _safety(section: dict[str, Any]) -> Safety:
    defaults = Safety()
    return Safety(
        fleet_max_portals=int(section.get("fleet_max_portals", defaults.fleet_max_portals)),
        max_portals=int(section.get("max_portals", defaults.max_portals)),
        max_share=float(section.get("max_share", defaults.max_share)),
        min_portals_for_share=int(
            section.get("min_portals_for_share", defaults.min_portals_for_share)
        ),
    )


# Each token's command, and the variable it replaces.
_TOKEN_COMMANDS = {"token_command": "token_env", "software_token_command": "software_token_env"}


def _semantic_problems(document: Document) -> Iterator[str]:
    """What the schema leaves to code; the schema already vouched for the types.

    minItems and "not both" are checked here, not in the schema, because the precheck
    that keeps valid configs from importing jsonschema knows neither keyword.
    """
    data = document.data
    section = data.get("targets") or {}
    for name in section:
        yield from _url_problems(document, ("targets", name))
        yield from _command_problems(document, ("targets", name), _TOKEN_COMMANDS)
    for name in data.get("accounts") or {}:
        yield from _url_problems(document, ("accounts", name))
        yield from _command_problems(document, ("accounts", name), {"token_command": "token_env"})
    default = data.get("default_target")
    names = list(section) or [DEFAULT_TARGET]
    if default is not None and default not in names:
        yield f"{_where(document, ('default_target',))}: " + unknown_target(
            f"default_target '{default}' is not a configured target", default, names
        )


def _url_problems(document: Document, at: tuple[str, str]) -> Iterator[str]:
    """A target's or an account's base_url: https, or http to loopback only."""
    url = (document.data[at[0]][at[1]] or {}).get("base_url")
    problem = url_problem(url) if url is not None else None
    if problem:
        yield f"{_where(document, (*at, 'base_url'))}: {'.'.join(at)}.base_url: {problem}"


def _command_problems(
    document: Document, at: tuple[str, str], commands: Mapping[str, str]
) -> Iterator[str]:
    """A token command must name a program, and replaces its variable: not both."""
    spec = document.data[at[0]][at[1]] or {}
    for command, variable in commands.items():
        if command not in spec:
            continue
        key = ".".join((*at, command))
        if not spec[command]:
            where = _where(document, (*at, command))
            yield f"{where}: {key} must name a command, got an empty list"
        if variable in spec:
            where = _where(document, (*at, command), key=True)
            yield f"{where}: {key}: give {command} or {variable}, not both"


def unknown_target(message: str, name: str, known: list[str]) -> str:
    """``message`` with a did-you-mean, or the configured targets when nothing is close."""
    import difflib  # only a misspelt name asks; lint loads the config every run

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean '{close[0]}'?"
    return f"{message}; configured targets: {', '.join(known)}"


def _where(document: Document, path: JsonPath, *, key: bool = False) -> str:
    return f"{document.path}:{document.locate(path, key=key)}"


def url_problem(url: str) -> str | None:
    """Why a base URL is unacceptable: plain http is allowed only to loopback."""
    try:
        from urllib.parse import urlsplit  # only a configured target's URL needs it

        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unbalanced IPv6 bracket, say
        host = None
    if not host or parts.scheme not in ("http", "https"):
        return f"'{url}' is not an http(s) URL"
    if parts.query or parts.username or parts.password:
        return "must not carry a query or credentials; tokens come from environment variables"
    if parts.scheme == "http" and not _is_loopback(host):
        return "plain http is only allowed to loopback addresses; use https"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only a configured target's URL needs it, never lint

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
