"""The classical alignment baseline a user would try first: OpenCV's ECC between gradient-magnitude images.

Started from the calibration, re-estimated every `every` frames from the current estimate (affine or
homography), on images scaled so the longer side is `max_side`. A failed estimate (ECC did not converge, its
result is degenerate, or it moves an X image corner further from the calibration than the engine's guard allows)
keeps the previous homography and is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mm_tracker_model.geometry import homography as hg

MOTIONS = {"affine": cv2.MOTION_AFFINE, "homography": cv2.MOTION_HOMOGRAPHY}


@dataclass(frozen=True)
class EccConfig:
    motion: str = "affine"
    every: int = 10
    iterations: int = 50
    epsilon: float = 1e-5
    max_side: int = 320
    blur: int = 5  # Gaussian filter size inside ECC
    # The engine's guard (EngineConfig.max_corner_shift), applied to ECC too: a diverged ECC estimate is a
    # failure, not a measurement (measured without it: 2,500 px corner errors on a real face sequence).
    max_corner_shift: float = 0.25

    def __post_init__(self) -> None:
        if self.motion not in MOTIONS:
            raise ValueError(f"ECC motion {self.motion!r} unknown; known: {', '.join(MOTIONS)}")
        if self.every < 1 or self.iterations < 1 or self.max_side < 16 or not self.max_corner_shift > 0:
            raise ValueError("ECC: every >= 1, iterations >= 1, max_side >= 16, max_corner_shift > 0")


def gradient_magnitude(image: np.ndarray, scale: float) -> np.ndarray:
    """Float32 gradient magnitude of a (resized) grey image, normalised to unit maximum."""
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    magnitude = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))
    return magnitude / max(float(magnitude.max()), 1e-6)


class EccAligner:
    """Tracks the X -> RGB homography of a rig frame by frame with ECC."""

    def __init__(self, calibration: np.ndarray, config: EccConfig | None = None) -> None:
        self.config = config or EccConfig()
        self.homography = np.asarray(calibration, dtype=np.float64)
        self.calibration = self.homography / self.homography[2, 2]
        self.frames = self.failures = self.estimates = 0

    def update(self, rgb: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """The estimate for this frame (re-estimated every `every` frames, else the last one)."""
        cfg = self.config
        self.frames += 1
        if (self.frames - 1) % cfg.every:
            return self.homography
        self.estimates += 1
        s_rgb = cfg.max_side / max(rgb.shape[:2])
        s_aux = cfg.max_side / max(aux.shape[:2])
        to_small_rgb, to_small_aux = np.diag([s_rgb, s_rgb, 1.0]), np.diag([s_aux, s_aux, 1.0])
        # ECC finds W with template(p) ~ input(W p): template = RGB, input = X, so W maps RGB -> X.
        small = to_small_rgb @ self.homography @ np.linalg.inv(to_small_aux)
        warp = np.linalg.inv(small)
        warp = (warp / warp[2, 2]).astype(np.float32)
        if cfg.motion == "affine":
            warp = warp[:2].copy()
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, cfg.iterations, cfg.epsilon)
        try:
            _, found = cv2.findTransformECC(
                gradient_magnitude(rgb, s_rgb), gradient_magnitude(aux, s_aux), warp, MOTIONS[cfg.motion],
                criteria, None, cfg.blur,
            )  # fmt: skip
        except cv2.error:
            self.failures += 1
            return self.homography
        full = np.vstack([found, [0.0, 0.0, 1.0]]) if found.shape[0] == 2 else found.astype(np.float64)
        if not np.isfinite(full).all() or abs(np.linalg.det(full)) < 1e-6:
            self.failures += 1
            return self.homography
        estimate = np.linalg.inv(to_small_rgb) @ np.linalg.inv(full.astype(np.float64)) @ to_small_aux
        estimate = estimate / estimate[2, 2]
        height, width = aux.shape[:2]
        if not hg.within_corner_shift(estimate, self.calibration, width, height, cfg.max_corner_shift):
            self.failures += 1
            return self.homography
        self.homography = estimate
        return self.homography
