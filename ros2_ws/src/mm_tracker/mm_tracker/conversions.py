"""Engine results -> mm_tracker_msgs, and optionally vision_msgs (incoming images: mm_tracker_model.streams.image_msgs).

vision_msgs is imported only when a detections message is built: it has no pip wheel, and this module must load
without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mm_tracker_model.engine.tracker import TrackResult, TrackState
from mm_tracker_msgs.msg import Alignment, Box2D, TrackedTarget

TARGET_CLASS = "target"


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
        homography=[float(v) for v in result.global_homography.flatten()],
        frame_homography=[float(v) for v in result.frame_homography.flatten()],
        calibration_homography=[float(v) for v in calibration.flatten()],
        updated=bool(result.tocu_updated),
        confidence=float(result.confidence),
        stage_experts=list(result.experts),
        stage_params=[float(v) for stage in result.stage_params for v in stage],
    )


def detection_fields(result: TrackResult, track_id: int) -> dict[str, Any] | None:
    """A vision_msgs 4.x Detection2D (less its header) as plain values; None unless TRACKING (a LOST target is not
    detected). The box centre and size are in RGB pixels, `id` the track id as text."""
    if result.state != TrackState.TRACKING:
        return None
    x, y, w, h = (float(v) for v in result.box)
    return {
        "id": str(track_id),
        "results": [{"hypothesis": {"class_id": TARGET_CLASS, "score": float(result.score)}}],
        "bbox": {"center": {"position": {"x": x + w / 2, "y": y + h / 2}, "theta": 0.0}, "size_x": w, "size_y": h},
    }


def detection_array_type() -> type:
    """vision_msgs/Detection2DArray; ImportError where vision_msgs is not installed."""
    from vision_msgs.msg import Detection2DArray

    return Detection2DArray


def detections_msg(header: Any, result: TrackResult, track_id: int) -> Any:
    """A Detection2DArray stamped like the RGB frame: one detection while TRACKING, none otherwise."""
    from vision_msgs.msg import Detection2D, ObjectHypothesisWithPose

    msg = detection_array_type()(header=header)
    fields = detection_fields(result, track_id)
    if fields is not None:
        detection = Detection2D(header=header, id=fields["id"])
        detection.results = [_assign(ObjectHypothesisWithPose(), values) for values in fields["results"]]
        _assign(detection.bbox, fields["bbox"])
        msg.detections = [detection]
    return msg


def _assign(msg: Any, values: dict[str, Any]) -> Any:
    """Set nested message fields from nested dicts."""
    for name, value in values.items():
        if isinstance(value, dict):
            _assign(getattr(msg, name), value)
        else:
            setattr(msg, name, value)
    return msg
