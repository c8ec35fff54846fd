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

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.ground_truth import GroundTruth
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
    tocu_updated: bool = False  # TOCU accepted this frame's homography as the new global one


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

    def note_input(self, name: str, msg) -> None:
        """Record what an input message tells about the sequence: ground truth, RGB frame stamps, X size."""
        if name == "gt_target":
            self.truth.add_target(msg)
        elif name == "gt_alignment":
            self.truth.add_alignment(msg)
        elif name == "rgb":
            self.rgb_stamps.append(stamp_ns(msg.header))
        elif name == "aux" and self.x_size is None:
            self.x_size = (int(msg.width), int(msg.height))

    def predictions(self) -> np.ndarray:
        """One box per RGB frame; a frame without output keeps the previous box (NaN before the first)."""
        boxes, previous = [], np.full(4, np.nan)
        for stamp in self.rgb_stamps:
            output = self.outputs.get(stamp)
            if output is not None:
                previous = output.box
            boxes.append(previous)
        return np.array(boxes).reshape(-1, 4)

    def scored_frames(self) -> list[int]:
        """Indices of the RGB frames that carry a ground-truth message (every frame, or the sparse ones).

        Frames with no message at all are left out rather than scored as 'target absent', which the toolkits
        count as precision hits.
        """
        frames = [i for i, stamp in enumerate(self.rgb_stamps) if stamp in self.truth.boxes]
        if not frames:
            raise MMTrackerError(f"sequence {self.name!r}: no ground-truth message matches any RGB frame's stamp")
        return frames

    def ground_truth(self, boxes: dict[int, np.ndarray]) -> np.ndarray:
        nan = np.full(4, np.nan)
        return np.array([boxes.get(self.rgb_stamps[i], nan) for i in self.scored_frames()]).reshape(-1, 4)

    def frames_without_output(self) -> int:
        return sum(1 for stamp in self.rgb_stamps if stamp not in self.outputs)

    def frame_alignment_errors(self) -> np.ndarray:
        """(RGB frames,) corner error in RGB pixels (X's corners mapped by both homographies); NaN where the
        true or the estimated homography is unknown."""
        errors = np.full(len(self.rgb_stamps), np.nan)
        if self.x_size is None:
            return errors
        for i, stamp in enumerate(self.rgb_stamps):
            output, truth = self.outputs.get(stamp), self.truth.homographies.get(stamp)
            if output is not None and output.homography is not None and truth is not None:
                error = hg.corner_error(torch.from_numpy(output.homography), torch.from_numpy(truth), *self.x_size)
                errors[i] = float(error)
        return errors

    def alignment_errors(self) -> np.ndarray:
        """The corner errors of the frames where both homographies are known."""
        errors = self.frame_alignment_errors()
        return errors[np.isfinite(errors)]

    def latencies(self) -> np.ndarray:
        return np.array([o.latency_ms for o in self.outputs.values() if o.latency_ms is not None])

    def score(self) -> dict[str, SequenceResult]:
        """`tracking` (LasHeR conventions); `rgbt` (MPR/MSR) when both registered ground truths exist.

        Sparse ground truth (VTUAV: every 10th frame) is scored on the annotated frames only, which is the
        VTUAV toolkit's subsampling of the results.
        """
        if not self.outputs:
            raise MMTrackerError(f"sequence {self.name!r}: the tracker produced no output (never initialised?)")
        predictions = self.predictions()[self.scored_frames()]
        scores = {}
        if self.gt_every == 1:
            scores["tracking"] = score_sequence("lasher", predictions, self.ground_truth(self.truth.boxes))
        if (self.registered or self.gt_every > 1) and self.truth.boxes_x:
            gts = [self.ground_truth(self.truth.boxes), self.ground_truth(self.truth.boxes_x)]
            scores["rgbt"] = score_sequence("rgbt234", predictions, gts)
        return scores
