import json

import pytest
import torch
from support.fake_datasets import write_rgbt234

from mm_tracker_model.cli import eval as eval_cli
from mm_tracker_model.cli import make_bag
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.eval.driver import shard
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    generate(root, SynthConfig(frames=6, rgb_size=(160, 120), x_size=(128, 104), seed=4), 2)
    import torch

    torch.manual_seed(0)
    return root, save_checkpoint(root / "model.pt", build_net("full_tiny"))


def test_make_bag_then_eval_the_bag_writes_every_report(data, tmp_path, capsys):
    root, checkpoint = data
    bag = tmp_path / "bag"
    assert make_bag.main(["--sequence", str(root / "seq_0000"), "--format", "synthetic", "--out", str(bag)]) == 0
    run_dir = tmp_path / "run"
    args = ["--bag", str(bag), "--checkpoint", str(checkpoint), "--out", str(run_dir), "--quiet"]
    assert eval_cli.main([*args, "--json", str(tmp_path / "m.json")]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert json.loads((tmp_path / "m.json").read_text()) == metrics
    overall = metrics["overall"]
    for key in ("pr", "npr", "sr", "align_corner_err_px", "fps", "latency_ms_p50", "latency_ms_p95", "drops"):
        assert key in overall, key
    assert 0 <= overall["sr"] <= 1 and list(metrics["sequences"]) == ["seq_0000"]
    assert len((run_dir / "results" / "seq_0000.txt").read_text().splitlines()) == 6
    assert (run_dir / "videos" / "seq_0000.mp4").stat().st_size > 1000
    assert (run_dir / "plots" / "success_precision.png").is_file()
    summary = (run_dir / "summary.md").read_text()
    assert "| **overall** |" in summary
    assert f"- torch threads: `{torch.get_num_threads()}`" in summary and "- int8 ViT layers: `True`" in summary
    assert "report:" in capsys.readouterr().out


def test_dataset_evaluates_every_sequence(data, tmp_path):
    root, checkpoint = data
    args = ["--dataset", str(root), "--format", "synthetic", "--checkpoint", str(checkpoint)]
    assert eval_cli.main([*args, "--out", str(tmp_path / "run"), "--no-video", "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert sorted(metrics["sequences"]) == ["seq_0000", "seq_0001"]


def test_registered_rgbt_sequences_also_get_mpr_msr_and_misaligned_ones_an_alignment_error(data, tmp_path):
    _, checkpoint = data
    folder = write_rgbt234(tmp_path / "rgbt" / "seq", frames=4, size=(160, 120))
    common = ["--sequence", str(folder), "--format", "rgbt234", "--checkpoint", str(checkpoint), "--no-video"]
    assert eval_cli.main([*common, "--out", str(tmp_path / "a"), "--quiet"]) == 0
    overall = json.loads((tmp_path / "a" / "metrics.json").read_text())["overall"]
    assert {"mpr", "msr", "pr", "sr"} <= set(overall) and "align_corner_err_px" not in overall
    assert eval_cli.main([*common, "--misalign", "seed=2", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    overall = json.loads((tmp_path / "b" / "metrics.json").read_text())["overall"]
    assert "align_corner_err_px" in overall and "mpr" not in overall


def test_bag_without_the_topics_lists_what_it_has(data, tmp_path, capsys):
    root, checkpoint = data
    bag = tmp_path / "bag"
    make_bag.main(["--sequence", str(root / "seq_0000"), "--format", "synthetic", "--out", str(bag)])
    args = ["--bag", str(bag), "--rgb-topic", "/camera/color", "--checkpoint", str(checkpoint), "--quiet"]
    assert eval_cli.main([*args, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "lacks /camera/color" in err and "/rgb/image (sensor_msgs/msg/Image)" in err


def test_usage_errors_are_explained(tmp_path, capsys):
    assert eval_cli.main(["--sequence", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "need --format" in capsys.readouterr().err
    assert eval_cli.main(["--out", str(tmp_path / "r")]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_shards_split_inputs_without_overlap(tmp_path):
    items = [EvalInput(tmp_path / f"s{i}", "synthetic") for i in range(5)]
    parts = [shard(items, f"{i}/2") for i in range(2)]
    assert sorted(str(i.path) for p in parts for i in p) == sorted(str(i.path) for i in items)
    assert len(parts[0]) == 3 and len(parts[1]) == 2
    with pytest.raises(Exception, match="i/n"):
        shard(items, "2/2")


def test_bad_bag_options_and_live_workers_are_refused(data, tmp_path, capsys):
    root, _ = data
    args = ["--sequence", str(root / "seq_0000"), "--format", "synthetic", "--out", str(tmp_path / "b")]
    assert make_bag.main([*args, "--aux-every", "0"]) == 2
    assert "aux_every 0 >= 1" in capsys.readouterr().err and not (tmp_path / "b").exists()
    live = ["--sequence", str(root / "seq_0000"), str(root / "seq_0001"), "--format", "synthetic", "--live"]
    assert eval_cli.main([*live, "--workers", "2", "--out", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--workers must be 1" in capsys.readouterr().err


def test_inputs_with_the_same_sequence_name_are_refused(data, tmp_path, capsys):
    root, checkpoint = data
    for name in ("a", "b"):
        make_bag.main(["--sequence", str(root / "seq_0000"), "--format", "synthetic", "--out", str(tmp_path / name)])
    args = ["--bag", str(tmp_path / "a"), str(tmp_path / "b"), "--checkpoint", str(checkpoint), "--no-video"]
    assert eval_cli.main([*args, "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "several inputs are named seq_0000" in capsys.readouterr().err


@pytest.mark.integration
def test_workers_evaluate_sequences_in_parallel_processes_with_the_same_results(data, tmp_path):
    root, checkpoint = data
    common = ["--dataset", str(root), "--format", "synthetic", "--checkpoint", str(checkpoint), "--no-video", "--quiet"]
    assert eval_cli.main([*common, "--out", str(tmp_path / "one")]) == 0
    assert eval_cli.main([*common, "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    for name in ("seq_0000", "seq_0001"):
        one = (tmp_path / "one" / "results" / f"{name}.txt").read_text()
        assert one == (tmp_path / "two" / "results" / f"{name}.txt").read_text()


def test_engine_settings_reach_the_engine_and_the_report(data, tmp_path, capsys):
    root, checkpoint = data
    args = ["--sequence", str(root / "seq_0000"), "--format", "synthetic", "--checkpoint", str(checkpoint)]
    args += ["--no-video", "--quiet"]
    errors = {}
    for name, extra in (("flag", ["--no-online-alignment"]), ("engine", ["--engine", "online_alignment=false"])):
        assert eval_cli.main([*args, *extra, "--out", str(tmp_path / name)]) == 0
        errors[name] = json.loads((tmp_path / name / "metrics.json").read_text())["overall"]["align_corner_err_px"]
    assert errors["engine"] == errors["flag"]  # the calibration kept, either way
    assert "- engine settings: `online_alignment=False`" in (tmp_path / "engine" / "summary.md").read_text()
    assert eval_cli.main([*args, "--engine", "alignment_every=0", "--out", str(tmp_path / "bad")]) == 2
    assert "alignment_every must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        eval_cli.main([*args, "--engine", "speed=3"])
    assert "EngineConfig field" in capsys.readouterr().err


def test_live_runs_pass_the_engine_settings_to_the_node_as_parameters():
    parser = eval_cli.build_parser()
    live = parser.parse_args(["--bag", "b", "--live", "--int8", "never", "--engine", "alignment_every=3"])
    assert eval_cli.live_node_params(live) == ("int8:=never", "online_alignment:=true", "alignment_every:=3")
    assert eval_cli.live_node_params(parser.parse_args(["--bag", "b", "--engine", "alignment_every=3"])) == ()
    with pytest.raises(Exception, match="clip_margin: not a node parameter"):
        eval_cli.live_node_params(parser.parse_args(["--bag", "b", "--live", "--engine", "clip_margin=5"]))
