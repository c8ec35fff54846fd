"""The benchmark command runs and reports its documented fields (its numbers are measured, not asserted)."""

import json

from mm_tracker_model.cli import bench


def test_bench_json_has_the_documented_fields(capsys):
    assert (
        bench.main(["--preset", "full_tiny", "--frames", "3", "--tocu-every", "1", "--tocu-alpha", "0", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert {"fps", "latency_ms", "phases", "macs_per_frame", "experts"} <= set(report)
    assert set(report["latency_ms"]) == {"p50", "p95", "p99"}
    assert set(report["phases"]) == {"preprocess", "forward", "postprocess", "tocu"}
    macs = report["macs_per_frame"]
    assert macs["hard_routed_mean"] <= macs["hard_routed_max"] < macs["all_experts"]
    assert sum(report["experts"].values()) == 3 * 3  # three stages, three frames
    assert report["tocu"]["attempts"] == 3


def test_bench_refuses_cuda_without_a_gpu(capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert bench.main(["--device", "cuda", "--frames", "1"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err
