"""Tracking metrics under each benchmark toolkit's exact conventions (DESIGN §9), and scoring of result folders.

A Toolkit says how one sequence becomes per-frame values (centre error, normalised centre error, IoU, with the
toolkit's forced hits and misses), which curves are reported and how sequences are pooled:

- lasher: the LasHeR toolkit (`eval.metrics`); mean over sequences, all-zero curves left out.
- visevent: LasHeR plus the LaSOT toolkit's absent frames: misses for PR, NPR and SR but still counted in the
  denominator. Absent = the `absent` flags when given, else ground-truth rows without a positive w and h.
- pytracking: frame 0 := ground truth, invalid predictions repaired; ground truth without a positive w and h is a
  miss for PR and SR and a hit for NPR; frames the prediction lacks are misses; plain mean over sequences.
- rgbt234 (MPR/MSR): per frame the smaller centre error and the larger IoU over the visible and infrared ground
  truth; no frame-0 replacement, no prediction repair; common length of all files; x <= 0 rows are real boxes.
- gtot: like rgbt234 on x1 y1 x2 y2 ground truth (w = x2 - x1); precision at 5 px with strict <; success AUC
  by the trapezoid rule over 51 thresholds (DESIGN; the Python RGBT_toolkit uses 21); frames pooled.
- vtuav: predictions subsampled every 10th frame to meet the sparse ground truth, then rgbt234.

RGBT234 check (JMMAC, 234 sequences): MPR 0.7902, MSR 0.5734 against the published 0.790 / 0.573. The
third decimal is insensitive to what was suspected: `visible-o.txt` differs from `visible.txt` only in
afterrain's frame 0 (overall MSR moves by 1e-5); the "18 files one line longer" are trailing blank lines, so
visible and infrared agree after reading, while JMMAC's results are one row short in some sequences (hence the
common length); `<` instead of `<=` gives MPR 0.7901; frame-0 replacement, prediction repair or rounding the
results (as the Python RGBT_toolkit does) change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from mm_tracker_model.data.annotations import read_boxes
from mm_tracker_model.errors import MetricsInputError, MissingResultError
from mm_tracker_model.eval.metrics import (
    HIT,
    MISS,
    NPR_THRESHOLDS,
    PR_THRESHOLDS,
    SR_THRESHOLDS,
    FrameValues,
    clean_predictions,
    curve,
    frame_errors,
    lasher_frames,
    mean_nonzero,
)
from mm_tracker_model.geometry.boxes import valid_boxes

VTUAV_STEP = 10
LIST_FILES = ("testing_list.txt", "training_list.txt", "SequencesName.txt", "list.txt")


def _visible(boxes: np.ndarray) -> np.ndarray:
    return valid_boxes(boxes)


def lasher(predictions: np.ndarray, ground_truths: list[np.ndarray], absent: np.ndarray | None = None) -> FrameValues:
    return lasher_frames(predictions, ground_truths[0])


def visevent(predictions: np.ndarray, ground_truths: list[np.ndarray], absent: np.ndarray | None = None) -> FrameValues:
    values = lasher_frames(predictions, ground_truths[0])
    n = len(values.iou)
    if absent is None:
        gone = ~_visible(np.asarray(ground_truths[0], dtype=np.float64)[:n])
    else:
        gone = np.zeros(n, dtype=bool)
        gone[: min(n, len(absent))] = np.asarray(absent, dtype=bool)[:n]
    values.centre[gone], values.normalised[gone], values.iou[gone] = MISS, MISS, -1.0
    return values


def pytracking(
    predictions: np.ndarray, ground_truths: list[np.ndarray], absent: np.ndarray | None = None
) -> FrameValues:
    gt = np.asarray(ground_truths[0], dtype=np.float64)
    n = min(len(predictions), len(gt))
    values = frame_errors(clean_predictions(predictions, gt[:n]), gt[:n])
    tail = len(gt) - n  # pytracking pads short results with zero boxes: misses, unless the GT is invalid
    values = FrameValues(
        np.append(values.centre, np.full(tail, MISS)),
        np.append(values.normalised, np.full(tail, MISS)),
        np.append(values.iou, np.full(tail, -1.0)),
    )
    invalid = ~_visible(gt)
    values.centre[invalid], values.normalised[invalid], values.iou[invalid] = MISS, HIT, -1.0
    return values


def rgbt(predictions: np.ndarray, ground_truths: list[np.ndarray], absent: np.ndarray | None = None) -> FrameValues:
    n = min(len(predictions), *(len(g) for g in ground_truths))
    pred = np.asarray(predictions, dtype=np.float64)[:n]
    per_gt = [frame_errors(pred, np.asarray(g, dtype=np.float64)[:n]) for g in ground_truths]
    # fmin/fmax: a NaN ground-truth row in one modality leaves the other one deciding
    return FrameValues(
        centre=np.fmin.reduce([v.centre for v in per_gt]),
        normalised=np.fmin.reduce([v.normalised for v in per_gt]),
        iou=np.fmax.reduce([v.iou for v in per_gt]),
    )


def vtuav(predictions: np.ndarray, ground_truths: list[np.ndarray], absent: np.ndarray | None = None) -> FrameValues:
    return rgbt(np.asarray(predictions)[::VTUAV_STEP], ground_truths)


def _at(value: float, values: np.ndarray, thresholds: np.ndarray) -> float:
    return float(values[int(np.argmin(np.abs(thresholds - value)))])


def _mean(values: np.ndarray, thresholds: np.ndarray) -> float:
    return float(values.mean())


def _trapezoid(values: np.ndarray, thresholds: np.ndarray) -> float:
    area = np.sum((values[1:] + values[:-1]) / 2 * np.diff(thresholds))
    return float(area / (thresholds[-1] - thresholds[0]))


@dataclass(frozen=True)
class Curve:
    value: str  # FrameValues field: "centre", "normalised" or "iou"
    thresholds: np.ndarray
    passes: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (frame value, threshold) -> hit
    report: Callable[[np.ndarray, np.ndarray], float]  # (curve, thresholds) -> the published number


PR = Curve("centre", PR_THRESHOLDS, np.less_equal, partial(_at, 20.0))
NPR = Curve("normalised", NPR_THRESHOLDS, np.less_equal, partial(_at, 0.2))
SR = Curve("iou", SR_THRESHOLDS, np.greater, _mean)
GTOT_PR = Curve("centre", np.linspace(0, 25, 51), np.less, partial(_at, 5.0))
GTOT_SR = Curve("iou", np.linspace(0, 1, 51), np.greater, _trapezoid)

SINGLE_GT = (("groundtruth_rect.txt", "groundtruth.txt", "visible.txt"),)
RGBT_GT = (("visible.txt",), ("infrared.txt",))


@dataclass(frozen=True)
class Toolkit:
    name: str
    frames: Callable[..., FrameValues]  # (predictions, ground truths, absent) -> per-frame values
    curves: Mapping[str, Curve]  # reported key -> curve
    gt_files: tuple[tuple[str, ...], ...]  # per modality, candidate file names inside <seq>/
    corners: bool = False  # ground truth is x1 y1 x2 y2
    pooled: bool = False  # frames pooled over the dataset instead of a mean over sequences
    drop_empty: bool = False  # leave all-zero curves out of the mean (OTB/LaSOT plotting scripts)


TOOLKITS: dict[str, Toolkit] = {
    t.name: t
    for t in (
        Toolkit("lasher", lasher, {"pr": PR, "npr": NPR, "sr": SR}, SINGLE_GT, drop_empty=True),
        Toolkit("visevent", visevent, {"pr": PR, "npr": NPR, "sr": SR}, SINGLE_GT, drop_empty=True),
        Toolkit("pytracking", pytracking, {"pr": PR, "npr": NPR, "sr": SR}, SINGLE_GT),
        Toolkit("rgbt234", rgbt, {"mpr": PR, "msr": SR}, RGBT_GT),
        Toolkit(
            "gtot",
            rgbt,
            {"pr": GTOT_PR, "sr": GTOT_SR},
            (("groundTruth_v.txt",), ("groundTruth_i.txt",)),
            corners=True,
            pooled=True,
        ),
        Toolkit("vtuav", vtuav, {"mpr": PR, "msr": SR}, (("rgb.txt", "visible.txt"), ("ir.txt", "infrared.txt"))),
    )
}


def get_toolkit(toolkit: str | Toolkit) -> Toolkit:
    if isinstance(toolkit, Toolkit):
        return toolkit
    if toolkit not in TOOLKITS:
        raise MetricsInputError(f"toolkit {toolkit!r} unknown; known: {', '.join(TOOLKITS)}")
    return TOOLKITS[toolkit]


@dataclass
class SequenceResult:
    frames: int  # frames scored: the denominator of every curve
    curves: dict[str, np.ndarray]
    scores: dict[str, float]  # fractions in [0, 1]


@dataclass
class ToolkitResult:
    toolkit: str
    overall: dict[str, float]  # fractions in [0, 1]
    curves: dict[str, np.ndarray]
    sequences: dict[str, SequenceResult]
    skipped: tuple[str, ...] = field(default=())  # ground-truth sequences without a result file

    def to_dict(self) -> dict:
        return {
            "toolkit": self.toolkit,
            "overall": self.overall,
            "sequences": {name: s.scores for name, s in self.sequences.items()},
        }


def _report(kit: Toolkit, curves: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {key: c.report(curves[key], c.thresholds) for key, c in kit.curves.items()}


def score_sequence(
    toolkit: str | Toolkit,
    predictions: np.ndarray,
    ground_truths: np.ndarray | list[np.ndarray],
    absent: np.ndarray | None = None,
) -> SequenceResult:
    """Score one sequence; `ground_truths` is one (N, 4) array or one per modality."""
    kit = get_toolkit(toolkit)
    gts = [ground_truths] if isinstance(ground_truths, np.ndarray) and ground_truths.ndim == 2 else ground_truths
    gts = [np.asarray(g, dtype=np.float64).reshape(-1, 4) for g in gts]
    predictions = np.asarray(predictions, dtype=np.float64).reshape(-1, 4)
    if len(predictions) == 0 or any(len(g) == 0 for g in gts):
        raise MetricsInputError("no frame to score: the predictions or the ground truth are empty")
    values = kit.frames(predictions, gts, absent)
    curves = {key: curve(getattr(values, c.value), c.thresholds, c.passes) for key, c in kit.curves.items()}
    return SequenceResult(len(values.iou), curves, _report(kit, curves))


def pool(toolkit: str | Toolkit, sequences: Mapping[str, SequenceResult]) -> ToolkitResult:
    kit = get_toolkit(toolkit)
    if not sequences:
        raise MetricsInputError("no sequence to pool")
    curves = {}
    for key in kit.curves:
        per_sequence = [s.curves[key] for s in sequences.values()]
        if kit.pooled:
            weights = np.array([s.frames for s in sequences.values()], dtype=np.float64)
            curves[key] = np.average(per_sequence, axis=0, weights=weights)
        else:
            curves[key] = mean_nonzero(per_sequence) if kit.drop_empty else np.mean(per_sequence, axis=0)
    return ToolkitResult(kit.name, _report(kit, curves), curves, dict(sequences))


def _match(files: Iterable[str], name: str, known: Iterable[str]) -> str | None:
    files = set(files)
    if f"{name}.txt" in files:
        return f"{name}.txt"
    # a longer sequence name ending in "_<name>" owns files that end in "_<longer>.txt"
    longer = [o for o in known if o.endswith(f"_{name}")]
    candidates = [
        f
        for f in files
        if f.endswith(f"_{name}.txt") and not any(f == f"{o}.txt" or f.endswith(f"_{o}.txt") for o in longer)
    ]
    return min(candidates, key=lambda f: (len(f), f), default=None)


def _result_names(folder: Path) -> list[str]:
    if not Path(folder).is_dir():
        raise MetricsInputError(f"results folder {str(folder)!r} does not exist or is not a folder")
    return [p.name for p in Path(folder).iterdir() if p.suffix == ".txt" and p.is_file()]


def match_result_files(folder: Path, names: Iterable[str]) -> dict[str, Path]:
    """Result file per sequence name that has one: `<seq>.txt`, else the shortest `*_<seq>.txt`."""
    files, names = _result_names(folder), list(names)
    found = {name: _match(files, name, names) for name in names}
    return {name: Path(folder) / f for name, f in found.items() if f is not None}


def find_result_file(folder: Path, name: str, known: Iterable[str] = ()) -> Path:
    """`<name>.txt` or the shortest `*_<name>.txt` in `folder`; `known`: other sequence names that may own files."""
    match = _match(_result_names(folder), name, known)
    if match is None:
        raise MissingResultError(
            f"no result file for sequence {name!r} in {folder} (expected {name}.txt or *_{name}.txt)"
        )
    return Path(folder) / match


def ground_truth_files(folder: Path, toolkit: str | Toolkit) -> dict[str, list[Path]]:
    """Sequence name -> one ground-truth file per modality: `<seq>/<name>` per the toolkit, or flat `<seq>.txt`."""
    kit, folder = get_toolkit(toolkit), Path(folder)
    if not folder.is_dir():
        raise MetricsInputError(f"ground-truth folder {str(folder)!r} does not exist or is not a folder")
    entries: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            files = [next((path / n for n in names if (path / n).is_file()), None) for names in kit.gt_files]
            if any(files):
                entries[path.name] = [f for f in files if f is not None]
        elif path.suffix == ".txt" and path.name not in LIST_FILES:
            entries.setdefault(path.stem, [path])
    if not entries:
        wanted = " or ".join("/".join(names) for names in kit.gt_files)
        raise MetricsInputError(f"{folder} holds no ground truth for {kit.name} (<seq>.txt, or <seq>/ with {wanted})")
    return entries


def read_sequence_list(path: Path) -> list[str]:
    if not Path(path).is_file():
        raise MetricsInputError(f"sequence list {str(path)!r} does not exist")
    names = [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]
    if not names:
        raise MetricsInputError(f"sequence list {path} is empty")
    return names


def evaluate_folders(toolkit: str | Toolkit, gt: Path, results: Path, sequences: Path | None = None) -> ToolkitResult:
    """Score a results folder against a ground-truth folder; without a list, every GT sequence with a result."""
    kit = get_toolkit(toolkit)
    entries = ground_truth_files(gt, kit)
    if sequences is not None:
        names = read_sequence_list(sequences)
        unknown = [n for n in names if n not in entries]
        if unknown:
            raise MetricsInputError(
                f"{len(unknown)} sequence(s) of {sequences} have no ground truth in {gt}, e.g. {unknown[0]!r}"
            )
    else:
        names = list(entries)
    found = match_result_files(results, names)
    skipped = tuple(n for n in names if n not in found)
    if sequences is not None and skipped:
        raise MissingResultError(
            f"no result file for sequence {skipped[0]!r} in {results} (expected {skipped[0]}.txt or "
            f"*_{skipped[0]}.txt; {len(skipped)} of {len(names)} listed sequences lack one)"
        )
    if not found:
        raise MissingResultError(f"none of the {len(names)} sequences in {gt} has a result file in {results}")
    scored = {}
    for name in (n for n in names if n in found):
        truths = [read_boxes(p, corners=kit.corners) for p in entries[name]]
        try:
            scored[name] = score_sequence(kit, read_boxes(found[name]), truths)
        except MetricsInputError as exc:
            raise MetricsInputError(f"sequence {name!r} ({found[name]}): {exc}") from exc
    result = pool(kit, scored)
    result.skipped = skipped
    return result
