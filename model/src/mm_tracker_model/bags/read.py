"""Read a rosbag2 for evaluation: stream the camera messages, collect the ground truth and the tracker's outputs.

A bag without the expected topics is refused with the list of topics it has; a corrupt or truncated bag
stops at the first unreadable message, which is reported, and everything before it is kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rosbags.highlevel import AnyReader

from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.errors import MMTrackerError


class BagError(MMTrackerError):
    """A bag that cannot be opened or lacks the topics asked for; the message lists what it has."""


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


@dataclass
class BagScan:
    meta: dict
    topics: dict[str, str]  # topic -> msgtype
    messages: int = 0
    error: str | None = None  # the first unreadable message, when the bag is corrupt or truncated


@dataclass
class GroundTruth:
    """Per RGB stamp: box, X box, true homography (from the ground-truth topics)."""

    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    boxes_x: dict[int, np.ndarray] = field(default_factory=dict)
    homographies: dict[int, np.ndarray] = field(default_factory=dict)

    def add_target(self, msg: Any) -> None:
        stamp, box = stamp_ns(msg.header), box_array(msg.box)
        self.boxes[stamp] = box if msg.state != 0 else np.full(4, np.nan)
        if msg.has_box_x:
            self.boxes_x[stamp] = box_array(msg.box_x)

    def add_alignment(self, msg: Any) -> None:
        self.homographies[stamp_ns(msg.header)] = np.array(msg.homography, dtype=np.float64).reshape(3, 3)


def box_array(box: Any) -> np.ndarray:
    return np.array([box.x, box.y, box.width, box.height], dtype=np.float64)


def _open(path: Path) -> AnyReader:
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {str(path)!r} does not exist")
    reader = AnyReader([path], default_typestore=bag_typestore())
    try:
        reader.open()
    except Exception as exc:  # rosbags raises several unrelated types for unreadable files
        raise BagError(f"cannot open bag {str(path)!r}: {exc}") from exc
    return reader


def _meta(path: Path) -> dict:
    metadata = Path(path) / "metadata.yaml"
    if metadata.is_file():
        import yaml

        info = yaml.safe_load(metadata.read_text()).get("rosbag2_bagfile_information", {})
        custom = (info.get("custom_data") or {}).get("mm_tracker")
        if custom:
            return json.loads(custom)
    return {}


def bag_topics(path: Path) -> dict[str, str]:
    reader = _open(path)
    try:
        return {c.topic: c.msgtype for c in reader.connections}
    finally:
        reader.close()


def require_topics(available: dict[str, str], wanted: Iterable[str], path: Path) -> None:
    missing = [t for t in wanted if t not in available]
    if missing:
        have = ", ".join(f"{t} ({m})" for t, m in sorted(available.items())) or "none"
        raise BagError(f"bag {str(path)!r} lacks {', '.join(missing)}; it has: {have}")


Handlers = dict[str, Callable[[int, Any], None]]


def open_scan(path: Path, required: Iterable[str] = ()) -> BagScan:
    """Check a bag opens (or is a recoverable MCAP) and has the required topics."""
    scan = BagScan(meta=_meta(path), topics={})
    try:
        reader = _open(path)
    except BagError:
        if not _mcap_files(path):
            raise
        return scan  # topics are known only while reading an unindexed file
    try:
        scan.topics = {c.topic: c.msgtype for c in reader.connections}
    finally:
        reader.close()
    require_topics(scan.topics, required, path)
    return scan


def _mcap_files(path: Path) -> list[Path]:
    return sorted(Path(path).glob("*.mcap")) if Path(path).is_dir() else []


def iter_messages(path: Path, topics: Iterable[str], scan: BagScan) -> Iterator[tuple[str, int, Any]]:
    """(topic, log time ns, message) in log-time order for `topics`; a bad message ends it, noted in `scan`.

    An MCAP file without its footer (a recording cut short) cannot be indexed; it is read record by record.
    """
    topics = set(topics)
    try:
        reader = _open(path)
    except BagError:
        yield from _iter_unindexed(_mcap_files(path), topics, scan)
        return
    try:
        connections = [c for c in reader.connections if c.topic in topics]
        iterator = reader.messages(connections=connections)
        topic = "?"
        while True:
            try:
                connection, log_time, raw = next(iterator)
                topic = connection.topic
                msg = reader.deserialize(raw, connection.msgtype)
            except StopIteration:
                return
            except Exception as exc:  # a truncated chunk or a bad record: keep what was read
                scan.error = f"message {scan.messages} (after {topic}): {type(exc).__name__}: {exc}"
                return
            scan.messages += 1
            yield topic, log_time, msg
    finally:
        reader.close()


def stream(path: Path, handlers: Handlers, required: Iterable[str] = ()) -> BagScan:
    """Call `handlers[topic](log_time_ns, msg)` for each handled message in log-time order."""
    scan = open_scan(path, required)
    for topic, log_time, msg in iter_messages(path, handlers, scan):
        handlers[topic](log_time, msg)
    require_topics(scan.topics, required, path)
    return scan


def _iter_unindexed(files: list[Path], topics: set[str], scan: BagScan) -> Iterator[tuple[str, int, Any]]:
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    store = bag_typestore()
    schemas: dict[int, str] = {}
    channels: dict[int, str] = {}
    topic = "?"
    for file in files:
        with open(file, "rb") as handle:
            try:
                for record in StreamReader(handle, emit_chunks=False).records:
                    if isinstance(record, Schema):
                        schemas[record.id] = record.name
                    elif isinstance(record, Channel):
                        channels[record.id] = record.topic
                        scan.topics[record.topic] = schemas.get(record.schema_id, "?")
                    elif isinstance(record, Message) and channels.get(record.channel_id) in topics:
                        topic = channels[record.channel_id]
                        msg = store.deserialize_cdr(record.data, scan.topics[topic])
                        scan.messages += 1
                        yield topic, record.log_time, msg
            except Exception as exc:  # the cut-off end of the file
                scan.error = f"message {scan.messages} (after {topic}) in {file.name}: {type(exc).__name__} {exc}"
