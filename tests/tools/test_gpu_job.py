"""The GPU job in its reduced CPU form: every step runs and writes what the README says it writes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_reduced_gpu_job_runs_every_step(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1", "WHEELS": str(tmp_path / "none")}
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "gpu_job.sh"), str(tmp_path), "--reduced"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    steps = json.loads((tmp_path / "steps.json").read_text())
    assert done.returncode == 0, (done.stdout, steps)
    assert [s["step"] for s in steps] == ["cuda_tests", "bench_fp32", "per_frame", "pack", "train"]
    assert all(s["rc"] == 0 and 0 < s["seconds"] <= s["limit_s"] for s in steps)
    bench = json.loads((tmp_path / "bench_fp32.json").read_text())
    assert bench["preset"] == "full_tiny" and bench["device"] == "cpu" and bench["fps"] > 0
    per_frame = json.loads((tmp_path / "per_frame.json").read_text())
    assert per_frame["overall"]["fps"] > 0 and per_frame["overall"]["latency_ms_p95"] > 0
    assert json.loads((tmp_path / "environment.json").read_text())["cuda"] is False
    assert "skipped" in (tmp_path / "cuda_tests.log").read_text()  # no GPU here: they skip, with the reason
    assert (tmp_path / "train_config.yaml").read_text().startswith("preset: full_tiny")


def test_a_failing_step_fails_the_job(tmp_path):
    env = {**os.environ, "PYTHON": str(tmp_path / "no-such-python")}
    done = subprocess.run(
        ["bash", str(REPO / "tools" / "gpu_job.sh"), str(tmp_path / "out"), "--reduced"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
