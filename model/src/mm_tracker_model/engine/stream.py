"""The one per-frame path of the node and offline evaluation: a synchronised pair of messages in, a result out.

Decodes both images, checks the X frame's age and both sizes, starts a requested target on the first pair
with a usable X frame (or RGB alone for an RGB-only rig), reports the given box on that frame and tracks the
others. Every degradation is counted once, here, under one name; callers log or record them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from mm_tracker_model.engine.tracker import Tracker, TrackResult, TrackState
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.geometry.boxes import is_valid_box
from mm_tracker_model.streams.camera_info import CameraInfoState, camera_info_problems
from mm_tracker_model.streams.image_msgs import aux_from_message, rgb_from_message
from mm_tracker_model.streams.sync_policy import SyncedPair

STREAMS = ("rgb", "aux")


@dataclass(frozen=True)
class StreamConfig:
    modality: str = "thermal"
    aux_max_age_s: float = 0.2  # an X frame further than this from its RGB frame runs the frame RGB-only
    thermal_range: tuple[float, float] | None = None  # fixed raw-count range of 16-bit thermal; None: percentiles
    rgb_only: bool = False  # no X camera: start and track on RGB alone
    # (width, height) the rig calibration was made at; images of another size make its homography wrong.
    calibration_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class Degradation:
    name: str
    message: str


@dataclass
class StreamFrame:
    """What one pair gave: the decoded images, the engine's result (None while no target) and the degradations."""

    rgb_stamp: int
    rgb: np.ndarray | None  # None: the RGB frame was unusable, nothing else happened
    aux: np.ndarray | None
    result: TrackResult | None
    started: bool = False  # a target started on this frame (result is the given box)
    degradations: list[Degradation] = field(default_factory=list)
    convert_ms: float = 0.0  # the messages' conversion to images (and their checks)


class StreamTracker:
    """A Tracker behind the checks a live stream needs; thread-safe target requests (ROS services, callers)."""

    def __init__(self, tracker: Tracker, config: StreamConfig, calibration: np.ndarray | None = None) -> None:
        self.tracker, self.config = tracker, config
        self.calibration = np.eye(3) if calibration is None else np.asarray(calibration, dtype=np.float64)
        self.degradations: Counter = Counter()
        self.camera_info = {name: CameraInfoState() for name in STREAMS}
        self._lock = threading.Lock()
        self._pending: tuple[np.ndarray, np.ndarray | None] | None = None

    @property
    def state(self) -> TrackState:
        return self.tracker.state

    def request_target(self, box, homography: np.ndarray | None = None) -> None:
        """Start tracking `box` on the next usable pair, under `homography` (default: the calibration)."""
        box = np.asarray(box, dtype=np.float64)
        if not is_valid_box(box):
            raise MMTrackerError(f"box {box.tolist()} is degenerate: need finite x, y and w, h > 0")
        with self._lock:
            self._pending = (box, homography)

    def note(self, name: str, message: str) -> Degradation:
        """Count a degradation found outside the per-frame path (e.g. a bad header where a message arrives)."""
        self.degradations[name] += 1
        return Degradation(name, message)

    def process(self, pair: SyncedPair) -> StreamFrame:
        frame = StreamFrame(pair.rgb_stamp, None, None, None)
        start = time.perf_counter()
        try:
            frame.rgb = rgb_from_message(pair.rgb)
        except MMTrackerError as exc:
            frame.degradations.append(self.note("rgb_bad_image", f"RGB frame dropped: {exc}"))
            return frame
        frame.degradations += self._size_problems("rgb", frame.rgb)
        if not self.config.rgb_only:
            frame.aux = self._aux(pair, frame.degradations)
        frame.convert_ms = (time.perf_counter() - start) * 1e3
        frame.started = self._maybe_start(frame)
        if self.tracker.state == TrackState.IDLE:
            return frame
        # The init frame reports the given box; tracking the template's own frame again would bias it.
        frame.result = self.tracker.initial_result() if frame.started else self.tracker.track(frame.rgb, frame.aux)
        frame.degradations += [self.note(name, f"engine: {name}") for name in frame.result.degraded]
        return frame

    def _aux(self, pair: SyncedPair, found: list[Degradation]) -> np.ndarray | None:
        if pair.aux is None:
            found.append(self.note("aux_missing", "no X frame near this RGB frame: running RGB-only"))
            return None
        if abs(pair.rgb_stamp - pair.aux_stamp) > self.config.aux_max_age_s * 1e9:
            found.append(self.note("aux_stale", "X frame too old for its RGB frame: running RGB-only"))
            return None
        try:
            aux, conversions = aux_from_message(pair.aux, self.config.modality, self.config.thermal_range)
        except MMTrackerError as exc:
            found.append(self.note("aux_bad_image", f"X frame unusable, running RGB-only: {exc}"))
            return None
        found += [self.note(name, f"X frame degraded: {name}") for name in conversions]
        found += self._size_problems("aux", aux)
        return aux

    def _size_problems(self, stream: str, image: np.ndarray) -> list[Degradation]:
        size = (image.shape[1], image.shape[0])
        calibration = self.config.calibration_sizes.get(stream)
        found = [
            self.note(f"{stream}_{name}", f"{stream}: {message}")
            for name, message in camera_info_problems(self.camera_info[stream], size, calibration)
        ]
        if calibration is not None and size != calibration:
            message = f"{stream} image is {size[0]}x{size[1]}, calibration says {calibration[0]}x{calibration[1]}"
            found.append(self.note(f"{stream}_size_mismatch", message))
        return found

    def _maybe_start(self, frame: StreamFrame) -> bool:
        with self._lock:
            pending = self._pending
        if pending is None:
            return False
        if frame.aux is None and not self.config.rgb_only:  # the X template needs an X frame: wait for one
            frame.degradations.append(self.note("init_waiting_for_aux", "target box waits for a usable X frame"))
            return False
        box, homography = pending
        with self._lock:
            if self._pending is pending:  # a newer request made meanwhile stays pending
                self._pending = None
        try:
            self.tracker.initialize(frame.rgb, frame.aux, box, self.calibration if homography is None else homography)
        except MMTrackerError as exc:
            frame.degradations.append(self.note("init_rejected", f"target box refused: {exc}"))
            return False
        return True
