"""One sequence type for every dataset: frames of both cameras, per-camera ground truth, homographies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mm_tracker_model.errors import SequenceError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


@dataclass
class Sequence:
    name: str
    modality: str  # thermal | depth | event | rgb (RGB-only, X synthesised later)
    rgb_frames: list[Path]
    boxes_rgb: np.ndarray  # (M, 4) x, y, w, h in RGB pixels, NaN where absent/invalid
    aux_frames: list[Path] | None = None
    boxes_aux: np.ndarray | None = None  # (M, 4) in X pixels where the dataset annotates X separately
    homographies: np.ndarray | None = None  # (N, 3, 3) X -> RGB pixels where known exactly (synthetic)
    absent: np.ndarray | None = None  # (M,) True where the target is out of view
    gt_every: int = 1  # ground-truth row k belongs to frame k * gt_every (VTUAV: 10)
    registered: bool = True  # False: X is not aligned to RGB (LasHeR-Unaligned, MUART244)
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rgb_frames)

    def load_rgb(self, index: int) -> np.ndarray:
        return read_image(self.rgb_frames[index], colour=True)

    def load_aux(self, index: int) -> np.ndarray:
        """The X frame as stored: 8-bit RGB, or 16-bit single channel (depth, raw thermal)."""
        if self.aux_frames is None:
            raise SequenceError(f"sequence {self.name!r} has no X frames (RGB-only)")
        return read_image(self.aux_frames[index], colour=False)

    def annotated_frames(self) -> np.ndarray:
        """Frame indices that have a valid RGB box."""
        valid = np.isfinite(self.boxes_rgb).all(1) & (self.boxes_rgb[:, 2] > 0) & (self.boxes_rgb[:, 3] > 0)
        if self.absent is not None:
            valid &= ~self.absent[: len(valid)]
        rows = np.nonzero(valid)[0]
        return rows[rows * self.gt_every < len(self)] * self.gt_every


def list_frames(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SequenceError(f"frame folder {str(folder)!r} is missing")
    frames = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not frames:
        raise SequenceError(f"frame folder {str(folder)!r} holds no images")
    return frames


def read_image(path: Path, colour: bool) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SequenceError(f"cannot read image {str(path)!r}")
    if image.dtype == np.uint8 and (colour or image.ndim == 3):
        if image.ndim == 2:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
        return cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)
    return image
