"""The default model (RGB + pseudo-thermal X under a known misalignment) against CSRT (RGB) on held-out real
sequences, with the LasHeR toolkit's metrics. See tools/csrt_baseline.py for producing the CSRT results."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mm_tracker_model.data.annotations import read_boxes
from mm_tracker_model.data.sources import open_sequence
from mm_tracker_model.eval.metrics import overall, sequence_curves
from mm_tracker_model.eval.settings import evaluate
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint

HELD_OUT = ("OTB_David", "OTB_Man", "DTB70_Gull2", "UAV123_boat1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("../shared/data/real_rgb"))
    parser.add_argument("--csrt", type=Path, required=True, help="folder of CSRT result files")
    parser.add_argument("--checkpoint", type=Path, default=default_checkpoint())
    args = parser.parse_args()
    sequences = [open_sequence(args.root / name, "otb", pseudo_aux="thermal") for name in HELD_OUT]
    torch.manual_seed(0)
    ours = evaluate(load_net(args.checkpoint), sequences, "full")
    csrt = overall([sequence_curves(read_boxes(args.csrt / f"{s.name}.txt"), s.boxes_rgb) for s in sequences])
    print(f"{'tracker':<34}{'PR':>7}{'NPR':>7}{'SR':>7}")
    print(f"{'mm_tracker default (RGB+pseudo-T)':<34}{ours.pr:7.3f}{ours.npr:7.3f}{ours.sr:7.3f}")
    print(f"{'OpenCV CSRT (RGB)':<34}{csrt.pr:7.3f}{csrt.npr:7.3f}{csrt.sr:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
