"""Busy processes that compete for the CPU while a benchmark runs, as other programs do on a robot's computer."""

from __future__ import annotations

import multiprocessing as mp
from types import TracebackType


def _spin(stop) -> None:
    count = 0
    while not stop.is_set():
        for _ in range(20_000):  # pure Python: one core busy, no BLAS threads of its own
            count += 1


class CompetingLoad:
    """`processes` busy-looping processes for the duration of a `with` block (0: none)."""

    def __init__(self, processes: int) -> None:
        if processes < 0:
            raise ValueError(f"competing load must be >= 0 processes, got {processes}")
        self.processes = processes
        self._context = mp.get_context("spawn")  # a fresh interpreter: nothing of torch's state is inherited
        self._stop = self._context.Event()
        self._workers: list = []

    def __enter__(self) -> CompetingLoad:
        for index in range(self.processes):
            worker = self._context.Process(target=_spin, args=(self._stop,), name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, kind: type | None, value: BaseException | None, trace: TracebackType | None) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        self._workers.clear()

    @property
    def alive(self) -> int:
        return sum(worker.is_alive() for worker in self._workers)
