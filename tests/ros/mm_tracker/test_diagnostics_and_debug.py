import numpy as np

from mm_tracker.debug_image import render_debug_image
from mm_tracker.diagnostics import NodeStats, RateMeter


def test_rate_meter_measures_ticks_per_second():
    meter = RateMeter()
    for i in range(11):
        meter.tick(now=i * 0.1)
    assert abs(meter.rate() - 10.0) < 1e-9


def test_stats_snapshot_has_rates_latency_and_counters():
    stats = NodeStats()
    stats.count("aux_bad_image", 2)
    for ms in (10.0, 20.0, 30.0):
        stats.add_latency(ms)
    snapshot = stats.snapshot()
    assert snapshot["aux_bad_image"] == "2" and snapshot["latency_ms_p50"] == "20.0"
    assert {"rgb_rate_hz", "aux_rate_hz", "tracked_rate_hz"} <= set(snapshot)


def test_phase_timings_are_reported_as_medians_and_bounded():
    stats = NodeStats()
    for ms in (1.0, 2.0, 9.0):
        stats.add_phases({"convert": ms, "forward": 10 * ms})
    snapshot = stats.snapshot()
    assert snapshot["phase_convert_ms_p50"] == "2.00" and snapshot["phase_forward_ms_p50"] == "20.00"
    for i in range(1000):
        stats.add_phases({"convert": float(i)})
    assert len(stats.phases_ms["convert"]) == 300


def test_latency_history_is_bounded():
    stats = NodeStats()
    for i in range(10_000):
        stats.add_latency(float(i))
    assert len(stats.latency_ms) == 300


def test_debug_image_scales_draws_the_box_and_overlays_x():
    rgb = np.zeros((100, 200, 3), np.uint8)
    aux = np.full((50, 100, 3), 200, np.uint8)
    half = np.diag([2.0, 2.0, 1.0])  # X at half resolution covers the whole RGB frame
    view = render_debug_image(rgb, aux, half, np.array([20.0, 20.0, 60.0, 40.0]), 1, "TRACKING", 0.5)
    assert view.shape == (50, 100, 3)
    assert view[30, 80].sum() > 0  # the X overlay shows
    assert tuple(view[10, 20]) == (40, 220, 40)  # the box edge, in the TRACKING colour
