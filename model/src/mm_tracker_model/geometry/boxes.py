"""Boxes (x, y, w, h) in continuous image coordinates: validity, conversions, clipping, IoU, mapping through H.

The conversions take numpy arrays or torch tensors of shape (..., 4) and return the same kind.
"""

from __future__ import annotations

import numpy as np
import torch


def valid_boxes(boxes) -> np.ndarray:
    """(N, 4) -> (N,) True where the box is finite with w, h > 0."""
    values = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.isfinite(values).all(axis=1) & (values[:, 2] > 0) & (values[:, 3] > 0)


def is_valid_box(box) -> bool:
    values = np.asarray(box, dtype=np.float64)
    return values.shape == (4,) and bool(valid_boxes(values)[0])


def _join(parts: list, like):
    return torch.cat(parts, dim=-1) if isinstance(like, torch.Tensor) else np.concatenate(parts, axis=-1)


def cxcywh_to_xywh(boxes):
    return _join([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., 2:]], boxes)


def cxcywh_to_xyxy(boxes):
    return _join([boxes[..., :2] - boxes[..., 2:] / 2, boxes[..., :2] + boxes[..., 2:] / 2], boxes)


def xywh_to_xyxy(boxes):
    return _join([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], boxes)


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


def intersection(a, b) -> float:
    """Area shared by two (x, y, w, h) boxes."""
    ax1, ay1, aw, ah = a
    bx1, by1, bw, bh = b
    inter_w = max(0.0, min(ax1 + aw, bx1 + bw) - max(ax1, bx1))
    inter_h = max(0.0, min(ay1 + ah, by1 + bh) - max(ay1, by1))
    return inter_w * inter_h


def iou(a, b) -> float:
    """Continuous-coordinate IoU of two (x, y, w, h) boxes."""
    inter = intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def map_box(box, matrix: np.ndarray) -> np.ndarray:
    """Axis-aligned bounds of a box's four corners mapped through a 3x3 homography."""
    x, y, w, h = box
    corners = np.array([[x, y, 1], [x + w, y, 1], [x + w, y + h, 1], [x, y + h, 1]], dtype=np.float64)
    mapped = corners @ np.asarray(matrix, dtype=np.float64).T
    mapped = mapped[:, :2] / mapped[:, 2:3]
    low, high = mapped.min(0), mapped.max(0)
    return np.array([low[0], low[1], high[0] - low[0], high[1] - low[1]])
