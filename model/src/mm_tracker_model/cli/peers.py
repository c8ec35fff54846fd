"""mm-tracker-peers: run OpenCV's CSRT, KCF, MIL and NanoTrack on the same sequences and score them like us.

Writes OUT/<tracker>/<seq>.txt and OUT/gt/<seq>.txt (our pixel convention), then prints each tracker's
LasHeR-convention PR / NPR / SR from mm-tracker-metrics' code and its update FPS. Score our own results on
the same ground truth with `mm-tracker-metrics --toolkit lasher --gt OUT/gt --results RUN_DIR/results`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm import tqdm

from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.readers import READERS
from mm_tracker_model.data.sources import STILL_PAIRS_FORMAT, dataset_folders, read_input_sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.peers import PEERS, run_peer, write_ground_truth, write_results
from mm_tracker_model.eval.toolkits import evaluate_folders


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mm-tracker-peers", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sequence", type=Path, nargs="+", help="sequence folder(s) of --format")
    source.add_argument("--dataset", type=Path, help="a folder of sequence folders of --format")
    parser.add_argument(
        "--format",
        required=True,
        choices=sorted([*READERS, STILL_PAIRS_FORMAT]),
        help="dataset layout; still_pairs: --dataset ROOT of registered RGB-thermal stills, its held-out pairs "
        "under the synthetic camera motion mm-tracker-eval uses",
    )
    parser.add_argument("--trackers", default=",".join(PEERS), help=f"comma-separated, of: {', '.join(PEERS)}")
    parser.add_argument("--nano-models", type=Path, help="folder with NanoTrack's ONNX files (for nano)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)

    def body() -> int:
        trackers = args.trackers.split(",")
        unknown = sorted(set(trackers) - set(PEERS))
        if unknown:
            raise MMTrackerError(f"--trackers {unknown} unknown; known: {', '.join(PEERS)}")
        folders = args.sequence or dataset_folders(args.dataset, args.format)
        sequences = [read_input_sequence(folder, args.format) for folder in folders]
        for sequence in sequences:
            write_ground_truth(args.out, sequence)
        table = {}
        for name in trackers:
            frames, spent = 0, 0.0
            for sequence in tqdm(sequences, desc=name, disable=args.quiet):
                run = run_peer(name, sequence, args.nano_models)
                write_results(args.out, run)
                frames, spent = frames + len(run.boxes) - 1, spent + run.update_s
            scores = evaluate_folders("lasher", args.out / "gt", args.out / name)
            table[name] = {**scores.overall, "fps": frames / spent if spent > 0 else 0.0}
        print(f"{'tracker':<8}{'PR':>7}{'NPR':>7}{'SR':>7}{'FPS':>8}")
        for name, row in table.items():
            print(f"{name:<8}{row['pr']:7.3f}{row['npr']:7.3f}{row['sr']:7.3f}{row['fps']:8.1f}")
        if args.json is not None:
            args.json.write_text(json.dumps(table, indent=2) + "\n")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
