"""Training losses: OSTrack's tracking loss and PMATrack's alignment losses with its two defects fixed.

Fixed: CPESL compares each expert's *cumulative* homography with the ground truth (PMATrack compared raw
residuals with absolute ground truth in stages 1-2), and the TRE mask loss is averaged over stages once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision.ops import generalized_box_iou_loss

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.boxes import cxcywh_to_xyxy
from mm_tracker_model.nn.alignment.stage import StageOutput
from mm_tracker_model.nn.tracker_net import NetOutput


@dataclass(frozen=True)
class LossWeights:
    giou: float = 2.0
    l1: float = 5.0
    focal: float = 1.0
    translation: float = 20.0
    scale: float = 40.0
    expert_translation: float = 40.0
    expert_scale: float = 80.0
    cpesl: float = 2.0
    cost_penalty: float = 0.01  # λ_cost inside CPESL
    # The cost term applies to a sample only once its experts differ in accuracy by this share of the best
    # one's error: with equal experts (a fresh stage) it would only push the router to the cheapest (blind) one.
    cost_gate: float = 0.2
    stage_translation: tuple[float, ...] = (0.25, 0.5, 1.0)
    stage_scale: tuple[float, ...] = (0.0, 0.5, 1.0)


def mask_loss_weight(epoch: int) -> float:
    """TRE mask BCE weight by (1-based) epoch: 0.005, then 0.1 in epochs 2-5, then 3.0."""
    return 0.005 if epoch <= 1 else 0.1 if epoch <= 5 else 3.0


def gaussian_heatmap(boxes: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 1, g, g) Gaussian at each box centre (normalised cx, cy, w, h), sigma from the box size in cells."""
    centres = torch.arange(grid, device=boxes.device, dtype=boxes.dtype) + 0.5
    cx, cy = boxes[:, 0] * grid, boxes[:, 1] * grid
    sigma = (boxes[:, 2:4].mean(-1) * grid / 6).clamp_min(0.5)
    gx = ((centres[None] - cx[:, None]) / sigma[:, None]).pow(2)
    gy = ((centres[None] - cy[:, None]) / sigma[:, None]).pow(2)
    heatmap = torch.exp(-0.5 * (gy[:, :, None] + gx[:, None, :]))
    # The cell that holds the centre is exactly 1, as CenterNet's focal loss expects.
    peak = heatmap.flatten(1).argmax(1)
    heatmap.view(heatmap.shape[0], -1)[torch.arange(heatmap.shape[0]), peak] = 1.0
    return heatmap.unsqueeze(1)


