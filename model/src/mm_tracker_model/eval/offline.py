"""Offline evaluation: the engine in-process, fed through the node's sync policy, deterministic, as fast as it goes.

Input is a stream of (name, stamp, message) — from a bag or generated from a dataset sequence — carrying the
camera images and the ground-truth topics. Each pair goes through the node's own per-frame path
(`engine.stream.StreamTracker`: decoding, X age and size checks, initialisation, tracking). The target is
requested with the ground-truth box of each frame until it starts (on the first pair with a usable X frame);
the calibration is the true homography of that frame when known (the rig is calibrated at start-up), else
`calibration`, else the identity.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mm_tracker_model.bags.read import stamp_ns
from mm_tracker_model.engine import EngineConfig, Tracker
from mm_tracker_model.engine.stream import StreamConfig, StreamTracker
from mm_tracker_model.engine.tracker import TrackState
from mm_tracker_model.eval.runs import FrameOutput, SequenceRun
from mm_tracker_model.geometry.boxes import is_valid_box
from mm_tracker_model.prefetch import prefetched
from mm_tracker_model.streams.sync_policy import SyncedPair, SyncPolicy


@dataclass(frozen=True)
class OfflineConfig:
    engine: EngineConfig = field(default_factory=EngineConfig)
    stream: StreamConfig = field(default_factory=StreamConfig)  # its modality is replaced by the input's
    sync_slop_s: float = 0.05
    sync_queue: int = 10
    calibration: np.ndarray | None = None
    true_calibration: bool = True  # start from the true homography of the first frame when the input has one
    # Messages read, decoded (and pseudo-X made) this many ahead in a background thread; 0: inline.
    prefetch_messages: int = 8


class OfflineRunner:
    """Feeds the node's sync policy and per-frame path (StreamTracker) from a message stream."""

    def __init__(self, net: torch.nn.Module, run: SequenceRun, config: OfflineConfig) -> None:
        self.run, self.config = run, config
        stream_config = dataclasses.replace(config.stream, modality=run.modality)
        self.stream = StreamTracker(Tracker(net, config.engine), stream_config, config.calibration)
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
            if self.stream.state == TrackState.IDLE and not self._request_target(pair.rgb_stamp):
                continue
            frame = self.stream.process(pair)
            if frame.result is None:
                continue
            result = frame.result
            self.run.outputs[pair.rgb_stamp] = FrameOutput(
                box=np.asarray(result.box, dtype=np.float64),
                score=float(result.score),
                state=int(result.state),
                homography=np.asarray(result.frame_homography, dtype=np.float64),
                experts=tuple(result.experts),
                latency_ms=(time.perf_counter() - start) * 1e3,
                tocu_updated=bool(result.tocu_updated),
            )

    def _request_target(self, stamp: int) -> bool:
        """The target starts from the ground truth of the frame it starts on (as a user would give it)."""
        box = self.run.truth.boxes.get(stamp)
        if box is None or not is_valid_box(box):
            self.run.drops["before_init"] += 1
            return False
        calibration = self.config.calibration
        if self.config.true_calibration:
            calibration = self.run.truth.homographies.get(stamp, calibration)
        self.stream.request_target(box, calibration)
        return True

    def finish(self) -> SequenceRun:
        self._process(self.sync.flush())
        self.run.drops.update(self.sync.drops)
        self.run.drops.update(self.stream.degradations)
        return self.run


def run_offline(
    net: torch.nn.Module, messages: Iterable[tuple[str, Any]], run: SequenceRun, config: OfflineConfig
) -> SequenceRun:
    runner = OfflineRunner(net, run, config)
    start = time.perf_counter()
    with torch.inference_mode():
        for name, msg in prefetched(messages, config.prefetch_messages):
            runner.feed(name, msg)
    run.wall_s = time.perf_counter() - start
    return runner.finish()
