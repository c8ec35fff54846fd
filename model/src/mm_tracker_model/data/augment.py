"""Appearance augmentation of training crops: colour, grayscale, blur, occluders and pasted distractors.

Crops are (6, S, S) uint8 arrays, RGB then X channels, after the geometric sampling. Colour changes
(contrast, saturation, grayscale) touch the RGB channels only (the X stream keeps its own sensor's look, and a
per-channel gain on X already comes from the sampler's brightness); blur and occluders touch both streams (a
shaken rig blurs both cameras, an object in front blocks both);
distractors are targets cut from other sequences, pasted into both streams away from the target, so the
network must tell the template's object from a look-alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from mm_tracker_model.geometry.boxes import intersection

GREY_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601, as cv2.cvtColor


@dataclass(frozen=True)
class AppearanceConfig:
    """Probabilities and strengths; every default is off so older configs sample what they did."""

    grayscale_probability: float = 0.0  # both crops of a pair together: a grey video stays grey
    contrast: float = 0.0  # RGB contrast factor in [1 - c, 1 + c] per crop
    saturation: float = 0.0  # RGB saturation factor in [1 - s, 1 + s] per crop
    blur_probability: float = 0.0  # search crop only (motion, defocus)
    blur_sigma: float = 1.5  # the largest Gaussian sigma, crop pixels
    occluder_probability: float = 0.0  # search crop: a patch of the crop's own background over the target
    occluder_max_cover: float = 0.5  # the largest share of the target box's area the occluder covers
    distractor_probability: float = 0.0  # search crop: another sequence's target pasted beside the target

    def __post_init__(self) -> None:
        probabilities = (
            self.grayscale_probability,
            self.blur_probability,
            self.occluder_probability,
            self.distractor_probability,
        )
        if not all(0 <= p <= 1 for p in probabilities):
            raise ValueError("augmentation probabilities must be in [0, 1]")
        if not (0 <= self.contrast < 1 and 0 <= self.saturation < 1 and self.blur_sigma > 0):
            raise ValueError("contrast and saturation in [0, 1), blur_sigma > 0")
        if not 0 < self.occluder_max_cover <= 1:
            raise ValueError("occluder_max_cover in (0, 1]")


def grayscale(crop: np.ndarray) -> np.ndarray:
    """The RGB channels replaced by their luminance (X untouched)."""
    out = crop.copy()
    grey = np.tensordot(GREY_WEIGHTS, crop[:3].astype(np.float32), axes=1)
    out[:3] = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return out


def colour_jitter(crop: np.ndarray, contrast: float, saturation: float) -> np.ndarray:
    """RGB contrast about the crop's mean luminance and saturation about each pixel's luminance."""
    rgb = crop[:3].astype(np.float32)
    grey = np.tensordot(GREY_WEIGHTS, rgb, axes=1)
    rgb = grey[None] + saturation * (rgb - grey[None])
    rgb = grey.mean() + contrast * (rgb - grey.mean())
    out = crop.copy()
    out[:3] = np.clip(rgb, 0, 255).astype(np.uint8)
    return out


def blur(crop: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of both streams (a blurred frame blurs the rig, and the X camera moves with it)."""
    image = np.ascontiguousarray(crop.transpose(1, 2, 0))
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma).transpose(2, 0, 1)


def _paste(crop: np.ndarray, patch: np.ndarray, x: int, y: int) -> None:
    """`patch` (C, h, w) into `crop` at column x, row y, clipped to the crop."""
    size = crop.shape[1]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + patch.shape[2], size), min(y + patch.shape[1], size)
    if x1 > x0 and y1 > y0:
        crop[:, y0:y1, x0:x1] = patch[:, y0 - y : y1 - y, x0 - x : x1 - x]


def occlude(crop: np.ndarray, box_px: np.ndarray, cover: float, rng: np.random.Generator) -> np.ndarray:
    """A patch of the crop's own background (both streams) over about `cover` of the target box's area."""
    size = crop.shape[1]
    x, y, w, h = box_px
    aspect = np.exp(rng.uniform(-0.7, 0.7))
    area = cover * w * h
    ow = int(np.clip(np.sqrt(area * aspect), 2, size // 2))
    oh = int(np.clip(np.sqrt(area / aspect), 2, size // 2))
    # The occluder enters from a random side: its centre anywhere on the box.
    ox = int(x + rng.uniform(0, w) - ow / 2)
    oy = int(y + rng.uniform(0, h) - oh / 2)
    sx, sy = int(rng.integers(0, size - ow + 1)), int(rng.integers(0, size - oh + 1))
    out = crop.copy()
    _paste(out, crop[:, sy : sy + oh, sx : sx + ow].copy(), ox, oy)
    return out


def paste_distractor(
    crop: np.ndarray, box_px: np.ndarray, patch: np.ndarray, rng: np.random.Generator, tries: int = 10
) -> np.ndarray:
    """`patch` (6, h, w), another object, pasted where it overlaps the target box by at most a quarter of it."""
    size = crop.shape[1]
    h, w = patch.shape[1:]
    for _ in range(tries):
        px, py = int(rng.integers(-w // 2, size - w // 2)), int(rng.integers(-h // 2, size - h // 2))
        if intersection((px, py, w, h), box_px) <= 0.25 * box_px[2] * box_px[3]:
            out = crop.copy()
            _paste(out, patch, px, py)
            return out
    return crop


class Appearance:
    """Applies an AppearanceConfig to a sampled (template, search) pair of crops."""

    def __init__(self, config: AppearanceConfig) -> None:
        self.config = config

    @property
    def wants_distractor(self) -> bool:
        return self.config.distractor_probability > 0

    def __call__(
        self,
        template: np.ndarray,
        search: np.ndarray,
        box_px: np.ndarray,
        rng: np.random.Generator,
        distractor: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        if distractor is not None and _chance(cfg.distractor_probability, rng):
            search = paste_distractor(search, box_px, distractor, rng)
        if _chance(cfg.occluder_probability, rng):
            search = occlude(search, box_px, rng.uniform(0.1, cfg.occluder_max_cover), rng)
        if cfg.contrast or cfg.saturation:
            low = 1 - np.array([cfg.contrast, cfg.saturation])
            template, search = (colour_jitter(c, *rng.uniform(low, 2 - low)) for c in (template, search))
        if _chance(cfg.grayscale_probability, rng):
            template, search = grayscale(template), grayscale(search)
        if _chance(cfg.blur_probability, rng):
            search = blur(search, rng.uniform(min(0.5, cfg.blur_sigma), cfg.blur_sigma))
        return template, search


def _chance(probability: float, rng: np.random.Generator) -> bool:
    """True with `probability`; draws nothing when it is 0, so a config without augmentation samples as before."""
    return probability > 0 and rng.random() < probability
