import numpy as np
import pytest

from mm_tracker_model.engine.publish import PublishRule, blend, published_homographies, shift_only, trusted

X_SIZE = (320, 240)
# The calibration: X (320 x 240) -> RGB, a little larger, shifted, with mild perspective.
CALIBRATION = np.array([[1.9, 0.05, 30.0], [-0.04, 1.95, 12.0], [1e-5, -2e-5, 1.0]])


def _correction(scale: float, dx: float, dy: float) -> np.ndarray:
    return np.array([[scale, 0.0, dx], [0.0, scale, dy], [0.0, 0.0, 1.0]])


def _map(matrix: np.ndarray, point) -> np.ndarray:
    moved = matrix @ np.array([point[0], point[1], 1.0])
    return moved[:2] / moved[2]


def test_shift_only_keeps_the_estimates_shift_of_the_centre_and_nothing_else():
    estimate = _correction(1.03, 5.0, -4.0) @ CALIBRATION
    centre = np.array([400.0, 250.0])
    found = shift_only(estimate, CALIBRATION, centre)
    np.testing.assert_allclose(
        _map(found @ np.linalg.inv(CALIBRATION), centre), _map(estimate @ np.linalg.inv(CALIBRATION), centre)
    )
    correction = found @ np.linalg.inv(CALIBRATION)
    correction /= correction[2, 2]
    np.testing.assert_allclose(correction[:2, :2], np.eye(2), atol=1e-9)  # a pure translation of the reference
    np.testing.assert_allclose(correction[:2, 2], 0.03 * centre + [5.0, -4.0], atol=1e-9)


def test_trusted_runs_from_the_shift_to_the_whole_estimate():
    estimate = _correction(0.98, -3.0, 2.0) @ CALIBRATION
    centre = np.array([100.0, 80.0])
    np.testing.assert_array_equal(trusted(estimate, CALIBRATION, centre, 1.0, X_SIZE), estimate)
    np.testing.assert_allclose(
        trusted(estimate, CALIBRATION, centre, 0.0, X_SIZE), shift_only(estimate, CALIBRATION, centre), atol=1e-9
    )
    half = trusted(estimate, CALIBRATION, centre, 0.5, X_SIZE) @ np.linalg.inv(CALIBRATION)
    np.testing.assert_allclose(half[:2, :2] / half[2, 2], np.eye(2) * 0.99, atol=1e-9)


def test_published_homographies_low_pass_the_trusted_estimates():
    estimates = [_correction(1.0, 10.0, 0.0) @ CALIBRATION] * 3
    centres = [np.array([200.0, 150.0])] * 3
    exact = published_homographies(estimates, centres, CALIBRATION, PublishRule(rate=1.0, linear_weight=1.0), X_SIZE)
    for found, estimate in zip(exact, estimates, strict=True):
        np.testing.assert_allclose(found, estimate / estimate[2, 2], atol=1e-9)
    smoothed = published_homographies(estimates, centres, CALIBRATION, PublishRule(rate=0.5), X_SIZE)
    shifts = [_map(p @ np.linalg.inv(CALIBRATION), (0.0, 0.0))[0] for p in smoothed]
    np.testing.assert_allclose(shifts, [5.0, 7.5, 8.75], atol=1e-6)  # half of the remaining way on each frame


def test_blend_moves_the_x_corners_linearly():
    end = _correction(1.0, 8.0, -6.0) @ CALIBRATION
    quarter = blend(CALIBRATION, end, 0.25, X_SIZE)
    for corner in ((0, 0), (320, 0), (320, 240), (0, 240)):
        expected = 0.75 * _map(CALIBRATION, corner) + 0.25 * _map(end, corner)
        np.testing.assert_allclose(_map(quarter, corner), expected, atol=1e-6)
    with pytest.raises(ValueError, match="shorter"):
        published_homographies([end], [], CALIBRATION, PublishRule(), X_SIZE)
