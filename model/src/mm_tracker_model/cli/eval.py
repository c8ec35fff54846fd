"""mm-tracker-eval: track dataset sequences or rosbags and score them (offline in-process, or live through the node).

Offline (default) runs the engine here through the node's sync policy: deterministic and as fast as the
machine goes. --live starts the real node, replays the bag over DDS at recorded speed with /clock, records
the node's outputs into a result bag and scores those. RUN_DIR receives metrics.json, results/<seq>.txt
(x,y,w,h), summary.md, plots/ and videos/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from mm_tracker_model.bags.topics import BagTopics
from mm_tracker_model.bags.write import BagOptions
from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.readers import READERS, read_sequence
from mm_tracker_model.data.sources import STILL_PAIRS_FORMAT, dataset_folders
from mm_tracker_model.engine import EngineConfig
from mm_tracker_model.engine.overrides import NOT_NODE_PARAMETERS, node_parameter_args, parse_overrides
from mm_tracker_model.engine.stream import StreamConfig
from mm_tracker_model.engine.tracker import INT8_CHOICES
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.alignment_compare import compare_alignment, comparison_table, plot_errors, pooled
from mm_tracker_model.eval.alignment_pairs import held_out_pair_errors
from mm_tracker_model.eval.driver import EvalJob, evaluate_all, new_run, shard, write_outputs
from mm_tracker_model.eval.ecc import MOTIONS, EccConfig
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.live import LiveConfig
from mm_tracker_model.eval.offline import OfflineConfig
from mm_tracker_model.eval.report import summary_table
from mm_tracker_model.eval.settings import SETTINGS, evaluate
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.modalities import MODALITIES
from mm_tracker_model.weights import default_checkpoint


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-tracker-eval", description=__doc__)
    source = parser.add_argument_group("input (one of)")
    source.add_argument("--sequence", type=Path, nargs="+", help="sequence folder(s) of --format")
    source.add_argument("--dataset", type=Path, help="a folder of sequence folders of --format")
    source.add_argument("--bag", type=Path, nargs="+", help="rosbag2 folder(s) with images and ground truth")
    source.add_argument(
        "--synthetic",
        type=Path,
        help="mm-tracker-synth output: the model card's comparison of --settings (offline, printed as a table)",
    )
    parser.add_argument(
        "--settings", default=",".join(SETTINGS), help=f"with --synthetic, comma-separated of: {', '.join(SETTINGS)}"
    )
    compare = parser.add_argument_group("alignment comparison (with --sequence/--dataset/--bag)")
    compare.add_argument(
        "--compare-alignment",
        action="store_true",
        help="corner error over time and overall for online alignment, calibration kept, identity and OpenCV ECC",
    )
    compare.add_argument("--ecc-motion", choices=sorted(MOTIONS), default="affine", help="ECC's motion model")
    compare.add_argument("--ecc-every", type=int, default=10, help="re-estimate ECC every N frames")
    compare.add_argument(
        "--stage-pairs",
        type=Path,
        help="also: crop-level corner error after each stage on the held-out pairs of this RoadScene-layout folder",
    )
    compare.add_argument("--pairs-samples", type=int, default=96, help="pairs sampled for --stage-pairs")
    parser.add_argument(
        "--format",
        choices=sorted([*READERS, STILL_PAIRS_FORMAT]),
        help="dataset layout of --sequence/--dataset; still_pairs: --dataset ROOT of registered RGB-thermal stills, "
        "its held-out pairs (every 5th by name) under synthetic camera motion",
    )
    parser.add_argument("--pseudo-aux", choices=MODALITIES, help="synthesise X for RGB-only formats")
    parser.add_argument("--misalign", help="warp X by a known drifting homography: 'default' or key=value,...")
    parser.add_argument("--modality", choices=MODALITIES, help="X modality of bags without metadata")
    parser.add_argument("--rate", type=float, default=30.0, help="RGB rate for sequences (Hz)")
    parser.add_argument("--aux-every", type=int, default=1, help="X on every n-th RGB frame for sequences")
    defaults = BagTopics()
    for name in ("rgb", "aux", "gt_target", "gt_alignment"):
        parser.add_argument(f"--{name.replace('_', '-')}-topic", default=getattr(defaults, name))
    parser.add_argument("--checkpoint", type=Path, help="default: the packaged default model")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    parser.add_argument("--no-online-alignment", action="store_true", help="keep the calibration homography")
    parser.add_argument(
        "--int8", choices=INT8_CHOICES, default="auto", help="int8 ViT linear layers (EngineConfig.int8)"
    )
    parser.add_argument(
        "--engine",
        type=parse_overrides,
        default={},
        metavar="NAME=VALUE,...",
        help="EngineConfig fields, as the node's parameters of the same names (e.g. alignment_every=3)",
    )
    parser.add_argument(
        "--rgb-only",
        action="store_true",
        help="ignore the X stream: start and track on RGB alone (a converted OSTrack)",
    )
    parser.add_argument("--live", action="store_true", help="through the real node over DDS (needs tools/env.sh)")
    parser.add_argument("--live-rate", type=float, default=1.0, help="with --live: replay speed (1 = recorded)")
    parser.add_argument("--out", type=Path, help="RUN_DIR (default: runs/eval-<time>)")
    parser.add_argument("--json", type=Path, help="also write the metrics JSON here ('-': standard output)")
    parser.add_argument("--workers", type=int, default=1, help="sequences evaluated in parallel processes")
    parser.add_argument(
        "--prefetch", type=int, default=8, help="messages decoded ahead in a background thread (0: inline)"
    )
    parser.add_argument("--shard", help="i/n: evaluate every n-th input from i (split across machines)")
    parser.add_argument("--no-video", action="store_true", help="skip the annotated MP4s")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def collect_inputs(args: argparse.Namespace) -> list[EvalInput]:
    given = [x for x in (args.sequence, args.dataset, args.bag) if x]
    if len(given) != 1:
        raise MMTrackerError("give exactly one of --sequence, --dataset, --bag or --synthetic")
    topics = BagTopics(
        rgb=args.rgb_topic, aux=args.aux_topic, gt_target=args.gt_target_topic, gt_alignment=args.gt_alignment_topic
    )
    bag_options = BagOptions(rate_hz=args.rate, aux_every=args.aux_every, topics=topics)
    if args.bag:
        return [EvalInput(path, topics=topics, modality=args.modality) for path in args.bag]
    if args.format is None:
        raise MMTrackerError("--sequence/--dataset need --format (one of: " + ", ".join(sorted(READERS)) + ")")
    folders = dataset_folders(args.dataset, args.format) if args.dataset else args.sequence
    return [EvalInput(f, args.format, args.pseudo_aux, args.misalign, bag_options, topics) for f in folders]


def compare_settings(args: argparse.Namespace) -> int:
    """One checkpoint on synthetic sequences in each setting (full, calibration kept, identity): one row each."""
    folders = (
        sorted(p for p in args.synthetic.iterdir() if (p / "meta.json").is_file()) if args.synthetic.is_dir() else []
    )
    if not folders:
        raise MMTrackerError(f"{str(args.synthetic)!r} holds no synthetic sequences (seq_*/meta.json)")
    sequences = [read_sequence(f, "synthetic") for f in folders]
    checkpoint = args.checkpoint or default_checkpoint(sequences[0].modality)
    if checkpoint is None:
        raise MMTrackerError("no --checkpoint given and no default model is packaged (model/weights/)")
    torch.manual_seed(0)
    net = load_net(checkpoint)
    settings = args.settings.split(",")
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise MMTrackerError(f"--settings {unknown} unknown; known: {', '.join(SETTINGS)}")
    engine = engine_config(args)
    reports = [evaluate(net, sequences, s, progress=not args.quiet, engine=engine).to_dict() for s in settings]
    to_stdout = str(args.json) == "-"
    if to_stdout:
        print(json.dumps(reports, indent=2))
    elif args.json is not None:
        args.json.write_text(json.dumps(reports, indent=2) + "\n")
    if not to_stdout:
        print(f"{'setting':<22}{'PR':>7}{'NPR':>7}{'SR':>7}{'corner err px':>15}")
        for r in reports:
            print(f"{r['setting']:<22}{r['pr']:7.3f}{r['npr']:7.3f}{r['sr']:7.3f}{r['align_corner_err_px']:15.2f}")
    return 0


def engine_config(args: argparse.Namespace, **fields) -> EngineConfig:
    """The engine the flags ask for: --device, --int8, the caller's fields, then --engine (which wins)."""
    return EngineConfig(**({"device": args.device, "int8": args.int8} | fields | args.engine))


