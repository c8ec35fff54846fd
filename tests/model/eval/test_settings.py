import numpy as np
import pytest
import torch

from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.eval.settings import evaluate
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.nn.tracker_net import build_net


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    (folder,) = generate(out, SynthConfig(frames=5, rgb_size=(160, 120), x_size=(128, 104), seed=9), 1)
    torch.manual_seed(0)
    return build_net("full_tiny"), [read_sequence(folder, "synthetic")]


def _corner_errors(reference_fn, sequence):
    return np.mean(
        [
            float(
                hg.corner_error(torch.from_numpy(reference_fn(t)), torch.from_numpy(sequence.homographies[t]), 128, 104)
            )
            for t in range(len(sequence))  # the first frame is tracked too, as in the node
        ]
    )


def test_identity_baseline_error_is_the_rig_misalignment(setup):
    net, sequences = setup
    report = evaluate(net, sequences, "identity")
    assert report.align_corner_err_px == pytest.approx(_corner_errors(lambda t: np.eye(3), sequences[0]))
    assert report.frames == 5 and 0 <= report.sr <= 1


def test_no_online_alignment_keeps_the_calibration(setup):
    net, sequences = setup
    report = evaluate(net, sequences, "no_online_alignment")
    calibration = sequences[0].homographies[0]
    assert report.align_corner_err_px == pytest.approx(_corner_errors(lambda t: calibration, sequences[0]))


def test_unknown_setting(setup):
    with pytest.raises(ValueError, match="setting 'magic' unknown"):
        evaluate(*setup, "magic")


def test_the_engine_given_is_used_with_the_settings_alignment(setup, monkeypatch):
    import mm_tracker_model.eval.settings as settings

    seen = []
    real = settings.run_offline
    monkeypatch.setattr(settings, "run_offline", lambda *a, **k: seen.append(a[3].engine) or real(*a, **k))
    evaluate(*setup, "no_online_alignment", engine=EngineConfig(int8="never", tocu_every=3))
    assert seen and all(e.int8 == "never" and e.tocu_every == 3 and not e.online_alignment for e in seen)
