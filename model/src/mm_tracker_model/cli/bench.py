"""mm-tracker-bench: speed of the tracker engine on a generated RGB + thermal sequence.

Prints FPS, per-frame latency percentiles per phase, MACs per frame with hard routing against running
every expert, and how often each expert was chosen. Engine only: no ROS, no image decoding.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mm_tracker_model.accounting import account
from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.tracker import PRECISIONS
from mm_tracker_model.errors import EngineInputError
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import preset_names

WARMUP_FRAMES = 5


def percentiles(values: list[float]) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)}


def benchmark(net: torch.nn.Module, config: EngineConfig, frames: int, seed: int = 0, progress: bool = True) -> dict:
    sequence = toy_sequence(frames + WARMUP_FRAMES + 1, seed=seed)
    tracker = Tracker(net, config)
    first = sequence[0]
    tracker.initialize(first.rgb, first.x, first.box, first.x_to_rgb)
    totals, phases, usage = [], {}, Counter()
    measured = sequence[1:]
    start, tocu_before = 0.0, (0, 0)
    for index, frame in enumerate(tqdm(measured, desc="frames", disable=not progress, leave=False)):
        if index == WARMUP_FRAMES:
            start = time.perf_counter()
            tocu_before = (tracker.stats.tocu_attempts, tracker.stats.tocu_accepted)
        frame_start = time.perf_counter()
        result = tracker.track(frame.rgb, frame.x)
        if index < WARMUP_FRAMES:
            continue
        totals.append((time.perf_counter() - frame_start) * 1e3)
        for phase, ms in result.timings_ms.items():
            phases.setdefault(phase, []).append(ms)
        usage.update(f"stage{k}.{name}" for k, name in enumerate(result.experts))
    elapsed = time.perf_counter() - start
    macs = account(net).macs
    report = {
        "preset": net.config.name,
        "device": config.device,
        "precision": config.precision,
        "frames": frames,
        "tocu_every": config.tocu_every,
        "tocu_alpha": config.tocu_alpha,
        "fps": frames / elapsed,
        "latency_ms": percentiles(totals),
        "phases": {phase: percentiles(values) for phase, values in phases.items()},
        "macs_per_frame": {"network_no_tocu": macs.total},
        "experts": dict(sorted(usage.items())),
        "tocu": {
            "attempts": tracker.stats.tocu_attempts - tocu_before[0],
            "accepted": tracker.stats.tocu_accepted - tocu_before[1],
        },
    }
    if macs.alignment_stages:
        base = macs.without_experts()
        routed = [
            sum(stages[name] for stages, name in zip(macs.alignment_stages, experts.split(","), strict=True))
            for experts in _routes_per_frame(usage, len(macs.alignment_stages), frames)
        ]
        report["macs_per_frame"] = {
            "hard_routed_mean": base + float(np.mean(routed)),
            "hard_routed_max": base + macs.alignment_hard_route_max,
            "all_experts": base + macs.alignment_all_experts,
        }
    return report


def _routes_per_frame(usage: Counter, stages: int, frames: int) -> list[str]:
    """Expert MACs only depend on how often each stage chose each expert, so rebuild routes from the counts."""
    per_stage = []
    for k in range(stages):
        names = [name.split(".")[1] for name in usage if name.startswith(f"stage{k}.")]
        per_stage.append([n for n in names for _ in range(usage[f"stage{k}.{n}"])])
    return [",".join(route) for route in zip(*per_stage, strict=True)][:frames]


def format_report(report: dict) -> str:
    lines = [
        f"{report['preset']} on {report['device']} ({report['precision']}), {report['frames']} frames, "
        f"TOCU at most every {report['tocu_every']} frames above score {report['tocu_alpha']}",
        f"  FPS {report['fps']:.1f}   latency ms p50 {report['latency_ms']['p50']:.1f}  "
        f"p95 {report['latency_ms']['p95']:.1f}  p99 {report['latency_ms']['p99']:.1f}",
    ]
    for phase, values in report["phases"].items():
        lines.append(f"  {phase:<12} p50 {values['p50']:7.2f}  p95 {values['p95']:7.2f}  p99 {values['p99']:7.2f} ms")
    for name, value in report["macs_per_frame"].items():
        lines.append(f"  MACs/frame {name:<18} {value / 1e9:.3f} G")
    if report["experts"]:
        lines.append("  experts " + ", ".join(f"{k} {v}" for k, v in report["experts"].items()))
    lines.append(f"  TOCU attempts {report['tocu']['attempts']}, accepted {report['tocu']['accepted']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-bench", description=__doc__)
    parser.add_argument("--preset", default="full_tiny", help=f"one of: {', '.join(preset_names())}")
    parser.add_argument("--checkpoint", type=Path, help="mm_tracker checkpoint (default: random initialisation)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--precision", default="fp32", choices=sorted(PRECISIONS))
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--tocu-every", type=int, default=10, help="run TOCU at most every N frames")
    parser.add_argument(
        "--tocu-alpha", type=float, default=0.5, help="score above which TOCU runs (0 forces it, to time its cost)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineInputError(f"device {args.device!r} requested but CUDA is not available here")
        if args.frames < 1:
            raise EngineInputError(f"--frames must be >= 1, got {args.frames}")
        torch.manual_seed(0)
        net = load_net(args.checkpoint, args.preset) if args.checkpoint else build_net(args.preset)
        config = EngineConfig(
            device=args.device, precision=args.precision, tocu_every=args.tocu_every, tocu_alpha=args.tocu_alpha
        )
        report = benchmark(net, config, args.frames, progress=not args.json)
        print(json.dumps(report, indent=2) if args.json else format_report(report))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