def live_node_params(args: argparse.Namespace) -> tuple[str, ...]:
    """--int8, --no-online-alignment and --engine as the node's parameters (every engine field but a few is one)."""
    overrides = {"int8": args.int8, "online_alignment": not args.no_online_alignment} | args.engine
    if not args.live:
        return ()
    not_node = sorted(set(overrides) & NOT_NODE_PARAMETERS)
    if not_node:
        raise MMTrackerError(f"--engine {', '.join(not_node)}: not a node parameter, so not with --live")
    return node_parameter_args(overrides)


def run_alignment_comparison(args: argparse.Namespace, items: list[EvalInput]) -> int:
    """--compare-alignment: every input in every alignment setting; table, plots and JSON in RUN_DIR."""
    run_dir = args.out or Path("runs") / time.strftime("align-%Y%m%d-%H%M%S")
    modality = items[0].meta()["modality"]
    checkpoint = args.checkpoint or default_checkpoint(modality)
    if checkpoint is None:
        raise MMTrackerError("no --checkpoint given and no default model is packaged (model/weights/)")
    torch.manual_seed(0)
    net = load_net(checkpoint).eval()
    try:
        ecc = EccConfig(motion=args.ecc_motion, every=args.ecc_every)
    except ValueError as exc:
        raise MMTrackerError(str(exc)) from None
    base = OfflineConfig(engine=engine_config(args))
    results = {}
    for item in tqdm(items, desc="inputs", disable=args.quiet):
        traces = compare_alignment(net, item, base, ecc)
        name = new_run(item).name
        results[name] = traces
        plot_errors(run_dir / "plots" / f"alignment_{name}.png", name, traces)
    report: dict = {
        "checkpoint": str(checkpoint),
        "overall": pooled(results),
        "sequences": {name: {s: t.summary() for s, t in traces.items()} for name, traces in results.items()},
    }
    if args.stage_pairs is not None:
        report["held_out_pairs"] = held_out_pair_errors(net, args.stage_pairs, args.pairs_samples)
    lines = ["# Alignment comparison", "", f"- checkpoint: `{checkpoint}`", f"- inputs: {len(items)}", ""]
    lines += [comparison_table(report["overall"]), ""]
    if "held_out_pairs" in report:
        lines += ["Held-out real pairs, crop-level corner error (search-crop px) after each stage:", ""]
        lines += [f"- {k}: {v:.2f}" for k, v in report["held_out_pairs"].items()]
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "alignment.md").write_text("\n".join(lines) + "\n")
    text = json.dumps(report, indent=2)
    (run_dir / "alignment.json").write_text(text + "\n")
    if args.json is not None and str(args.json) != "-":
        args.json.write_text(text + "\n")
    print(text if str(args.json) == "-" else "\n".join(lines))
    print(f"\nreport: {run_dir / 'alignment.md'}  plots: {run_dir / 'plots'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if args.synthetic is not None:
            return compare_settings(args)
        items = shard(collect_inputs(args), args.shard)
        if not items:
            raise MMTrackerError("nothing to evaluate (empty dataset or shard)")
        if args.compare_alignment:
            return run_alignment_comparison(args, items)
        run_dir = args.out or Path("runs") / time.strftime("eval-%Y%m%d-%H%M%S")
        engine = engine_config(args, online_alignment=not args.no_online_alignment)
        job = EvalJob(
            run_dir=run_dir,
            checkpoint=args.checkpoint,
            live=args.live,
            video=not args.no_video,
            offline=OfflineConfig(
                engine=engine, stream=StreamConfig(rgb_only=args.rgb_only), prefetch_messages=args.prefetch
            ),
            live_config=LiveConfig(
                rate=args.live_rate,
                device=args.device,
                checkpoint=args.checkpoint,
                rgb_only=args.rgb_only,
                extra_node_params=live_node_params(args),
            ),
        )
        results = evaluate_all(items, job, workers=args.workers, progress=not args.quiet)
        context = {
            "mode": "live (node over DDS, sim time)" if args.live else "offline (in-process engine)",
            "checkpoint": str(job.checkpoint or "packaged default"),
            "inputs": len(items),
            "engine settings": ",".join(f"{k}={v}" for k, v in args.engine.items()) or "defaults",
        }
        if not args.live:
            # A closed loop's scores move with float summation order, so the run says what it ran with.
            context |= {"torch threads": torch.get_num_threads(), "int8 ViT layers": engine.uses_int8}
        summary = write_outputs(job, results, context, args.json)
        print(summary_table(summary))
        print(f"\nreport: {run_dir / 'summary.md'}  metrics: {run_dir / 'metrics.json'}")
        print(f"plots: {run_dir / 'plots'}  videos: {run_dir / 'videos'}")
        for name, why in results.failed.items():
            print(f"error: {name} was not evaluated: {why}", file=sys.stderr)
        return 1 if results.failed else 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
