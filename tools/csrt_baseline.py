"""OpenCV CSRT on held-out real RGB sequences, for the model card's comparison (not part of the product).

CSRT lives in opencv-contrib, which conflicts with the project's opencv-python-headless, so run it in a
throw-away environment:
    python3 -m venv /tmp/csrt && /tmp/csrt/bin/pip install opencv-contrib-python-headless numpy tqdm
    /tmp/csrt/bin/python tools/csrt_baseline.py --root ../shared/data/real_rgb --out runs/csrt
then score with `.venv/bin/python tools/compare_real.py --csrt runs/csrt`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "model" / "src"))
from mm_tracker_model.data.readers import read_sequence

HELD_OUT = ("OTB_David", "OTB_Man", "DTB70_Gull2", "UAV123_boat1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in HELD_OUT:
        sequence = read_sequence(args.root / name, "otb")
        tracker = cv2.TrackerCSRT.create()
        first = cv2.cvtColor(sequence.load_rgb(0), cv2.COLOR_RGB2BGR)
        tracker.init(first, tuple(int(v) for v in np.round(sequence.boxes_rgb[0])))
        boxes = [sequence.boxes_rgb[0]]
        for index in range(1, len(sequence)):
            ok, box = tracker.update(cv2.cvtColor(sequence.load_rgb(index), cv2.COLOR_RGB2BGR))
            boxes.append(np.array(box, dtype=float) if ok else np.full(4, np.nan))
        np.savetxt(args.out / f"{name}.txt", np.array(boxes), delimiter=",", fmt="%.3f")
        print(f"{name}: {len(boxes)} frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
