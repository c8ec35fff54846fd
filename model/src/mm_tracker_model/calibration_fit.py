"""Initial X -> RGB homography from checkerboard image pairs or listed point pairs (OpenCV)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mm_tracker_model.calibration import CalibrationError


@dataclass
class HomographyFit:
    homography: np.ndarray  # X pixels -> RGB pixels, our convention (pixel centres at i + 0.5)
    reprojection_error_px: float  # mean distance between mapped X points and their RGB points
    points: int


def _grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def find_board(image: np.ndarray, board: tuple[int, int], invert: str = "auto") -> np.ndarray | None:
    """Inner corners (N, 2) in our pixel convention, or None. Thermal boards often appear inverted."""
    grey = _grey(image)
    if grey.dtype != np.uint8:
        grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    candidates = {"no": [grey], "yes": [255 - grey], "auto": [grey, 255 - grey]}[invert]
    for candidate in candidates:
        found, corners = cv2.findChessboardCorners(candidate, board)
        if found:
            criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
            corners = cv2.cornerSubPix(candidate, corners, (5, 5), (-1, -1), criteria)
            # OpenCV centres pixels at integers; ours at i + 0.5.
            grid = corners.reshape(board[1], board[0], 2).astype(np.float64) + 0.5
            # Inverting the board flips OpenCV's corner order; side-by-side rig cameras are never rotated by
            # 90 degrees or more relative to each other, so order rows top to bottom, columns left to right.
            if grid[0, 0, 0] > grid[0, -1, 0]:
                grid = grid[:, ::-1]
            if grid[0, 0, 1] > grid[-1, 0, 1]:
                grid = grid[::-1]
            return grid.reshape(-1, 2).copy()
    return None


def fit_homography(aux_points: np.ndarray, rgb_points: np.ndarray) -> HomographyFit:
    aux_points, rgb_points = np.asarray(aux_points, np.float64), np.asarray(rgb_points, np.float64)
    if aux_points.shape != rgb_points.shape or aux_points.ndim != 2 or aux_points.shape[1] != 2:
        raise CalibrationError(f"point lists must both be (N, 2); got {aux_points.shape} and {rgb_points.shape}")
    if len(aux_points) < 4:
        raise CalibrationError(f"a homography needs at least 4 point pairs, got {len(aux_points)}")
    homography, _ = cv2.findHomography(aux_points, rgb_points, 0)
    if homography is None or not np.isfinite(homography).all():
        raise CalibrationError("the point pairs do not determine a homography (degenerate configuration)")
    mapped = cv2.perspectiveTransform(aux_points.reshape(-1, 1, 2), homography).reshape(-1, 2)
    error = float(np.linalg.norm(mapped - rgb_points, axis=1).mean())
    return HomographyFit(homography / homography[2, 2], error, len(aux_points))


def fit_from_boards(
    pairs: list[tuple[np.ndarray, np.ndarray]], board: tuple[int, int], invert_aux: str = "auto"
) -> HomographyFit:
    """Stack the board corners of every pair where both images show the whole board."""
    aux_all, rgb_all, missed = [], [], []
    for index, (rgb, aux) in enumerate(pairs):
        rgb_corners, aux_corners = find_board(rgb, board, "no"), find_board(aux, board, invert_aux)
        if rgb_corners is None or aux_corners is None:
            missed.append(index)
            continue
        rgb_all.append(rgb_corners)
        aux_all.append(aux_corners)
    if not rgb_all:
        raise CalibrationError(f"no {board[0]}x{board[1]} checkerboard found in both images of any pair")
    return fit_homography(np.vstack(aux_all), np.vstack(rgb_all))
