"""What every alignment expert reads at a stage."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class StageInputs:
    """Tokens of both streams after the stage's block; search maps are (B, C, g, g)."""

    template_rgb: torch.Tensor  # (B, Nt, C), all templates
    template_aux: torch.Tensor
    search_rgb: torch.Tensor  # (B, g*g, C)
    search_aux: torch.Tensor
    grid: int
    fine: torch.Tensor | None = None  # (B, 3, g, g) sub-token offset field under the running homography (fine.py)
    fine_full: torch.Tensor | None = None  # the same field at the fine stride, which the closed-form fit reads

    def search_map(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, _, channels = tokens.shape
        return tokens.transpose(1, 2).reshape(batch, channels, self.grid, self.grid)

    def select(self, index: torch.Tensor) -> StageInputs:
        """The same inputs for a subset of the batch."""
        parts = (self.template_rgb, self.template_aux, self.search_rgb, self.search_aux)
        fine, full = (None if f is None else f[index] for f in (self.fine, self.fine_full))
        return StageInputs(*(part[index] for part in parts), self.grid, fine, full)

    @property
    def batch(self) -> int:
        return self.search_rgb.shape[0]
