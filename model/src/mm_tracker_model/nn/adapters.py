"""PATrack's adapters: Modality-Dependent (MDA), Cross-Modality Entangled (CEA) and Head (HA) adapters.

Every adapter's last projection is zero-initialised so a fresh model computes exactly the pretrained OSTrack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.nn.tokens import grid_slices


def _zero_(layer: nn.Linear) -> nn.Linear:
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MDAPair(nn.Module):
    """One bottleneck adapter per modality with a high/low frequency split of the token maps.

    Both modalities' maps run through grouped convolutions together (one group per modality): the same
    maths as two separate adapters, in half the kernel launches.
    """

    def __init__(self, dim: int, bottleneck: int, source: str) -> None:
        super().__init__()
        quarter, modalities = bottleneck // 4, 2
        self.down = nn.ModuleList(nn.Linear(dim, bottleneck) for _ in range(modalities))
        # High frequencies: half the high channels see local detail (1x1 -> depthwise 3x3), half local maxima.
        wide = modalities * quarter
        self.high_conv = nn.Sequential(
            nn.Conv2d(wide, wide, 1, groups=modalities), nn.Conv2d(wide, wide, 3, padding=1, groups=wide), nn.GELU()
        )
        self.high_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(wide, wide, 1, groups=modalities), nn.GELU()
        )
        channels = modalities * bottleneck
        self.mix = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)
        self.up = nn.ModuleList(_zero_(nn.Linear(bottleneck, dim)) for _ in range(modalities))
        self.quarter, self.source = quarter, source

    def _process_map(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, M, bottleneck, g, g) -> same shape."""
        batch, modalities, _, height, width = maps.shape
        q = self.quarter

        def grouped(part: torch.Tensor) -> torch.Tensor:
            return part.reshape(batch, -1, height, width)

        high_a, high_b, low = maps.split([q, q, 2 * q], dim=2)
        # Low frequencies: 2x2 average then back to full size (a box low-pass).
        low = F.interpolate(F.avg_pool2d(grouped(low), 2, ceil_mode=True), size=(height, width), mode="nearest")
        mixed = torch.cat(
            [
                self.high_conv(grouped(high_a)).view(batch, modalities, q, height, width),
                self.high_pool(grouped(high_b)).view(batch, modalities, q, height, width),
                low.view(batch, modalities, 2 * q, height, width),
            ],
            dim=2,
        ).reshape(batch, -1, height, width)
        return (mixed + self.mix(mixed)).view(batch, modalities, -1, height, width)

    def forward(
        self, h_rgb: torch.Tensor, h_x: torch.Tensor, grids: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.source == "cross":  # the released code's variant: each modality's adapter reads the other
            h_rgb, h_x = h_x, h_rgb
        low = torch.stack([self.down[0](h_rgb), self.down[1](h_x)], dim=1)  # (B, M, N, bottleneck)
        outputs = []
        for s, g in zip(grid_slices(grids), grids, strict=True):
            maps = low[:, :, s].transpose(2, 3).reshape(*low.shape[:2], -1, g, g)
            outputs.append(self._process_map(maps).flatten(3).transpose(2, 3))
        tokens = torch.cat(outputs, dim=2)
        return self.up[0](tokens[:, 0]), self.up[1](tokens[:, 1])


class CEA(nn.Module):
    """Cross-modality adapter: the fused map queries the other modality's keys and values (per grid)."""

    def __init__(self, dim: int, inner: int = 192) -> None:
        super().__init__()
        self.down = nn.Linear(dim, inner)
        self.fuse = nn.Linear(2 * inner, inner)
        self.key_rgb = nn.Linear(inner, inner)
        self.value_rgb = nn.Linear(inner, inner)
        self.key_x = nn.Linear(inner, inner)
        self.value_x = nn.Linear(inner, inner)
        self.up = _zero_(nn.Linear(inner, dim))
        self.scale = 1.0 / math.sqrt(inner)

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, grids: Sequence[int]
    ) -> torch.Tensor:
        # Template and search maps attend within themselves only.
        return torch.cat(
            [
                F.scaled_dot_product_attention(query[:, s], key[:, s], value[:, s], scale=self.scale)
                for s in grid_slices(grids)
            ],
            dim=1,
        )

    def forward(
        self, h_rgb: torch.Tensor, h_x: torch.Tensor, grids: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        low_rgb, low_x = self.down(h_rgb), self.down(h_x)
        fused = self.fuse(torch.cat([low_rgb, low_x], dim=-1))
        new_rgb = low_rgb + self._attend(fused, self.key_x(low_x), self.value_x(low_x), grids)
        new_x = low_x + self._attend(fused, self.key_rgb(low_rgb), self.value_rgb(low_rgb), grids)
        return self.up(new_rgb), self.up(new_x)


class HeadAdapter(nn.Module):
    """Residual bottleneck S + Up(GELU(Down(S))) on the fused search tokens before the head."""

    def __init__(self, dim: int, bottleneck: int = 8) -> None:
        super().__init__()
        self.down = nn.Linear(dim, bottleneck)
        self.act = nn.GELU()
        self.up = _zero_(nn.Linear(bottleneck, dim))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return tokens + self.up(self.act(self.down(tokens)))
