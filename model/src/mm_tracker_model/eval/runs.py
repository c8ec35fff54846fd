"""One evaluated sequence: what the tracker output per RGB frame, the ground truth, and the scores.

Both modes fill the same SequenceRun: offline runs the engine here; live reads the node's outputs back from
a recorded bag. Frames the tracker produced no output for keep the previous box (what a consumer of the
topic sees) and are counted as `no_output` drops.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from mm_tracker_model.bags.read import GroundTruth
from mm_tracker_model.eval.toolkits import SequenceResult, score_sequence
from mm_tracker_model.geometry import homography as hg


@dataclass
class FrameOutput:
    box: np.ndarray
    score: float
    state: int
    homography: np.ndarray | None = None  # the frame's X -> RGB estimate
    experts: tuple[str, ...] = ()
    latency_ms: float | None = None


@dataclass
class SequenceRun:
    name: str
    modality: str
    rgb_stamps: list[int] = field(default_factory=list)
    outputs: dict[int, FrameOutput] = field(default_factory=dict)
    truth: GroundTruth = field(default_factory=GroundTruth)
    gt_every: int = 1
    registered: bool = False
    x_size: tuple[int, int] | None = None  # (width, height) of the X image, for the alignment error
    drops: Counter = field(default_factory=Counter)
    wall_s: float = 0.0
    bag_error: str | None = None
    node_latency_ms: dict[str, float] = field(default_factory=dict)  # live: the node's own p50/p95

    def predictions(self) -> np.ndarray:
        boxes, previous = [], np.full(4, np.nan)
        for stamp in self.rgb_stamps:
            output = self.outputs.get(stamp)
            if output is not None:
                previous = output.box
            boxes.append(previous)
        return np.array(boxes).reshape(-1, 4)

    def ground_truth(self, boxes: dict[int, np.ndarray]) -> np.ndarray:
        """Rows in toolkit order: every frame, or every gt_every-th frame for sparse ground truth."""
        stamps = self.rgb_stamps[:: self.gt_every]
        return np.array([boxes.get(s, np.full(4, np.nan)) for s in stamps]).reshape(-1, 4)

    def alignment_errors(self) -> np.ndarray:
        """Corner error (X pixels) of each output frame whose true homography is known."""
        if self.x_size is None:
            return np.zeros(0)
        errors = []
        for stamp in self.rgb_stamps:
            output, truth = self.outputs.get(stamp), self.truth.homographies.get(stamp)
            if output is not None and output.homography is not None and truth is not None:
                error = hg.corner_error(torch.from_numpy(output.homography), torch.from_numpy(truth), *self.x_size)
                errors.append(float(error))
        return np.array(errors)

    def latencies(self) -> np.ndarray:
        return np.array([o.latency_ms for o in self.outputs.values() if o.latency_ms is not None])

    def toolkit(self) -> str:
        return "vtuav" if self.gt_every > 1 else "lasher"

    def score(self) -> dict[str, SequenceResult]:
        """`tracking` with the toolkit's convention; `rgbt` (MPR/MSR) when both registered ground truths exist."""
        predictions = self.predictions()
        self.drops["no_output"] = sum(1 for s in self.rgb_stamps if s not in self.outputs)
        scores = {}
        if self.toolkit() == "vtuav":
            gts = [self.ground_truth(self.truth.boxes), self.ground_truth(self.truth.boxes_x)]
            scores["rgbt"] = score_sequence("vtuav", predictions, gts)
            return scores
        scores["tracking"] = score_sequence("lasher", predictions, self.ground_truth(self.truth.boxes))
        if self.registered and self.truth.boxes_x:
            gts = [self.ground_truth(self.truth.boxes), self.ground_truth(self.truth.boxes_x)]
            scores["rgbt"] = score_sequence("rgbt234", predictions, gts)
        return scores
