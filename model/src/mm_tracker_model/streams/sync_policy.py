"""Approximate-time pairing of RGB frames with the nearest X frame (message_filters is not on PyPI).

Pure Python, no ROS types: stamps are nanoseconds, payloads anything. Each RGB frame is paired with the X
message nearest in time within `slop`. An RGB frame with no X message within slop (the X stream is late,
slower, or stopped) is released with `aux=None` once newer data shows none can still come, so the caller can
run an RGB-only mode instead of losing the frame. Queues are bounded; every drop is counted by reason.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SyncedPair:
    rgb_stamp: int
    rgb: Any
    aux_stamp: int | None
    aux: Any


@dataclass
class SyncPolicy:
    slop_ns: int
    queue_size: int = 10
    drops: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.slop_ns < 0 or self.queue_size < 1:
            raise ValueError(f"slop {self.slop_ns} ns must be >= 0 and queue size {self.queue_size} >= 1")
        self._rgb: deque[tuple[int, Any]] = deque()
        self._aux: deque[tuple[int, Any]] = deque()
        self._last_stamp: int | None = None
        self._aux_intervals: deque[int] = deque(maxlen=9)
        self._last_aux: int | None = None
        self._newest: dict[str, int] = {}  # newest stamp accepted per stream

    def clear(self) -> None:
        self._rgb.clear()
        self._aux.clear()
        self._last_stamp = None
        self._aux_intervals.clear()
        self._last_aux = None
        self._newest.clear()

    def _check_time(self, stamp: int) -> None:
        # A stamp far behind everything seen (a bag loop, a clock reset) invalidates both queues.
        if self._last_stamp is not None and stamp < self._last_stamp - 2 * self.slop_ns - 1_000_000_000:
            self.drops["time_jump"] += len(self._rgb) + len(self._aux)
            self.clear()
        self._last_stamp = stamp if self._last_stamp is None else max(self._last_stamp, stamp)

    def _push(self, queue: deque, stamp: int, payload: Any, name: str) -> bool:
        # Compared with the newest accepted stamp, not the queue tail: the queue is often already drained.
        if stamp < self._newest.get(name, stamp):
            self.drops[f"{name}_out_of_order"] += 1
            return False
        self._newest[name] = stamp
        queue.append((stamp, payload))
        while len(queue) > self.queue_size:
            queue.popleft()
            self.drops[f"{name}_overflow"] += 1
        return True

    def add_rgb(self, stamp: int, payload: Any) -> list[SyncedPair]:
        self._check_time(stamp)
        self._push(self._rgb, stamp, payload, "rgb")
        return self._match()

    def add_aux(self, stamp: int, payload: Any) -> list[SyncedPair]:
        self._check_time(stamp)
        if self._push(self._aux, stamp, payload, "aux"):
            if self._last_aux is not None:
                self._aux_intervals.append(stamp - self._last_aux)
            self._last_aux = stamp
        return self._match()

    def flush(self) -> list[SyncedPair]:
        """The end of the streams (a bag ran out): pair what is still waiting with what has arrived."""
        if self._last_stamp is not None:
            self._last_stamp += self.slop_ns + 1
        return self._match()

    def _match(self) -> list[SyncedPair]:
        pairs = []
        while self._rgb:
            rgb_stamp, rgb = self._rgb[0]
            newest_aux = self._aux[-1][0] if self._aux else None
            # Decide once no later X message can be nearer: one has arrived at or after the RGB stamp, or
            # other data has moved time past the RGB stamp + slop (X is late, slow or stopped).
            waited_out = self._last_stamp is not None and self._last_stamp > rgb_stamp + self.slop_ns
            if (newest_aux is None or newest_aux < rgb_stamp) and not (waited_out or self._surely_nearest(rgb_stamp)):
                break
            self._rgb.popleft()
            best = min(self._aux, key=lambda item: abs(item[0] - rgb_stamp)) if self._aux else None
            if best is None or abs(best[0] - rgb_stamp) > self.slop_ns:
                self._release_alone(pairs, rgb_stamp, rgb)
                continue
            pairs.append(SyncedPair(rgb_stamp, rgb, best[0], best[1]))
            # X messages older than the one used can never be nearer to a later RGB frame.
            while self._aux and self._aux[0][0] < best[0]:
                self._aux.popleft()
        return pairs

    def _surely_nearest(self, rgb_stamp: int) -> bool:
        """The newest X is nearer than half the X period: on a regular stream no later X can be nearer.

        Saves waiting up to a whole X period (111 ms at 9 Hz) for the next X before pairing.
        """
        if not self._aux or len(self._aux_intervals) < 3:
            return False
        period = sorted(self._aux_intervals)[len(self._aux_intervals) // 2]
        gap = rgb_stamp - self._aux[-1][0]
        return 0 <= gap <= min(period // 2, self.slop_ns)

    def _release_alone(self, pairs: list[SyncedPair], stamp: int, rgb: Any) -> None:
        self.drops["rgb_without_aux"] += 1
        pairs.append(SyncedPair(stamp, rgb, None, None))
