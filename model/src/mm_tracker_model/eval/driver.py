"""Evaluate a list of inputs (offline or live), in parallel processes if asked, and write RUN_DIR."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import torch
from tqdm import tqdm

from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval import report
from mm_tracker_model.eval.inputs import EvalInput
from mm_tracker_model.eval.live import LiveConfig, read_results, run_live
from mm_tracker_model.eval.offline import OfflineConfig, run_offline
from mm_tracker_model.eval.runs import SequenceRun
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.weights import default_checkpoint


@dataclass(frozen=True)
class EvalJob:
    run_dir: Path
    checkpoint: Path | None = None
    live: bool = False
    video: bool = True
    offline: OfflineConfig = field(default_factory=OfflineConfig)
    live_config: LiveConfig = field(default_factory=LiveConfig)

    def resolved_checkpoint(self, modality: str = "thermal") -> Path:
        checkpoint = self.checkpoint or default_checkpoint(modality)
        if checkpoint is None:
            raise MMTrackerError("no --checkpoint given and no default model is packaged (model/weights/)")
        return Path(checkpoint)


def new_run(item: EvalInput) -> SequenceRun:
    meta = item.meta()
    return SequenceRun(
        name=meta["sequence"],
        modality=meta["modality"],
        gt_every=int(meta["gt_every"]),
        registered=bool(meta["registered"]),
    )


_NET: dict[Path, torch.nn.Module] = {}


def _net(checkpoint: Path) -> torch.nn.Module:
    if checkpoint not in _NET:
        torch.manual_seed(0)
        _NET[checkpoint] = load_net(checkpoint).eval()
    return _NET[checkpoint]


def evaluate_one(item: EvalInput, job: EvalJob) -> SequenceRun:
    run = new_run(item)
    if job.live:
        bag = item.to_bag(job.run_dir / "bags" / run.name)
        result_bag = run_live(bag, job.run_dir / "live", run, job.live_config, item.topics)
        # Ground truth and the RGB frame list come from the input bag, outputs from the result bag.
        truth_only = SequenceRun(run.name, run.modality)
        messages = EvalInput(bag, topics=item.topics).messages()
        for name, msg in messages:
            truth_only.note_input(name, msg)
        run.truth, run.rgb_stamps, run.x_size = truth_only.truth, truth_only.rgb_stamps, truth_only.x_size
        read_results(result_bag, run)
        if len(run.rgb_stamps) > 1:  # throughput over the replayed time: outputs per second of the bag at --rate
            run.wall_s = (run.rgb_stamps[-1] - run.rgb_stamps[0]) / 1e9 / job.live_config.rate
    else:
        messages = item.messages()
        run = run_offline(_net(job.resolved_checkpoint(run.modality)), messages, run, job.offline)
    if messages.damage:  # the run scores what was read before it
        run.bag_error = "; ".join(e for e in (run.bag_error, f"input bag: {messages.damage}") if e)
    run.score()  # fails here, named, when there is nothing to score (no output, no matching ground truth)
    if job.video:
        report.write_video(job.run_dir / "videos" / f"{run.name}.mp4", run, item.messages())
    return run


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)


@dataclass
class EvalResults:
    runs: list[SequenceRun]
    failed: dict[str, str]  # input -> why it could not be evaluated (the others are still scored)


def _label(item: EvalInput) -> str:
    return str(item.path)


def evaluate_all(items: list[EvalInput], job: EvalJob, workers: int = 1, progress: bool = True) -> EvalResults:
    """Every input; one that fails is recorded with its reason and the rest are still evaluated."""
    if job.live and workers > 1:
        raise MMTrackerError("--live runs one node on one ROS domain: --workers must be 1")
    job.run_dir.mkdir(parents=True, exist_ok=True)
    if not job.live:
        job.resolved_checkpoint()  # fail before any work
    results = EvalResults([], {})

    def collect(item: EvalInput, outcome) -> None:
        try:
            results.runs.append(outcome())
        except (MMTrackerError, ValueError, OSError) as exc:
            results.failed[_label(item)] = f"{type(exc).__name__}: {exc}"

    if workers <= 1 or len(items) <= 1:
        for item in tqdm(items, desc="sequences", disable=not progress):
            collect(item, lambda item=item: evaluate_one(item, job))
    else:
        threads = max(1, (os.cpu_count() or 1) // workers)
        context = get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads,)) as pool:
            futures = [(item, pool.submit(evaluate_one, item, job)) for item in items]
            for item, future in tqdm(futures, desc="sequences", disable=not progress):
                collect(item, future.result)
    names = [run.name for run in results.runs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MMTrackerError(f"several inputs are named {', '.join(duplicates)}: give each sequence a distinct name")
    return results


def shard(items: list[EvalInput], spec: str | None) -> list[EvalInput]:
    """`i/n` (0 <= i < n): every n-th input starting at i, in sorted order, so n machines split a benchmark."""
    if spec is None:
        return items
    try:
        index, count = (int(v) for v in spec.split("/"))
    except ValueError:
        raise MMTrackerError(f"--shard {spec!r}: expected i/n with 0 <= i < n, e.g. 0/4") from None
    if not 0 <= index < count:
        raise MMTrackerError(f"--shard {spec!r}: expected i/n with 0 <= i < n")
    return sorted(items, key=lambda i: str(i.path))[index::count]


def write_outputs(job: EvalJob, results: EvalResults, context: dict, json_file: Path | None = None) -> dict:
    if not results.runs:
        failures = "\n".join(f"  {k}: {v}" for k, v in results.failed.items())
        raise MMTrackerError(f"no input could be evaluated:\n{failures}")
    runs = results.runs
    summary = report.summarise(runs)
    if results.failed:
        summary["failed"] = results.failed
    report.write_metrics(job.run_dir, summary, json_file)
    report.write_result_files(job.run_dir, runs)
    report.write_plots(job.run_dir, runs)
    report.write_summary(job.run_dir, summary, context)
    return summary
