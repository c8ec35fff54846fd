"""Offline evaluation: the engine in-process, fed through the node's sync policy, deterministic, as fast as it goes.

Input is a stream of (name, stamp, message) — from a bag or generated from a dataset sequence — carrying the
camera images and the ground-truth topics. The target is initialised on the first synchronised pair with the
ground-truth box of that frame; the calibration is the true homography of that frame when known (the
rig is calibrated at start-up), else `calibration`, else the identity.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.tracker import TrackState
from mm_tracker_model.errors import EngineInputError, MMTrackerError
from mm_tracker_model.eval.runs import FrameOutput, SequenceRun
from mm_tracker_model.streams.image_msgs import aux_from_message, rgb_from_message
from mm_tracker_model.streams.sync_policy import SyncedPair, SyncPolicy


@dataclass(frozen=True)
class OfflineConfig:
    engine: EngineConfig = field(default_factory=EngineConfig)
    sync_slop_s: float = 0.05
    sync_queue: int = 10
    calibration: np.ndarray | None = None
    true_calibration: bool = True  # start from the true homography of the first frame when the input has one


class OfflineRunner:
    def __init__(self, net: torch.nn.Module, run: SequenceRun, config: OfflineConfig) -> None:
        self.net, self.run, self.config = net, run, config
        self.tracker = Tracker(net, config.engine)
        self.sync = SyncPolicy(slop_ns=int(config.sync_slop_s * 1e9), queue_size=config.sync_queue)

    def feed(self, name: str, msg: Any) -> None:
        self.run.note_input(name, msg)
        if name == "rgb":
            self._process(self.sync.add_rgb(stamp_ns(msg.header), msg))
        elif name == "aux":
            self._process(self.sync.add_aux(stamp_ns(msg.header), msg))

    def _process(self, pairs: list[SyncedPair]) -> None:
        for pair in pairs:
            start = time.perf_counter()
            try:
                rgb = rgb_from_message(pair.rgb)
            except (MMTrackerError, ValueError):
                self.run.drops["rgb_bad_image"] += 1
                continue
            aux = None
            if pair.aux is not None:
                try:  # an unusable X frame runs RGB-only, as in the node
                    aux = aux_from_message(pair.aux, self.run.modality, None)[0]
                except (MMTrackerError, ValueError):
                    self.run.drops["aux_bad_image"] += 1
            if self.tracker.state == TrackState.IDLE:
                if not self._initialize(pair.rgb_stamp, rgb, aux):
                    continue
                result = self.tracker.initial_result()  # as the node: the init frame is not tracked again
            else:
                result = self.tracker.track(rgb, aux)
            self.run.outputs[pair.rgb_stamp] = FrameOutput(
                box=np.asarray(result.box, dtype=np.float64),
                score=float(result.score),
                state=int(result.state),
                homography=np.asarray(result.frame_homography, dtype=np.float64),
                experts=tuple(result.experts),
                latency_ms=(time.perf_counter() - start) * 1e3,
            )

    def _initialize(self, stamp: int, rgb: np.ndarray, aux: np.ndarray | None) -> bool:
        box = self.run.truth.boxes.get(stamp)
        if box is None or not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
            self.run.drops["before_init"] += 1
            return False
        if aux is None:  # as the node does: start on the first pair that has an X frame
            self.run.drops["init_waiting_for_aux"] += 1
            return False
        calibration = self.config.calibration
        if self.config.true_calibration:
            calibration = self.run.truth.homographies.get(stamp, calibration)
        try:
            self.tracker.initialize(rgb, aux, box, calibration if calibration is not None else np.eye(3))
        except EngineInputError:
            self.run.drops["init_rejected"] += 1
            return False
        return True

    def finish(self) -> SequenceRun:
        self._process(self.sync.flush())
        self.run.drops.update(self.sync.drops)
        return self.run


def run_offline(
    net: torch.nn.Module, messages: Iterable[tuple[str, Any]], run: SequenceRun, config: OfflineConfig
) -> SequenceRun:
    runner = OfflineRunner(net, run, config)
    start = time.perf_counter()
    with torch.inference_mode():
        for name, msg in messages:
            runner.feed(name, msg)
    run.wall_s = time.perf_counter() - start
    return runner.finish()
