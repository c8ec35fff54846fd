"""A network stand-in whose outputs the test programs: the box it 'sees', its score and its homography.

Lets engine tests check the geometry around the network exactly (crops, mapping back, H composition, TOCU)
independently of what an untrained network would predict.
"""

from __future__ import annotations

import torch
from torch import nn

from mm_tracker_model.nn.alignment.branch import AlignmentOutput
from mm_tracker_model.nn.alignment.stage import StageOutput
from mm_tracker_model.nn.tracker_net import NetOutput
from mm_tracker_model.presets import get_preset


class OracleNet(nn.Module):
    def __init__(self, preset: str = "full_tiny") -> None:
        super().__init__()
        self.config = get_preset(preset)
        self.anchor = nn.Parameter(torch.zeros(1))  # so .to(device) and .eval() behave as for a real net
        self.box = (0.5, 0.5, 0.25, 0.25)  # normalised search-crop (cx, cy, w, h) of the next frame
        self.h_crop = torch.eye(3)  # centred normalised crop units, X -> RGB
        self.score = 0.9
        self.distractors: dict[tuple[int, int], float] = {}  # (row, column) -> score: peaks of the box's size
        self.tocu_boxes = [(0.5, 0.5, 0.25, 0.25), (0.5, 0.5, 0.25, 0.25)]  # aligned, unaligned candidates
        self.calls: list[int] = []  # batch size of each forward
        self.last_search: torch.Tensor | None = None  # the (B, 6, S, S) search pair of the last forward

    def _maps(self, box: tuple[float, float, float, float]):
        grid = self.config.search_grid
        cx, cy, w, h = box
        col, row = int(cx * grid), int(cy * grid)
        score = torch.full((1, grid, grid), 0.01)
        score[0, row, col] = self.score
        size = torch.zeros(2, grid, grid)
        size[:, row, col] = torch.tensor([w, h])
        offset = torch.zeros(2, grid, grid)
        for (other_row, other_col), value in self.distractors.items():
            score[0, other_row, other_col] = value
            size[:, other_row, other_col] = torch.tensor([w, h])
        offset[:, row, col] = torch.tensor([cx * grid - col, cy * grid - row])
        return score, size, offset

    def forward(self, template, search, initial_homography=None, reuse_stages=None) -> NetOutput:
        """`reuse_stages` applies the earlier estimate's residual, as the network does (`h_crop` is not read)."""
        batch = search.shape[0]
        self.calls.append(batch)
        self.last_search = search
        boxes = self.tocu_boxes if batch == 2 else [self.box]
        score, size, offset = (torch.stack(m) for m in zip(*(self._maps(b) for b in boxes), strict=True))
        estimate = self.h_crop if reuse_stages is None else reuse_stages[0].residual[0]
        homography = estimate.expand(batch, 3, 3).clone()
        stage = StageOutput(
            params=torch.zeros(batch, 4),
            residual=homography,
            homography=homography,
            confidence=torch.ones(batch),
            router_logits=torch.zeros(batch, 3),
            router_weights=torch.nn.functional.one_hot(torch.zeros(batch, dtype=torch.long), 3).float(),
            selected=torch.zeros(batch, dtype=torch.long),
            expert_params=None,
            expert_homographies=None,
            responses=None,
        )
        return NetOutput(
            score, size, offset, torch.tensor(boxes, dtype=torch.float32), AlignmentOutput([stage], homography)
        )
