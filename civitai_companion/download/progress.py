"""Progress of a download as events a UI can show: bytes, total, speed, ETA and the current phase.

Events are throttled (10 a second by default) so a fast download does not flood a UI or a terminal.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable


@dataclass
class DownloadProgress:
    """One progress event: ``phase`` is resolving, checking, downloading, verifying, done or skipped."""

    phase: str
    bytes_done: int = 0
    total: int | None = None
    speed: float | None = None  # bytes per second over the last few seconds
    eta: float | None = None  # seconds
    name: str | None = None


class ProgressMeter:
    """Turns byte counts into throttled events with a sliding-window speed; thread-safe."""

    def __init__(
        self,
        callback: Callable[[DownloadProgress], object] | None,
        *,
        name: str | None = None,
        min_interval: float = 0.1,
        window: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.callback = callback
        self.name = name
        self.min_interval = min_interval
        self.window = window
        self.clock = clock
        self.phase = "resolving"
        self.total: int | None = None
        self.done = 0
        self._samples: deque[tuple[float, int]] = deque()
        self._last_emit = float("-inf")
        self._lock = threading.Lock()

    def set_phase(self, phase: str, *, done: int | None = None, total: int | None = None) -> None:
        with self._lock:
            self.phase = phase
            if total is not None:
                self.total = total
            if done is not None:
                self.done = done
                self._samples.clear()
        self._emit(force=True)

    def update(self, done: int) -> None:
        now = self.clock()
        with self._lock:
            self.done = done
            self._samples.append((now, done))
            while len(self._samples) > 2 and now - self._samples[0][0] > self.window:
                self._samples.popleft()
        self._emit(force=False, now=now)

    def speed(self) -> float | None:
        with self._lock:
            if len(self._samples) < 2:
                return None
            (t0, b0), (t1, b1) = self._samples[0], self._samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else None

    def snapshot(self) -> DownloadProgress:
        speed = self.speed()
        eta = None
        if speed and self.total is not None and self.phase == "downloading":
            eta = max(0.0, (self.total - self.done) / speed)
        return DownloadProgress(self.phase, self.done, self.total, speed, eta, self.name)

    def _emit(self, *, force: bool, now: float | None = None) -> None:
        if self.callback is None:
            return
        now = self.clock() if now is None else now
        if not force and now - self._last_emit < self.min_interval:
            return
        self._last_emit = now
        self.callback(self.snapshot())


