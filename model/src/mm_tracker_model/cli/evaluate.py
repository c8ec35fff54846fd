"""mm-tracker-evaluate: score a checkpoint on synthetic sequences (tracking PR/NPR/SR and alignment error).

Runs the engine with the full tracker and the two baselines (calibration kept without online alignment;
identity homography) and prints one row each. The model card's numbers come from this command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.readers import read_sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.settings import SETTINGS, evaluate
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-evaluate", description=__doc__)
    parser.add_argument("--synthetic", type=Path, required=True, help="a folder written by mm-tracker-synth")
    parser.add_argument("--checkpoint", type=Path, help="default: the packaged default model")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated, of: {', '.join(SETTINGS)}")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    def body() -> int:
        folders = sorted(p for p in args.synthetic.iterdir() if (p / "meta.json").is_file())
        if not folders:
            raise MMTrackerError(f"{str(args.synthetic)!r} holds no synthetic sequences (seq_*/meta.json)")
        sequences = [read_sequence(f, "synthetic") for f in folders]
        checkpoint = args.checkpoint or default_checkpoint(sequences[0].modality)
        if checkpoint is None:
            raise MMTrackerError("no --checkpoint given and no default model is packaged yet")
        torch.manual_seed(0)
        net = load_net(checkpoint)
        reports = [evaluate(net, sequences, s, progress=not args.json).to_dict() for s in args.settings.split(",")]
        if args.json:
            print(json.dumps(reports, indent=2))
        else:
            print(f"{'setting':<22}{'PR':>7}{'NPR':>7}{'SR':>7}{'corner err px':>15}")
            for r in reports:
                print(f"{r['setting']:<22}{r['pr']:7.3f}{r['npr']:7.3f}{r['sr']:7.3f}{r['align_corner_err_px']:15.2f}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
