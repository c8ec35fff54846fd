"""The 'latest pair' buffer and the inference thread that drains it, so the executor never blocks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# Items kept while the worker is idle (it is waking up): pairs one message releases together, not a queue.
IDLE_CAPACITY = 4


class LatestSlot:
    """While the worker is busy, only the newest item is kept and each replaced one counts as dropped.

    Items that arrive while the worker is idle (two pairs released by one message, in the microseconds before
    the worker thread wakes) are all kept for it, up to IDLE_CAPACITY: dropping them would lose frames the
    worker had time for.
    """

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._busy = False
        self._condition = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._condition:
            if self._busy:
                self.dropped += len(self._items)
                self._items = [item]
            else:
                self._items.append(item)
                overflow = len(self._items) - IDLE_CAPACITY
                if overflow > 0:
                    self.dropped += overflow
                    del self._items[:overflow]
            self._condition.notify()

    def take(self, timeout: float | None = None) -> list[Any]:
        """Every waiting item, oldest first; the worker is busy until `done()`. [] when closed or on timeout."""
        with self._condition:
            self._condition.wait_for(lambda: self._items or self._closed, timeout)
            items, self._items = self._items, []
            self._busy = bool(items)
            return items

    def done(self) -> None:
        with self._condition:
            self._busy = False

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()


class InferenceWorker:
    """Runs `handle(item)` for each item taken from the slot on its own thread; errors go to `on_error`."""

    def __init__(self, handle: Callable[[Any], None], on_error: Callable[[BaseException], None]) -> None:
        self.slot = LatestSlot()
        self._handle, self._on_error = handle, on_error
        self._thread = threading.Thread(target=self._run, name="mm_tracker_inference", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            items = self.slot.take()
            if not items:
                return
            for item in items:
                try:
                    self._handle(item)
                except Exception as exc:  # the node must survive any one bad frame
                    self._on_error(exc)
            self.slot.done()

    def stop(self, timeout: float = 5.0) -> None:
        self.slot.close()
        self._thread.join(timeout)
