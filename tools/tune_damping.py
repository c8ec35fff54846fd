"""Size-damping settings of the engine on real sequences that are neither trained on nor held out.

    .venv/bin/python tools/tune_damping.py UAV123_group2_2,UAV123_wakeboard4,UAVDT_S0310

prints PR / NPR / SR (LasHeR conventions, RGB + pseudo-thermal, the default model) per setting; the engine's
defaults (`EngineConfig.max_scale_change`, `size_lr`) were chosen from its output (README, "The tracker engine").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.report import summarise
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint

# (max_scale_change, size_lr, lost_search_scale)
SETTINGS = ((0.0, 1.0, 1.0), (1.1, 1.0, 1.0), (1.2, 1.0, 1.0), (0.0, 0.5, 1.0), (1.1, 0.5, 1.0), (1.05, 1.0, 1.0),
            (1.1, 1.0, 1.3))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", help="comma-separated folder names under --root")
    parser.add_argument("--root", type=Path, default=Path("../shared/data/real_rgb"))
    args = parser.parse_args()
    torch.manual_seed(0)
    net = load_net(default_checkpoint()).eval()
    for max_scale_change, size_lr, lost_search_scale in SETTINGS:
        engine = EngineConfig(max_scale_change=max_scale_change, size_lr=size_lr, lost_search_scale=lost_search_scale)
        runs = []
        for name in args.sequences.split(","):
            item = EvalInput(args.root / name, "otb", "thermal")
            runs.append(run_offline(net, item.messages(), new_run(item), OfflineConfig(engine=engine)))
        o = summarise(runs)["overall"]
        print(
            f"max_scale_change {max_scale_change} size_lr {size_lr} lost_search_scale {lost_search_scale}: "
            f"PR {o['pr']:.3f} NPR {o['npr']:.3f} SR {o['sr']:.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
