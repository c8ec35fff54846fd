"""The ground truth of an evaluated sequence, parsed from its ground-truth topics (mm_tracker_msgs).

One set of rules for every reader (offline and live scoring, the live run's initial box): a TrackedTarget's RGB box
is the target's only when its state is not IDLE (0) and the box is valid (finite, positive width and height; x and
y may be negative: a box partly outside the image); its X box only when `has_box_x` is set and the box is valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.engine.tracker import TrackState
from mm_tracker_model.geometry.boxes import is_valid_box


def box_array(box: Any) -> np.ndarray:
    """(x, y, w, h) of a Box2D message."""
    return np.array([box.x, box.y, box.width, box.height], dtype=np.float64)


def _valid(box: Any) -> np.ndarray | None:
    values = box_array(box)
    return values if is_valid_box(values) else None


def target_box(msg: Any) -> np.ndarray | None:
    """The RGB box of a ground-truth TrackedTarget; None when the target is absent (IDLE) or the box is invalid."""
    return _valid(msg.box) if msg.state != TrackState.IDLE else None


def target_box_x(msg: Any) -> np.ndarray | None:
    """The X box of a ground-truth TrackedTarget; None when it has none or it is invalid."""
    return _valid(msg.box_x) if msg.has_box_x else None


def true_homography(msg: Any) -> np.ndarray:
    """The X -> RGB homography of a ground-truth Alignment."""
    return np.array(msg.homography, dtype=np.float64).reshape(3, 3)


@dataclass
class GroundTruth:
    """Per RGB stamp: box (NaN: a frame annotated as target absent), X box, true homography."""

    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    boxes_x: dict[int, np.ndarray] = field(default_factory=dict)
    homographies: dict[int, np.ndarray] = field(default_factory=dict)

    def add_target(self, msg: Any) -> None:
        stamp, box, box_x = stamp_ns(msg.header), target_box(msg), target_box_x(msg)
        # An absent target is kept as NaN: the frame is annotated, and scored (the toolkits' invalid ground truth).
        self.boxes[stamp] = box if box is not None else np.full(4, np.nan)
        if box_x is not None:
            self.boxes_x[stamp] = box_x

    def add_alignment(self, msg: Any) -> None:
        self.homographies[stamp_ns(msg.header)] = true_homography(msg)
