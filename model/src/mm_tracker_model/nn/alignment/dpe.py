"""Detail-aware Expert: a small U-Net per modality, a transformer block across both, a regressor.

The most expensive and most expressive expert, but lean: PMATrack's version widens to 2048 channels.
"""

from __future__ import annotations

import torch
from timm.models.vision_transformer import Block
from torch import nn

from mm_tracker_model.nn.alignment.inputs import StageInputs


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.GroupNorm(1, out_channels), nn.GELU()
    )


class TinyUNet(nn.Module):
    def __init__(self, channels: int, extra_inputs: int = 0) -> None:
        super().__init__()
        self.encode = _conv(channels + extra_inputs, channels)
        self.down = _conv(channels, 2 * channels, stride=2)
        self.bottleneck = _conv(2 * channels, 2 * channels)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.decode = _conv(3 * channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.encode(x)
        deep = self.up(self.bottleneck(self.down(skip)))[..., : skip.shape[-2], : skip.shape[-1]]
        return self.decode(torch.cat([skip, deep], dim=1))


# Channels per token kept for the positional readout (flattened over both modalities' grids).
READOUT_CHANNELS = 4


class DetailExpert(nn.Module):
    """`positional` readout: each token keeps a few channels and the regressor reads them all in place;
    `pooled` (legacy) averages the tokens, which throws their positions away."""

    def __init__(
        self, dim: int, channels: int, grid: int, out_dim: int, positional: bool = True, fine_channels: int = 0
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.reduce = nn.Linear(dim, channels)
        self.unet = TinyUNet(channels, fine_channels)
        self.position = nn.Parameter(torch.zeros(1, grid * grid, channels))
        self.modality = nn.Parameter(torch.zeros(1, 2, 1, channels))
        self.mixer = Block(channels, num_heads=max(1, channels // 32), mlp_ratio=2.0, qkv_bias=True)
        self.positional = positional
        self.keep = nn.Linear(channels, READOUT_CHANNELS) if positional else nn.Identity()
        features = 2 * grid * grid * READOUT_CHANNELS if positional else 2 * channels
        self.regressor = nn.Sequential(nn.Linear(features, channels), nn.GELU(), nn.Linear(channels, out_dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        nn.init.trunc_normal_(self.modality, std=0.02)

    @property
    def output_layer(self) -> nn.Linear:
        return self.regressor[-1]

    def forward(self, inputs: StageInputs) -> tuple[torch.Tensor, None]:
        batch = inputs.batch
        both = self.reduce(self.norm(torch.cat([inputs.search_rgb, inputs.search_aux])))
        maps = inputs.search_map(both)
        if inputs.fine is not None:  # the same offset field beside each modality's map
            maps = torch.cat([maps, inputs.fine.to(maps).repeat(2, 1, 1, 1)], dim=1)
        maps = self.unet(maps)
        tokens = maps.flatten(2).transpose(1, 2) + self.position  # (2B, N, c)
        tokens = tokens.view(2, batch, *tokens.shape[1:]).transpose(0, 1) + self.modality  # (B, 2, N, c)
        mixed = self.mixer(tokens.flatten(1, 2)).view(batch, 2, -1, tokens.shape[-1])
        readout = self.keep(mixed).flatten(1) if self.positional else mixed.mean(dim=2).flatten(1)
        return self.regressor(readout), None
