"""One DMAE stage: router + three experts -> a residual homography, composed onto the previous one."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mm_tracker_model.flops import count_macs
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.nn.alignment.dpe import DetailExpert
from mm_tracker_model.nn.alignment.fine import FIELD_CHANNELS, fitted_params
from mm_tracker_model.nn.alignment.fme import FeatureMatchingExpert
from mm_tracker_model.nn.alignment.inputs import StageInputs
from mm_tracker_model.nn.alignment.router import Router
from mm_tracker_model.nn.alignment.tre import TargetResponseExpert
from mm_tracker_model.presets import NetConfig

EXPERT_NAMES = ("tre", "fme", "dpe")
LOG_SCALE_LIMIT = math.log(4.0)
CORNER_OFFSET_LIMIT = 0.25  # crop units, for the 8-DoF stage


@dataclass
class StageOutput:
    params: torch.Tensor  # (B, P) residual: [dx, dy, ln sx, ln sy] or 8 corner offsets (perspective)
    residual: torch.Tensor  # (B, 3, 3) this stage's ΔH, centred normalised crop units, X -> RGB
    homography: torch.Tensor  # (B, 3, 3) cumulative H_k = ΔH_k · H_{k-1}
    confidence: torch.Tensor  # (B,)
    router_logits: torch.Tensor  # (B, 3)
    router_weights: torch.Tensor  # (B, 3): Gumbel-softmax in training, one-hot at inference
    selected: torch.Tensor  # (B,) expert index
    expert_params: torch.Tensor | None  # (B, 3, P), training only (all experts run)
    expert_homographies: torch.Tensor | None  # (B, 3, 3, 3) each expert's cumulative H, training only
    responses: torch.Tensor | None  # (B, 2, g*g) TRE response maps when TRE ran on the whole batch


class AlignmentStage(nn.Module):
    def __init__(self, config: NetConfig, kind: str) -> None:
        super().__init__()
        align, dim, grid = config.alignment, config.embed_dim, config.search_grid
        self.kind = kind
        out_dim = 9 if kind == "perspective" else 5
        options = {
            "positional": align.readout == "positional",
            "fine_channels": FIELD_CHANNELS if align.fine_stride else 0,
        }
        tre = (align.tre_dim, grid, out_dim, align.sinkhorn_reg, align.sinkhorn_iterations)
        self.experts = nn.ModuleList(
            [
                TargetResponseExpert(dim, *tre, **options),
                FeatureMatchingExpert(dim, align.fme_dim, align.fme_channels, out_dim, grid, **options),
                DetailExpert(dim, align.dpe_channels, grid, out_dim, **options),
            ]
        )
        self.router = Router(dim, align.router_hidden, len(self.experts))
        for expert in self.experts:
            # A fresh stage predicts the identity (no residual), as a fresh adapter predicts nothing.
            nn.init.zeros_(expert.output_layer.weight)
            nn.init.zeros_(expert.output_layer.bias)
        self.register_buffer("expert_macs", torch.zeros(len(self.experts), dtype=torch.float64), persistent=False)
        # Analysis only: route every sample to this expert at inference (how good is each one on its own).
        self.forced_expert: int | None = None

    def measure_expert_costs(self, inputs: StageInputs) -> None:
        """MACs of each expert on `inputs`, kept for CPESL's cost penalty and for reporting."""
        with torch.no_grad():
            for i, expert in enumerate(self.experts):
                by_op, _ = count_macs(lambda expert=expert: expert(inputs))
                self.expert_macs[i] = float(sum(by_op.values()))

    @property
    def expert_costs(self) -> torch.Tensor:
        """Expert MACs normalised by the largest (PMATrack hard-coded 0.101, 0.589, 1.0)."""
        return (self.expert_macs / self.expert_macs.max().clamp_min(1.0)).float()

    def params_from_raw(
        self, raw: torch.Tensor, prior: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Bounded residual parameters and confidence from an expert's raw outputs; with a fine offset field,
        the expert corrects the field's closed-form fit (`prior`) instead of starting from nothing."""
        confidence = raw[:, -1].sigmoid()
        if self.kind == "perspective":
            return raw[:, :8].tanh() * CORNER_OFFSET_LIMIT, confidence
        translation = raw[:, :2].tanh()
        log_scale = raw[:, 2:4].tanh() * LOG_SCALE_LIMIT
        if prior is not None:
            translation = (translation + prior[:, :2]).clamp(-1.0, 1.0)
            log_scale = (log_scale + prior[:, 2:4]).clamp(-LOG_SCALE_LIMIT, LOG_SCALE_LIMIT)
        if self.kind == "translation":
            log_scale = torch.zeros_like(log_scale)
        return torch.cat([translation, log_scale], dim=-1), confidence

    def prior(self, inputs: StageInputs) -> torch.Tensor | None:
        """The closed-form fit of the stage's fine offset field (None without one, or for the 8-DoF stage)."""
        if inputs.fine_full is None or self.kind == "perspective":
            return None
        return fitted_params(inputs.fine_full.float(), with_scale=self.kind == "scale").to(inputs.fine_full.dtype)

    def matrix_from_params(self, params: torch.Tensor) -> torch.Tensor:
        if self.kind == "perspective":
            corners = hg.UNIT_CORNERS.to(params).expand(params.shape[0], -1, -1)
            return hg.corners_to_matrix(corners, corners + params.view(-1, 4, 2))
        return hg.params_to_matrix(params)

    def forward(self, inputs: StageInputs, previous: torch.Tensor) -> StageOutput:
        logits = self.router(inputs)
        if self.training:
            return self._soft_routed(inputs, previous, logits)
        return self._hard_routed(inputs, previous, logits)

    def _soft_routed(self, inputs: StageInputs, previous: torch.Tensor, logits: torch.Tensor) -> StageOutput:
        weights = F.gumbel_softmax(logits, tau=1.0, hard=False)
        outputs = [expert(inputs) for expert in self.experts]
        prior = self.prior(inputs)
        decoded = [self.params_from_raw(raw, prior) for raw, _ in outputs]
        expert_params = torch.stack([p for p, _ in decoded], dim=1)
        confidences = torch.stack([c for _, c in decoded], dim=1)
        params = (weights.unsqueeze(-1) * expert_params).sum(1)
        residual = self.matrix_from_params(params)
        expert_homographies = torch.stack(
            [hg.compose(self.matrix_from_params(expert_params[:, e]), previous) for e in range(len(self.experts))], 1
        )
        return StageOutput(
            params=params,
            residual=residual,
            homography=hg.compose(residual, previous),
            confidence=(weights * confidences).sum(1),
            router_logits=logits,
            router_weights=weights,
            selected=weights.argmax(-1),
            expert_params=expert_params,
            expert_homographies=expert_homographies,
            responses=outputs[0][1],
        )

    def _hard_routed(self, inputs: StageInputs, previous: torch.Tensor, logits: torch.Tensor) -> StageOutput:
        """Deterministic top-1: only the selected expert runs, on the samples that selected it."""
        selected = (
            logits.argmax(-1)
            if self.forced_expert is None
            else torch.full_like(logits[:, 0], self.forced_expert).long()
        )
        width = 8 if self.kind == "perspective" else 4
        params = logits.new_zeros(inputs.batch, width)
        confidence = logits.new_zeros(inputs.batch)
        responses = None
        prior = self.prior(inputs)
        # The routing decision is read on the host (one sync per stage) so unselected experts never run.
        for expert_index in selected.unique().tolist():
            rows = (selected == expert_index).nonzero().squeeze(1)
            subset = inputs if rows.numel() == inputs.batch else inputs.select(rows)
            raw, maps = self.experts[expert_index](subset)
            params[rows], confidence[rows] = self.params_from_raw(raw, None if prior is None else prior[rows])
            if maps is not None and rows.numel() == inputs.batch:
                responses = maps
        residual = self.matrix_from_params(params)
        return StageOutput(
            params=params,
            residual=residual,
            homography=hg.compose(residual, previous),
            confidence=confidence,
            router_logits=logits,
            router_weights=F.one_hot(selected, len(self.experts)).to(logits.dtype),
            selected=selected,
            expert_params=None,
            expert_homographies=None,
            responses=responses,
        )
