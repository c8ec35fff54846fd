"""The demo's baseline line: the alignment error with the frame-0 calibration kept, offline on the same bag."""

import numpy as np
import pytest
import torch

from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.cli.demo import calibration_kept_error
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


def test_calibration_kept_error_is_the_drift_from_the_first_frame(tmp_path):
    config = SynthConfig(frames=6, rgb_size=(160, 120), x_size=(128, 104), seed=5)
    sequence = read_synthetic(write_sequence(tmp_path / "seq", config, 0))
    bag = write_bag(sequence, tmp_path / "bag", BagOptions(rate_hz=30.0, aux_every=1))
    torch.manual_seed(0)
    checkpoint = save_checkpoint(tmp_path / "net.pt", build_net("full_tiny"))
    truth = [torch.from_numpy(h) for h in sequence.homographies]
    drift = np.mean([float(hg.corner_error(truth[0], h, 128, 104)) for h in truth])
    assert calibration_kept_error(bag, tmp_path / "run", checkpoint, "cpu") == pytest.approx(drift, rel=1e-6)
