"""Tiny dataset folders in the real layouts, for tests that need a sequence on disk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def write_rgbt234(folder: Path, frames: int = 3, size: tuple[int, int] = (80, 60)) -> Path:
    """visible/ + infrared/ + visible.txt/infrared.txt, X registered to RGB; smooth content."""
    (folder / "visible").mkdir(parents=True)
    (folder / "infrared").mkdir()
    rng = np.random.default_rng(0)
    width, height = size
    rows = []
    for i in range(frames):
        # Smooth content, so resampling by a warp changes values little.
        rgb = cv2.GaussianBlur(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), (0, 0), 4) * 3
        cv2.imwrite(str(folder / "visible" / f"{i:05d}v.jpg"), rgb)
        cv2.imwrite(str(folder / "infrared" / f"{i:05d}i.png"), rgb[..., 0])
        rows.append(f"{20 + i},{15},{16},{12}")
    for name in ("visible.txt", "infrared.txt"):
        (folder / name).write_text("\n".join(rows) + "\n")
    return folder


def write_still_pairs(root: Path, count: int = 7, size: tuple[int, int] = (160, 120)) -> Path:
    """RoadScene layout: visible/ and infrared/ stills of the same smooth random scene, named alike."""
    (root / "visible").mkdir(parents=True)
    (root / "infrared").mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        base = cv2.resize(rng.integers(0, 255, (12, 16), dtype=np.uint8), size, interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(root / "visible" / f"{i:03d}.png"), np.dstack([base, base // 2, 255 - base]))
        cv2.imwrite(str(root / "infrared" / f"{i:03d}.png"), 255 - base)
    return root
