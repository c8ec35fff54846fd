"""Feature Matching Expert: gated low/high-frequency correlation volumes read by a 3-scale pyramid CNN."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.nn.alignment.inputs import StageInputs


class FeatureMatchingExpert(nn.Module):
    def __init__(self, dim: int, proj_dim: int, channels: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, proj_dim)
        self.gates = nn.Linear(2 * dim, 2)
        self.scales = nn.ModuleList(
            nn.Sequential(nn.Conv2d(1 if i == 0 else channels, channels, 3, padding=1), nn.ReLU()) for i in range(3)
        )
        self.fuse = nn.Conv2d(3 * channels, channels, 1)
        self.regressor = nn.Linear(channels, out_dim)

    @staticmethod
    def bands(feature_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = F.avg_pool2d(feature_map, 5, stride=1, padding=2, count_include_pad=False)
        high = feature_map - F.avg_pool2d(feature_map, 3, stride=1, padding=1, count_include_pad=False)
        return low, high

    @staticmethod
    def correlation(rgb_map: torch.Tensor, aux_map: torch.Tensor) -> torch.Tensor:
        """(B, N, N) softmax over X positions of RGB-X feature similarity."""
        rgb, x = rgb_map.flatten(2), aux_map.flatten(2)
        return (rgb.transpose(1, 2) @ x / math.sqrt(rgb.shape[1])).softmax(dim=-1)

    def pyramid(self, volume: torch.Tensor) -> torch.Tensor:
        features, level = [], volume
        for i, conv in enumerate(self.scales):
            level = conv(level if i == 0 else F.avg_pool2d(level, 2))
            features.append(level)
        size = features[0].shape[-2:]
        upsampled = [features[0]] + [
            F.interpolate(f, size=size, mode="bilinear", align_corners=False) for f in features[1:]
        ]
        return self.fuse(torch.cat(upsampled, dim=1)).mean(dim=(2, 3))

    @property
    def output_layer(self) -> nn.Linear:
        return self.regressor

    def forward(self, inputs: StageInputs) -> tuple[torch.Tensor, None]:
        pooled = torch.cat([inputs.search_rgb.mean(1), inputs.search_aux.mean(1)], dim=-1)
        gate_low, gate_high = self.gates(pooled).sigmoid().unbind(-1)
        rgb_map = inputs.search_map(self.proj(self.norm(inputs.search_rgb)))
        aux_map = inputs.search_map(self.proj(self.norm(inputs.search_aux)))
        (rgb_low, rgb_high), (x_low, x_high) = self.bands(rgb_map), self.bands(aux_map)
        volume = gate_low[:, None, None] * self.correlation(rgb_low, x_low) + gate_high[
            :, None, None
        ] * self.correlation(rgb_high, x_high)
        return self.regressor(self.pyramid(volume.unsqueeze(1))), None
