"""Reading `portal-config.yaml` into a `Config`, and checking it on the way.

The file is found by walking up from the cwd; without one, the defaults are anchored
at the git work tree's top (or the cwd outside git). Paths are relative to the file.

The project (``--project DIR``) can be elsewhere: the portal files (portals_dir, catalog,
accounts/) and the git history are then read in DIR, while the programs, CA bundle and
sandbox state the file names stay relative to the file. A pull request job points at the
base branch's tree for the config and at the pull request's checkout for the files, so
the pull request supplies data only: a token command or ca_bundle that resolves inside
DIR (by its path, a PATH entry or a symlink) is refused, never run or trusted.

The structure is checked by ``schema/config.schema.json`` (so editors and lint agree on
it), the few things a schema cannot say (URL rules, ``default_target`` naming a target) by
a short pass after it. Every mistake is a `ConfigError` line
``invalid config: FILE:LINE:COL: ...``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from portal_config.errors import ConfigError
from portal_config.file_access import Repository
from portal_config.lint import schema
from portal_config.lint.loader import Document, JsonPath, load_file
from portal_config.problems import Level, Position
from portal_config.project.config import (
    CONFIG_NAME,
    DEFAULT_CATALOG,
    DEFAULT_CONCURRENCY,
    DEFAULT_PORTALS_DIR,
    DEFAULT_SOFTWARE_TOKEN_ENV,
    DEFAULT_TARGET,
    DEFAULT_TOKEN_COMMAND_TIMEOUT,
    DEFAULT_TOKEN_ENV,
    Account,
    Config,
    Ignore,
    Safety,
    Target,
    TokenCommand,
    account_token_env,
    default_targets,
    unknown_target,
)


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
        accounts=_accounts(document, data.get("accounts") or {}, own),
        ignore=Ignore(tuple(data.get("ignore") or ())),
        extends=tuple(data.get("extends") or ()),
        extends_at=_names_at(document, ("extends",)),
        sections=tuple(data["sections"]) if data.get("sections") is not None else None,
    )


def _targets(section: dict[str, Any] | None, root: Path, own: Path) -> dict[str, Target]:
    """The targets; paths the file names are relative to its directory, ``own``."""
    if section is None:
        return default_targets(root)
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


def _accounts(document: Document, section: dict[str, Any], own: Path) -> dict[str, Account]:
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
            extends=tuple(spec.get("extends") or ()),
            extends_at=_names_at(document, ("accounts", name, "extends")),
        )
    return accounts


def _names_at(document: Document, path: JsonPath) -> dict[str, Position]:
    """Where each name of the (schema-valid) list at ``path`` is, by name: the first."""
    node: Any = document.data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    names = node if isinstance(node, list) else []
    found: dict[str, Position] = {}
    for index, name in enumerate(names):
        found.setdefault(name, document.locate((*path, index)))
    return found


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
    import shutil  # start-up: ~2 ms of compression modules that lint, running no command, spares

    entries = os.environ.get("PATH", os.defpath).split(os.pathsep)
    found = shutil.which(program, path=os.pathsep.join(str(command.cwd / e) for e in entries))
    return Path(found) if found is not None else None


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


def _where(document: Document, path: JsonPath, *, key: bool = False) -> str:
    return f"{document.path}:{document.locate(path, key=key)}"


def url_problem(url: str) -> str | None:
    """Why a base URL is unacceptable: plain http is allowed only to loopback."""
    try:
        from urllib.parse import urlsplit  # start-up: only a target's URL needs it, not lint

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
    import ipaddress  # start-up: only a target's URL needs it, never lint

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
