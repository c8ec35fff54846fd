"""The README's "Start from OSTrack weights" path, end to end on tiny random weights and tiny data.

A released-style OSTrack file (pickled trainer objects beside `net`) -> mm-tracker-convert -> the real node on
RGB-only input and on RGB + X (live evaluation: bag_player, node, bag_recorder) -> fine-tuning on a
LasHeR-layout dataset with torchrun (2 CPU processes) -> mm-tracker-eval of the fine-tuned checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from support.fake_datasets import write_rgbt234
from support.foreign_pickles import ostrack_release

from mm_tracker_model.io.checkpoint import load_checkpoint
from mm_tracker_model.presets import get_preset

pytestmark = pytest.mark.integration

TIMEOUT_S = 600


def _run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=TIMEOUT_S, env=dict(os.environ)
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _eval(*args: str) -> dict:
    out = args[args.index("--out") + 1]
    _run("-m", "mm_tracker_model.cli.eval", *args, "--no-video", "--quiet")
    with open(f"{out}/metrics.json") as f:
        return json.load(f)


def test_convert_run_fine_tune_and_evaluate(tmp_path):
    release, _ = ostrack_release(tmp_path, get_preset("full_tiny"))  # OSTrack-256 grids: resized into 80/160 crops
    init = tmp_path / "full_tiny_from_ostrack.pt"
    printed = _run("-m", "mm_tracker_model.cli.convert", "--from", "ostrack", str(release), "--preset", "full_tiny",
                   "--out", str(init))  # fmt: skip
    assert "skipped    settings: stand-in for lib.train.admin.settings.Settings" in printed
    assert "resized    backbone.pos_embed_x" in printed and "missing    0" in printed
    assert load_checkpoint(init).config.fusion == "mean"

    dataset = tmp_path / "lasher"
    for name in ("seq_a", "seq_b"):
        write_rgbt234(dataset / name, frames=10, size=(160, 120))
    bag = tmp_path / "seq_a_bag"
    _run("-m", "mm_tracker_model.cli.make_bag", "--sequence", str(dataset / "seq_a"), "--format", "lasher",
         "--out", str(bag), "--rate", "2")  # fmt: skip

    for mode in ((), ("--rgb-only",)):
        metrics = _eval(
            "--bag", str(bag), "--live", "--checkpoint", str(init), "--out", str(tmp_path / f"live{len(mode)}"), *mode
        )
        # The node answers nearly every frame (the first forward warms up, a loaded CI machine may skip one).
        assert metrics["overall"]["drops"] <= 2 and not metrics.get("failed"), metrics
        assert metrics["sequences"]["seq_a"]["frames"] == 10

    config = {
        "preset": "full_tiny",
        "init": str(init),
        "datasets": [{"root": str(dataset), "format": "lasher"}],
        "epochs": 1,
        "samples_per_epoch": 4,
        "batch_size": 2,
        "validation_samples": 2,
        "out": str(tmp_path / "fine_tune"),
    }
    config_file = tmp_path / "fine_tune.yaml"
    config_file.write_text(yaml.safe_dump(config))
    _run("-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29547",
         "-m", "mm_tracker_model.cli.train", "--config", str(config_file))  # fmt: skip
    tuned = tmp_path / "fine_tune" / "model.pt"
    assert load_checkpoint(tuned).metadata

    metrics = _eval(
        "--dataset", str(dataset), "--format", "lasher", "--checkpoint", str(tuned), "--out", str(tmp_path / "eval")
    )
    assert set(metrics["sequences"]) == {"seq_a", "seq_b"} and not metrics.get("failed"), metrics
