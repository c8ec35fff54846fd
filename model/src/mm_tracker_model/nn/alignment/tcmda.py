"""Transformation-guided Cross-Modal Deformable Attention: sample the other modality where H says to look."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.geometry import homography as hg


def token_centres(grid: int) -> torch.Tensor:
    """(g*g, 2) token-centre (x, y) in centred normalised units (pixel centres at i + 0.5); shared, read-only."""
    return _token_centres(grid)


@functools.lru_cache(maxsize=8)
def _token_centres(grid: int) -> torch.Tensor:
    # Cached: the alignment branch asks for these about ten times a frame. Made outside inference mode so that
    # a training step after an evaluation can still use them.
    with torch.inference_mode(False), torch.no_grad():
        ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
        return (torch.stack([xs.flatten(), ys.flatten()], dim=-1).to(torch.float32) + 0.5) / grid - 0.5


class TCMDA(nn.Module):
    """Queries of one modality attend to `points` samples per head of the other modality's search map."""

    def __init__(self, dim: int, heads: int, points: int) -> None:
        super().__init__()
        self.heads, self.points = heads, points
        self.norm = nn.LayerNorm(dim)
        self.value_proj = nn.Linear(dim, dim)
        self.offsets = nn.Linear(dim, heads * points * 2)  # in tokens
        self.weights = nn.Linear(dim, heads * points)
        self.out_proj = nn.Linear(dim, dim)
        self.gamma = nn.Parameter(torch.zeros(1))
        nn.init.zeros_(self.offsets.weight)
        nn.init.zeros_(self.offsets.bias)

    def sampling_locations(self, queries: torch.Tensor, query_to_value: torch.Tensor, grid: int) -> torch.Tensor:
        """(B, N, heads, points, 2) centred normalised positions in the value map: reference + H prior + ΔL."""
        batch, tokens, _ = queries.shape
        reference = token_centres(grid).to(queries)
        prior = hg.apply(query_to_value.to(queries.dtype), reference.expand(batch, -1, -1)) - reference
        learned = self.offsets(queries).view(batch, tokens, self.heads, self.points, 2) / grid
        return (reference + prior)[:, :, None, None, :] + learned

    def aggregate(self, queries: torch.Tensor, values: torch.Tensor, query_to_value: torch.Tensor, grid: int):
        """(B, N, C) weighted sum of the bilinear samples, before the output projection."""
        normed = self.norm(queries)
        batch, tokens, channels = queries.shape
        locations = self.sampling_locations(normed, query_to_value, grid)
        value_maps = (
            self.value_proj(values).transpose(1, 2).reshape(batch * self.heads, channels // self.heads, grid, grid)
        )
        # grid_sample with align_corners=False takes 2u for centred normalised u.
        sample_grid = (2 * locations).permute(0, 2, 1, 3, 4).reshape(batch * self.heads, tokens, self.points, 2)
        samples = F.grid_sample(value_maps, sample_grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        weights = self.weights(normed).view(batch, tokens, self.heads, self.points).softmax(-1)
        weights = weights.permute(0, 2, 1, 3).reshape(batch * self.heads, 1, tokens, self.points)
        mixed = (samples * weights).sum(-1)  # (B*heads, C/heads, N)
        return mixed.view(batch, channels, tokens).transpose(1, 2)

    def forward(self, queries: torch.Tensor, values: torch.Tensor, query_to_value: torch.Tensor, grid: int):
        """Residual update of the query tokens; `query_to_value` maps query-crop to value-crop coordinates."""
        return queries + self.gamma * self.out_proj(self.aggregate(queries, values, query_to_value, grid))
