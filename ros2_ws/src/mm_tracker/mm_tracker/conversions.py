"""Message <-> engine conversions: incoming images to RGB arrays, results to mm_tracker_msgs."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from mm_tracker.image_conversion import ImageConversionError, image_to_array
from mm_tracker_model.engine.preprocess import aux_to_rgb, colour_to_rgb, thermal_to_rgb
from mm_tracker_model.engine.tracker import TrackResult
from mm_tracker_msgs.msg import Alignment, Box2D, TrackedTarget


def decode(msg: Any) -> tuple[np.ndarray, str]:
    """An Image or CompressedImage -> (array, encoding)."""
    if hasattr(msg, "encoding"):
        return image_to_array(msg), msg.encoding
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageConversionError(f"compressed image ({msg.format!r}) could not be decoded")
    if image.ndim == 3:
        return image[..., :3], "bgr8"
    return image, "16UC1" if image.dtype == np.uint16 else "mono8"


def rgb_from_message(msg: Any) -> np.ndarray:
    array, encoding = decode(msg)
    return colour_to_rgb(array, encoding)


def aux_from_message(
    msg: Any, modality: str, thermal_range: tuple[float, float] | None
) -> tuple[np.ndarray, list[str]]:
    array, encoding = decode(msg)
    if modality == "thermal" and thermal_range is not None and encoding in ("mono16", "16UC1"):
        return thermal_to_rgb(array, encoding, fixed_range=thermal_range), []
    return aux_to_rgb(array, modality, encoding)


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
