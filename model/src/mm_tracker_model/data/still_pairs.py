"""Registered real RGB-thermal stills (RoadScene layout: `visible/NAME`, `infrared/NAME`) as short sequences.

Each still becomes a sequence under a synthetic camera motion (both cameras move together: the pair stays
registered, so the sampler's known warps give exact alignment truth) around a region chosen where the thermal
image has structure. It is the only real thermal appearance available here: polarity flips, glare and missing
texture that no generator fakes. The split is fixed by name so training and evaluation never share a pair.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mm_tracker_model.data.sequence import IMAGE_SUFFIXES, Sequence, SequenceError, read_image
from mm_tracker_model.data.sources import DerivedSequence
from mm_tracker_model.geometry.boxes import map_box
from mm_tracker_model.geometry.crops import warp_image

HELD_OUT_EVERY = 5  # every 5th pair by sorted name is held out
EVAL_FRAMES = 20  # frames of each pair's sequence in evaluation (`mm-tracker-eval --format still_pairs`)


def pair_names(root: str | Path) -> list[str]:
    """Names present in both `visible/` and `infrared/`, sorted."""
    root = Path(root)
    folders = [root / "visible", root / "infrared"]
    missing = [str(f) for f in folders if not f.is_dir()]
    if missing:
        raise SequenceError(f"still pairs {str(root)!r}: missing folder(s) {', '.join(missing)}")
    names = [sorted(p.name for p in f.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) for f in folders]
    both = sorted(set(names[0]) & set(names[1]))
    if not both:
        raise SequenceError(f"still pairs {str(root)!r}: no image is in both visible/ and infrared/")
    return both


def split_names(root: str | Path, held_out: bool) -> list[str]:
    """The training (held_out=False) or held-out (True) pairs: every 5th name by sorted order is held out."""
    return [n for i, n in enumerate(pair_names(root)) if (i % HELD_OUT_EVERY == 0) == held_out]


def held_out_pairs(root: str | Path) -> list[Path]:
    """ROOT/NAME of each held-out pair: the inputs of `mm-tracker-eval --dataset ROOT --format still_pairs`."""
    return [Path(root) / name for name in split_names(root, held_out=True)]


def _structured_box(infrared: np.ndarray, rng: np.random.Generator, candidates: int = 12) -> np.ndarray:
    """A box (x, y, w, h) of 12-30 % of the short side where the thermal gradient is strongest of a few tries."""
    height, width = infrared.shape[:2]
    grey = infrared if infrared.ndim == 2 else cv2.cvtColor(infrared, cv2.COLOR_RGB2GRAY)
    gradient = cv2.magnitude(*(cv2.Sobel(grey.astype(np.float32), cv2.CV_32F, *d) for d in ((1, 0), (0, 1))))
    integral = cv2.integral(gradient)
    best, best_score = None, -1.0
    for _ in range(candidates):
        side = rng.uniform(0.12, 0.30) * min(width, height)
        w, h = side * np.exp(rng.uniform(-0.3, 0.3)), side * np.exp(rng.uniform(-0.3, 0.3))
        x, y = rng.uniform(0.1 * width, 0.9 * width - w), rng.uniform(0.1 * height, 0.9 * height - h)
        x0, y0, x1, y1 = int(x), int(y), int(x + w), int(y + h)
        score = (integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]) / max(1.0, w * h)
        if score > best_score:
            best, best_score = np.array([x, y, w, h]), score
    return best


def _camera_motion(rng: np.random.Generator, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Per-frame image -> frame maps: a slow random similarity walk about the image centre."""
    width, height = size
    centre = np.array([[1, 0, -width / 2], [0, 1, -height / 2], [0, 0, 1.0]])
    back = np.linalg.inv(centre)
    velocity = rng.normal(0, [0.01 * width, 0.01 * height, 0.01, 0.005])
    state, maps = np.zeros(4), []
    for _ in range(frames):
        tx, ty, log_scale, angle = state
        scale, cos, sin = np.exp(log_scale), np.cos(angle), np.sin(angle)
        motion = np.array([[scale * cos, -scale * sin, tx], [scale * sin, scale * cos, ty], [0, 0, 1.0]])
        maps.append(back @ motion @ centre)
        state = state + velocity + rng.normal(0, [0.003 * width, 0.003 * height, 0.005, 0.002])
    return maps


def still_pair_sequence(root: str | Path, name: str, frames: int = 8, seed: int = 0) -> DerivedSequence:
    """One registered still pair as a `frames`-long sequence with exact boxes (identity registration)."""
    root = Path(root)
    rgb, infrared = read_image(root / "visible" / name, colour=True), read_image(root / "infrared" / name, False)
    if infrared.shape[:2] != rgb.shape[:2]:
        raise SequenceError(f"still pair {name!r}: visible {rgb.shape[:2]} and infrared {infrared.shape[:2]} differ")
    rng = np.random.default_rng([seed, *name.encode()])
    height, width = rgb.shape[:2]
    maps = _camera_motion(rng, frames, (width, height))
    box = _structured_box(infrared, rng)
    boxes = np.stack([map_box(box, m) for m in maps])

    def frame(image: np.ndarray, index: int) -> np.ndarray:
        return warp_image(image, maps[index], width, height)

    base = Sequence(
        name=f"still_{Path(name).stem}",
        modality="thermal",
        rgb_frames=[root / "visible" / name] * frames,
        boxes_rgb=boxes,
        aux_frames=[root / "infrared" / name] * frames,
        registered=True,
    )
    return DerivedSequence.of(base, lambda index: frame(infrared, index), lambda index: frame(rgb, index))
