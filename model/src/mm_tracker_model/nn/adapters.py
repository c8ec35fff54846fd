"""PATrack's adapters: Modality-Dependent (MDA), Cross-Modality Entangled (CEA) and Head (HA) adapters.

Every adapter's last projection is zero-initialised so a fresh model computes exactly the pretrained OSTrack.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.nn.tokens import grid_slices

# Below every activation: the max-pool padding inside the canvas (finite, so gradients through it stay finite).
_GAP_FLOOR = -1.0e4


@dataclass(frozen=True)
class CanvasLayout:
    """Square token grids side by side on one zero-gapped canvas (each at an even column)."""

    height: int
    width: int
    cells: torch.Tensor  # (N,) canvas index of each token, in token order
    inside: torch.Tensor  # (1, 1, H, W) bool: the cell belongs to a grid
    pool_norm: torch.Tensor  # (1, 1, ceil(H/2), ceil(W/2)): 1 / share of grid cells in each 2x2 window (0: none)


def canvas_layout(grids: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> CanvasLayout:
    """The cached layout of these grids; its tensors are ordinary ones even when first asked for in inference
    mode, so training after an evaluation can still save them for backward."""
    with torch.inference_mode(False):
        return _canvas_layout(grids, device, dtype)


@functools.lru_cache(maxsize=32)
def _canvas_layout(grids: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> CanvasLayout:
    height, starts, column = max(grids), [], 0
    for g in grids:
        starts.append(column)
        column += g + 1 + (g + 1) % 2  # at least one gap column, the next grid at an even column
    width = starts[-1] + grids[-1]
    cells = torch.cat(
        [
            (torch.arange(g)[:, None] * width + start + torch.arange(g)[None, :]).flatten()
            for g, start in zip(grids, starts, strict=True)
        ]
    )
    inside = torch.zeros(height * width, dtype=torch.bool)
    inside[cells] = True
    inside = inside.view(1, 1, height, width)
    share = F.avg_pool2d(inside.to(torch.float32), 2, ceil_mode=True)
    pool_norm = torch.where(share > 0, 1.0 / share.clamp_min(1e-6), 0.0)
    return CanvasLayout(height, width, cells.to(device), inside.to(device), pool_norm.to(device, dtype))


def _zero_(layer: nn.Linear) -> nn.Linear:
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class MDAPair(nn.Module):
    """One bottleneck adapter per modality with a high/low frequency split of the token maps.

    Both modalities' maps run through grouped convolutions together (one group per modality), and every
    grid's map (templates, search) sits on one canvas: the same maths as separate adapters on separate maps,
    in a quarter or less of the kernel launches.
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

    def _process_canvas(self, maps: torch.Tensor, layout: CanvasLayout) -> torch.Tensor:
        """(B, M, bottleneck, H, W) canvas of every grid -> same shape; only the grids' cells are meaningful.

        Exactly what each grid's map would give on its own: the gaps are zero before every 3x3 convolution
        (as zero padding is), far below every value before the 3x3 max (as its -inf padding is), and the 2x2
        low-pass averages the grid cells of each window only (as ceil_mode's clipped windows do).
        """
        batch, modalities, _, height, width = maps.shape
        q, inside = self.quarter, layout.inside

        def grouped(part: torch.Tensor) -> torch.Tensor:
            return part.reshape(batch, -1, height, width)

        high_a, high_b, low = maps.split([q, q, 2 * q], dim=2)
        # Low frequencies: 2x2 average then back to full size (a box low-pass); grids start at even columns,
        # so nearest upsampling is a 2x repeat.
        low = F.avg_pool2d(grouped(low), 2, ceil_mode=True) * layout.pool_norm
        low = F.interpolate(low, scale_factor=2.0, mode="nearest")[..., :height, :width]
        detail = self.high_conv[0](grouped(high_a)) * inside
        detail = self.high_conv[2](self.high_conv[1](detail))
        peaks = self.high_pool(torch.where(inside, grouped(high_b), _GAP_FLOOR))
        mixed = torch.cat(
            [
                detail.view(batch, modalities, q, height, width),
                peaks.view(batch, modalities, q, height, width),
                low.view(batch, modalities, 2 * q, height, width),
            ],
            dim=2,
        ).reshape(batch, -1, height, width)
        mixed = torch.where(inside, mixed, 0.0)
        return (mixed + self.mix(mixed)).view(batch, modalities, -1, height, width)

    def forward(
        self, h_rgb: torch.Tensor, h_x: torch.Tensor, grids: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.source == "cross":  # the released code's variant: each modality's adapter reads the other
            h_rgb, h_x = h_x, h_rgb
        low = torch.stack([self.down[0](h_rgb), self.down[1](h_x)], dim=1)  # (B, M, N, bottleneck)
        layout = canvas_layout(tuple(grids), low.device, low.dtype)
        batch, modalities, _, channels = low.shape
        # Every grid's map in one canvas: one call per operation instead of one per grid.
        canvas = low.new_zeros(batch, modalities, channels, layout.height * layout.width)
        canvas[..., layout.cells] = low.transpose(2, 3)
        canvas = self._process_canvas(canvas.view(batch, modalities, channels, layout.height, layout.width), layout)
        tokens = canvas.flatten(3)[..., layout.cells].transpose(2, 3)
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
