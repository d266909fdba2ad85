"""The sandbox HTTP server: a real server on loopback speaking the portal-settings contract.

Starting and stopping it; what it answers is `handler`'s.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from portal_config.sandbox.faults import FaultPlan, Faults
from portal_config.sandbox.handler import PREFIX, SandboxServer
from portal_config.sandbox.state import SandboxState

SHUTDOWN_POLL = 0.02  # seconds


@dataclass
class Sandbox:
    """A running sandbox: its base URL, its state, and how to stop it.

    ``state`` is the default account's (the only one, unless started with ``accounts``).
    """

    server: SandboxServer
    thread: threading.Thread | None
    state: SandboxState

    @property
    def accounts(self) -> Mapping[str, SandboxState]:
        """Every account's state by its token, the default account's included."""
        return self.server.accounts

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        assert isinstance(host, str)  # bound by name or IP text, never bytes
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host}:{port}{PREFIX}"

    @property
    def requests_seen(self) -> int:
        return self.server.requests_seen

    @property
    def served(self) -> Counter[tuple[str, str]]:
        """How many requests were served, by method and path (no query)."""
        with self.server.counter_lock:
            return Counter(self.server.served)

    def set_faults(self, faults: Faults) -> None:
        self.server.faults = FaultPlan(faults)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


HTTP_STATUS_ERRORS_ENV = "SANDBOX_HTTP_STATUS_ERRORS"


def http_status_errors_from_env(environ: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(HTTP_STATUS_ERRORS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def start_sandbox(
    state: SandboxState,
    *,
    token: str,
    software_token: str,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    background: bool = True,
    tls: ssl.SSLContext | None = None,
    http_status_errors: bool | None = None,
    idle_timeout: float = 30.0,
    accounts: Mapping[str, SandboxState] | None = None,
) -> Sandbox:
    """Start serving on ``host:port`` (0 = any free port); in a daemon thread if ``background``.

    With ``tls`` it serves https, which the tests use to prove certificates are verified.
    Errors are HTTP 200 with the code in the envelope, as OutSmart answers them, unless
    ``http_status_errors`` (default: the SANDBOX_HTTP_STATUS_ERRORS variable) makes the
    status line mirror the code, as a proxy in front of it might. A connection that
    sends nothing for ``idle_timeout`` seconds is closed.

    ``state`` is served to ``token``; ``accounts`` (account token -> state) adds more
    accounts, as OutSmart serves each customer account to its own token. All of them
    share the ``software_token``, the faults and the counters.
    """
    if http_status_errors is None:
        http_status_errors = http_status_errors_from_env()
    more = dict(accounts or {})
    if more.get(token, state) is not state:
        # Two states behind one token: which one a request reaches would be arbitrary.
        raise ValueError("the default token is also given in accounts, with another state")
    served = {token: state, **more}
    server = SandboxServer(
        (host, port),
        served,
        faults or Faults(),
        software_token,
        http_status_errors,
        idle_timeout,
    )
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = None
    if background:
        # serve_forever checks for shutdown() once per poll interval (0.5 s by default):
        # every diff on the in-process sandbox and every test would wait it out on exit.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL},
            name="portal-config-sandbox",
            daemon=True,
        )
        thread.start()
    return Sandbox(server, thread, state)
