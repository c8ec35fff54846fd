"""Feature Matching Expert: gated low/high-frequency correlation volumes read by a 3-scale pyramid CNN."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.nn.alignment.inputs import StageInputs
from mm_tracker_model.nn.alignment.tcmda import token_centres

# Per band: expected match offset (dx, dy) and match confidence on the g x g grid; plus two coordinate channels.
POSITIONAL_CHANNELS = 2 * 3 + 2


class FeatureMatchingExpert(nn.Module):
    """`positional` readout: each band's correlation becomes a field of expected match offsets on the grid (with
    coordinates, so scale reads as the field's divergence), pyramid-convolved and flattened. `pooled` (legacy)
    treats the N x N volume as a one-channel image and averages it away.
    """

    def __init__(
        self,
        dim: int,
        proj_dim: int,
        channels: int,
        out_dim: int,
        grid: int,
        positional: bool = True,
        fine_channels: int = 0,
    ):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, proj_dim)
        self.gates = nn.Linear(2 * dim, 2)
        self.positional, self.grid = positional, grid
        first = POSITIONAL_CHANNELS + fine_channels if positional else 1
        self.scales = nn.ModuleList(
            nn.Sequential(nn.Conv2d(first if i == 0 else channels, channels, 3, padding=1), nn.ReLU()) for i in range(3)
        )
        self.fuse = nn.Conv2d(3 * channels, channels, 1)
        self.regressor = nn.Linear(channels * (grid * grid if positional else 1), out_dim)
        self.register_buffer("centres", token_centres(grid).clone(), persistent=False)  # (N, 2) (x, y), centred units

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

    def offset_field(self, volume: torch.Tensor) -> torch.Tensor:
        """(B, 3, g, g): where each RGB token's match lies in X relative to it (crop units), and how peaked."""
        batch = volume.shape[0]
        offsets = volume @ self.centres - self.centres  # (B, N, 2)
        field = torch.cat([offsets, volume.amax(-1, keepdim=True)], dim=-1)
        return field.transpose(1, 2).reshape(batch, 3, self.grid, self.grid)

    def pyramid(self, volume: torch.Tensor) -> torch.Tensor:
        features, level = [], volume
        for i, conv in enumerate(self.scales):
            level = conv(level if i == 0 else F.avg_pool2d(level, 2))
            features.append(level)
        size = features[0].shape[-2:]
        upsampled = [features[0]] + [
            F.interpolate(f, size=size, mode="bilinear", align_corners=False) for f in features[1:]
        ]
        fused = self.fuse(torch.cat(upsampled, dim=1))
        return fused.flatten(1) if self.positional else fused.mean(dim=(2, 3))

    @property
    def output_layer(self) -> nn.Linear:
        return self.regressor

    def forward(self, inputs: StageInputs) -> tuple[torch.Tensor, None]:
        pooled = torch.cat([inputs.search_rgb.mean(1), inputs.search_aux.mean(1)], dim=-1)
        gate_low, gate_high = self.gates(pooled).sigmoid().unbind(-1)
        rgb_map = inputs.search_map(self.proj(self.norm(inputs.search_rgb)))
        aux_map = inputs.search_map(self.proj(self.norm(inputs.search_aux)))
        (rgb_low, rgb_high), (x_low, x_high) = self.bands(rgb_map), self.bands(aux_map)
        low, high = self.correlation(rgb_low, x_low), self.correlation(rgb_high, x_high)
        if self.positional:
            coordinates = self.centres.T.reshape(1, 2, self.grid, self.grid).expand(inputs.batch, -1, -1, -1)
            field = torch.cat(
                [
                    gate_low[:, None, None, None] * self.offset_field(low),
                    gate_high[:, None, None, None] * self.offset_field(high),
                    coordinates.to(low),
                    *([] if inputs.fine is None else [inputs.fine.to(low)]),
                ],
                dim=1,
            )
            return self.regressor(self.pyramid(field)), None
        volume = gate_low[:, None, None] * low + gate_high[:, None, None] * high
        return self.regressor(self.pyramid(volume.unsqueeze(1))), None
