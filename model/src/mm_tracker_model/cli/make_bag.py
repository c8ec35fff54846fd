"""mm-tracker-make-bag: a dataset or synthetic sequence -> rosbag2 with images, CameraInfo and ground truth.

Topics: /rgb/image and /aux/image (sensor_msgs/Image at the frame stamps), /rgb/camera_info and
/aux/camera_info, /ground_truth/target (mm_tracker_msgs/TrackedTarget: RGB box, X box) and, when the true
X -> RGB homography is known, /ground_truth/alignment (mm_tracker_msgs/Alignment). --misalign warps X by a
known drifting homography, so any aligned sequence becomes an unaligned test with exact alignment truth.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mm_tracker_model.bags.write import STORAGES, BagOptions, write_bag
from mm_tracker_model.cli.common import run_cli
from mm_tracker_model.data.readers import READERS
from mm_tracker_model.data.sources import open_sequence
from mm_tracker_model.modalities import MODALITIES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-make-bag", description=__doc__)
    parser.add_argument("--sequence", type=Path, required=True, help="one sequence folder")
    parser.add_argument("--format", required=True, choices=sorted(READERS))
    parser.add_argument("--out", type=Path, required=True, help="new rosbag2 folder")
    parser.add_argument("--storage", choices=sorted(STORAGES), default="mcap")
    parser.add_argument("--misalign", help="'default' or key=value,... of drift, jitter, scale, seed")
    parser.add_argument("--pseudo-aux", choices=MODALITIES, help="synthesise X for RGB-only formats")
    parser.add_argument("--rate", type=float, default=30.0, help="RGB frame rate (Hz)")
    parser.add_argument("--aux-every", type=int, default=1, help="X on every n-th RGB frame (3 -> 10 Hz at 30 Hz)")
    args = parser.parse_args(argv)

    def body() -> int:
        sequence = open_sequence(args.sequence, args.format, args.pseudo_aux, args.misalign)
        options = BagOptions(rate_hz=args.rate, aux_every=args.aux_every, storage=args.storage)
        out = write_bag(sequence, args.out, options, progress=True)
        print(f"wrote {out} ({len(sequence)} RGB frames, {sequence.modality} X every {args.aux_every})")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
