"""A dataset or synthetic sequence -> rosbag2: images at their stamps, CameraInfo, and the ground truth.

Ground truth rides on its own topics as mm_tracker_msgs: TrackedTarget (RGB box; X box when annotated or
derived) stamped like its RGB frame, and Alignment carrying the true X -> RGB homography when it is known.
Bag custom data records the sequence name, modality and ground-truth step so evaluation needs no side files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.rosbag2 import StoragePlugin, Writer
from tqdm import tqdm

from mm_tracker_model.bags.topics import ALIGNMENT, CAMERA_INFO, IMAGE, TARGET, BagTopics
from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.data.sequence import Sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.streams.image_msgs import array_to_image_fields

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
RGB_FRAME, AUX_FRAME = "rgb_camera", "aux_camera"
START_NS = 1_000_000_000_000  # bags start at t = 1000 s: clearly sim time, never 0


@dataclass(frozen=True)
class BagOptions:
    rate_hz: float = 30.0
    aux_every: int = 1  # X frame on every n-th RGB frame (3 at 30 Hz = a 10 Hz thermal camera)
    storage: str = "mcap"
    topics: BagTopics = field(default_factory=BagTopics)

    def __post_init__(self) -> None:
        if not (0 < self.rate_hz < 10_000) or self.aux_every < 1:
            raise MMTrackerError(f"rate {self.rate_hz} Hz must be in (0, 10000) and aux_every {self.aux_every} >= 1")


def aux_encoding(image: np.ndarray) -> str:
    if image.ndim == 3:
        return "rgb8"
    return {np.dtype(np.uint8): "mono8", np.dtype(np.uint16): "16UC1", np.dtype(np.float32): "32FC1"}[image.dtype]


class _Messages:
    """Builds rosbags message objects from the project's typestore."""

    def __init__(self) -> None:
        self.store = bag_typestore()
        self.t = self.store.types

    def header(self, stamp_ns: int, frame_id: str):
        time = self.t["builtin_interfaces/msg/Time"](sec=stamp_ns // 1_000_000_000, nanosec=stamp_ns % 1_000_000_000)
        return self.t["std_msgs/msg/Header"](stamp=time, frame_id=frame_id)

    def image(self, array: np.ndarray, encoding: str, stamp_ns: int, frame_id: str):
        fields = array_to_image_fields(array, encoding)
        fields["data"] = np.frombuffer(bytes(fields["data"]), dtype=np.uint8)
        return self.t[IMAGE](header=self.header(stamp_ns, frame_id), **fields)

    def camera_info(self, width: int, height: int, stamp_ns: int, frame_id: str):
        # Intrinsics unknown for dataset cameras: K = 0 marks the camera uncalibrated (REP 104).
        zeros = np.zeros
        roi = self.t["sensor_msgs/msg/RegionOfInterest"](x_offset=0, y_offset=0, height=0, width=0, do_rectify=False)
        return self.t[CAMERA_INFO](
            header=self.header(stamp_ns, frame_id),
            height=height,
            width=width,
            distortion_model="plumb_bob",
            d=zeros(5),
            k=zeros(9),
            r=np.eye(3).ravel(),
            p=zeros(12),
            binning_x=0,
            binning_y=0,
            roi=roi,
        )

    def box(self, box: np.ndarray):
        valid = np.isfinite(box).all()
        x, y, w, h = (float(v) for v in box) if valid else (0.0, 0.0, 0.0, 0.0)
        return self.t["mm_tracker_msgs/msg/Box2D"](x=x, y=y, width=w, height=h)

    def target(self, stamp_ns: int, box: np.ndarray, box_x: np.ndarray | None):
        cls = self.t[TARGET]
        valid = bool(np.isfinite(box).all() and box[2] > 0 and box[3] > 0)
        has_x = box_x is not None and bool(np.isfinite(box_x).all())
        return cls(
            header=self.header(stamp_ns, RGB_FRAME),
            state=cls.TRACKING if valid else cls.IDLE,
            score=1.0 if valid else 0.0,
            box=self.box(box),
            aux_frame_id=AUX_FRAME,
            has_box_x=has_x,
            box_x=self.box(box_x if has_x else np.zeros(4)),
            degraded=False,
        )

    def alignment(self, stamp_ns: int, homography: np.ndarray):
        flat = np.asarray(homography, dtype=np.float64).ravel()
        return self.t[ALIGNMENT](
            header=self.header(stamp_ns, RGB_FRAME),
            aux_frame_id=AUX_FRAME,
            homography=flat,
            frame_homography=flat,
            calibration_homography=flat,
            updated=False,
            confidence=1.0,
            stage_experts=[],
            stage_params=np.zeros(0),
        )


def rgb_stamps(count: int, rate_hz: float) -> np.ndarray:
    return START_NS + np.round(np.arange(count) * 1e9 / rate_hz).astype(np.int64)


SCHEMA = {
    "rgb": IMAGE,
    "aux": IMAGE,
    "rgb_info": CAMERA_INFO,
    "aux_info": CAMERA_INFO,
    "gt_target": TARGET,
    "gt_alignment": ALIGNMENT,
}


def sequence_meta(sequence: Sequence, options: BagOptions) -> dict:
    return {
        "sequence": sequence.name,
        "modality": sequence.modality,
        "gt_every": sequence.gt_every,
        "registered": sequence.registered and sequence.homographies is None,
        "rate_hz": options.rate_hz,
        "frames": len(sequence),
    }


def sequence_messages(sequence: Sequence, options: BagOptions = BagOptions()) -> Iterator[tuple[str, int, Any]]:
    """(stream name, stamp ns, message) in bag order; ground truth before the images of the same stamp."""
    build = _Messages()
    for index, stamp in enumerate(rgb_stamps(len(sequence), options.rate_hz).tolist()):
        row, off_grid = divmod(index, sequence.gt_every)
        if off_grid == 0 and row < len(sequence.boxes_rgb):
            box_x = sequence.boxes_aux[row] if sequence.boxes_aux is not None else None
            yield "gt_target", stamp, build.target(stamp, sequence.boxes_rgb[row], box_x)
        if sequence.homographies is not None:
            yield "gt_alignment", stamp, build.alignment(stamp, sequence.homographies[index])
        if index % options.aux_every == 0:
            aux = sequence.load_aux(index)
            yield "aux_info", stamp, build.camera_info(aux.shape[1], aux.shape[0], stamp, AUX_FRAME)
            yield "aux", stamp, build.image(aux, aux_encoding(aux), stamp, AUX_FRAME)
        rgb = sequence.load_rgb(index)
        yield "rgb_info", stamp, build.camera_info(rgb.shape[1], rgb.shape[0], stamp, RGB_FRAME)
        yield "rgb", stamp, build.image(rgb, "rgb8", stamp, RGB_FRAME)


def write_bag(sequence: Sequence, out: Path, options: BagOptions = BagOptions(), progress: bool = False) -> Path:
    """Write `sequence` (frames as `load_rgb`/`load_aux` give them) into a new rosbag2 folder `out`."""
    if options.storage not in STORAGES:
        raise MMTrackerError(f"storage {options.storage!r} unknown; known: {', '.join(STORAGES)}")
    out = Path(out)
    if out.exists():
        raise MMTrackerError(f"{str(out)!r} exists; rosbag2 writes a new folder (remove it or pick another)")
    out.parent.mkdir(parents=True, exist_ok=True)
    store = bag_typestore()
    with Writer(out, version=9, storage_plugin=STORAGES[options.storage]) as writer:
        topics = options.topics
        connections = {
            name: writer.add_connection(getattr(topics, name), msgtype, typestore=store)
            for name, msgtype in SCHEMA.items()
        }
        messages = sequence_messages(sequence, options)
        images = len(sequence) + -(-len(sequence) // options.aux_every)
        total = 2 * images + len(sequence) * (1 + (sequence.homographies is not None))
        for name, stamp, msg in tqdm(messages, total=total, desc=f"bag {sequence.name}", disable=not progress):
            writer.write(connections[name], stamp, store.serialize_cdr(msg, SCHEMA[name]))
        writer.set_custom_data("mm_tracker", json.dumps(sequence_meta(sequence, options)))
    return out
