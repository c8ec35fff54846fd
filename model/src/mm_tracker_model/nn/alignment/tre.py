"""Target Response Expert: where each modality responds to the template, and how OT moves one onto the other."""

from __future__ import annotations

import math
import warnings

import ot
import torch
from torch import nn

from mm_tracker_model.nn.alignment.inputs import StageInputs

# Keeps every grid cell in the support so the log-domain Sinkhorn sees finite logs.
MASS_FLOOR = 1e-8


def grid_positions(grid: int) -> torch.Tensor:
    """(g*g, 2) token-centre (x, y) positions in token units, row-major."""
    ys, xs = torch.meshgrid(torch.arange(grid), torch.arange(grid), indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=-1).to(torch.float32)


def squared_distance_cost(grid: int) -> torch.Tensor:
    """Cost between token centres: squared distance in normalised [0, 1] grid coordinates."""
    positions = (grid_positions(grid) + 0.5) / grid
    return torch.cdist(positions, positions).pow(2)


def transport_plan(source: torch.Tensor, target: torch.Tensor, cost: torch.Tensor, reg: float, iterations: int):
    """Entropic OT plan (g*g, g*g) between two distributions with POT's log-domain Sinkhorn (differentiable).

    `reg` is in the cost's units: 0.01 is ~2.5 squared tokens on a 16 grid, so a one-token move costs
    0.4 reg — far from PMATrack's kernel, whose off-diagonal entries underflow to zero.
    """
    source = (source + MASS_FLOOR) / (source + MASS_FLOOR).sum()
    target = (target + MASS_FLOOR) / (target + MASS_FLOOR).sum()
    with warnings.catch_warnings():
        # A capped iteration count is a deliberate accuracy/speed trade; POT warns about it every call.
        warnings.filterwarnings("ignore", message="Sinkhorn did not converge")
        return ot.sinkhorn(source, target, cost, reg, method="sinkhorn_log", numItermax=iterations, stopThr=1e-7)


def displacement_bins(grid: int) -> torch.Tensor:
    """(g*g * g*g,) index of the (dy, dx) bin, in a (2g-1)^2 histogram, of moving token i to token j."""
    positions = grid_positions(grid).long()
    delta = positions[None, :, :] - positions[:, None, :]  # target - source, (x, y)
    return ((delta[..., 1] + grid - 1) * (2 * grid - 1) + delta[..., 0] + grid - 1).flatten()


def mean_displacement(plan: torch.Tensor, grid: int) -> torch.Tensor:
    """Mass-weighted mean (dx, dy) in tokens of a transport plan."""
    positions = grid_positions(grid).to(plan)
    delta = positions[None, :, :] - positions[:, None, :]
    return (plan.unsqueeze(-1) * delta).sum(dim=(0, 1)) / plan.sum()


class TargetResponseExpert(nn.Module):
    """Template-search responses per modality -> OT displacement histogram -> small CNN -> raw parameters.

    `positional` readout: the CNN keeps the histogram's layout (strided, flattened) and the plan's expected
    displacement is fed beside it; `pooled` (legacy) ends in a global average pool, which cannot see a shift.
    """

    def __init__(
        self,
        dim: int,
        proj_dim: int,
        grid: int,
        out_dim: int,
        reg: float,
        iterations: int,
        positional: bool = True,
        fine_channels: int = 0,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj_rgb = nn.Sequential(nn.Linear(dim, proj_dim), nn.ReLU(), nn.Linear(proj_dim, proj_dim))
        self.proj_x = nn.Sequential(nn.Linear(dim, proj_dim), nn.ReLU(), nn.Linear(proj_dim, proj_dim))
        self.positional = positional
        if positional:
            self.histogram_cnn = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, stride=2, padding=1), nn.ReLU()
            )
            features = 4 * grid * grid + 2 + fine_channels * grid * grid
        else:
            self.histogram_cnn = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1),
            )  # fmt: skip
            features = 16
        self.regressor = nn.Linear(features, out_dim)
        self.grid, self.reg, self.iterations = grid, reg, iterations
        self.register_buffer("cost", squared_distance_cost(grid), persistent=False)
        self.register_buffer("bins", displacement_bins(grid), persistent=False)

    def response(self, template: torch.Tensor, search: torch.Tensor, proj: nn.Module) -> torch.Tensor:
        """(B, g*g) activation in [0, 1]: per search cell, its best softmax share over template tokens."""
        t, s = proj(self.norm(template)), proj(self.norm(search))
        scores = t @ s.transpose(1, 2) / math.sqrt(t.shape[-1])
        return scores.softmax(dim=-1).amax(dim=1)

    def plans(self, responses_rgb: torch.Tensor, responses_aux: torch.Tensor) -> torch.Tensor:
        """(B, g*g, g*g) transport plans, RGB response -> X response."""
        return torch.stack(
            [
                transport_plan(a.double(), b.double(), self.cost.double(), self.reg, self.iterations).to(a.dtype)
                for a, b in zip(responses_rgb.float(), responses_aux.float(), strict=True)
            ]
        )

    def histogram(self, plans: torch.Tensor) -> torch.Tensor:
        """(B, 1, 2g-1, 2g-1) mass moved by each displacement."""
        side = 2 * self.grid - 1
        histogram = plans.new_zeros(plans.shape[0], side * side)
        histogram.index_add_(1, self.bins, plans.flatten(1))
        return histogram.view(-1, 1, side, side)

    @property
    def output_layer(self) -> nn.Linear:
        return self.regressor

    def forward(self, inputs: StageInputs) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw parameters (B, out_dim) and the response maps (B, 2, g*g) the mask loss supervises."""
        responses_rgb = self.response(inputs.template_rgb, inputs.search_rgb, self.proj_rgb)
        responses_aux = self.response(inputs.template_aux, inputs.search_aux, self.proj_x)
        plans = self.plans(responses_rgb, responses_aux)
        features = self.histogram_cnn(self.histogram(plans) * self.grid**2).flatten(1)
        if self.positional:
            # The plan's mean RGB -> X displacement in crop units (the shift itself): target minus source marginal.
            positions = grid_positions(self.grid).to(plans) / self.grid
            displacement = ((plans.sum(1) - plans.sum(2)).unsqueeze(1) @ positions).squeeze(1)
            features = torch.cat([features, displacement], dim=1)
            if inputs.fine is not None:
                features = torch.cat([features, inputs.fine.flatten(1).to(features)], dim=1)
        return self.regressor(features.to(responses_rgb.dtype)), torch.stack([responses_rgb, responses_aux], dim=1)
