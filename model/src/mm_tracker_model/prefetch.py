"""Work done ahead in a background thread: training batches, and decoded evaluation frames.

Decoding JPEGs, making pseudo-X and cropping release the GIL in OpenCV and numpy, so one producer thread
overlaps them with the network's compute. One producer draws in order, so the items are those of inline
production; an exception in the producer is raised in the consumer at the point it happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class _End:
    """Marks the end of an iterator in the queue."""


class Prefetcher(Generic[T]):
    """Calls `make` ahead of the consumer, keeping at most `depth` results waiting."""

    def __init__(self, make: Callable[[], T], depth: int, name: str = "prefetch") -> None:
        self._make, self._queue, self._stop = make, queue.Queue(maxsize=max(1, depth)), threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                item = self._make()
            except StopIteration:
                item = _End()
            except BaseException as exc:  # handed to the consumer, which raises it
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if isinstance(item, BaseException | _End):
                return

    def next(self) -> T:
        item = self._queue.get()
        if isinstance(item, _End):
            self._queue.put(item)  # later calls end too
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """`items` produced `depth` ahead in a background thread (depth 0: inline)."""
    if depth <= 0:
        yield from items
        return
    source = iter(items)
    ahead = Prefetcher(lambda: next(source), depth, name="prefetch-iter")
    try:
        while True:
            try:
                item = ahead.next()
            except StopIteration:
                return
            yield item
    finally:
        ahead.close()
