"""mm-tracker-eval --synthetic (the model card's comparison) and its deprecated alias mm-tracker-evaluate."""

import json

import torch

from mm_tracker_model.cli import eval as eval_cli
from mm_tracker_model.cli import evaluate
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


def test_settings_comparison_and_the_deprecated_alias_agree(tmp_path, capsys):
    generate(tmp_path / "data", SynthConfig(frames=4, rgb_size=(160, 120), x_size=(128, 104), seed=4), 1)
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "model.pt", build_net("full_tiny"))
    common = ["--synthetic", str(tmp_path / "data"), "--checkpoint", str(checkpoint)]
    assert eval_cli.main([*common, "--json", "-", "--quiet"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["setting"] for r in reports] == ["full", "no_online_alignment", "identity"]
    assert all(r["frames"] == 4 and r["sequences"] == 1 for r in reports)
    by_setting = {r["setting"]: r for r in reports}
    # The generator's rig is far from identity; the frame-0 calibration is close to the truth.
    assert by_setting["identity"]["align_corner_err_px"] > 2 * by_setting["no_online_alignment"]["align_corner_err_px"]

    assert evaluate.main([*common, "--json"]) == 0
    captured = capsys.readouterr()
    assert "deprecated" in captured.err
    assert json.loads(captured.out) == reports


def test_one_setting_is_printed_as_a_table_row(tmp_path, capsys):
    generate(tmp_path / "data", SynthConfig(frames=3, rgb_size=(160, 120), x_size=(128, 104), seed=1), 1)
    checkpoint = save_checkpoint(tmp_path / "model.pt", build_net("full_tiny"))
    args = ["--synthetic", str(tmp_path / "data"), "--checkpoint", str(checkpoint), "--settings", "identity"]
    assert eval_cli.main([*args, "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split() == ["setting", "PR", "NPR", "SR", "corner", "err", "px"]
    assert len(lines) == 2 and lines[1].startswith("identity")


def test_empty_folder_and_unknown_settings_are_explained(tmp_path, capsys):
    checkpoint = save_checkpoint(tmp_path / "model.pt", build_net("patrack_tiny"))
    assert eval_cli.main(["--synthetic", str(tmp_path), "--checkpoint", str(checkpoint)]) == 2
    assert "holds no synthetic sequences" in capsys.readouterr().err
    generate(tmp_path / "data", SynthConfig(frames=2, rgb_size=(160, 120), x_size=(128, 104), seed=1), 1)
    assert eval_cli.main(["--synthetic", str(tmp_path / "data"), "--settings", "fast"]) == 2
    assert "unknown" in capsys.readouterr().err
