import cv2
import numpy as np
import pytest

from mm_tracker_model.calibration import CalibrationError, load_calibration
from mm_tracker_model.calibration_fit import fit_from_boards, fit_homography
from mm_tracker_model.cli import calibrate
from mm_tracker_model.geometry.crops import warp_image

TRUE_H = np.array([[0.95, 0.02, 14.0], [-0.01, 1.05, -9.0], [1e-5, 0.0, 1.0]])  # X -> RGB


def _board_image(offset: tuple[int, int], square: int = 24, size=(480, 360)) -> np.ndarray:
    """A 10x7-square checkerboard (9x6 inner corners) on a grey background (grey whether inverted or not)."""
    image = np.full((size[1], size[0]), 128, np.uint8)
    ox, oy = offset
    for r in range(7):
        for c in range(10):
            value = 0 if (r + c) % 2 == 0 else 255
            image[oy + r * square : oy + (r + 1) * square, ox + c * square : ox + (c + 1) * square] = value
    return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)


def _pair(offset, invert_aux=True):
    rgb = _board_image(offset)
    aux = warp_image(rgb, np.linalg.inv(TRUE_H), 420, 340)
    if invert_aux:  # warm squares read bright in thermal: the board appears inverted
        aux = 255 - aux
    return rgb, aux


def test_recovers_a_known_homography_from_inverted_thermal_boards():
    fit = fit_from_boards([_pair((80, 60)), _pair((160, 120))], board=(9, 6))
    assert _max_error_over_boards(fit.homography) < 0.5
    assert fit.reprojection_error_px < 0.3 and fit.points == 108


def _max_error_over_boards(homography: np.ndarray) -> float:
    """Largest mapping error over the X-image area the boards covered (extrapolation is not tested)."""
    xs, ys = np.meshgrid(np.linspace(80, 380, 7), np.linspace(60, 290, 7))
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).reshape(-1, 1, 2)
    got = cv2.perspectiveTransform(points, homography).reshape(-1, 2)
    expected = cv2.perspectiveTransform(points, TRUE_H).reshape(-1, 2)
    return float(np.linalg.norm(got - expected, axis=1).max())


def test_point_pairs_fit_exactly():
    aux = np.array([[10, 10], [300, 20], [280, 250], [30, 240], [150, 120]], dtype=np.float64)
    mapped = cv2.perspectiveTransform(aux.reshape(-1, 1, 2), TRUE_H).reshape(-1, 2)
    fit = fit_homography(aux, mapped)
    np.testing.assert_allclose(fit.homography, TRUE_H / TRUE_H[2, 2], atol=1e-6)
    assert fit.reprojection_error_px < 1e-4


def test_too_few_points_and_missing_boards_are_explained():
    with pytest.raises(CalibrationError, match="at least 4 point pairs, got 3"):
        fit_homography(np.zeros((3, 2)), np.zeros((3, 2)))
    blank = np.full((100, 100, 3), 255, np.uint8)
    with pytest.raises(CalibrationError, match="no 9x6 checkerboard"):
        fit_from_boards([(blank, blank)], board=(9, 6))


def test_cli_writes_a_calibration_from_image_pairs(tmp_path, capsys):
    rgb, aux = _pair((100, 80))
    cv2.imwrite(str(tmp_path / "rgb.png"), rgb)
    cv2.imwrite(str(tmp_path / "aux.png"), aux)
    out = tmp_path / "rig.yaml"
    args = ["--pairs", f"{tmp_path / 'rgb.png'}:{tmp_path / 'aux.png'}", "--board", "9x6", "--out", str(out)]
    assert calibrate.main(args) == 0
    assert "mean reprojection error" in capsys.readouterr().out
    rig = load_calibration(out)
    assert (rig.aux.width, rig.aux.height) == (420, 340)
    assert _max_error_over_boards(rig.homography_aux_to_rgb) < 2.0
