"""mm-tracker-demo: the product end to end on the embedded default model.

Generates the demo bag once (a synthetic, misaligned RGB + thermal sequence with ground truth: 30 Hz RGB,
10 Hz thermal, fixed seed, so every machine gets the same bytes), replays it through the real node over DDS
with /clock (live evaluation), and prints PR / NPR / SR, the alignment error, FPS and latency, and where the
report, plots and video are, then the alignment error with the calibration kept (offline, online alignment off)
beside it. `--offline` runs the engine in-process instead (no ROS needed).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.eval.driver import EvalJob, evaluate_all, write_outputs
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.live import LiveConfig
from mm_tracker_model.eval.offline import OfflineConfig

DEMO_CONFIG = SynthConfig(modality="thermal", frames=240, seed=2026)
DEMO_BAG_OPTIONS = BagOptions(rate_hz=30.0, aux_every=3)
TABLE = (("pr", "PR"), ("npr", "NPR"), ("sr", "SR"), ("align_corner_err_px", "align err px"), ("fps", "FPS"))


def demo_bag(root: Path) -> Path:
    """The deterministic demo bag under `root` (made on first use)."""
    bag = root / "demo_bag"
    if (bag / "metadata.yaml").is_file():
        return bag
    shutil.rmtree(bag, ignore_errors=True)
    sequence = read_synthetic(write_sequence(root / "sequence", DEMO_CONFIG, 0))
    return write_bag(sequence, bag, DEMO_BAG_OPTIONS, progress=True)


def calibration_kept_error(bag: Path, run_dir: Path, checkpoint: Path | None, device: str) -> float | None:
    """The same bag offline with online alignment off (the frame-0 calibration kept): the baseline to beat."""
    offline = OfflineConfig(engine=EngineConfig(device=device, online_alignment=False))
    job = EvalJob(run_dir=run_dir, checkpoint=checkpoint, video=False, offline=offline)
    results = evaluate_all([EvalInput(bag)], job, progress=False)
    return write_outputs(job, results, {"mode": "offline, calibration kept"})["overall"].get("align_corner_err_px")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-demo", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path("runs/demo"), help="where the bag and reports go")
    parser.add_argument("--checkpoint", type=Path, help="default: the packaged default model")
    parser.add_argument("--offline", action="store_true", help="in-process engine instead of the node")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    def body() -> int:
        started = time.monotonic()
        bag = demo_bag(args.root)
        run_dir = args.root / time.strftime("run-%Y%m%d-%H%M%S")
        job = EvalJob(
            run_dir=run_dir,
            checkpoint=args.checkpoint,
            live=not args.offline,
            live_config=LiveConfig(device=args.device, checkpoint=args.checkpoint),
        )
        print(f"{'offline' if args.offline else 'live'} evaluation of {bag} ...", flush=True)
        results = evaluate_all([EvalInput(bag)], job, progress=False)
        mode = "offline (in-process engine)" if args.offline else "live (mm_tracker_node over Fast DDS, sim time)"
        summary = write_outputs(job, results, {"mode": mode, "bag": str(bag)})
        overall = summary["overall"]
        print("\n" + "  ".join(f"{label} {overall[key]:.3f}" for key, label in TABLE if overall.get(key) is not None))
        p50, p95 = overall.get("latency_ms_p50"), overall.get("latency_ms_p95")
        if p50 is not None:
            print(f"latency p50 {p50:.0f} ms  p95 {p95:.0f} ms   drops {overall['drops']}")
        kept = calibration_kept_error(bag, run_dir / "calibration_kept", args.checkpoint, args.device)
        if overall.get("align_corner_err_px") is not None and kept is not None:
            print(f"alignment error: online {overall['align_corner_err_px']:.2f} px, calibration kept {kept:.2f} px")
        print(f"\nreport {run_dir / 'summary.md'}\nplots  {run_dir / 'plots'}\nvideo  {run_dir / 'videos'}")
        print(f"({time.monotonic() - started:.0f} s)")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
