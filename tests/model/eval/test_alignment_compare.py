"""mm-tracker-eval --compare-alignment: online, calibration kept, identity and ECC from one run."""

import json

import cv2
import numpy as np
import pytest
import torch

from mm_tracker_model.cli.eval import main
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.synthetic import SynthConfig, write_sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.alignment_compare import COMPARED, compare_alignment
from mm_tracker_model.eval.ecc import EccConfig
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.io.checkpoint import save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    folder = write_sequence(root, SynthConfig(frames=8, rgb_size=(160, 120), x_size=(128, 104), seed=4), 0)
    torch.manual_seed(0)
    net = build_net("full_tiny").eval()
    return net, folder, save_checkpoint(root / "net.pt", net)


def test_every_setting_is_scored_frame_by_frame(setup):
    net, folder, _ = setup
    traces = compare_alignment(net, EvalInput(folder, "synthetic"), OfflineConfig(), EccConfig(every=4))
    assert tuple(traces) == COMPARED
    sequence = read_sequence(folder, "synthetic")
    truth = [torch.from_numpy(h) for h in sequence.homographies]
    identity = [float(hg.corner_error(torch.eye(3, dtype=torch.float64), h, 128, 104)) for h in truth]
    kept = [float(hg.corner_error(truth[0], h, 128, 104)) for h in truth]
    np.testing.assert_allclose(traces["identity"].errors, identity, rtol=1e-6)
    np.testing.assert_allclose(traces["calibration_kept"].errors, kept, rtol=1e-6, atol=1e-9)
    assert traces["ecc"].estimates == 2 and traces["ecc"].failures <= 2
    assert np.isfinite(traces["ecc"].errors).all()  # every synchronised frame has an ECC estimate
    assert {"pr", "sr"} <= set(traces["online"].scores) and not traces["ecc"].scores
    assert set(traces["online"].experts) == {"stage_1", "stage_2", "stage_3"}
    macs = traces["online"].summary()
    assert 0 < macs["expert_macs_per_frame"] < macs["expert_macs_all_experts"]  # hard routing runs one of three


def test_the_command_writes_the_table_plots_and_json(setup, tmp_path, capsys):
    _, folder, checkpoint = setup
    args = ["--sequence", str(folder), "--format", "synthetic", "--compare-alignment", "--ecc-every", "3"]
    assert main([*args, "--checkpoint", str(checkpoint), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    report = json.loads((tmp_path / "run" / "alignment.json").read_text())
    assert set(report["overall"]) == set(COMPARED)
    assert report["overall"]["identity"]["corner_err_px"] > report["overall"]["calibration_kept"]["corner_err_px"]
    assert (tmp_path / "run" / "plots" / f"alignment_{folder.name}.png").stat().st_size > 1000
    assert "| ecc |" in capsys.readouterr().out


def _registered_pair_sequence(root):
    """A LasHeR-layout RGB-thermal sequence: registered, so it has no alignment truth of its own."""
    for name in ("visible", "infrared"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            image = np.full((60, 80, 3), 40 + 30 * i, np.uint8)
            cv2.imwrite(str(root / name / f"{i:05d}.jpg"), image)
        (root / f"{name}.txt").write_text("20,20,16,12\n" * 3)
    return root


def test_an_input_without_alignment_truth_says_so(setup, tmp_path):
    net, _, _ = setup
    item = EvalInput(_registered_pair_sequence(tmp_path / "seq"), "lasher")
    with pytest.raises(MMTrackerError, match=r"no alignment ground truth.*--misalign"):
        compare_alignment(net, item, OfflineConfig(), EccConfig())
