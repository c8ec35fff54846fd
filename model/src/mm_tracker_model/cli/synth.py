"""mm-tracker-synth: seeded synthetic RGB + X sequences with exact boxes and X -> RGB homographies.

The on-disk layout is documented in mm_tracker_model/data/synthetic.py; same seed, same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mm_tracker_model.cli.common import parse_size, run_cli
from mm_tracker_model.data.synthetic import SynthConfig, generate
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.modalities import MODALITIES


def _size(text: str) -> tuple[int, int]:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-synth", description=__doc__)
    parser.add_argument("--modality", choices=MODALITIES, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sequences", type=int, default=10)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rgb-size", type=_size, default=(320, 240))
    parser.add_argument("--x-size", type=_size, default=(256, 208))
    args = parser.parse_args(argv)

    def body() -> int:
        if args.sequences < 1 or args.frames < 2:
            raise MMTrackerError(f"need --sequences >= 1 and --frames >= 2, got {args.sequences} and {args.frames}")
        if args.out.exists() and any(args.out.iterdir()):
            raise MMTrackerError(f"--out {str(args.out)!r} exists and is not empty; choose a new folder")
        cfg = SynthConfig(args.modality, args.frames, args.rgb_size, args.x_size, args.seed)
        generate(args.out, cfg, args.sequences, progress=True)
        print(f"wrote {args.sequences} {args.modality} sequences of {args.frames} frames to {args.out}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
