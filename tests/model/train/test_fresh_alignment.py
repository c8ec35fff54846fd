"""Renewing a checkpoint's alignment stages (train.trainer.with_fresh_alignment, tools/renew_alignment.py)."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import torch

from mm_tracker_model.io.checkpoint import load_net, save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import get_preset
from mm_tracker_model.train.trainer import with_fresh_alignment

REPO = Path(__file__).resolve().parents[3]


def _legacy_net():
    pooled = dataclasses.replace(get_preset("full_tiny").alignment, readout="pooled", fine_stride=0)
    torch.manual_seed(1)
    net = build_net(get_preset("full_tiny", alignment=pooled))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01)  # any trained weights
    return net


def test_the_stages_are_renewed_and_everything_else_is_kept():
    old = _legacy_net()
    new = with_fresh_alignment(old)
    assert new.config.alignment.readout == "positional" and new.config.alignment.fine_stride == 8
    before, after = old.state_dict(), new.state_dict()
    kept = [k for k in before if not k.startswith(("alignment.stages.", "alignment.fine."))]
    assert kept and all(torch.equal(before[k], after[k]) for k in kept)  # backbone, adapters, head, TCMDA
    assert any(k.startswith("alignment.fine.") for k in after)


def test_the_tool_writes_a_loadable_checkpoint(tmp_path):
    source = save_checkpoint(tmp_path / "old.pt", _legacy_net(), {"training": {"epochs": 1}})
    target = tmp_path / "new.pt"
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "renew_alignment.py"), str(source), str(target)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "positional readout, fine stride 8" in done.stdout
    assert load_net(target).config.alignment.readout == "positional"
