import threading

from mm_tracker.worker import InferenceWorker, LatestSlot


def test_slot_keeps_only_the_newest_and_counts_replaced_items():
    slot = LatestSlot()
    for item in (1, 2, 3):
        slot.put(item)
    assert slot.take(timeout=0.1) == 3 and slot.dropped == 2
    assert slot.take(timeout=0.01) is None


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
    while worker.slot._item is not None:
        pass
    worker.slot.put("last")
    assert done.wait(5)
    worker.stop()
    assert handled == ["last"] and isinstance(errors[0], ValueError)
