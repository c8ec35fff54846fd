"""The progressive alignment branch: DMAE stages after chosen blocks, TCMDA both ways, and the fusion warp."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.nn.alignment.fine import FineMaps, FineMatcher, warp_map
from mm_tracker_model.nn.alignment.inputs import StageInputs
from mm_tracker_model.nn.alignment.stage import AlignmentStage, StageOutput
from mm_tracker_model.nn.alignment.tcmda import TCMDA
from mm_tracker_model.presets import NetConfig


@dataclass
class AlignmentOutput:
    stages: list[StageOutput]
    homography: torch.Tensor  # (B, 3, 3) final X -> RGB search-crop map, centred normalised units


class AlignmentBranch(nn.Module):
    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        align = config.alignment
        self.grid = config.search_grid
        self.stage_after_block = {block: k for k, block in enumerate(align.blocks)}
        self.stages = nn.ModuleList(AlignmentStage(config, kind) for kind in align.stages)
        self.fine = (
            FineMatcher(align.fine_stride, align.fine_channels, config.search_size) if align.fine_stride else None
        )
        self.tcmda_rgb = nn.ModuleList(
            TCMDA(config.embed_dim, align.tcmda_heads, align.tcmda_points) for _ in align.stages
        )
        self.tcmda_x = nn.ModuleList(
            TCMDA(config.embed_dim, align.tcmda_heads, align.tcmda_points) for _ in align.stages
        )

    def encode_fine(self, search_rgb: torch.Tensor, search_aux: torch.Tensor) -> FineMaps | None:
        """The search crops' gradient maps for the stages' sub-token evidence (None without it)."""
        return None if self.fine is None else self.fine.encode(search_rgb, search_aux)

    def run_stage(
        self,
        index: int,
        tokens_rgb: torch.Tensor,
        tokens_x: torch.Tensor,
        previous: torch.Tensor,
        fine_maps: FineMaps | None = None,
        reuse: StageOutput | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, StageOutput]:
        """Estimate the stage's homography, then let each stream read the other through it (search tokens).

        With `reuse` (this stage's output on an earlier frame) its residual is applied instead of a new estimate:
        the router, the experts and the fine field do not run; the streams still read each other through it.
        """
        search = self.grid**2
        field = None if fine_maps is None or reuse is not None else self.fine.offset_field(fine_maps, previous)
        inputs = StageInputs(
            tokens_rgb[:, :-search],
            tokens_x[:, :-search],
            tokens_rgb[:, -search:],
            tokens_x[:, -search:],
            self.grid,
            None if field is None else F.adaptive_avg_pool2d(field, self.grid),
            field,
        )
        if reuse is None:
            out = self.stages[index](inputs, previous)
        else:
            out = dataclasses.replace(reuse, homography=hg.compose(reuse.residual, previous))
        x_to_rgb = out.homography
        # RGB queries look up X at H^-1(p); X queries look up RGB at H(p).
        search_rgb = self.tcmda_rgb[index](inputs.search_rgb, inputs.search_aux, hg.inverse(x_to_rgb), self.grid)
        search_aux = self.tcmda_x[index](inputs.search_aux, inputs.search_rgb, x_to_rgb, self.grid)
        return (
            torch.cat([inputs.template_rgb, search_rgb], dim=1),
            torch.cat([inputs.template_aux, search_aux], dim=1),
            out,
        )

    def warp_to_rgb(self, search_aux: torch.Tensor, x_to_rgb: torch.Tensor) -> torch.Tensor:
        """X search tokens resampled on the RGB token grid: each RGB token centre p reads X at H^-1(p)."""
        batch, _, channels = search_aux.shape
        aux_map = search_aux.transpose(1, 2).reshape(batch, channels, self.grid, self.grid)
        return warp_map(aux_map, x_to_rgb).flatten(2).transpose(1, 2)
