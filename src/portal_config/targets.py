"""Targets: where diff, apply and pull send their requests.

    default_target: sandbox
    targets:
      sandbox:
        sandbox: .portal-config/sandbox.json   # in-process sandbox with this state file
      production:
        base_url: https://www.werkbonapp.nl/openapi/8/
        token_env: OUTSMART_TOKEN                # names of variables, never the tokens
        software_token_env: OUTSMART_SOFTWARE_TOKEN
        concurrency: 4
        ca_bundle: certs/corporate-ca.pem        # optional; TLS verification is always on

Without a ``targets`` section there is one target, ``sandbox``, with its state in
``.portal-config/sandbox.json``, so a fresh clone can diff and apply at once.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from portal_config.config import Config, config_error
from portal_config.errors import ConfigError, UsageError
from portal_config.sandbox.tokens import SANDBOX_TOKENS
from portal_config.tokens import DEFAULT_SOFTWARE_TOKEN_ENV, DEFAULT_TOKEN_ENV

if TYPE_CHECKING:
    from portal_config.api import OutSmartClient

DEFAULT_SANDBOX_STATE = ".portal-config/sandbox.json"
DEFAULT_CONCURRENCY = 4
_TARGET_KEYS = (
    "sandbox",
    "base_url",
    "token_env",
    "software_token_env",
    "concurrency",
    "ca_bundle",
    "deadline",
    "retries",
    "backoff",
    "timeout",
)


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str | None = None
    sandbox_state: Path | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    software_token_env: str = DEFAULT_SOFTWARE_TOKEN_ENV
    concurrency: int = DEFAULT_CONCURRENCY
    ca_bundle: Path | None = None
    deadline: float = 300.0
    retries: int = 6
    backoff: float = 0.25
    timeout: float = 30.0

    @property
    def is_sandbox(self) -> bool:
        return self.base_url is None


def resolve_target(config: Config, name: str | None) -> Target:
    targets = _declared(config)
    data = config.document.data if config.document is not None else {}
    chosen = name or data.get("default_target") or ("sandbox" if "sandbox" in targets else None)
    if chosen is None:
        chosen = next(iter(targets))
    if chosen not in targets:
        known = ", ".join(sorted(targets))
        raise UsageError(f"unknown target '{chosen}'; configured targets: {known}")
    return targets[chosen]


def _declared(config: Config) -> dict[str, Target]:
    document = config.document
    section = document.data.get("targets") if document is not None else None
    if document is None or section is None:
        return {"sandbox": Target("sandbox", sandbox_state=config.root / DEFAULT_SANDBOX_STATE)}
    if not isinstance(section, dict) or not section:
        raise config_error(
            document, ("targets",), "targets must be a mapping of target names to settings"
        )
    targets = {}
    for name, spec in section.items():
        targets[name] = _parse_target(config, name, spec)
    default = document.data.get("default_target")
    if default is not None and default not in targets:
        raise config_error(
            document, ("default_target",), f"default_target '{default}' is not a configured target"
        )
    return targets


def _parse_target(config: Config, name: str, spec: Any) -> Target:
    assert config.document is not None
    document = config.document

    def fail(key: str | None, message: str, on_key: bool = False) -> ConfigError:
        path: tuple[str, ...] = ("targets", name) + ((key,) if key else ())
        where = f"targets.{name}{'.' + key if key else ''}"
        return config_error(document, path, f"{where}: {message}", key=on_key or key is None)

    if not isinstance(spec, dict):
        raise fail(None, "must be a mapping with either 'sandbox' or 'base_url'")
    for key in spec:
        if key not in _TARGET_KEYS:
            raise fail(key, f"unknown setting; allowed: {', '.join(_TARGET_KEYS)}", on_key=True)
    if ("sandbox" in spec) == ("base_url" in spec):
        raise fail(None, "needs exactly one of 'sandbox' (a state file) or 'base_url'")
    concurrency = spec.get("concurrency", DEFAULT_CONCURRENCY)
    if (
        not isinstance(concurrency, int)
        or isinstance(concurrency, bool)
        or not 1 <= concurrency <= 64
    ):
        raise fail("concurrency", "must be an integer from 1 to 64")
    deadline = spec.get("deadline", 300)
    if not isinstance(deadline, (int, float)) or isinstance(deadline, bool) or deadline <= 0:
        raise fail("deadline", "must be a positive number of seconds")
    retries = spec.get("retries", 6)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= 10:
        raise fail("retries", "must be an integer from 0 to 10")
    timeout = spec.get("timeout", 30)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 600:
        raise fail("timeout", "must be a number of seconds from 0 to 600")
    backoff = spec.get("backoff", 0.25)
    if not isinstance(backoff, (int, float)) or isinstance(backoff, bool) or not 0 <= backoff <= 10:
        raise fail("backoff", "must be a number of seconds from 0 to 10")
    for key in ("token_env", "software_token_env", "sandbox", "base_url", "ca_bundle"):
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            raise fail(key, "must be a non-empty string")
    base_url = spec.get("base_url")
    if base_url is not None:
        problem = url_problem(base_url)
        if problem:
            raise fail("base_url", problem)
    return Target(
        name=name,
        base_url=base_url,
        sandbox_state=config.root / spec["sandbox"] if "sandbox" in spec else None,
        token_env=spec.get("token_env", DEFAULT_TOKEN_ENV),
        software_token_env=spec.get("software_token_env", DEFAULT_SOFTWARE_TOKEN_ENV),
        concurrency=concurrency,
        ca_bundle=config.root / spec["ca_bundle"] if "ca_bundle" in spec else None,
        deadline=float(deadline),
        retries=retries,
        backoff=float(backoff),
        timeout=float(timeout),
    )


def url_problem(url: str) -> str | None:
    """Why a base URL is unacceptable: plain http is allowed only to loopback."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{url}' is not an http(s) URL"
    if parts.query or parts.username or parts.password:
        return "must not carry a query or credentials; tokens come from environment variables"
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        return "plain http is only allowed to loopback addresses; use https"
    return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def open_client(
    target: Target,
    concurrency: int | None = None,
    *,
    say: Callable[[str], None] | None = None,
    trace: Callable[[str], None] | None = None,
) -> Iterator[OutSmartClient]:
    """A client for the target; for a sandbox target, a sandbox started for this run.

    ``say`` gets one line per retry, ``trace`` one redacted line per request and answer.
    """
    from portal_config.api import ClientSettings, OutSmartClient

    settings = ClientSettings(
        concurrency=concurrency or target.concurrency,
        deadline=target.deadline,
        retries=target.retries,
        backoff=target.backoff,
        read_timeout=target.timeout,
        verify=str(target.ca_bundle) if target.ca_bundle else True,
    )

    def client(base_url: str, token: str, software_token: str) -> OutSmartClient:
        # The variable names let an authentication error say which one to check.
        return OutSmartClient(
            base_url,
            token,
            software_token,
            settings,
            token_env=target.token_env,
            software_token_env=target.software_token_env,
            say=say,
            trace=trace,
        )

    if target.is_sandbox:
        from portal_config.sandbox import Faults, SandboxState, start_sandbox
        from portal_config.sandbox.demo import demo_account
        from portal_config.sandbox.state import StateError

        assert target.sandbox_state is not None
        token = os.environ.get(target.token_env) or SANDBOX_TOKENS[0]
        software_token = os.environ.get(target.software_token_env) or SANDBOX_TOKENS[1]
        try:
            state = SandboxState.open(target.sandbox_state, demo_account())
        except StateError as exc:
            raise UsageError(str(exc)) from None
        with start_sandbox(
            state, token=token, software_token=software_token, faults=Faults.from_env()
        ) as sandbox:
            with client(sandbox.url, token, software_token) as opened:
                yield opened
        return
    assert target.base_url is not None
    token = os.environ.get(target.token_env, "")
    software_token = os.environ.get(target.software_token_env, "")
    missing = [
        name
        for name, value in ((target.token_env, token), (target.software_token_env, software_token))
        if not value
    ]
    if missing:
        raise UsageError(
            f"target {target.name}: set the environment variable(s) {', '.join(missing)}"
        )
    with client(target.base_url, token, software_token) as opened:
        yield opened


def announce(target: Target, client: OutSmartClient) -> str:
    """The first line of every diff and apply output: where this run goes, no secrets."""
    kind = " (in-process sandbox)" if target.is_sandbox else ""
    return f"Target: {target.name}{kind} {client.display_url}"
