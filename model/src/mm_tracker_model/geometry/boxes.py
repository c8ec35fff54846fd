"""Boxes (x, y, w, h) in continuous image coordinates: validation, clipping, IoU, mapping through H."""

from __future__ import annotations

import numpy as np


def is_valid_box(box) -> bool:
    values = np.asarray(box, dtype=np.float64)
    return values.shape == (4,) and bool(np.isfinite(values).all()) and values[2] > 0 and values[3] > 0


def overlaps_image(box, width: int, height: int) -> bool:
    x, y, w, h = box
    return x < width and y < height and x + w > 0 and y + h > 0


def clip_box(box, width: int, height: int, margin: float = 10.0) -> np.ndarray:
    """OSTrack's clip: keep at least `margin` pixels of the box inside the image, and at least margin wide."""
    x, y, w, h = box
    x1, y1, x2, y2 = x, y, x + w, y + h
    x1, y1 = min(max(0.0, x1), width - margin), min(max(0.0, y1), height - margin)
    x2, y2 = min(max(margin, x2), width), min(max(margin, y2), height)
    return np.array([x1, y1, max(margin, x2 - x1), max(margin, y2 - y1)], dtype=np.float64)


def iou(a, b) -> float:
    """Continuous-coordinate IoU of two (x, y, w, h) boxes."""
    ax1, ay1, aw, ah = a
    bx1, by1, bw, bh = b
    inter_w = max(0.0, min(ax1 + aw, bx1 + bw) - max(ax1, bx1))
    inter_h = max(0.0, min(ay1 + ah, by1 + bh) - max(ay1, by1))
    inter = inter_w * inter_h
    union = aw * ah + bw * bh - inter
    return float(inter / union) if union > 0 else 0.0


def map_box(box, matrix: np.ndarray) -> np.ndarray:
    """Axis-aligned bounds of a box's four corners mapped through a 3x3 homography."""
    x, y, w, h = box
    corners = np.array([[x, y, 1], [x + w, y, 1], [x + w, y + h, 1], [x, y + h, 1]], dtype=np.float64)
    mapped = corners @ np.asarray(matrix, dtype=np.float64).T
    mapped = mapped[:, :2] / mapped[:, 2:3]
    low, high = mapped.min(0), mapped.max(0)
    return np.array([low[0], low[1], high[0] - low[0], high[1] - low[1]])


def image_corners(width: float, height: float) -> np.ndarray:
    return np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]])


def corner_shift(matrix: np.ndarray, reference: np.ndarray, width: float, height: float) -> float:
    """Largest distance between an image corner mapped by `matrix` and by `reference`."""
    corners = np.hstack([image_corners(width, height), np.ones((4, 1))])

    def mapped(m: np.ndarray) -> np.ndarray:
        out = corners @ m.T
        return out[:, :2] / out[:, 2:3]

    return float(np.linalg.norm(mapped(matrix) - mapped(reference), axis=1).max())
