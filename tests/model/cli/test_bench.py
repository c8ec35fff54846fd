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


def test_bench_input_size_threads_load_and_profile_are_reported(capsys):
    import torch

    threads = torch.get_num_threads()
    argv = ["--frames", "2", "--input-size", "640x360", "--threads", "1", "--load", "1", "--profile", "5", "--json"]
    assert bench.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input_size"] == [640, 360] and report["threads"] == 1 and report["competing_load"] == 1
    assert torch.get_num_threads() == threads  # restored for the caller
    top = report["profile"]["top_ops"]
    assert len(top) == 5 and all(op["self_ms_per_frame"] > 0 for op in top)
    assert [op["self_ms_per_frame"] for op in top] == sorted((op["self_ms_per_frame"] for op in top), reverse=True)
    assert sum(op["share"] for op in top) <= 1.0 + 1e-9
    assert report["profile"]["op_calls_per_frame"] >= sum(op["calls_per_frame"] for op in top)
    assert "aten::" in " ".join(op["name"] for op in top)


def test_bench_text_report_shows_the_profile_table(capsys):
    assert bench.main(["--frames", "2", "--profile", "3"]) == 0
    text = capsys.readouterr().out
    assert "operator calls per frame" in text and "self ms/frame" in text and "320x240" in text


def test_bench_refuses_bad_sizes_and_counts(capsys):
    assert bench.main(["--frames", "1", "--input-size", "big"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert bench.main(["--frames", "1", "--load", "-1"]) == 2
    assert "--load" in capsys.readouterr().err


def test_bench_alignment_every_reaches_the_engine(capsys):
    assert bench.main(["--frames", "2", "--alignment-every", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alignment_every"] == 2
    assert bench.main(["--frames", "1", "--alignment-every", "0"]) == 2
    assert "alignment_every must be >= 1" in capsys.readouterr().err
