"""The emulator's clock: wall time plus the idle time the emulator chose to skip.

AWS waits minutes in places (SQS visibility timeouts, Lambda's async retry delays);
the local run must finish in seconds. Instead of sleeping, the emulator *advances*
this clock when nothing is runnable: every timer the emulator owns is computed on
this clock, and listeners (the SQS time-shifter) move moto's own timers forward by
the same amount. Every skip is recorded, so output can say "waited 6 min (simulated)".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatedWait:
    """One skip of the clock: how long, and why."""

    seconds: float
    reason: str


class SimClock:
    """Emulated time = wall clock + every skipped wait."""

    def __init__(self) -> None:
        self.skipped_seconds = 0.0
        self.waits: list[SimulatedWait] = []
        self._listeners: list[Callable[[float], None]] = []

    def now(self) -> float:
        return time.time() + self.skipped_seconds

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call `listener(seconds)` whenever the clock skips ahead."""
        self._listeners.append(listener)

    def advance(self, seconds: float, reason: str) -> None:
        """Skip `seconds` of idle time (never backwards)."""
        if seconds <= 0:
            return
        self.skipped_seconds += seconds
        self.waits.append(SimulatedWait(seconds, reason))
        for listener in self._listeners:
            listener(seconds)
