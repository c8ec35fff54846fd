"""OSTrack's CENTER head: centre score, offset and size maps on the search token grid."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

SCORE_CLAMP = 1e-4


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)
    )


def _clamped_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return x.sigmoid().clamp(SCORE_CLAMP, 1.0 - SCORE_CLAMP)


def boxes_from_maps(
    score_map: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor, radius: int = 0
) -> torch.Tensor:
    """Peak cell + its offset and size, in normalised search-crop units (cx, cy, w, h).

    `radius` > 0 averages the boxes of the (2 radius + 1)^2 cells around the peak, weighted by their scores:
    on a coarse grid (10 x 10 at 160 px) neighbouring cells hold estimates of the same target.
    """
    grid = score_map.shape[-1]
    peak = score_map.flatten(1).argmax(dim=1, keepdim=True)
    if radius > 0:
        return _boxes_around_peak(score_map.reshape(-1, grid, grid), size_map, offset_map, peak, radius)
    index = peak.unsqueeze(1).expand(-1, 2, 1)
    size = size_map.flatten(2).gather(2, index).squeeze(-1)
    offset = offset_map.flatten(2).gather(2, index).squeeze(-1)
    cell = torch.cat([peak % grid, peak // grid], dim=1).to(offset.dtype)
    return torch.cat([(cell + offset) / grid, size], dim=1)


def _boxes_around_peak(
    scores: torch.Tensor, size_map: torch.Tensor, offset_map: torch.Tensor, peak: torch.Tensor, radius: int
) -> torch.Tensor:
    grid = scores.shape[-1]
    rows, columns = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    cells = torch.stack([columns, rows]).to(offset_map)  # (2, g, g): x, y
    boxes = torch.cat([(cells + offset_map) / grid, size_map], dim=1)  # (B, 4, g, g)
    peak_x, peak_y = (peak % grid).view(-1, 1, 1), (peak // grid).view(-1, 1, 1)
    near = ((columns - peak_x).abs() <= radius) & ((rows - peak_y).abs() <= radius)
    weights = torch.where(near, scores.clamp_min(0), 0.0)
    weights = weights / weights.sum(dim=(1, 2), keepdim=True).clamp_min(1e-12)
    return (boxes * weights[:, None]).sum(dim=(2, 3))


class CenterHead(nn.Module):
    """Three conv branches (ctr, offset, size); module names match OSTrack's `box_head` state dict."""

    def __init__(self, in_channels: int, channels: Sequence[int], grid: int) -> None:
        super().__init__()
        self.grid = grid
        widths = [in_channels, *channels]
        for branch, out in (("ctr", 1), ("offset", 2), ("size", 2)):
            for i in range(len(channels)):
                self.add_module(f"conv{i + 1}_{branch}", _conv_bn_relu(widths[i], widths[i + 1]))
            self.add_module(f"conv5_{branch}", nn.Conv2d(widths[-1], out, 1))
        self.depth = len(channels)

    def _branch(self, name: str, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.depth):
            x = getattr(self, f"conv{i + 1}_{name}")(x)
        return getattr(self, f"conv5_{name}")(x)

    def forward(self, search_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, g*g, C) tokens -> score (B,1,g,g), size (B,2,g,g), offset (B,2,g,g), boxes (B,4) cx,cy,w,h in [0,1]."""
        batch, _, channels = search_tokens.shape
        feature_map = search_tokens.transpose(1, 2).reshape(batch, channels, self.grid, self.grid)
        score_map = _clamped_sigmoid(self._branch("ctr", feature_map))
        size_map = _clamped_sigmoid(self._branch("size", feature_map))
        offset_map = self._branch("offset", feature_map)
        return score_map, size_map, offset_map, boxes_from_maps(score_map, size_map, offset_map)
