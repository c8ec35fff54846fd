import pytest

from mm_tracker_model.streams.sync_policy import SyncPolicy

MS = 1_000_000


def _feed(policy, events):
    """events: (kind, stamp_ms) in arrival order -> list of (rgb_ms, aux_ms or None)."""
    out = []
    for kind, stamp in events:
        add = policy.add_rgb if kind == "rgb" else policy.add_aux
        out += [(p.rgb_stamp // MS, None if p.aux_stamp is None else p.aux_stamp // MS) for p in add(stamp * MS, stamp)]
    return out


def _interleaved(rgb_hz, aux_hz, seconds, aux_latency_ms=0):
    events = [("rgb", round(i * 1000 / rgb_hz)) for i in range(int(seconds * rgb_hz))]
    events += [("aux", round(i * 1000 / aux_hz)) for i in range(int(seconds * aux_hz))]
    # arrival order: by stamp, aux delayed by its latency
    return sorted(events, key=lambda e: e[1] + (aux_latency_ms if e[0] == "aux" else 0))


def test_equal_rates_pair_frame_by_frame():
    pairs = _feed(SyncPolicy(slop_ns=10 * MS), _interleaved(30, 30, 1))
    assert [a for _, a in pairs[:5]] == [r for r, _ in pairs[:5]]
    assert len(pairs) >= 29


@pytest.mark.parametrize("aux_hz", [9, 60])
def test_different_rates_pair_each_rgb_with_the_nearest_aux(aux_hz):
    policy = SyncPolicy(slop_ns=60 * MS)
    pairs = _feed(policy, _interleaved(30, aux_hz, 2, aux_latency_ms=5))
    aux_stamps = [round(i * 1000 / aux_hz) for i in range(2 * aux_hz)]
    matched = [(r, a) for r, a in pairs if a is not None]
    assert len(matched) >= 55
    for rgb, aux in matched:
        assert abs(aux - rgb) == min(abs(s - rgb) for s in aux_stamps)


def test_rgb_without_any_aux_is_released_alone_and_counted():
    policy = SyncPolicy(slop_ns=20 * MS)
    pairs = _feed(policy, [("rgb", 0), ("rgb", 33), ("rgb", 66), ("rgb", 100)])
    assert pairs[:2] == [(0, None), (33, None)]
    assert policy.drops["rgb_without_aux"] == len(pairs)


def test_aux_stream_stopping_and_resuming():
    policy = SyncPolicy(slop_ns=20 * MS)
    events = [("aux", 0), ("rgb", 0), ("rgb", 100), ("rgb", 200), ("aux", 300), ("rgb", 300)]
    pairs = _feed(policy, events)
    assert (0, 0) in pairs and (300, 300) in pairs
    assert (100, None) in pairs and (200, None) in pairs


def test_out_of_order_stamps_are_dropped_and_counted():
    policy = SyncPolicy(slop_ns=20 * MS)
    _feed(policy, [("rgb", 100), ("rgb", 90), ("aux", 100)])
    assert policy.drops["rgb_out_of_order"] == 1
    # also once the queue has drained: an RGB frame older than one already paired
    assert _feed(policy, [("rgb", 95)]) == [] and policy.drops["rgb_out_of_order"] == 2


def test_queues_are_bounded():
    policy = SyncPolicy(slop_ns=20 * MS, queue_size=3)
    _feed(policy, [("aux", t) for t in range(0, 100, 10)])
    assert len(policy._aux) == 3 and policy.drops["aux_overflow"] == 7


def test_backwards_time_jump_clears_the_buffers():
    policy = SyncPolicy(slop_ns=20 * MS)
    _feed(policy, [("aux", 5000), ("rgb", 5100)])
    pairs = _feed(policy, [("aux", 0), ("rgb", 0)])  # a bag loop
    assert pairs == [(0, 0)] and policy.drops["time_jump"] >= 1


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="queue size 0"):
        SyncPolicy(slop_ns=1, queue_size=0)


def test_a_regular_x_stream_pairs_without_waiting_for_the_next_x():
    """With X every 100 ms, an RGB frame 20 ms after an X pairs at once: the next X would be 80 ms away."""
    policy = SyncPolicy(slop_ns=60 * MS)
    _feed(policy, [("aux", 0), ("aux", 100), ("aux", 200), ("aux", 300)])
    assert _feed(policy, [("rgb", 320)]) == [(320, 300)]
    assert _feed(policy, [("rgb", 360)]) == []  # 60 ms from X 300, 40 from the expected X 400: wait
    assert _feed(policy, [("aux", 400)]) == [(360, 400)]


def test_flush_releases_the_frames_still_waiting_at_the_end_of_a_bag():
    policy = SyncPolicy(slop_ns=MS * 20)
    assert policy.add_aux(0, "x0") == []
    assert [p.aux for p in policy.add_rgb(0, "r0")] == ["x0"]
    assert policy.add_rgb(33 * MS, "r1") == []  # could still get a nearer X
    pairs = policy.flush()
    assert [(p.rgb, p.aux) for p in pairs] == [("r1", None)]  # 33 ms from x0: beyond slop, released alone
