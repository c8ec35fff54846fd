"""A small seeded RGB + thermal-like sequence generator with exact boxes and X -> RGB homographies.

Enough for engine tests and benchmarks; the full synthetic data set is a separate generator.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from mm_tracker_model.geometry.boxes import cxcywh_to_xywh, map_box
from mm_tracker_model.geometry.crops import warp_image


@dataclass
class ToyFrame:
    rgb: np.ndarray  # (H, W, 3) uint8
    x: np.ndarray  # (Hx, Wx, 3) uint8, another resolution
    box: np.ndarray  # target in RGB pixels
    box_x: np.ndarray  # target in X pixels
    x_to_rgb: np.ndarray  # true homography, X pixels -> RGB pixels


def rig_homography(frame: int, x_size: tuple[int, int], rgb_size: tuple[int, int], drift_px: float, rng) -> np.ndarray:
    """Resolution change + a slowly drifting offset with a little vibration jitter."""
    sx, sy = rgb_size[0] / x_size[0], rgb_size[1] / x_size[1]
    tx = 6.0 + drift_px * np.sin(frame / 40.0) + rng.normal(0, 0.3)
    ty = -4.0 + drift_px * np.cos(frame / 55.0) + rng.normal(0, 0.3)
    return np.array([[sx * 1.02, 0.0, tx], [0.0, sy * 1.02, ty], [0.0, 0.0, 1.0]])


def toy_sequence(*args, **kwargs) -> list[ToyFrame]:
    """All the frames of `toy_frames(*args, **kwargs)` at once."""
    return list(toy_frames(*args, **kwargs))


def toy_frames(
    frames: int = 30,
    rgb_size: tuple[int, int] = (320, 240),
    x_size: tuple[int, int] = (256, 192),
    drift_px: float = 8.0,
    seed: int = 0,
) -> Iterator[ToyFrame]:
    """The frames of `toy_sequence`, made one at a time (a long 1080p sequence does not fit in memory at once)."""
    rng = np.random.default_rng(seed)
    width, height = rgb_size
    noise = rng.normal(0, 1, size=(height // 8, width // 8, 3)).astype(np.float32)
    background = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    background = np.clip(110 + 35 * background, 0, 255).astype(np.uint8)
    thermal_background = np.clip(60 + 10 * background[..., 1:2].astype(np.float32) / 255, 0, 255)
    texture = rng.integers(150, 255, size=(16, 16, 3), dtype=np.uint8)
    for t in range(frames):
        w, h = 48 + 8 * np.sin(t / 20.0), 36 + 6 * np.cos(t / 25.0)
        cx = width / 2 + 0.3 * width * np.sin(t / 30.0)
        cy = height / 2 + 0.25 * height * np.sin(t / 45.0 + 1.0)
        box = cxcywh_to_xywh(np.array([cx, cy, w, h]))
        rgb = background.copy()
        x0, y0, x1, y1 = (round(v) for v in (box[0], box[1], box[0] + w, box[1] + h))
        rgb[y0:y1, x0:x1] = cv2.resize(texture, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        thermal = np.repeat(thermal_background, 3, axis=2).copy()
        cv2.ellipse(thermal, (int(cx), int(cy)), (int(w / 2), int(h / 2)), 0, 0, 360, (235, 235, 235), -1)
        thermal = np.clip(thermal + rng.normal(0, 3, thermal.shape), 0, 255).astype(np.uint8)
        x_to_rgb = rig_homography(t, x_size, rgb_size, drift_px, rng)
        x_image = warp_image(thermal, np.linalg.inv(x_to_rgb), *x_size)
        yield ToyFrame(rgb, x_image, box, map_box(box, np.linalg.inv(x_to_rgb)), x_to_rgb)
