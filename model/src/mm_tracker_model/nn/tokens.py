"""Token layout: the sequence of square token grids (templates, then search) that make up one stream."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


def split_grids(tokens: torch.Tensor, grids: Sequence[int]) -> list[torch.Tensor]:
    """Split (B, N, C) tokens into per-grid (B, C, g, g) maps."""
    batch, _, channels = tokens.shape
    chunks = tokens.split([g * g for g in grids], dim=1)
    return [c.transpose(1, 2).reshape(batch, channels, g, g) for c, g in zip(chunks, grids, strict=True)]


def merge_grids(maps: Sequence[torch.Tensor]) -> torch.Tensor:
    """Inverse of split_grids: per-grid (B, C, g, g) maps back to (B, N, C) tokens."""
    return torch.cat([m.flatten(2).transpose(1, 2) for m in maps], dim=1)


def grid_slices(grids: Sequence[int]) -> Iterator[slice]:
    """Token index range of each grid in the sequence."""
    start = 0
    for g in grids:
        yield slice(start, start + g * g)
        start += g * g
