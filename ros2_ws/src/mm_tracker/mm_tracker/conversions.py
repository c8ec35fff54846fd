"""Engine results -> mm_tracker_msgs (incoming images are decoded by mm_tracker_model.streams.image_msgs)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mm_tracker_model.engine.tracker import TrackResult
from mm_tracker_msgs.msg import Alignment, Box2D, TrackedTarget


def box_msg(box: np.ndarray) -> Box2D:
    x, y, w, h = (float(v) for v in box)
    return Box2D(x=x, y=y, width=w, height=h)


def target_msg(header: Any, aux_frame_id: str, result: TrackResult | None) -> TrackedTarget:
    msg = TrackedTarget(header=header, aux_frame_id=aux_frame_id)
    if result is None:
        msg.state = TrackedTarget.IDLE
        return msg
    msg.state = int(result.state)
    msg.score = float(result.score)
    msg.box = box_msg(result.box)
    msg.has_box_x = result.box_x is not None
    if result.box_x is not None:
        msg.box_x = box_msg(result.box_x)
    msg.degraded = bool(result.degraded)
    return msg


def alignment_msg(header: Any, aux_frame_id: str, result: TrackResult, calibration: np.ndarray) -> Alignment:
    return Alignment(
        header=header,
        aux_frame_id=aux_frame_id,
        homography=[float(v) for v in result.homography.flatten()],
        frame_homography=[float(v) for v in result.frame_homography.flatten()],
        calibration_homography=[float(v) for v in calibration.flatten()],
        updated=bool(result.tocu_updated),
        confidence=float(result.confidence),
        stage_experts=list(result.experts),
        stage_params=[float(v) for stage in result.stage_params for v in stage],
    )
