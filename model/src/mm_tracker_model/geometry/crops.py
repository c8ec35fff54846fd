"""Square crops around a box as projective maps, so crops compose with homographies and warp in one step."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class CropTransform:
    """Image -> crop map: q = (p - origin) * scale, for an `output_size`-pixel square crop."""

    origin_x: float
    origin_y: float
    scale: float  # crop pixels per image pixel
    output_size: int

    @classmethod
    def around(cls, box: tuple[float, float, float, float], factor: float, output_size: int) -> CropTransform:
        """OSTrack's crop: side ceil(sqrt(w h) * factor) image pixels centred on the box, resized to output."""
        x, y, w, h = box
        side = math.ceil(math.sqrt(w * h) * factor)
        if not side > 0:
            raise ValueError(f"cannot crop around box {box}: it has no area")
        cx, cy = x + w / 2, y + h / 2
        return cls(cx - side / 2, cy - side / 2, output_size / side, output_size)

    @property
    def matrix(self) -> np.ndarray:
        """3x3 image -> crop pixel coordinates."""
        s = self.scale
        return np.array([[s, 0, -s * self.origin_x], [0, s, -s * self.origin_y], [0, 0, 1]], dtype=np.float64)

    def box_to_image(self, box_in_crop: np.ndarray) -> np.ndarray:
        """(x, y, w, h) in crop pixels -> image pixels."""
        x, y, w, h = box_in_crop
        return np.array(
            [x / self.scale + self.origin_x, y / self.scale + self.origin_y, w / self.scale, h / self.scale]
        )


# cv2 puts pixel centres at integer coordinates; ours sit at i + 0.5.
_HALF = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)
_MINUS_HALF = np.linalg.inv(_HALF)


def to_cv2(matrix: np.ndarray) -> np.ndarray:
    """A map in our pixel convention -> the same map in OpenCV's (integer pixel centres)."""
    return _MINUS_HALF @ matrix @ _HALF


def warp_image(image: np.ndarray, source_to_output: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample `image` into a width x height output through a 3x3 source -> output map; outside is zero."""
    return cv2.warpPerspective(
        image, to_cv2(source_to_output), (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def warp_into_crop(image: np.ndarray, image_to_crop: np.ndarray, output_size: int) -> np.ndarray:
    """Sample an output_size^2 crop of `image` through a 3x3 image -> crop map."""
    return warp_image(image, image_to_crop, output_size, output_size)
