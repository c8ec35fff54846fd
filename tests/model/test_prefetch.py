"""Background production: same items in the same order as inline, errors surface where they happened."""

import threading
import time

import pytest

from mm_tracker_model.prefetch import Prefetcher, prefetched


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_prefetched_yields_the_items_in_order(depth):
    assert list(prefetched(iter(range(50)), depth)) == list(range(50))


def test_prefetched_reads_ahead_in_another_thread():
    produced: list[tuple[int, str]] = []

    def items():
        for i in range(6):
            produced.append((i, threading.current_thread().name))
            yield i

    stream = prefetched(items(), 3)
    assert next(stream) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 4 and time.monotonic() < deadline:  # the producer runs ahead without being asked
        time.sleep(0.01)
    assert len(produced) >= 4
    assert {name for _, name in produced} == {"prefetch-iter"}
    assert list(stream) == [1, 2, 3, 4, 5]


def test_an_error_in_the_producer_is_raised_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("frame 3 unreadable")

    stream = prefetched(items(), 2)
    assert [next(stream), next(stream)] == [1, 2]
    with pytest.raises(ValueError, match="frame 3 unreadable"):
        next(stream)


def test_closing_early_stops_the_producer():
    counter = iter(range(10**9))
    ahead = Prefetcher(lambda: next(counter), depth=2)
    assert ahead.next() == 0
    ahead.close()
    assert not ahead._thread.is_alive()


def test_a_finished_prefetcher_keeps_ending():
    source = iter([7])
    ahead = Prefetcher(lambda: next(source), depth=1)
    assert ahead.next() == 7
    for _ in range(2):
        with pytest.raises(StopIteration):
            ahead.next()
    ahead.close()
