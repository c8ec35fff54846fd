import json

import torch

from mm_tracker_model.cli import evaluate
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


def test_evaluates_a_checkpoint_in_every_setting(tmp_path, capsys):
    generate(tmp_path / "data", SynthConfig(frames=4, rgb_size=(160, 120), x_size=(128, 104), seed=4), 1)
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "model.pt", build_net("full_tiny"))
    args = ["--synthetic", str(tmp_path / "data"), "--checkpoint", str(checkpoint), "--json"]
    assert evaluate.main(args) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["setting"] for r in reports] == ["full", "no_online_alignment", "identity"]
    assert all(0 <= r["sr"] <= 1 and r["frames"] == 4 for r in reports)


def test_empty_folder_is_explained(tmp_path, capsys):
    checkpoint = save_checkpoint(tmp_path / "model.pt", build_net("patrack_tiny"))
    assert evaluate.main(["--synthetic", str(tmp_path), "--checkpoint", str(checkpoint)]) == 2
    assert "holds no synthetic sequences" in capsys.readouterr().err
