"""A one-slot 'latest pair' buffer and the inference thread that drains it, so the executor never blocks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class LatestSlot:
    """Holds only the newest item; an item replaced before the worker took it counts as dropped."""

    def __init__(self) -> None:
        self._item: Any = None
        self._condition = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item: Any) -> None:
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._condition.notify()

    def take(self, timeout: float | None = None) -> Any:
        """The newest item, or None when closed or on timeout."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

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
            item = self.slot.take()
            if item is None:
                return
            try:
                self._handle(item)
            except Exception as exc:  # the node must survive any one bad frame
                self._on_error(exc)

    def stop(self, timeout: float = 5.0) -> None:
        self.slot.close()
        self._thread.join(timeout)