def focal_loss(score_map: torch.Tensor, heatmap: torch.Tensor, alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet focal loss on sigmoid scores against a Gaussian heatmap."""
    positive = heatmap.eq(1).float()
    negative = 1 - positive
    pos = torch.log(score_map) * (1 - score_map).pow(alpha) * positive
    neg = torch.log(1 - score_map) * score_map.pow(alpha) * (1 - heatmap).pow(beta) * negative
    return -(pos.sum() + neg.sum()) / positive.sum().clamp_min(1.0)


def tracking_loss(
    output: NetOutput, target_boxes: torch.Tensor, weights: LossWeights, present: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """target_boxes: (B, 4) normalised search-crop (cx, cy, w, h); present: (B,) 0 for negative pairs.

    A negative pair has an all-zero heatmap (every score is pushed down) and no box terms.
    """
    present = torch.ones_like(target_boxes[:, 0]) if present is None else present.to(target_boxes)
    pred, true = cxcywh_to_xyxy(output.boxes), cxcywh_to_xyxy(target_boxes)
    grid = output.score_map.shape[-1]
    heatmap = gaussian_heatmap(target_boxes, grid) * present[:, None, None, None]
    positives = present.sum().clamp_min(1.0)
    giou = generalized_box_iou_loss(pred, true, reduction="none")
    l1 = F.l1_loss(pred, true, reduction="none").mean(-1)
    return {
        "giou": weights.giou * (giou * present).sum() / positives,
        "l1": weights.l1 * (l1 * present).sum() / positives,
        "focal": weights.focal * focal_loss(output.score_map, heatmap),
    }


def _homography_error(estimate: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample smooth-L1 of translation and of log-scale between two scale+translation homographies."""
    est, gt = hg.matrix_to_params(estimate), hg.matrix_to_params(truth)
    translation = F.smooth_l1_loss(est[..., :2], gt[..., :2], reduction="none").sum(-1)
    scale = F.smooth_l1_loss(est[..., 2:], gt[..., 2:], reduction="none").sum(-1)
    return translation, scale


def _corner_loss(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    corners = hg.UNIT_CORNERS.to(estimate).expand(estimate.shape[0], -1, -1)
    return F.smooth_l1_loss(hg.apply(estimate, corners), hg.apply(truth, corners), reduction="none").sum((-1, -2))


def alignment_loss(
    stages: list[StageOutput],
    true_homography: torch.Tensor,
    costs: list[torch.Tensor],
    weights: LossWeights,
    kinds: tuple[str, ...],
) -> dict[str, torch.Tensor]:
    """Stage-weighted translation/scale losses on the cumulative homographies, per-expert versions, CPESL.

    true_homography: (B, 3, 3) X -> RGB search-crop map (centred normalised units).
    costs: per stage, the (3,) normalised expert costs.
    """
    zero = true_homography.new_zeros(())
    terms = dict.fromkeys(("translation", "scale", "expert_translation", "expert_scale", "cpesl"), zero)
    for k, (stage, kind) in enumerate(zip(stages, kinds, strict=True)):
        w_t, w_s = weights.stage_translation[k], weights.stage_scale[k]
        if kind == "perspective":
            error = _corner_loss(stage.homography, true_homography)
            terms["translation"] = terms["translation"] + weights.translation * w_t * error.mean()
        else:
            translation, scale = _homography_error(stage.homography, true_homography)
            terms["translation"] = terms["translation"] + weights.translation * w_t * translation.mean()
            terms["scale"] = terms["scale"] + weights.scale * w_s * scale.mean()
        if stage.expert_homographies is None:
            continue
        per_expert = []
        for e in range(stage.expert_homographies.shape[1]):
            cumulative = stage.expert_homographies[:, e]
            if kind == "perspective":
                t_err, s_err = _corner_loss(cumulative, true_homography), torch.zeros_like(stages[0].confidence)
            else:
                t_err, s_err = _homography_error(cumulative, true_homography)
            terms["expert_translation"] = terms["expert_translation"] + weights.expert_translation * w_t * t_err.mean()
            terms["expert_scale"] = terms["expert_scale"] + weights.expert_scale * w_s * s_err.mean()
            per_expert.append(t_err + s_err)
        routed, errors = stage.router_weights, torch.stack(per_expert, 1)
        best = errors.detach().amin(1)
        differ = (errors.detach().amax(1) - best > weights.cost_gate * best.clamp_min(1e-6)).to(routed)
        cpesl = (routed * errors).sum(1) + weights.cost_penalty * differ * (routed * costs[k].to(routed)).sum(1)
        terms["cpesl"] = terms["cpesl"] + weights.cpesl * cpesl.mean()
    return terms


def mask_loss(stages: list[StageOutput], box_masks: torch.Tensor, epoch: int) -> torch.Tensor:
    """BCE of TRE's response maps (B, 2, N) against (B, 2, N) box masks, averaged over stages once."""
    losses = [
        F.binary_cross_entropy(s.responses.clamp(1e-6, 1 - 1e-6), box_masks) for s in stages if s.responses is not None
    ]
    if not losses:
        return box_masks.new_zeros(())
    return mask_loss_weight(epoch) * torch.stack(losses).mean()
