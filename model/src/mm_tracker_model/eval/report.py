"""Evaluation outputs in RUN_DIR: metrics JSON, toolkit result files, a Markdown summary, plots and videos."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cv2
import matplotlib
import numpy as np

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.metrics import PR_THRESHOLDS, SR_THRESHOLDS
from mm_tracker_model.eval.runs import SequenceRun
from mm_tracker_model.eval.toolkits import pool
from mm_tracker_model.geometry.crops import warp_image
from mm_tracker_model.streams.image_msgs import aux_from_message, rgb_from_message

matplotlib.use("Agg")
from matplotlib import pyplot as plt


def _percentile(values: np.ndarray, q: float) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def _timing(runs: list[SequenceRun]) -> dict[str, float | None]:
    outputs = sum(len(r.outputs) for r in runs)
    wall = sum(r.wall_s for r in runs)
    live = [r.node_latency_ms for r in runs if r.node_latency_ms]
    latencies = np.concatenate([r.latencies() for r in runs]) if runs else np.zeros(0)
    return {
        "fps": outputs / wall if wall > 0 else None,
        "latency_ms_p50": float(np.mean([x["p50"] for x in live])) if live else _percentile(latencies, 50),
        "latency_ms_p95": float(np.mean([x["p95"] for x in live])) if live else _percentile(latencies, 95),
    }


def summarise(runs: list[SequenceRun]) -> dict[str, Any]:
    """The metrics JSON: overall, per sequence, and expert usage per alignment stage."""
    scored = {r.name: r.score() for r in runs}
    sequences: dict[str, dict] = {}
    for run in runs:
        entry: dict[str, Any] = {"frames": len(run.rgb_stamps)}
        for result in scored[run.name].values():
            entry.update(result.scores)
        errors = run.alignment_errors()
        if len(errors):
            entry["align_corner_err_px"] = float(errors.mean())
        entry.update(_timing([run]))
        entry["drops"] = run.frames_without_output()  # RGB frames with no tracker output of their own
        entry["events"] = dict(run.drops)  # why: sync drops, skipped before initialisation, RGB-only frames...
        if run.bag_error:
            entry["bag_error"] = run.bag_error
        sequences[run.name] = entry
    overall: dict[str, Any] = {}
    for kind, toolkit in (("tracking", "lasher"), ("rgbt", "rgbt234")):
        group = {name: s[kind] for name, s in scored.items() if kind in s}
        if group:
            overall.update(pool(toolkit, group).overall)
    errors = np.concatenate([r.alignment_errors() for r in runs]) if runs else np.zeros(0)
    if len(errors):
        overall["align_corner_err_px"] = float(errors.mean())
    overall.update(_timing(runs))
    overall["drops"] = int(sum(r.frames_without_output() for r in runs))
    experts: dict[str, Counter] = {}
    for run in runs:
        for output in run.outputs.values():
            for stage, expert in enumerate(output.experts, start=1):
                experts.setdefault(f"stage_{stage}", Counter())[expert] += 1
    return {"overall": overall, "sequences": sequences, "experts": {k: dict(v) for k, v in experts.items()}}


def write_result_files(run_dir: Path, runs: list[SequenceRun]) -> None:
    folder = run_dir / "results"
    folder.mkdir(parents=True, exist_ok=True)
    for run in runs:
        rows = [",".join(f"{v:.2f}" for v in np.nan_to_num(box)) for box in run.predictions()]
        (folder / f"{run.name}.txt").write_text("\n".join(rows) + "\n")


def _fmt(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


TABLE_KEYS = ("pr", "npr", "sr", "mpr", "msr", "align_corner_err_px", "fps", "latency_ms_p50", "latency_ms_p95")


def summary_table(summary: dict[str, Any]) -> str:
    """A Markdown table: one row per sequence and the overall row."""
    keys = [k for k in TABLE_KEYS if k in summary["overall"]]
    lines = ["| sequence | " + " | ".join(keys) + " | drops |", "|---" * (len(keys) + 2) + "|"]
    rows = [*summary["sequences"].items(), ("**overall**", summary["overall"])]
    for name, entry in rows:
        lines.append(f"| {name} | " + " | ".join(_fmt(entry.get(k)) for k in keys) + f" | {entry['drops']} |")
    return "\n".join(lines)


def write_summary(run_dir: Path, summary: dict[str, Any], context: dict[str, Any]) -> Path:
    lines = ["# mm_tracker evaluation", ""]
    lines += [f"- {key}: `{value}`" for key, value in context.items()]
    lines += ["", summary_table(summary), "", "Expert choices per alignment stage:", ""]
    lines += [f"- {stage}: {counts}" for stage, counts in summary["experts"].items()]
    failed = [f"- {name}: {why}" for name, why in summary.get("failed", {}).items()]
    if failed:
        lines += ["", "Not evaluated:", "", *failed]
    errors = [f"- {name}: {s['bag_error']}" for name, s in summary["sequences"].items() if "bag_error" in s]
    if errors:
        lines += ["", "Unreadable bag data (scored up to the first bad message):", "", *errors]
    lines += ["", "Plots: `plots/`; result files (x,y,w,h per frame): `results/`; videos: `videos/`.", ""]
    path = run_dir / "summary.md"
    path.write_text("\n".join(lines))
    return path


def write_plots(run_dir: Path, runs: list[SequenceRun]) -> None:
    folder = run_dir / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    figure, (success, precision) = plt.subplots(1, 2, figsize=(10, 4))
    for run in runs:
        result = run.score().get("tracking")
        if result is None:
            continue
        success.plot(SR_THRESHOLDS, result.curves["sr"], label=f"{run.name} [{result.scores['sr']:.3f}]")
        precision.plot(PR_THRESHOLDS, result.curves["pr"], label=f"{run.name} [{result.scores['pr']:.3f}]")
    success.set(title="Success", xlabel="IoU threshold", ylabel="success rate", ylim=(0, 1))
    precision.set(title="Precision", xlabel="centre error threshold (px)", ylabel="precision", ylim=(0, 1))
    for axis in (success, precision):
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(folder / "success_precision.png", dpi=100)
    plt.close(figure)
    for run in runs:
        figure, (alignment, score) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
        frames = [i for i, s in enumerate(run.rgb_stamps) if s in run.outputs]
        errors = run.alignment_errors()
        if len(errors) == len(frames) and len(errors):
            alignment.plot(frames, errors)
        alignment.set(ylabel="corner error (px)", title=run.name)
        score.plot(frames, [run.outputs[run.rgb_stamps[i]].score for i in frames])
        score.set(xlabel="frame", ylabel="score", ylim=(0, 1))
        for axis in (alignment, score):
            axis.grid(alpha=0.3)
        figure.tight_layout()
        figure.savefig(folder / f"{run.name}_over_time.png", dpi=100)
        plt.close(figure)


def _draw_box(image: np.ndarray, box: np.ndarray | None, colour: tuple[int, int, int], label: str) -> None:
    if box is None or not np.isfinite(box).all() or box[2] <= 0:
        return
    x, y, w, h = (round(float(v)) for v in box)
    cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
    cv2.putText(image, label, (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)


def write_video(path: Path, run: SequenceRun, messages: Iterable[tuple[str, Any]], fps: float = 30.0) -> Path | None:
    """RGB with the predicted (green) and true (red) boxes, X overlaid through the estimated homography.

    Frames that do not decode are skipped; frames of another size are resized to the first frame's.
    """
    writer, size, latest_aux, held = None, None, None, None
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        for name, msg in messages:
            if name == "aux":
                latest_aux = msg
                continue
            if name != "rgb":
                continue
            stamp = stamp_ns(msg.header)
            held = run.outputs.get(stamp) or held
            try:
                frame = _annotated_frame(run, stamp, rgb_from_message(msg), latest_aux, held)
            except MMTrackerError:  # an unreadable RGB frame: the video skips it
                continue
            if writer is None:
                size = (frame.shape[1], frame.shape[0])
                writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                if not writer.isOpened():
                    return None
            if (frame.shape[1], frame.shape[0]) != size:
                frame = cv2.resize(frame, size)
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        if writer is not None:
            writer.release()
    return path if writer is not None else None


def _annotated_frame(run: SequenceRun, stamp: int, rgb: np.ndarray, aux_msg: Any, output) -> np.ndarray:
    frame = rgb.copy()
    if output is not None and output.homography is not None and aux_msg is not None:
        try:
            aux = aux_from_message(aux_msg, run.modality, None)[0]
            overlay = warp_image(aux, output.homography, rgb.shape[1], rgb.shape[0])
            frame = cv2.addWeighted(frame, 0.65, overlay, 0.35, 0)
        except (MMTrackerError, cv2.error):
            pass  # an unusable X frame: the RGB frame alone
    _draw_box(frame, run.truth.boxes.get(stamp), (255, 0, 0), "truth")
    _draw_box(frame, None if output is None else output.box, (0, 255, 0), "mm_tracker")
    return frame


def write_metrics(run_dir: Path, summary: dict[str, Any], json_file: Path | None = None) -> Path:
    path = run_dir / "metrics.json"
    text = json.dumps(summary, indent=2, default=float)
    path.write_text(text)
    if json_file is not None:
        Path(json_file).write_text(text)
    return path
