"""Tolerant readers for tracking ground-truth text files (mixed delimiters, CRLF, NaN rows, polygons)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mm_tracker_model.errors import AnnotationError

_SEPARATORS = re.compile(r"[,\t; ]+")


def read_rows(path: Path) -> list[list[float]]:
    """Numbers per line; commas, tabs, semicolons and spaces all separate; 'nan' and empty lines become NaN rows."""
    rows = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        text = line.strip().strip(",")
        if not text:
            rows.append([])
            continue
        try:
            rows.append([float(v) for v in _SEPARATORS.split(text)])
        except ValueError as exc:
            raise AnnotationError(f"{path}:{number}: not a list of numbers: {line!r}") from exc
    while rows and not rows[-1]:  # trailing blank lines are not frames
        rows.pop()
    return rows


def rows_to_boxes(rows: list[list[float]], path: Path, corners: bool = False) -> np.ndarray:
    """(N, 4) x, y, w, h; 8-value rows are polygons (axis-aligned bounds); `corners`: x1 y1 x2 y2 rows."""
    boxes = np.full((len(rows), 4), np.nan)
    for i, row in enumerate(rows):
        if not row:
            continue
        if len(row) == 8:
            xs, ys = row[0::2], row[1::2]
            boxes[i] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
        elif len(row) == 4:
            boxes[i] = [row[0], row[1], row[2] - row[0], row[3] - row[1]] if corners else row
        elif len(row) == 1 and np.isnan(row[0]):
            continue
        else:
            raise AnnotationError(f"{path}:{i + 1}: expected 4 or 8 numbers, got {len(row)}")
    return boxes


def read_boxes(path: Path, corners: bool = False, one_based: bool = False) -> np.ndarray:
    """Boxes in our convention (0-based, continuous); `one_based` shifts 1-based annotations by one pixel."""
    boxes = rows_to_boxes(read_rows(path), path, corners)
    if one_based:
        boxes[:, :2] -= 1.0
    return boxes


def read_flags(path: Path) -> np.ndarray:
    """One 0/1 per line (VisEvent's absent_label.txt, GOT-10k's absence.label) as booleans."""
    return np.array([bool(int(float(r[0]))) if r else False for r in read_rows(path)], dtype=bool)
