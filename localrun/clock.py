"""The emulator's clock: wall time plus the idle time the emulator chose to skip.

AWS waits minutes in places (SQS visibility timeouts, Lambda's async retry delays),
and the AWS SDK sleeps between retries; the local run must finish in seconds. Instead
of sleeping, the emulator *advances* this clock: every timer the emulator owns is
computed on it, and listeners (the SQS time-shifter) move moto's own timers forward by
the same amount. `SdkBackoff` does the same for botocore's retry backoff. Every skip
is recorded, so output can say "waited 6 min (simulated)".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .patches import Patch


@dataclass(frozen=True)
class SimulatedWait:
    """One skip of the clock: how long, and why."""

    seconds: float
    reason: str


class SimClock:
    """Emulated time = wall clock + every skipped wait."""

    def __init__(self, *, realtime: bool = False) -> None:
        # Real-time mode (the local cloud, `local_cloud.py`): every wait really happens, nothing is skipped.
        self.realtime = realtime
        self.skipped_seconds = 0.0
        self.waits: list[SimulatedWait] = []
        self._listeners: list[Callable[[float], None]] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self.skipped_seconds

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call `listener(seconds)` whenever the clock skips ahead."""
        self._listeners.append(listener)

    def advance(self, seconds: float, reason: str) -> None:
        """Skip `seconds` of idle time (never backwards); in real-time mode, sleep them instead."""
        if seconds <= 0:
            return
        if self.realtime:
            time.sleep(seconds)  # e.g. the handler's backoff pause, botocore's retry backoff
            return
        with self._lock:
            self.skipped_seconds += seconds
            self.waits.append(SimulatedWait(seconds, reason))
            for listener in self._listeners:
                listener(seconds)

    def waited_by_reason(self, since: int = 0) -> dict[str, float]:
        """Total simulated seconds per reason, for waits[since:]."""
        totals: dict[str, float] = {}
        for wait in self.waits[since:]:
            totals[wait.reason] = totals.get(wait.reason, 0.0) + wait.seconds
        return totals


class _TimeWithSimulatedSleep:
    """Stands in for the `time` module inside botocore.endpoint: `sleep` advances the clock instead."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        self._clock.advance(seconds, "AWS SDK retry backoff")

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


class SdkBackoff:
    """botocore sleeps between retry attempts (standard mode: up to 20 s); here that wait is simulated."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def patches(self) -> list[Patch]:
        return [
            Patch(
                "botocore.endpoint",
                "time",
                _TimeWithSimulatedSleep(self._clock),
                reason="botocore's retry backoff sleeps on the simulated clock",
            )
        ]
