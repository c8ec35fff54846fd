"""The ECC baseline (eval/ecc.py): recovers a known rig offset, counts failures, keeps its estimate."""

import cv2
import numpy as np

from mm_tracker_model.eval.ecc import EccAligner, EccConfig


def _scene(seed=0):
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.random((36, 48)).astype(np.float32), (480, 360), interpolation=cv2.INTER_CUBIC)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def test_ecc_recovers_a_shift_between_inverted_modalities():
    scene = _scene()
    rgb = cv2.cvtColor(scene[60:300, 80:400], cv2.COLOR_GRAY2RGB)
    # X pixel p shows the scene at RGB pixel p + (6, -4), polarity inverted as thermal often is.
    aux = cv2.cvtColor(255 - scene[56:296, 86:406], cv2.COLOR_GRAY2RGB)
    truth = np.array([[1.0, 0.0, 6.0], [0.0, 1.0, -4.0], [0.0, 0.0, 1.0]])  # X -> RGB pixels
    aligner = EccAligner(np.eye(3), EccConfig(motion="affine", every=1, max_side=320))
    estimate = aligner.update(rgb, aux)
    assert aligner.failures == 0
    np.testing.assert_allclose(estimate, truth, atol=0.3)


def test_a_failed_estimate_is_counted_and_the_previous_one_kept():
    calibration = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 2.0], [0.0, 0.0, 1.0]])
    aligner = EccAligner(calibration, EccConfig(every=1))
    blank = np.zeros((120, 160, 3), np.uint8)
    estimate = aligner.update(blank, blank)
    assert aligner.failures == 1 and aligner.estimates == 1
    np.testing.assert_array_equal(estimate, calibration)


def test_estimates_only_every_n_frames():
    aligner = EccAligner(np.eye(3), EccConfig(every=3))
    blank = np.zeros((60, 80, 3), np.uint8)
    for _ in range(7):
        aligner.update(blank, blank)
    assert aligner.frames == 7 and aligner.estimates == 3


def test_an_estimate_beyond_the_engines_guard_is_a_failure():
    scene = _scene()
    rgb = cv2.cvtColor(scene[60:300, 80:400], cv2.COLOR_GRAY2RGB)
    aux = cv2.cvtColor(255 - scene[56:296, 86:406], cv2.COLOR_GRAY2RGB)  # a true offset of about 7 px
    strict = EccAligner(np.eye(3), EccConfig(every=1, max_corner_shift=0.005))  # 2 px of a 400 px diagonal
    np.testing.assert_array_equal(strict.update(rgb, aux), np.eye(3))
    assert strict.failures == 1
    loose = EccAligner(np.eye(3), EccConfig(every=1))
    assert loose.update(rgb, aux)[0, 2] > 5 and loose.failures == 0
