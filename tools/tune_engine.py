"""Engine settings on sequences that are neither trained on nor held out (real RGB + pseudo-thermal, or synthetic).

    .venv/bin/python tools/tune_engine.py UAV123_group2_2,UAV123_wakeboard4,UAVDT_S0310 \
        --setting max_scale_change=0,size_lr=1 --setting window_influence=0.6
    .venv/bin/python tools/tune_engine.py all --root runs/synth_val --format synthetic --setting global_rate=0.2

prints PR / NPR / SR (LasHeR conventions), the alignment corner error and the accepted TOCU updates for the
engine's defaults and then for each `--setting` (EngineConfig fields over the defaults); the engine's defaults
were chosen from its output (README, "The tracker engine").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.engine.overrides import parse_overrides
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.report import summarise
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint


def sequence_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments the tuning tools share: which sequences, their layout, which checkpoint."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", help="comma-separated folder names under --root, or all")
    parser.add_argument("--root", type=Path, default=Path("../shared/data/real_rgb"))
    parser.add_argument("--format", default="otb", help="the sequences' layout; otb gets pseudo-thermal X")
    parser.add_argument("--checkpoint", type=Path, default=None, help="default: the embedded default")
    return parser


def sequence_inputs(args: argparse.Namespace) -> tuple[torch.nn.Module, list[EvalInput]]:
    """The network and the evaluation inputs `sequence_parser`'s arguments name (otb layouts get pseudo-thermal)."""
    torch.manual_seed(0)
    net = load_net(args.checkpoint or default_checkpoint()).eval()
    names = sorted(p.name for p in args.root.iterdir() if p.is_dir()) if args.sequences == "all" else None
    pseudo = None if args.format == "synthetic" else "thermal"
    return net, [EvalInput(args.root / name, args.format, pseudo) for name in names or args.sequences.split(",")]


def main() -> int:
    parser = sequence_parser(__doc__)
    parser.add_argument("--setting", type=parse_overrides, action="append", default=[], help="NAME=VALUE,...")
    args = parser.parse_args()
    net, items = sequence_inputs(args)
    for overrides in [{}, *args.setting]:
        engine = EngineConfig(**overrides)
        runs = [run_offline(net, item.messages(), new_run(item), OfflineConfig(engine=engine)) for item in items]
        o = summarise(runs)["overall"]
        updates = sum(out.tocu_updated for run in runs for out in run.outputs.values())
        label = ",".join(f"{k}={v}" for k, v in overrides.items()) or "defaults"
        corner = f", corner {o['align_corner_err_px']:.2f} px" if "align_corner_err_px" in o else ""
        print(f"{label}: PR {o['pr']:.3f} NPR {o['npr']:.3f} SR {o['sr']:.3f}{corner}, TOCU {updates}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
