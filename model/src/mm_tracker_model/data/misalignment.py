"""A drifting, vibrating X -> RGB rig misalignment with exact per-frame homographies."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Misalignment:
    """Resolution change + mounting offset, small rotation, mild perspective, slow drift and jitter."""

    rgb_size: tuple[int, int]
    x_size: tuple[int, int]
    scale: float
    scale_drift: float
    period: float
    phase: float
    tx: float
    ty: float
    rotation: float
    px: float
    py: float
    drift_px: float
    jitter_px: float
    seed: int

    @classmethod
    def sample(
        cls, rng: np.random.Generator, rgb_size, x_size, drift_px: float = 10.0, jitter_px: float = 0.6
    ) -> Misalignment:
        return cls(
            rgb_size=tuple(rgb_size),
            x_size=tuple(x_size),
            scale=rng.uniform(0.92, 1.08),
            scale_drift=rng.uniform(0.0, 0.04),
            period=rng.uniform(25, 60),
            phase=rng.uniform(0, 2 * math.pi),
            tx=rng.uniform(-25, 25),
            ty=rng.uniform(-20, 20),
            rotation=math.radians(rng.uniform(-2.5, 2.5)),
            px=rng.normal(0, 2e-5),
            py=rng.normal(0, 2e-5),
            drift_px=drift_px,
            jitter_px=jitter_px,
            seed=int(rng.integers(2**31)),
        )

    def homography(self, t: int) -> np.ndarray:
        """X pixels -> RGB pixels at frame t (the jitter is a fixed function of seed and t)."""
        (rw, rh), (xw, xh) = self.rgb_size, self.x_size
        scale = self.scale * (1.0 + self.scale_drift * math.sin(t / self.period))
        tx = self.tx + self.drift_px * math.sin(t / self.period + self.phase)
        ty = self.ty + self.drift_px * math.cos(t / (1.3 * self.period))
        cos, sin = math.cos(self.rotation), math.sin(self.rotation)
        centre_x = np.array([[1, 0, -xw / 2], [0, 1, -xh / 2], [0, 0, 1]])
        to_rgb = np.array(
            [
                [rw / xw * scale * cos, -rh / xh * scale * sin, rw / 2 + tx],
                [rw / xw * scale * sin, rh / xh * scale * cos, rh / 2 + ty],
                [0, 0, 1],
            ]
        )
        perspective = np.array([[1, 0, 0], [0, 1, 0], [self.px, self.py, 1]])
        jx, jy = np.random.default_rng([self.seed, t]).normal(0, self.jitter_px, size=2)
        jitter = np.array([[1, 0, jx], [0, 1, jy], [0, 0, 1]])
        matrix = jitter @ to_rgb @ perspective @ centre_x
        return matrix / matrix[2, 2]
