"""A synthesised X stream for RGB-only sequences: real textures with exact tracking and alignment ground truth.

Pseudo-thermal: luminance through a thermal-like response (smooth, low contrast) with the annotated target
warm and sensor noise. Pseudo-events: thresholded log-intensity change between consecutive real frames.
Pseudo-depth: a ground-plane gradient with the target nearer (a plausible layout, not measured depth).
The X image is rendered in the RGB frame, then warped into an X camera by a known drifting misalignment.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from mm_tracker_model.data.misalignment import Misalignment
from mm_tracker_model.data.sequence import Sequence, SequenceError
from mm_tracker_model.data.synthetic import event_frame
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import warp_image
from mm_tracker_model.modalities import MODALITIES


def _soft_box_mask(shape: tuple[int, int], box: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    if np.isfinite(box).all():
        x, y, w, h = box
        cv2.ellipse(
            mask, (int(x + w / 2), int(y + h / 2)), (max(1, int(w / 2)), max(1, int(h / 2))), 0, 0, 360, 1.0, -1
        )
    return cv2.GaussianBlur(mask, (0, 0), 2.0)


def pseudo_thermal(rgb: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    response = 0.3 + 0.25 * cv2.GaussianBlur(luminance, (0, 0), 2.5)
    response += 0.4 * _soft_box_mask(luminance.shape, box)
    response += rng.normal(0, 0.015, size=response.shape).astype(np.float32)
    return np.clip(response * 255, 0, 255).astype(np.uint8)


def pseudo_depth(rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    ground = np.linspace(9.0, 3.0, height, dtype=np.float32)[:, None] * np.ones((1, width), np.float32)
    texture = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0, (0, 0), 4.0)
    depth = ground + 0.5 * texture
    mask = _soft_box_mask((height, width), box)
    depth = depth * (1 - mask) + 2.0 * mask
    return np.clip(depth * 1000, 0, 65535).astype(np.uint16)


class PseudoAuxSequence:
    """An RGB-only Sequence plus a synthesised, misaligned X stream (the same frames, boxes and indices)."""

    def __init__(
        self,
        sequence: Sequence,
        modality: str,
        seed: int = 0,
        x_scale: float = 0.8,
        drift_px: float = 10.0,
        jitter_px: float = 0.6,
    ) -> None:
        if modality not in MODALITIES:
            raise SequenceError(f"pseudo modality {modality!r} unknown; known: {', '.join(MODALITIES)}")
        self.base, self.modality, self.seed = sequence, modality, seed
        first = sequence.load_rgb(0)
        rgb_size = (first.shape[1], first.shape[0])
        x_size = (max(32, round(rgb_size[0] * x_scale)), max(32, round(rgb_size[1] * x_scale)))
        self.misalignment = Misalignment.sample(
            np.random.default_rng([seed, 7]), rgb_size, x_size, drift_px=drift_px, jitter_px=jitter_px
        )
        self.homographies = np.stack([self.misalignment.homography(t) for t in range(len(sequence))])
        self.boxes_aux = np.stack(
            [map_box(b, np.linalg.inv(h)) for b, h in zip(sequence.boxes_rgb, self.homographies, strict=False)]
        )

    def __len__(self) -> int:
        return len(self.base)

    @property
    def boxes_rgb(self) -> np.ndarray:
        return self.base.boxes_rgb

    def as_sequence(self) -> Sequence:
        """The base sequence with the pseudo modality, X boxes and true homographies filled in."""
        return dataclasses.replace(
            self.base, modality=self.modality, boxes_aux=self.boxes_aux, homographies=self.homographies
        )

    def load_rgb(self, index: int) -> np.ndarray:
        return self.base.load_rgb(index)

    def load_aux(self, index: int) -> np.ndarray:
        rgb = self.base.load_rgb(index)
        box = self.base.boxes_rgb[index]
        if self.modality == "thermal":
            in_rgb_frame = pseudo_thermal(rgb, box, np.random.default_rng([self.seed, index]))
        elif self.modality == "depth":
            in_rgb_frame = pseudo_depth(rgb, box)
        else:
            previous = self.base.load_rgb(index - 1) if index > 0 else rgb
            in_rgb_frame = event_frame(previous, rgb)
        x_width, x_height = self.misalignment.x_size
        return warp_image(in_rgb_frame, np.linalg.inv(self.homographies[index]), x_width, x_height)
