"""Fault injection for the sandbox: all off by default.

Each fault is a flag of `portal-config sandbox` and an environment variable
(SANDBOX_<FIELD>, e.g. SANDBOX_LATENCY_MS), so tests and benchmarks can switch
them on for an in-process or a separate server:

- latency_ms: sleep before every answer.
- error_rate: share of requests answered HTTP 500/502/503 (a proxy's), nothing done.
- envelope_error_rate: share of requests answered HTTP 200 with envelope code 1007
  ("general uncaught error", OutSmart's own transient failure), nothing done.
- rate_limit: requests per second beyond which the answer is 429 + Retry-After.
- throttle_rate: share of requests answered 429 + Retry-After: 1.
- drop_rate: share of requests whose connection is closed mid-response, nothing done.
- lost_write_rate: share of writes applied whose answer is then lost (the ambiguous write).
- conflict_rate: share of writes preceded by a concurrent "UI" edit of the same portal.
- seed: random seed, for reproducible runs.

Writes whose outcome a client can only learn by reading again (apply's read-back):

- unstored_write_rate: share of writes answered as stored (the record with the new
  settings and the next revision) but not stored: acknowledged, then dropped.
- applied_error_rate: share of writes stored, then answered HTTP 500 (a proxy whose
  upstream answered too late).
- gone_after_writes: after this many writes were stored, the server goes away: it answers
  nothing more, and new connections are refused. 0: never.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Faults:
    latency_ms: float = 0.0
    error_rate: float = 0.0
    envelope_error_rate: float = 0.0
    rate_limit: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    lost_write_rate: float = 0.0
    conflict_rate: float = 0.0
    seed: int | None = None
    # Writes whose outcome only a read can tell (see the module docstring).
    unstored_write_rate: float = 0.0
    applied_error_rate: float = 0.0
    gone_after_writes: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Faults:
        environ = os.environ if environ is None else environ
        values: dict[str, float | int] = {}
        for spec in fields(cls):
            raw = environ.get(f"SANDBOX_{spec.name.upper()}")
            if raw:
                values[spec.name] = int(raw) if spec.name in _COUNTS else float(raw)
        return cls(**values)  # type: ignore[arg-type]

    def merged(self, **overrides: float | int | None) -> Faults:
        current = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        current.update({k: v for k, v in overrides.items() if v is not None})
        return Faults(**current)


_COUNTS = ("seed", "gone_after_writes")  # whole numbers; every other fault is a rate or ms


class FaultPlan:
    """Draws the faults for each request, thread-safely, from one seeded generator."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self._window_start = time.monotonic()
        self._window_count = 0

    def chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._random.random() < rate

    def pick(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return self._random.choice(options)

    def rate_limited(self) -> int | None:
        """Seconds to wait if this request exceeds the per-second limit, else None."""
        limit = self.faults.rate_limit
        if limit <= 0:
            return None
        with self._lock:
            now = time.monotonic()
            if now - self._window_start >= 1.0:
                self._window_start, self._window_count = now, 0
            self._window_count += 1
            if self._window_count > limit:
                return max(1, math.ceil(1.0 - (now - self._window_start)))
        return None
