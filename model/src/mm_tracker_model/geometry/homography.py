"""3x3 homographies (torch, batched): parameters <-> matrices, composition, inverses, point mapping.

A homography maps X coordinates to RGB coordinates (column vectors, H @ [x, y, 1]).
"""

from __future__ import annotations

import math

import numpy as np
import torch

# The corners of a crop in centred normalised units (x, y), clockwise from the top left.
UNIT_CORNERS = torch.tensor([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])


def params_to_matrix(params: torch.Tensor) -> torch.Tensor:
    """(..., 4) [dx, dy, ln sx, ln sy] in centred normalised crop units -> (..., 3, 3).

    Scale is about the crop centre (the origin of the centred coordinates), then the translation.
    """
    dx, dy, log_sx, log_sy = params.unbind(-1)
    zero, one = torch.zeros_like(dx), torch.ones_like(dx)
    rows = [
        torch.stack([log_sx.exp(), zero, dx], -1),
        torch.stack([zero, log_sy.exp(), dy], -1),
        torch.stack([zero, zero, one], -1),
    ]
    return torch.stack(rows, -2)


def matrix_to_params(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of params_to_matrix for scale + translation matrices (other entries are ignored)."""
    matrix = matrix / matrix[..., 2:3, 2:3]
    return torch.stack([matrix[..., 0, 2], matrix[..., 1, 2], matrix[..., 0, 0].log(), matrix[..., 1, 1].log()], dim=-1)


def corners_to_matrix(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Exact homography (..., 3, 3) taking 4 source points (..., 4, 2) to 4 target points (DLT, h33 = 1)."""
    x, y = source.unbind(-1)
    u, v = target.unbind(-1)
    zero, one = torch.zeros_like(x), torch.ones_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    system = torch.cat([rows_u, rows_v], dim=-2)
    rhs = torch.cat([u, v], dim=-1).unsqueeze(-1)
    solution = torch.linalg.solve(system, rhs).squeeze(-1)
    return torch.cat([solution, torch.ones_like(solution[..., :1])], -1).unflatten(-1, (3, 3))


def apply(matrix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Map (..., N, 2) points through (..., 3, 3) homographies."""
    homogeneous = torch.cat([points, torch.ones_like(points[..., :1])], dim=-1)
    mapped = homogeneous @ matrix.transpose(-1, -2)
    return mapped[..., :2] / mapped[..., 2:3]


def compose(outer: torch.Tensor, inner: torch.Tensor) -> torch.Tensor:
    """The homography that applies `inner` first, then `outer` (a matrix product)."""
    return outer @ inner


def inverse(matrix: torch.Tensor) -> torch.Tensor:
    """True matrix inverse (exact for any scale, unlike PMATrack's)."""
    return torch.linalg.inv(matrix)


def pixel_to_centred(size: float) -> torch.Tensor:
    """Matrix from crop pixel coordinates q (0..size) to centred normalised units u = q / size - 0.5."""
    return torch.tensor([[1.0 / size, 0.0, -0.5], [0.0, 1.0 / size, -0.5], [0.0, 0.0, 1.0]], dtype=torch.float64)


def centred_to_pixel(size: float) -> torch.Tensor:
    return torch.tensor([[size, 0.0, size / 2], [0.0, size, size / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)


def corner_distances(estimated: torch.Tensor, true: torch.Tensor, width: float, height: float) -> torch.Tensor:
    """(..., 4) distances between the four corners of a width x height image mapped by both homographies."""
    corners = torch.tensor([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]], dtype=estimated.dtype)
    return (apply(estimated, corners) - apply(true, corners)).norm(dim=-1)


def within_corner_shift(candidate: np.ndarray, reference: np.ndarray, width: int, height: int, fraction: float) -> bool:
    """The corner guard: no corner of a width x height image moves more than `fraction` of its diagonal."""
    shifts = corner_distances(torch.from_numpy(candidate / candidate[2, 2]), torch.from_numpy(reference), width, height)
    return float(shifts.max()) <= fraction * math.hypot(width, height)


def blend(start: torch.Tensor, end: torch.Tensor, weight: float, width: float, height: float) -> torch.Tensor:
    """The homography whose image corners lie `weight` of the way from `start`'s to `end`'s (0: start, 1: end)."""
    corners = torch.tensor([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]], dtype=start.dtype)
    mapped = torch.lerp(apply(start, corners), apply(end, corners), weight)
    return corners_to_matrix(corners, mapped)


def crop_corner_error(estimated: torch.Tensor, true: torch.Tensor, size: float) -> torch.Tensor:
    """Crop-level alignment error: mean distance (crop pixels) of the crop's corners under two centred-unit maps."""
    corners = UNIT_CORNERS.to(estimated)
    return (apply(estimated, corners) - apply(true.to(estimated), corners)).norm(dim=-1).mean(-1) * size


def corner_error(estimated: torch.Tensor, true: torch.Tensor, width: float, height: float) -> torch.Tensor:
    """The alignment error (DESIGN §9): the mean of the four corner distances."""
    return corner_distances(estimated, true, width, height).mean(-1)
