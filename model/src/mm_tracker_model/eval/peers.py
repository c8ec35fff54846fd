"""The trackers a user compares us with, on the same frames: OpenCV's CSRT, KCF, MIL and NanoTrack (cv2.TrackerNano).

Each runs on the RGB frames of a sequence from its first ground-truth box and writes toolkit result files
(`x,y,w,h` per frame, our 0-based pixel convention, frame 0 = the given box), beside the ground truth in the
same convention, so `mm-tracker-metrics` scores peers and `mm-tracker-eval` results alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mm_tracker_model.data.sequence import Sequence
from mm_tracker_model.errors import PeerError

NANO_FILES = ("nanotrackv2_backbone_sim.onnx", "nanotrackv2_head_sim.onnx")


def _contrib(name: str) -> Callable[[Path | None], object]:
    def create(_models: Path | None) -> object:
        if not hasattr(cv2, name):
            raise PeerError(f"cv2.{name} needs OpenCV's contrib modules (opencv-contrib-python-headless)")
        return getattr(cv2, name).create()

    return create


def _nano(models: Path | None) -> object:
    if models is None or not all((models / f).is_file() for f in NANO_FILES):
        raise PeerError(f"cv2.TrackerNano needs {' and '.join(NANO_FILES)} in --nano-models (got {models})")
    params = cv2.TrackerNano_Params()
    params.backbone, params.neckhead = (str(models / f) for f in NANO_FILES)
    return cv2.TrackerNano.create(params)


PEERS: dict[str, Callable[[Path | None], object]] = {
    "csrt": _contrib("TrackerCSRT"),
    "kcf": _contrib("TrackerKCF"),
    "mil": _contrib("TrackerMIL"),
    "nano": _nano,
}


@dataclass
class PeerRun:
    tracker: str
    sequence: str
    boxes: np.ndarray  # (N, 4) x, y, w, h; NaN where the tracker reported a failure
    update_s: float  # time spent in the trackers' update calls

    @property
    def fps(self) -> float:
        return (len(self.boxes) - 1) / self.update_s if self.update_s > 0 else 0.0


def run_peer(name: str, sequence: Sequence, models: Path | None = None) -> PeerRun:
    if name not in PEERS:
        raise PeerError(f"peer {name!r} unknown; known: {', '.join(PEERS)}")
    frames = sequence.annotated_frames()
    if len(frames) == 0 or frames[0] != 0:
        raise PeerError(f"sequence {sequence.name!r}: the first frame has no valid ground-truth box to start from")
    tracker = PEERS[name](models)
    first = sequence.boxes_rgb[0]
    tracker.init(cv2.cvtColor(sequence.load_rgb(0), cv2.COLOR_RGB2BGR), tuple(int(v) for v in np.round(first)))
    boxes, spent = [np.asarray(first, dtype=np.float64)], 0.0
    for index in range(1, len(sequence)):
        image = cv2.cvtColor(sequence.load_rgb(index), cv2.COLOR_RGB2BGR)
        start = time.perf_counter()
        found, box = tracker.update(image)
        spent += time.perf_counter() - start
        boxes.append(np.asarray(box, dtype=np.float64) if found else np.full(4, np.nan))
    return PeerRun(name, sequence.name, np.array(boxes), spent)


def write_results(out: Path, run: PeerRun) -> Path:
    path = out / run.tracker / f"{run.sequence}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, run.boxes, delimiter=",", fmt="%.3f")
    return path


def write_ground_truth(out: Path, sequence: Sequence) -> Path:
    """Ground truth in the result files' convention (our 0-based pixels, one row per frame, NaN when absent)."""
    boxes = np.full((len(sequence), 4), np.nan)
    rows = sequence.boxes_rgb[: -(-len(sequence) // sequence.gt_every)]
    boxes[np.arange(len(rows)) * sequence.gt_every] = rows
    path = out / "gt" / f"{sequence.name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, boxes, delimiter=",", fmt="%.3f")
    return path
