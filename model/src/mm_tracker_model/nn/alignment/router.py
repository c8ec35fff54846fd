"""Difficulty-aware router: picks one of the three experts from pooled search features of both modalities."""

from __future__ import annotations

import torch
from torch import nn

from mm_tracker_model.nn.alignment.inputs import StageInputs


class Router(nn.Module):
    def __init__(self, dim: int, hidden: int, experts: int = 3) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(2 * dim)
        self.mlp = nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, experts))

    def forward(self, inputs: StageInputs) -> torch.Tensor:
        pooled = torch.cat([inputs.search_rgb.mean(1), inputs.search_aux.mean(1)], dim=-1)
        return self.mlp(self.norm(pooled))
