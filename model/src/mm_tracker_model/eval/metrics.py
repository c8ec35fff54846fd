"""Tracking metrics with the LasHeR toolkit's conventions (DESIGN §9), checked against published numbers.

Boxes (x, y, w, h). Centre = (x + (w-1)/2, y + (h-1)/2); IoU over inclusive pixel extents; frame 0's
prediction is the ground truth; a prediction with NaN or w, h <= 0 is replaced by the previous one; ground
truth rows with any value <= 0 count as hits for PR/NPR and misses for SR; per-sequence curves, then the
mean over sequences, leaving out sequences whose whole curve is zero (as the toolkit does).

The building blocks (FrameValues, frame_errors, curve) are shared with the other toolkits in
`eval.toolkits`, which encode forced hits as -1 and forced misses as +inf (errors) or -1 (IoU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

PR_THRESHOLDS = np.arange(0, 51, dtype=np.float64)  # pixels
NPR_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0
SR_THRESHOLDS = np.linspace(0, 1, 21)
HIT, MISS = -1.0, np.inf  # per-frame error values that pass / fail every threshold


@dataclass
class FrameValues:
    """Per-frame centre error (px), normalised centre error and IoU, forced hits and misses already encoded."""

    centre: np.ndarray
    normalised: np.ndarray
    iou: np.ndarray


@dataclass
class SequenceCurves:
    precision: np.ndarray  # (51,)
    normalised_precision: np.ndarray  # (51,)
    success: np.ndarray  # (21,)


@dataclass
class Scores:
    pr: float  # precision at 20 px
    npr: float  # normalised precision at 0.2
    sr: float  # success AUC


def clean_predictions(predictions: np.ndarray, ground_truth: np.ndarray) -> np.ndarray:
    """Frame 0 := ground truth; invalid predictions (NaN, w or h <= 0) repeat the previous one."""
    cleaned = np.array(predictions, dtype=np.float64, copy=True)[: len(ground_truth)]
    cleaned[0] = ground_truth[0]
    for i in range(1, len(cleaned)):
        row = cleaned[i]
        if not np.isfinite(row).all() or row[2] <= 0 or row[3] <= 0:
            cleaned[i] = cleaned[i - 1]
    return cleaned


def centres(boxes: np.ndarray) -> np.ndarray:
    return np.stack([boxes[:, 0] + (boxes[:, 2] - 1) / 2, boxes[:, 1] + (boxes[:, 3] - 1) / 2], axis=1)


def inclusive_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    left, top = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    right = np.minimum(a[:, 0] + a[:, 2] - 1, b[:, 0] + b[:, 2] - 1)
    bottom = np.minimum(a[:, 1] + a[:, 3] - 1, b[:, 1] + b[:, 3] - 1)
    inter = np.maximum(0, right - left + 1) * np.maximum(0, bottom - top + 1)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def frame_errors(predictions: np.ndarray, ground_truth: np.ndarray) -> FrameValues:
    """Raw per-frame values of equally long box arrays, nothing forced."""
    offset = centres(predictions) - centres(ground_truth)
    with np.errstate(divide="ignore", invalid="ignore"):
        normalised = np.linalg.norm(offset / ground_truth[:, 2:4], axis=1)
    return FrameValues(np.linalg.norm(offset, axis=1), normalised, inclusive_iou(predictions, ground_truth))


def invalid_rows(boxes: np.ndarray) -> np.ndarray:
    """Rows with any value <= 0 or not finite: the LasHeR/LaSOT toolkits' 'invalid ground truth'."""
    return (boxes <= 0).any(axis=1) | ~np.isfinite(boxes).all(axis=1)


def lasher_frames(predictions: np.ndarray, ground_truth: np.ndarray) -> FrameValues:
    """LasHeR toolkit per-frame values over the common length; invalid GT: PR/NPR hit, SR miss."""
    n = min(len(predictions), len(ground_truth))
    gt = np.asarray(ground_truth, dtype=np.float64)[:n]
    values = frame_errors(clean_predictions(predictions, gt)[:n], gt)
    invalid = invalid_rows(gt)
    values.centre[invalid], values.normalised[invalid], values.iou[invalid] = HIT, HIT, -1.0
    return values


def curve(values: np.ndarray, thresholds: np.ndarray, passes: Callable = np.less_equal) -> np.ndarray:
    """Share of frames whose value passes each threshold (NaN never passes)."""
    return passes(values[None, :], thresholds[:, None]).mean(axis=1)


def sequence_curves(predictions: np.ndarray, ground_truth: np.ndarray) -> SequenceCurves:
    values = lasher_frames(predictions, ground_truth)
    return SequenceCurves(
        precision=curve(values.centre, PR_THRESHOLDS),
        normalised_precision=curve(values.normalised, NPR_THRESHOLDS),
        success=curve(values.iou, SR_THRESHOLDS, np.greater),
    )


def mean_nonzero(curves: list[np.ndarray]) -> np.ndarray:
    """Mean curve, leaving out all-zero curves (the OTB/LaSOT/LasHeR plotting scripts' `sum(aa,2)>eps`)."""
    kept = [c for c in curves if c.any()]
    return np.mean(kept, axis=0) if kept else np.zeros_like(curves[0])


def overall(curves: list[SequenceCurves]) -> Scores:
    precision = mean_nonzero([c.precision for c in curves])
    normalised = mean_nonzero([c.normalised_precision for c in curves])
    success = mean_nonzero([c.success for c in curves])
    return Scores(pr=float(precision[20]), npr=float(normalised[20]), sr=float(success.mean()))
