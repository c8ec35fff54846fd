"""tools/alignment_fixed_point.py on a tiny synthetic sequence: needed corrections are the truth's."""

import importlib.util
from pathlib import Path

import numpy as np
import torch

from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.nn.tracker_net import build_net

SPEC = importlib.util.spec_from_file_location(
    "alignment_fixed_point", Path(__file__).resolve().parents[2] / "tools/alignment_fixed_point.py"
)
tool = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(tool)


def test_corrections_at_the_truth_need_nothing_and_at_the_calibration_the_drift(tmp_path):
    generate(tmp_path, SynthConfig(frames=4, rgb_size=(160, 120), x_size=(128, 104), seed=2), 1)
    folder = next(tmp_path.glob("seq_*"))
    torch.manual_seed(0)
    net = build_net("full_tiny").eval()
    needed, applied = tool.corrections(net, folder, at_truth=True)
    assert needed.shape == applied.shape == (3, 4, 2) and np.abs(needed).max() < 1e-6
    drift, _ = tool.corrections(net, folder, at_truth=False)
    assert np.abs(drift).max() > 0.1  # the synthetic rig drifts away from frame 0's calibration
