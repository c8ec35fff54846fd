"""PATrack's adapters: Modality-Dependent (MDA), Cross-Modality Entangled (CEA) and Head (HA) adapters.

Every adapter's last projection is zero-initialised so a fresh model computes exactly the pretrained OSTrack.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.nn.tokens import grid_slices, merge_grids, split_grids


def _zero_(layer: nn.Linear) -> nn.Linear:
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MDA(nn.Module):
    """Bottleneck adapter with a high/low frequency split of the token maps (one modality)."""

    def __init__(self, dim: int, bottleneck: int = 8) -> None:
        super().__init__()
        quarter = bottleneck // 4
        self.down = nn.Linear(dim, bottleneck)
        # High frequencies: half the high channels see local detail (1x1 -> depthwise 3x3), half local maxima.
        self.high_conv = nn.Sequential(
            nn.Conv2d(quarter, quarter, 1), nn.Conv2d(quarter, quarter, 3, padding=1, groups=quarter), nn.GELU()
        )
        self.high_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(quarter, quarter, 1), nn.GELU())
        self.mix = nn.Conv2d(bottleneck, bottleneck, 3, padding=1, groups=bottleneck)
        self.up = _zero_(nn.Linear(bottleneck, dim))
        self.quarter = quarter

    def _process_map(self, feature_map: torch.Tensor) -> torch.Tensor:
        q = self.quarter
        high_a, high_b, low = feature_map.split([q, q, 2 * q], dim=1)
        # Low frequencies: 2x2 average then back to full size (a box low-pass).
        low = F.interpolate(F.avg_pool2d(low, 2, ceil_mode=True), size=feature_map.shape[-2:], mode="nearest")
        mixed = torch.cat([self.high_conv(high_a), self.high_pool(high_b), low], dim=1)
        return mixed + self.mix(mixed)

    def forward(self, tokens: torch.Tensor, grids: Sequence[int]) -> torch.Tensor:
        maps = split_grids(self.down(tokens), grids)
        return self.up(merge_grids([self._process_map(m) for m in maps]))


class MDAPair(nn.Module):
    """One MDA per modality; `source` picks whose features each one reads."""

    def __init__(self, dim: int, bottleneck: int, source: str) -> None:
        super().__init__()
        self.rgb = MDA(dim, bottleneck)
        self.x = MDA(dim, bottleneck)
        self.source = source

    def forward(
        self, h_rgb: torch.Tensor, h_x: torch.Tensor, grids: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.source == "cross":
            h_rgb, h_x = h_x, h_rgb
        return self.rgb(h_rgb, grids), self.x(h_x, grids)


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
