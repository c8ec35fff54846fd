"""mm-tracker-calibrate: the initial X -> RGB homography from checkerboard pairs or point pairs.

Prints the homography and its reprojection error; with --out writes a calibration YAML (camera fields from
--template, e.g. calibration/demo_rig.yaml, or the image sizes).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import cv2
import numpy as np

from mm_tracker_model.calibration import (
    MODALITIES,
    CalibrationError,
    CameraCalibration,
    RigCalibration,
    load_calibration,
    save_calibration,
)
from mm_tracker_model.calibration_fit import fit_from_boards, fit_homography
from mm_tracker_model.cli.common import run_cli


def _read(path: str) -> np.ndarray:
    image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise CalibrationError(f"cannot read image {path!r}")
    return image


def _board(text: str) -> tuple[int, int]:
    try:
        cols, rows = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"board {text!r}: expected COLSxROWS inner corners, e.g. 9x6") from exc
    return cols, rows


def _points(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.loadtxt(path, delimiter=",", ndmin=2, comments="#")
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"point file {str(path)!r}: expected lines 'x_aux,y_aux,x_rgb,y_rgb' ({exc})") from exc
    if table.shape[1] != 4:
        raise CalibrationError(f"point file {str(path)!r}: expected 4 columns, got {table.shape[1]}")
    return table[:, :2], table[:, 2:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mm-tracker-calibrate", description=__doc__)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pairs", nargs="+", metavar="RGB:AUX", help="checkerboard image pairs")
    source.add_argument("--points", type=Path, help="CSV of x_aux,y_aux,x_rgb,y_rgb (pixel centres at i + 0.5)")
    parser.add_argument("--board", type=_board, default=(9, 6), help="inner corners COLSxROWS (default 9x6)")
    parser.add_argument("--invert-aux", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--modality", choices=MODALITIES, default="thermal")
    parser.add_argument("--template", type=Path, help="calibration YAML to take the camera fields from")
    parser.add_argument("--out", type=Path, help="write a calibration YAML here")
    args = parser.parse_args(argv)

    def body() -> int:
        sizes = None
        if args.pairs:
            pairs = []
            for item in args.pairs:
                rgb_path, sep, aux_path = item.partition(":")
                if not sep:
                    raise CalibrationError(f"pair {item!r}: expected RGB_IMAGE:AUX_IMAGE")
                pairs.append((_read(rgb_path), _read(aux_path)))
            sizes = (pairs[0][0].shape[1::-1], pairs[0][1].shape[1::-1])
            fit = fit_from_boards(pairs, args.board, args.invert_aux)
        else:
            fit = fit_homography(*_points(args.points))
        print(f"homography_aux_to_rgb (X pixels -> RGB pixels), {fit.points} points:")
        print(np.array2string(fit.homography, precision=6, suppress_small=True))
        print(f"mean reprojection error {fit.reprojection_error_px:.3f} px")
        if args.out:
            if args.template:
                rig = dataclasses.replace(load_calibration(args.template), homography_aux_to_rgb=fit.homography)
            elif sizes:
                (rgb_w, rgb_h), (aux_w, aux_h) = sizes
                rig = RigCalibration(
                    args.out.stem,
                    args.modality,
                    CameraCalibration("rgb_camera", rgb_w, rgb_h),
                    CameraCalibration("aux_camera", aux_w, aux_h),
                    fit.homography,
                )
            else:
                raise CalibrationError("--out with --points needs --template for the camera fields")
            print(f"wrote {save_calibration(args.out, rig)}")
        return 0

    return run_cli(body)


if __name__ == "__main__":
    raise SystemExit(main())
