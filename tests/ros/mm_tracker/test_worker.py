import threading

from mm_tracker.worker import IDLE_CAPACITY, InferenceWorker, LatestSlot


def test_while_busy_only_the_newest_is_kept_and_replaced_items_count_as_dropped():
    slot = LatestSlot()
    slot.put(0)
    assert slot.take(timeout=0.1) == [0]  # the worker is busy with 0 now
    for item in (1, 2, 3):
        slot.put(item)
    assert slot.dropped == 2
    slot.done()
    assert slot.take(timeout=0.1) == [3]
    slot.done()
    assert slot.take(timeout=0.01) == []


def test_while_idle_items_released_together_are_all_kept_up_to_a_bound():
    slot = LatestSlot()
    slot.put("pair released by X")
    slot.put("pair released by RGB")
    assert slot.take(timeout=0.1) == ["pair released by X", "pair released by RGB"] and slot.dropped == 0
    slot.done()
    for item in range(IDLE_CAPACITY + 2):
        slot.put(item)
    assert slot.take(timeout=0.1) == list(range(2, IDLE_CAPACITY + 2)) and slot.dropped == 2


def test_worker_processes_items_and_survives_errors():
    handled, errors, done = [], [], threading.Event()

    def handle(item):
        if item == "bad":
            raise ValueError("boom")
        handled.append(item)
        if item == "last":
            done.set()

    worker = InferenceWorker(handle, errors.append)
    worker.slot.put("bad")
    worker.slot.put("last")
    assert done.wait(5)
    worker.stop()
    assert handled == ["last"] and isinstance(errors[0], ValueError)
