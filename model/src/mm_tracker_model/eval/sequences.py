"""Run the engine over sequences with known homographies and score tracking and alignment.

Three settings share one code path: the full tracker (calibration = the true homography at frame 0, then
online alignment), `no_online_alignment` (the calibration is kept), and `identity` (no calibration and no
alignment: the X image is taken as aligned).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from tqdm import tqdm

from mm_tracker_model.data.sampler import aux_as_rgb
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.eval.metrics import overall, sequence_curves
from mm_tracker_model.geometry import homography as hg

SETTINGS = ("full", "no_online_alignment", "identity")


@dataclass
class EvaluationReport:
    setting: str
    pr: float
    npr: float
    sr: float
    align_corner_err_px: float
    sequences: int
    frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def run_sequence(net: torch.nn.Module, sequence, setting: str) -> tuple[np.ndarray, list[float]]:
    """Predicted RGB boxes per frame and the alignment corner error of each tracked frame (X pixels)."""
    online = setting == "full"
    tracker = Tracker(net, EngineConfig(online_alignment=online))
    first_rgb, first_x = sequence.load_rgb(0), aux_as_rgb(sequence.load_aux(0), sequence.modality)
    calibration = sequence.homographies[0] if setting != "identity" else np.eye(3)
    tracker.initialize(first_rgb, first_x, sequence.boxes_rgb[0], calibration)
    boxes, errors = [sequence.boxes_rgb[0]], []
    height, width = first_x.shape[:2]
    for index in range(1, len(sequence)):
        result = tracker.track(sequence.load_rgb(index), aux_as_rgb(sequence.load_aux(index), sequence.modality))
        boxes.append(result.box)
        estimate = torch.from_numpy(result.frame_homography)
        truth = torch.from_numpy(sequence.homographies[index])
        errors.append(float(hg.corner_error(estimate, truth, width, height)))
    return np.array(boxes), errors


def evaluate(net: torch.nn.Module, sequences: list, setting: str = "full", progress: bool = False) -> EvaluationReport:
    if setting not in SETTINGS:
        raise ValueError(f"setting {setting!r} unknown; known: {', '.join(SETTINGS)}")
    net.eval()
    curves, errors, frames = [], [], 0
    for sequence in tqdm(sequences, desc=setting, disable=not progress):
        boxes, sequence_errors = run_sequence(net, sequence, setting)
        curves.append(sequence_curves(boxes, sequence.boxes_rgb))
        errors += sequence_errors
        frames += len(sequence)
    scores = overall(curves)
    return EvaluationReport(setting, scores.pr, scores.npr, scores.sr, float(np.mean(errors)), len(sequences), frames)
