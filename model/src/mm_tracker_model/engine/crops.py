"""RGB + X crop pairs: the X crop is warped by the homography straight into the patch (never the whole image)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from mm_tracker_model.geometry.crops import CropTransform, warp_into_crop

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class CropPair:
    rgb: np.ndarray  # (S, S, 3) uint8
    x: np.ndarray  # (S, S, 3) uint8, already in the RGB crop's frame through the homography
    crop: CropTransform


def crop_pair(rgb: np.ndarray, x: np.ndarray, box, factor: float, size: int, x_to_rgb: np.ndarray) -> CropPair:
    """Square crops around `box` of the RGB image and of the X image seen through `x_to_rgb`."""
    crop = CropTransform.around(tuple(box), factor, size)
    return CropPair(warp_into_crop(rgb, crop.matrix, size), warp_into_crop(x, crop.matrix @ x_to_rgb, size), crop)


@functools.cache
def _mean_std(channels: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN * (channels // 3), device=device).view(1, -1, 1, 1)
    std = torch.tensor(IMAGENET_STD * (channels // 3), device=device).view(1, -1, 1, 1)
    return mean, std


def normalise(images_uint8: torch.Tensor) -> torch.Tensor:
    """(B, 3k, S, S) uint8 -> float, ImageNet-normalised per 3-channel group (constants made once per device)."""
    mean, std = _mean_std(images_uint8.shape[1], images_uint8.device)
    return (images_uint8.float() / 255.0 - mean) / std


def pair_tensor(pair: CropPair, device: torch.device) -> torch.Tensor:
    """(1, 6, S, S) normalised network input; uint8 travels to the device, the maths happens there."""
    stacked = torch.from_numpy(np.concatenate([pair.rgb, pair.x], axis=2)).to(device, non_blocking=True)
    return normalise(stacked.permute(2, 0, 1).unsqueeze(0))
