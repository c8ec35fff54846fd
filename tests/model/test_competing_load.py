"""The competing load really runs busy processes for the block, and none outlive it."""

import os
import time

import pytest

from mm_tracker_model.competing_load import CompetingLoad


def test_load_runs_its_processes_inside_the_block_only():
    load = CompetingLoad(2)
    with load:
        deadline = time.monotonic() + 30
        while load.alive < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert load.alive == 2
        workers = list(load._workers)
        user_time = _cpu_seconds(workers[0].pid)
        time.sleep(0.5)
        assert _cpu_seconds(workers[0].pid) > user_time  # busy, not sleeping
    assert load.alive == 0 and not any(w.is_alive() for w in workers)


def test_no_load_and_bad_counts():
    with CompetingLoad(0) as load:
        assert load.alive == 0
    with pytest.raises(ValueError, match=">= 0"):
        CompetingLoad(-1)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
