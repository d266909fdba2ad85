"""The sandbox as a separate process: for benchmarks and kill tests, where the server
must not share the client's interpreter (or die with it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


class SandboxProcess:
    """`portal-config sandbox` on a free loopback port, with its state in ``state``."""

    def __init__(
        self,
        state: Path,
        *flags: str,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.state = state
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "portal_config",
                "sandbox",
                "--port",
                "0",
                "--state",
                str(state),
                *flags,
            ],
            cwd=cwd or state.parent,
            stderr=subprocess.PIPE,
            text=True,
            env={**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stderr is not None
        self.banner = self.process.stderr.readline().strip()
        if not self.banner.startswith("Sandbox listening on "):
            self.process.kill()
            raise RuntimeError(f"sandbox did not start: {self.banner!r}")
        self.url = self.banner.split()[3]

    def stop(self) -> str:
        """Stop it politely (SIGTERM) and return what it said when it stopped."""
        self.process.terminate()
        return self.process.communicate(timeout=30)[1].strip()

    def kill(self) -> None:
        """SIGKILL: no chance to finish a write or clean up."""
        self.process.kill()
        self.process.communicate(timeout=30)
