"""mm-tracker-bench: speed of the tracker engine on a generated RGB + thermal sequence.

Prints FPS, per-frame latency percentiles per phase, MACs per frame with hard routing against running
every expert, and how often each expert was chosen. Engine only: no ROS, no image decoding.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from mm_tracker_model.accounting import account
from mm_tracker_model.cli.common import parse_size, run_cli
from mm_tracker_model.competing_load import CompetingLoad
from mm_tracker_model.data.toy import toy_frames
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.tracker import INT8_CHOICES, PRECISIONS
from mm_tracker_model.errors import EngineInputError
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import preset_names
from mm_tracker_model.profiling import op_calls_per_frame, profiler, top_ops

WARMUP_FRAMES = 5


def percentiles(values: list[float]) -> dict[str, float]:
    return {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)}


def x_size_for(rgb_size: tuple[int, int]) -> tuple[int, int]:
    """The X camera of the generated rig: 0.8 of the RGB resolution, as the toy rig's default."""
    return round(rgb_size[0] * 0.8), round(rgb_size[1] * 0.8)


def benchmark(
    net: torch.nn.Module,
    config: EngineConfig,
    frames: int,
    seed: int = 0,
    progress: bool = True,
    input_size: tuple[int, int] = (320, 240),
    profile_ops: int = 0,
) -> dict:
    """Tracks a generated sequence at `input_size`; FPS = measured frames / the time spent in `track`."""
    sequence = toy_frames(frames + WARMUP_FRAMES + 1, input_size, x_size_for(input_size), seed=seed)
    tracker = Tracker(net, config)
    first = next(sequence)
    tracker.initialize(first.rgb, first.x, first.box, first.x_to_rgb)
    totals, phases, usage = [], {}, Counter()
    tocu_before = (0, 0)
    recorder = profiler() if profile_ops else None
    bar = tqdm(total=frames + WARMUP_FRAMES, desc="frames", disable=not progress, leave=False)
    with ExitStack() as measuring:
        for index, frame in enumerate(sequence):
            bar.update()
            if index == WARMUP_FRAMES:
                tocu_before = (tracker.stats.tocu_attempts, tracker.stats.tocu_accepted)
                if recorder is not None:
                    measuring.enter_context(recorder)
            frame_start = time.perf_counter()
            result = tracker.track(frame.rgb, frame.x)
            if index < WARMUP_FRAMES:
                continue
            totals.append((time.perf_counter() - frame_start) * 1e3)
            for phase, ms in result.timings_ms.items():
                phases.setdefault(phase, []).append(ms)
            usage.update(f"stage{k}.{name}" for k, name in enumerate(result.experts))
    bar.close()
    elapsed = sum(totals) / 1e3
    macs = account(net).macs
    report = {
        "preset": net.config.name,
        "device": config.device,
        "input_size": list(input_size),
        "threads": torch.get_num_threads(),
        "precision": config.precision,
        "network": "eager" if not config.fused else ("fused, int8 ViT" if config.uses_int8 else "fused"),
        "frames": frames,
        "tocu_every": config.tocu_every,
        "tocu_alpha": config.tocu_alpha,
        "alignment_every": config.alignment_every,
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
    if recorder is not None:
        report["profile"] = {
            "op_calls_per_frame": op_calls_per_frame(recorder, frames),
            "top_ops": [op.to_dict() for op in top_ops(recorder, frames, profile_ops)],
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
    width, height = report["input_size"]
    lines = [
        f"{report['preset']} on {report['device']} ({report['precision']}, {report['network']}, "
        f"{report['threads']} threads), "
        f"{report['frames']} frames of {width}x{height}{_load_text(report)}, "
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
    if "profile" in report:
        profile = report["profile"]
        lines.append(f"  profile: {profile['op_calls_per_frame']:.0f} operator calls per frame (nested included)")
        lines.append(f"  {'operator':<36} {'calls/frame':>11} {'self ms/frame':>13} {'share':>6}")
        for op in profile["top_ops"]:
            lines.append(
                f"  {op['name'][:36]:<36} {op['calls_per_frame']:>11.1f} {op['self_ms_per_frame']:>13.2f} "
                f"{100 * op['share']:>5.1f}%"
            )
    return "\n".join(lines)


def _load_text(report: dict) -> str:
    load = report.get("competing_load", 0)
    return f" with {load} competing busy processes" if load else ""


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
    parser.add_argument("--input-size", default="320x240", help="RGB frames WIDTHxHEIGHT (X: 0.8 of it)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--load", type=int, default=0, help="busy processes competing for the CPU meanwhile")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also list the N costliest operators")
    parser.add_argument(
        "--eager", action="store_true", help="track with the network as loaded (EngineConfig.fused off), to compare"
    )
    parser.add_argument(
        "--int8",
        choices=INT8_CHOICES,
        default="auto",
        help="int8 ViT linear layers (EngineConfig.int8; auto: on the CPU in fp32; never: float, to compare)",
    )
    parser.add_argument(
        "--alignment-every", type=int, default=1, help="estimate the misalignment on every N-th frame (EngineConfig)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            raise EngineInputError(f"device {args.device!r} requested but CUDA is not available here")
        if args.frames < 1:
            raise EngineInputError(f"--frames must be >= 1, got {args.frames}")
        if args.load < 0 or (args.threads is not None and args.threads < 1):
            raise EngineInputError("--load must be >= 0 and --threads >= 1")
        try:
            input_size = parse_size(args.input_size, minimum=64)  # the generated target is 48x36 px
        except ValueError as exc:
            raise EngineInputError(f"--input-size: {exc}") from None
        torch.manual_seed(0)
        net = load_net(args.checkpoint, args.preset) if args.checkpoint else build_net(args.preset)
        config = EngineConfig(
            device=args.device,
            precision=args.precision,
            tocu_every=args.tocu_every,
            tocu_alpha=args.tocu_alpha,
            fused=not args.eager,
            int8=args.int8,
            alignment_every=args.alignment_every,
        )
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(args.threads or threads)
            with CompetingLoad(args.load):
                report = benchmark(
                    net, config, args.frames, progress=not args.json, input_size=input_size, profile_ops=args.profile
                )
        finally:
            torch.set_num_threads(threads)  # the caller's (a test run, a script) is left as it was
        report["competing_load"] = args.load
        print(json.dumps(report, indent=2) if args.json else format_report(report))
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
