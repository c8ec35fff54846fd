"""Crop-level scores on sampled training-style pairs: box IoU and the alignment's corner error after each stage.

The corner error of a stage is the mean distance (search-crop pixels) of the crop's corners mapped by its
cumulative homography and by the truth; `identity` is the error of predicting no misalignment at all, so each
stage can be read against the one before it (PMATrack's progressive claim).
"""

from __future__ import annotations

import numpy as np
import torch

from mm_tracker_model.data.sampler import PairSampler, SamplerConfig, collate
from mm_tracker_model.data.still_pairs import split_names, still_pair_sequence
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.boxes import cxcywh_to_xyxy


def box_iou(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """IoU of (B, 4) normalised (cx, cy, w, h) boxes."""
    pred, true = cxcywh_to_xyxy(pred), cxcywh_to_xyxy(true)
    lt, rb = torch.maximum(pred[:, :2], true[:, :2]), torch.minimum(pred[:, 2:], true[:, 2:])
    inter = (rb - lt).clamp_min(0).prod(1)
    union = (pred[:, 2:] - pred[:, :2]).prod(1) + (true[:, 2:] - true[:, :2]).prod(1) - inter
    return inter / union.clamp_min(1e-9)


@torch.no_grad()
def pair_errors(
    net: torch.nn.Module, sampler: PairSampler, samples: int, device: torch.device | str = "cpu", seed: int = 12345
) -> dict[str, float]:
    """`iou`, and with an alignment branch `align_identity_corner_err_px`, `align_stage{k}_corner_err_px` and
    `align_corner_err_px` (the final stage), on `samples` pairs drawn with a fixed seed (eval mode: hard routing)."""
    net.eval()
    rng = np.random.default_rng(seed)
    ious, corners = [], []
    for _ in range(max(1, samples // 8)):
        batch = {k: v.to(device) for k, v in collate([sampler.sample(rng) for _ in range(8)]).items()}
        output = net(batch["template"], batch["search"])
        # Negative pairs (no target in the search crop) have no box to score.
        ious.append(box_iou(output.boxes, batch["box"])[batch["present"] > 0].cpu())
        if output.alignment is not None:
            size = net.config.search_size
            truth = batch["homography"].double().cpu()
            estimates = [torch.eye(3, dtype=truth.dtype).expand_as(truth)]
            estimates += [stage.homography.double().cpu() for stage in output.alignment.stages]
            corners.append(torch.stack([hg.crop_corner_error(h, truth, size) for h in estimates], 1))
    report = {"iou": float(torch.cat(ious).mean())}
    if corners:
        per_stage = torch.cat(corners).mean(0)
        report["align_identity_corner_err_px"] = float(per_stage[0])
        report |= {f"align_stage{k}_corner_err_px": float(v) for k, v in enumerate(per_stage[1:], start=1)}
        report["align_corner_err_px"] = float(per_stage[-1])
    return report


# PMATrack's range of misalignments (the alignment training stage's warps): offsets up to a quarter of the
# search crop, scale 0.75-1.33 per axis, rotation up to 5 degrees.
HELD_OUT_WARPS = SamplerConfig(warp_shift=0.25, warp_scale=1.33, warp_rotation_deg=5.0)


def held_out_pair_errors(net: torch.nn.Module, root, samples: int = 96) -> dict[str, float]:
    """pair_errors on the held-out split of a folder of registered still pairs under random known warps."""
    sequences = [still_pair_sequence(root, name) for name in split_names(root, held_out=True)]
    return pair_errors(net, PairSampler(sequences, net.config, HELD_OUT_WARPS), samples)
