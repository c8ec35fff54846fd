"""Rolling rates, latencies and counters of the node, reported as key-value pairs for /diagnostics."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

import numpy as np

WINDOW = 300  # samples kept; bounded so memory stays flat however long the node runs
PHASE_PREFIX = "phase_"  # diagnostics keys phase_<name>_ms_p50


class RateMeter:
    def __init__(self) -> None:
        self._times: deque[float] = deque(maxlen=WINDOW)

    def tick(self, now: float | None = None) -> None:
        self._times.append(time.monotonic() if now is None else now)

    def rate(self) -> float:
        if len(self._times) < 2 or self._times[-1] == self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


class NodeStats:
    """Thread-safe counters shared by the callbacks and the inference worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rates = {name: RateMeter() for name in ("rgb", "aux", "tracked")}
        self.latency_ms: deque[float] = deque(maxlen=WINDOW)
        # Where a tracked frame's time goes (ms): waiting (stamp to the worker taking the pair: transport, sync,
        # queue), convert (messages to images), the engine's phases, publish.
        self.phases_ms: dict[str, deque[float]] = {}
        self.counters: Counter = Counter()

    def tick(self, name: str) -> None:
        with self._lock:
            self.rates.setdefault(name, RateMeter()).tick()

    def count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.counters[name] += amount

    def add_latency(self, milliseconds: float) -> None:
        with self._lock:
            self.latency_ms.append(milliseconds)

    def add_phases(self, milliseconds: dict[str, float]) -> None:
        with self._lock:
            for name, value in milliseconds.items():
                self.phases_ms.setdefault(name, deque(maxlen=WINDOW)).append(value)

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            values = {f"{name}_rate_hz": f"{meter.rate():.2f}" for name, meter in self.rates.items()}
            if self.latency_ms:
                p50, p95 = np.percentile(list(self.latency_ms), [50, 95])
                values |= {"latency_ms_p50": f"{p50:.1f}", "latency_ms_p95": f"{p95:.1f}"}
            values |= {
                f"{PHASE_PREFIX}{name}_ms_p50": f"{np.median(list(v)):.2f}" for name, v in self.phases_ms.items()
            }
            values |= {name: str(count) for name, count in sorted(self.counters.items())}
        return values
