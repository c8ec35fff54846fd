"""Is the truth a fixed point of the online alignment? Per-frame corrections against the needed ones.

    .venv/bin/python tools/alignment_fixed_point.py runs/synth_val [--checkpoint CKPT] [--sequences 4]

Tracks synthetic sequences (exact X -> RGB truth per frame, TOCU off) twice: with the running homography set to
the truth before every frame (a perfect estimator would then correct nothing) and kept at the calibration
(frame 0's truth). For each it prints the corner correction needed, the error left after the network's estimate,
the mean size of the correction it applied, and the regression slope of applied on needed corrections (1: exact).
Feeding the estimate back into the running homography (EngineConfig.global_rate) converges only if the
correction at the truth is small against the one it removes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.preprocess import thermal_to_rgb
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint


def as_rgb(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        return thermal_to_rgb(image, "16UC1")
    return np.repeat(image[..., None], 3, 2) if image.ndim == 2 else image


def corners(matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    points = matrix @ np.array([[0, width, width, 0], [0, 0, height, height], [1, 1, 1, 1]], dtype=np.float64)
    return (points[:2] / points[2]).T


def corrections(net, folder: Path, at_truth: bool) -> tuple[np.ndarray, np.ndarray]:
    """(frames, 4, 2) needed and applied corner corrections of one sequence."""
    seq = read_sequence(folder, "synthetic")
    truth = seq.homographies / seq.homographies[:, 2:3, 2:3]
    tracker = Tracker(net, EngineConfig(tocu_alpha=1.0, publish_rate=1.0))  # each frame's own estimate
    tracker.initialize(seq.load_rgb(0), as_rgb(seq.load_aux(0)), seq.boxes_rgb[0], truth[0])
    needed, applied = [], []
    for t in range(1, len(seq)):
        if at_truth:
            tracker.h_global = truth[t].copy()
        result = tracker.track(seq.load_rgb(t), as_rgb(seq.load_aux(t)))
        base = corners(tracker.h_global, *tracker.x_size)
        needed.append(corners(truth[t], *tracker.x_size) - base)
        applied.append(corners(result.frame_homography, *tracker.x_size) - base)
    return np.stack(needed), np.stack(applied)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="mm-tracker-synth output (seq_* folders)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the embedded default")
    parser.add_argument("--sequences", type=int, default=4)
    args = parser.parse_args()
    torch.manual_seed(0)
    net = load_net(args.checkpoint or default_checkpoint()).eval()
    folders = sorted(args.root.glob("seq_*"))[: args.sequences]
    for label, at_truth in (("running H = truth", True), ("running H = calibration", False)):
        needed, applied = (
            np.concatenate(a) for a in zip(*(corrections(net, f, at_truth) for f in folders), strict=True)
        )
        slope = float((needed * applied).sum() / max(float((needed * needed).sum()), 1e-9))
        print(
            f"{label}: needed {np.linalg.norm(needed, axis=-1).mean():.2f} px, "
            f"left after the estimate {np.linalg.norm(needed - applied, axis=-1).mean():.2f} px, "
            f"applied {np.linalg.norm(applied, axis=-1).mean():.2f} px, slope {slope:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
