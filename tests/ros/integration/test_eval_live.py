"""Live evaluation end to end: bag -> bag_player (/clock) -> the node under use_sim_time -> bag_recorder -> scores.

Also the ROS issue's "the target follows the ground truth" check, with the packaged default model, and the
regression test for use_sim_time (the node once published nothing under /clock: rclpy's internal
subscription list was overwritten).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.weights import default_checkpoint

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(default_checkpoint() is None, reason="no default model in model/weights/"),
]


@pytest.fixture(scope="module")
def live_metrics(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    # Seed 3: a sequence the default model tracks offline (PR 0.99, SR 0.69, corner error 10.9 px), so a miss here
    # means the live path broke. (The renewed default's rig estimate on seed 7, used before, is 29 px offline.)
    sequence = read_synthetic(write_sequence(root / "synth", SynthConfig(frames=120, seed=3), 0))
    bag = write_bag(sequence, root / "bag", BagOptions(rate_hz=30.0, aux_every=3))
    # Half speed: the node (about 8 FPS here) skips fewer of the 30 Hz frames, so the score reflects the live path.
    command = [sys.executable, "-m", "mm_tracker_model.cli.eval", "--bag", str(bag), "--live", "--live-rate", "0.5"]
    command += ["--out", str(root / "run"), "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((root / "run" / "metrics.json").read_text()), root / "run"


def test_the_node_tracks_the_replayed_target(live_metrics):
    metrics, _ = live_metrics
    overall = metrics["overall"]
    assert overall["pr"] > 0.6 and overall["sr"] > 0.35, overall
    assert overall["align_corner_err_px"] < 20, overall
    assert set(metrics["experts"]) == {"stage_1", "stage_2", "stage_3"}


def test_outputs_arrive_under_sim_time_and_latency_is_on_the_bag_clock(live_metrics):
    metrics, _ = live_metrics
    overall = metrics["overall"]
    assert overall["fps"] > 3, overall  # outputs per second of replayed bag time
    # Latency = node clock (the bag's /clock) - RGB stamp: milliseconds, not the 1000 s between epochs.
    assert 0 < overall["latency_ms_p50"] <= overall["latency_ms_p95"] < 2000, overall


def test_run_dir_has_the_result_bag_logs_and_reports(live_metrics):
    _, run_dir = live_metrics
    assert (run_dir / "live" / "seq_0000_outputs" / "metadata.yaml").is_file()
    assert "published" in (run_dir / "live" / "seq_0000_player.log").read_text()
    assert (run_dir / "videos" / "seq_0000.mp4").is_file() and (run_dir / "summary.md").is_file()
