"""One run that compares alignments on inputs with alignment truth: online, calibration kept, identity, ECC.

The three tracker settings run the node's per-frame path offline (as mm-tracker-eval does); ECC (eval/ecc.py)
estimates the homography from the same synchronised, decoded frames, started from the same calibration. The
corner error (RGB pixels, X's corners mapped by the estimated and the true homography) is kept per frame for
the plots and pooled per setting; tracking scores, expert usage and TOCU activity come with the tracker rows.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import matplotlib
import numpy as np
import torch

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.driver import new_run
from mm_tracker_model.eval.ecc import EccAligner, EccConfig
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.runs import FrameOutput
from mm_tracker_model.nn.alignment.stage import EXPERT_NAMES
from mm_tracker_model.streams.image_msgs import aux_from_message, rgb_from_message
from mm_tracker_model.streams.sync_policy import SyncPolicy

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TRACKER_SETTINGS = ("online", "calibration_kept", "identity")
COMPARED = (*TRACKER_SETTINGS, "ecc")


@dataclass
class AlignmentTrace:
    """One setting on one input: the per-frame corner error and what came with it."""

    setting: str
    errors: np.ndarray  # (RGB frames,) px, NaN where unknown
    scores: dict[str, float] = field(default_factory=dict)  # tracking (LasHeR conventions); empty for ECC
    failures: int = 0  # ECC estimates that failed (previous homography kept)
    estimates: int = 0
    experts: dict[str, dict[str, int]] = field(default_factory=dict)
    tocu_accepted: int = 0
    expert_macs: dict[str, float] = field(default_factory=dict)  # hard-routed alignment MACs per frame vs all experts

    def summary(self) -> dict[str, Any]:
        known = self.errors[np.isfinite(self.errors)]
        entry: dict[str, Any] = {"corner_err_px": float(known.mean()), "frames": len(known)}
        entry["corner_err_px_p90"] = float(np.percentile(known, 90))
        entry |= self.scores
        if self.setting == "ecc":
            entry |= {"estimates": self.estimates, "failures": self.failures}
        if self.experts:
            entry["experts"] = self.experts
        if self.setting == "online":
            entry["tocu_accepted"] = self.tocu_accepted
        entry |= self.expert_macs
        return entry


def _without_truth(name: str) -> MMTrackerError:
    return MMTrackerError(
        f"{name}: no alignment ground truth (no known X -> RGB homography on any frame), so there is nothing to "
        "compare: use synthetic sequences, --misalign on registered RGB-X data, --pseudo-aux on RGB-only data, "
        "or bags with the ground-truth alignment topic"
    )


def _tracker_trace(net: torch.nn.Module, item: EvalInput, setting: str, base: OfflineConfig) -> AlignmentTrace:
    engine = dataclasses.replace(base.engine, online_alignment=setting == "online")
    config = dataclasses.replace(base, engine=engine, true_calibration=setting != "identity")
    run = run_offline(net, item.messages(), new_run(item), config)
    if not run.truth.homographies:
        raise _without_truth(run.name)
    experts: dict[str, Counter] = {}
    for output in run.outputs.values():
        for stage, expert in enumerate(output.experts, start=1):
            experts.setdefault(f"stage_{stage}", Counter())[expert] += 1
    tracking = run.score().get("tracking")
    return AlignmentTrace(
        setting,
        run.frame_alignment_errors(),
        scores={k: float(tracking.scores[k]) for k in ("pr", "sr")} if tracking else {},
        experts={k: dict(v) for k, v in experts.items()},
        tocu_accepted=sum(o.tocu_updated for o in run.outputs.values()),
        expert_macs=_routed_macs(net, experts),
    )


def _routed_macs(net: torch.nn.Module, experts: dict[str, Counter]) -> dict[str, float]:
    """Mean alignment-expert MACs per frame as routed, and what running all three experts would cost."""
    stages = net.alignment.stages if getattr(net, "alignment", None) is not None else []
    if not stages or not experts:
        return {}
    routed = 0.0
    for k, stage in enumerate(stages, start=1):
        counts = experts.get(f"stage_{k}", Counter())
        total = sum(counts.values()) or 1
        routed += sum(float(stage.expert_macs[EXPERT_NAMES.index(e)]) * n for e, n in counts.items()) / total
    every = sum(float(stage.expert_macs.sum()) for stage in stages)
    return {"expert_macs_per_frame": routed, "expert_macs_all_experts": every}


def _ecc_trace(item: EvalInput, base: OfflineConfig, config: EccConfig) -> AlignmentTrace:
    """ECC on the synchronised pairs, started from the true homography of the first frame that has one.

    OpenCV's threads sum in a varying order, and over hundreds of frames ECC can settle in another optimum from
    such a difference (measured: 19.0 vs 11.8 px on one sequence under different machine load), so the baseline
    runs single-threaded to be reproducible.
    """
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return _ecc_run(item, base, config)
    finally:
        cv2.setNumThreads(threads)


def _ecc_run(item: EvalInput, base: OfflineConfig, config: EccConfig) -> AlignmentTrace:
    run = new_run(item)
    sync = SyncPolicy(slop_ns=int(base.sync_slop_s * 1e9), queue_size=base.sync_queue)
    stream = dataclasses.replace(base.stream, modality=run.modality)
    aligner: EccAligner | None = None
    for name, msg in item.messages():
        run.note_input(name, msg)
        if name not in ("rgb", "aux"):
            continue
        stamp = stamp_ns(msg.header)
        pairs = sync.add_rgb(stamp, msg) if name == "rgb" else sync.add_aux(stamp, msg)
        for pair in pairs:
            if pair.aux is None:
                continue
            if aligner is None:
                calibration = run.truth.homographies.get(pair.rgb_stamp)
                if calibration is None:
                    continue
                aligner = EccAligner(calibration, config)
            try:
                rgb = rgb_from_message(pair.rgb)
                aux, _ = aux_from_message(pair.aux, stream.modality, stream.thermal_range)
            except MMTrackerError:
                continue  # the tracker rows count these; ECC just keeps its estimate
            homography = aligner.update(rgb, aux)
            run.outputs[pair.rgb_stamp] = FrameOutput(np.full(4, np.nan), 0.0, 0, homography=homography.copy())
    if aligner is None:
        raise _without_truth(run.name)
    return AlignmentTrace("ecc", run.frame_alignment_errors(), failures=aligner.failures, estimates=aligner.estimates)


def compare_alignment(
    net: torch.nn.Module, item: EvalInput, base: OfflineConfig, ecc: EccConfig
) -> dict[str, AlignmentTrace]:
    """Every compared setting on one input."""
    traces = {s: _tracker_trace(net, item, s, base) for s in TRACKER_SETTINGS}
    traces["ecc"] = _ecc_trace(item, base, ecc)
    return traces


def pooled(results: dict[str, dict[str, AlignmentTrace]]) -> dict[str, dict[str, float]]:
    """Per setting over all inputs: mean corner error over every known frame, and the mean of the scores."""
    overall = {}
    for setting in COMPARED:
        traces = [by_setting[setting] for by_setting in results.values()]
        errors = np.concatenate([t.errors[np.isfinite(t.errors)] for t in traces])
        entry = {"corner_err_px": float(errors.mean()), "frames": len(errors)}
        for key in ("pr", "sr"):
            values = [t.scores[key] for t in traces if key in t.scores]
            if values:
                entry[key] = float(np.mean(values))
        if setting == "ecc":
            entry["failures"] = sum(t.failures for t in traces)
            entry["estimates"] = sum(t.estimates for t in traces)
        overall[setting] = entry
    return overall


def plot_errors(path: Path, name: str, traces: dict[str, AlignmentTrace]) -> Path:
    figure, axis = plt.subplots(figsize=(8, 3.5))
    for setting, trace in traces.items():
        known = np.isfinite(trace.errors)
        label = f"{setting} [{trace.errors[known].mean():.2f} px]"
        axis.plot(np.nonzero(known)[0], trace.errors[known], label=label)
    axis.set(title=f"{name}: alignment corner error", xlabel="frame", ylabel="corner error (RGB px)")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def comparison_table(overall: dict[str, dict[str, float]]) -> str:
    lines = ["| alignment | corner error (px) | PR | SR | notes |", "|---|---|---|---|---|"]
    for setting, entry in overall.items():
        pr, sr = (f"{entry[k]:.3f}" if k in entry else "–" for k in ("pr", "sr"))
        notes = f"{entry['failures']} of {entry['estimates']} estimates failed" if setting == "ecc" else ""
        lines.append(f"| {setting} | {entry['corner_err_px']:.2f} | {pr} | {sr} | {notes} |")
    return "\n".join(lines)
