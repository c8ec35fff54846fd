"""From per-frame alignment estimates to the published homography: trust a part of each, low-pass the result.

Homographies map X image pixels to RGB image pixels (float64 numpy). An estimate is measured on the search crop
around the target; its shift of the crop centre is well determined there, while its scale, rotation and
perspective are extrapolated from a crop that may cover a small part of the image to the image's far corners.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from mm_tracker_model.geometry import homography as hg


@dataclass(frozen=True)
class PublishRule:
    rate: float = 0.1  # each frame moves the published homography this share of the way (corner positions)
    linear_weight: float = 1.0  # share of the correction beyond the search centre's shift (0: the shift only)


def blend(start: np.ndarray, end: np.ndarray, weight: float, x_size: tuple[int, int]) -> np.ndarray:
    """The homography whose X-image corners lie `weight` of the way from `start`'s to `end`'s."""
    found = hg.blend(torch.from_numpy(start), torch.from_numpy(end), weight, *x_size).numpy()
    return found / found[2, 2]


def shift_only(estimate: np.ndarray, reference: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """`reference` moved by the shift `estimate`'s correction (estimate · reference⁻¹) gives the RGB point `centre`."""
    correction = estimate @ np.linalg.inv(reference)
    moved = correction @ np.array([centre[0], centre[1], 1.0])
    shift = moved[:2] / moved[2] - np.asarray(centre, dtype=np.float64)
    translation = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]], [0.0, 0.0, 1.0]])
    found = translation @ reference
    return found / found[2, 2]


def trusted(
    estimate: np.ndarray, reference: np.ndarray, centre: np.ndarray, weight: float, x_size: tuple[int, int]
) -> np.ndarray:
    """The estimate with `weight` of its correction beyond the shift of `centre` kept (1: the estimate itself)."""
    if weight >= 1.0:
        return estimate
    return blend(shift_only(estimate, reference, centre), estimate, weight, x_size)


def published_homographies(
    estimates: Sequence[np.ndarray],
    centres: Sequence[np.ndarray],
    start: np.ndarray,
    rule: PublishRule,
    x_size: tuple[int, int],
) -> list[np.ndarray]:
    """Replay a sequence's estimates (with the running homography fixed at `start`) through a rule."""
    published, out = start, []
    for estimate, centre in zip(estimates, centres, strict=True):
        published = blend(published, trusted(estimate, start, centre, rule.linear_weight, x_size), rule.rate, x_size)
        out.append(published)
    return out
