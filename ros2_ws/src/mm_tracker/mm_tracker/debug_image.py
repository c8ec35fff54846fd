"""The rviz debug view: the RGB frame with the X image overlaid through the homography, the box and the state."""

from __future__ import annotations

import cv2
import numpy as np

from mm_tracker_model.geometry.crops import warp_image

STATE_COLOURS = {0: (160, 160, 160), 1: (40, 220, 40), 2: (230, 40, 40)}


def render_debug_image(
    rgb: np.ndarray,
    aux_rgb: np.ndarray | None,
    x_to_rgb: np.ndarray,
    box: np.ndarray | None,
    state: int,
    label: str,
    scale: float,
) -> np.ndarray:
    """(h, w, 3) uint8 RGB at `scale` of the RGB image; the X overlay shows how well the homography aligns."""
    height, width = (max(1, round(rgb.shape[0] * scale)), max(1, round(rgb.shape[1] * scale)))
    view = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    scaling = np.diag([width / rgb.shape[1], height / rgb.shape[0], 1.0])
    if aux_rgb is not None:
        overlay = warp_image(aux_rgb, scaling @ x_to_rgb, width, height)
        covered = overlay.any(axis=2, keepdims=True)
        view = np.where(covered, cv2.addWeighted(view, 0.6, overlay, 0.4, 0.0), view)
    colour = STATE_COLOURS.get(state, (255, 255, 255))
    if box is not None:
        x, y, w, h = (box * np.array([scaling[0, 0], scaling[1, 1], scaling[0, 0], scaling[1, 1]])).tolist()
        cv2.rectangle(view, (round(x), round(y)), (round(x + w), round(y + h)), colour, 2)
    cv2.putText(view, label, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return np.ascontiguousarray(view)
