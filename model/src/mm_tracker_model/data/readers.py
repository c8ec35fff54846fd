"""One reader per dataset family, all returning `Sequence`. Layouts: DESIGN §7 and each function's docstring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mm_tracker_model.data.annotations import read_boxes, read_flags
from mm_tracker_model.data.sequence import Sequence, SequenceError, list_frames
from mm_tracker_model.data.synthetic import read_synthetic


def _first(folder: Path, *names: str) -> Path:
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise SequenceError(f"{str(folder)!r}: none of {', '.join(names)} found")


def _common_length(*arrays: np.ndarray | list) -> int:
    return min(len(a) for a in arrays)


def read_rgbt(folder: Path, registered: bool = True) -> Sequence:
    """LasHeR / RGBT234 / LasHeR-Unaligned / MUART244: visible/, infrared/, visible.txt + infrared.txt or init.txt.

    Visible and infrared files may differ by a line (RGBT234): everything is truncated to the common length.
    """
    rgb, aux = list_frames(folder / "visible"), list_frames(folder / "infrared")
    boxes_rgb = read_boxes(_first(folder, "visible.txt", "init.txt"))
    boxes_aux = read_boxes(_first(folder, "infrared.txt", "init.txt"))
    n = _common_length(rgb, aux, boxes_rgb, boxes_aux)
    return Sequence(folder.name, "thermal", rgb[:n], boxes_rgb[:n], aux[:n], boxes_aux[:n], registered=registered)


def read_unaligned(folder: Path) -> Sequence:
    """LasHeR-Unaligned / MUART244: the RGBT layout with separate, unregistered visible and infrared boxes."""
    return read_rgbt(folder, registered=False)


def read_gtot(folder: Path) -> Sequence:
    """GTOT: v/, i/, groundTruth_v.txt, groundTruth_i.txt as x1 y1 x2 y2 (width = x2 - x1)."""
    rgb, aux = list_frames(folder / "v"), list_frames(folder / "i")
    boxes_rgb = read_boxes(_first(folder, "groundTruth_v.txt", "init.txt"), corners=True)
    boxes_aux = read_boxes(_first(folder, "groundTruth_i.txt", "init.txt"), corners=True)
    n = _common_length(rgb, aux, boxes_rgb, boxes_aux)
    return Sequence(folder.name, "thermal", rgb[:n], boxes_rgb[:n], aux[:n], boxes_aux[:n])


def read_vtuav(folder: Path) -> Sequence:
    """VTUAV: rgb/, ir/ (or ir_gray/, as the authors' scripts and sample use), rgb.txt, ir.txt; GT every 10 frames."""
    infrared = next((folder / name for name in ("ir", "ir_gray") if (folder / name).is_dir()), folder / "ir")
    rgb, aux = list_frames(folder / "rgb"), list_frames(infrared)
    boxes_rgb, boxes_aux = read_boxes(folder / "rgb.txt"), read_boxes(_first(folder, "ir.txt", "rgb.txt"))
    n = _common_length(rgb, aux)
    rows = min(len(boxes_rgb), len(boxes_aux), -(-n // 10))
    return Sequence(folder.name, "thermal", rgb[:n], boxes_rgb[:rows], aux[:n], boxes_aux[:rows], gt_every=10)


def read_depthtrack(folder: Path) -> Sequence:
    """DepthTrack / CDTB: color/, depth/ (16-bit png, millimetres), groundtruth.txt (NaN rows: absent)."""
    rgb, aux = list_frames(folder / "color"), list_frames(folder / "depth")
    boxes = read_boxes(folder / "groundtruth.txt")
    n = _common_length(rgb, aux, boxes)
    return Sequence(folder.name, "depth", rgb[:n], boxes[:n], aux[:n], absent=~np.isfinite(boxes[:n]).all(1))


def read_visevent(folder: Path) -> Sequence:
    """VisEvent: vis_imgs/, event_imgs/, groundtruth.txt, absent_label.txt (1 = target absent)."""
    rgb, aux = list_frames(folder / "vis_imgs"), list_frames(folder / "event_imgs")
    boxes = read_boxes(folder / "groundtruth.txt")
    absent = read_flags(folder / "absent_label.txt") if (folder / "absent_label.txt").is_file() else None
    n = _common_length(rgb, aux, boxes)
    return Sequence(folder.name, "event", rgb[:n], boxes[:n], aux[:n], absent=None if absent is None else absent[:n])


def read_otb(folder: Path) -> Sequence:
    """OTB / UAV123 / DTB70 (as in shared/data/real_rgb): img/ + groundtruth_rect.txt or groundtruth.txt, 1-based."""
    frames = list_frames(folder / "img")
    path = _first(folder, "groundtruth_rect.txt", "groundtruth.txt")
    boxes = read_boxes(path, one_based=True)
    n = _common_length(frames, boxes)
    return Sequence(folder.name, "rgb", frames[:n], boxes[:n])


def read_vot(folder: Path) -> Sequence:
    """VOT: frames in color/ or img/ or the folder itself, groundtruth.txt (8-value polygons -> bounds)."""
    for sub in ("color", "img", "."):
        if (folder / sub).is_dir() and any(p.suffix.lower() in (".jpg", ".png") for p in (folder / sub).iterdir()):
            frames = list_frames(folder / sub)
            break
    else:
        raise SequenceError(f"{str(folder)!r}: no frames in color/, img/ or the folder")
    boxes = read_boxes(folder / "groundtruth.txt")
    n = _common_length(frames, boxes)
    return Sequence(folder.name, "rgb", frames[:n], boxes[:n])


def read_got10k(folder: Path) -> Sequence:
    """GOT-10k: frames 00000001.jpg ... in the folder, groundtruth.txt, optional absence.label."""
    frames = list_frames(folder)
    boxes = read_boxes(folder / "groundtruth.txt")
    absent = read_flags(folder / "absence.label") if (folder / "absence.label").is_file() else None
    n = _common_length(frames, boxes)
    return Sequence(folder.name, "rgb", frames[:n], boxes[:n], absent=None if absent is None else absent[:n])


READERS: dict[str, Callable[[Path], Sequence]] = {
    "lasher": read_rgbt,
    "rgbt234": read_rgbt,
    "gtot": read_gtot,
    "vtuav": read_vtuav,
    "depthtrack": read_depthtrack,
    "visevent": read_visevent,
    "lasher_unaligned": read_unaligned,
    "muart244": read_unaligned,
    "otb": read_otb,
    "uav123": read_otb,
    "dtb70": read_otb,
    "vot": read_vot,
    "got10k": read_got10k,
    "synthetic": read_synthetic,
}


def read_sequence(folder: str | Path, format: str) -> Sequence:
    if format not in READERS:
        raise SequenceError(f"format {format!r} unknown; known: {', '.join(sorted(READERS))}")
    folder = Path(folder)
    if not folder.is_dir():
        raise SequenceError(f"sequence folder {str(folder)!r} does not exist")
    return READERS[format](folder)
