"""node_bench end to end: the real node over Fast DDS on loopback, its rate, latency and resident memory."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.executables import ros_executable

pytestmark = pytest.mark.integration

try:
    NODE_BENCH = ros_executable("node_bench")
except MMTrackerError as exc:
    pytest.skip(str(exc), allow_module_level=True)


def test_node_bench_reports_targets_latency_and_memory():
    domain = (int(os.environ.get("ROS_DOMAIN_ID", "0")) + 60) % 100 + 1
    env = {**os.environ, "ROS_DOMAIN_ID": str(domain), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    # A node parameter passed through: the node tracks in float (it would not start on a bad value).
    command = [str(NODE_BENCH), "--seconds", "4", "--json", "--param", "int8:=never", "--param", "alignment_every:=2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    assert report["params"] == ["int8:=never", "alignment_every:=2"]
    # Every other frame with X estimates the alignment; the node's counters say so.
    counters = report["node_counters"]
    assert counters["alignment_estimates"] > 0
    assert abs(counters["alignment_reused"] - counters["alignment_estimates"]) <= 1
    # The node's own per-phase view reaches the benchmark through /diagnostics.
    phases = report["phases_ms_p50"]
    assert {"waiting", "convert", "preprocess", "forward", "postprocess", "tocu", "publish"} <= set(phases)
    assert phases["forward"] > 0 and all(ms >= 0 for ms in phases.values())
    assert report["targets"] > 0 and report["fps"] == pytest.approx(report["targets"] / 4)
    assert report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"]
    rss = report["rss_mib"]
    assert 50 < rss["start"] < 8192 and 50 < rss["end"] < 8192  # a Python process with torch and a model
    assert report["rss_change"] == pytest.approx(rss["end"] / rss["start"] - 1)


def test_a_malformed_node_parameter_is_refused_before_anything_starts():
    done = subprocess.run([str(NODE_BENCH), "--param", "int8=true"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "expected NAME:=VALUE" in done.stderr
