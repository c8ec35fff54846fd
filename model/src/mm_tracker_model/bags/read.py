"""Read a rosbag2: stream its messages (raw, or deserialised for evaluation), collect the ground truth.

A bag without the expected topics is refused with the list of topics it has; a corrupt or truncated bag
stops at the first unreadable message, which is reported, and everything before it is kept. An MCAP file that
rosbags cannot open (no summary at its end: the recording was cut short) is read record by record, in file order.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
from mcap.data_stream import ReadDataStream
from mcap.exceptions import EndOfFile, UnsupportedCompressionError
from mcap.opcode import Opcode
from mcap.records import Channel, Chunk, DataEnd, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.writer import MCAP0_MAGIC
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
    indexed: bool = True  # False: MCAP read record by record; `topics` fills in as its channels are met


class RawMessage(NamedTuple):
    topic: str
    msgtype: str
    log_time: int  # ns
    data: bytes  # serialised (CDR) as stored


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
    try:
        reader = AnyReader([path], default_typestore=bag_typestore())
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
    except BagError as exc:
        files = _mcap_files(path)
        if not files:
            raise
        for file in files:
            with open(file, "rb") as handle:
                if handle.read(len(MCAP0_MAGIC)) != MCAP0_MAGIC:
                    raise BagError(f"cannot open bag {str(path)!r}: {file.name} is not an MCAP file") from exc
        scan.indexed = False
        return scan  # topics are known only while reading an unindexed file
    try:
        scan.topics = {c.topic: c.msgtype for c in reader.connections}
    finally:
        reader.close()
    require_topics(scan.topics, required, path)
    return scan


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _mcap_files(path: Path) -> list[Path]:
    """The MCAP files of a bag directory in split order (bag_2 before bag_10), or the MCAP file given."""
    path = Path(path)
    if path.is_dir():
        return sorted(path.glob("*.mcap"), key=_natural_key)
    return [path] if path.suffix == ".mcap" and path.is_file() else []


def iter_raw(path: Path, topics: Iterable[str] | None, scan: BagScan) -> Iterator[RawMessage]:
    """The serialised messages of `topics` (None: all) in log-time order (file order for an MCAP without its index).

    A bad message ends it: `scan.error` names its index among those yielded and its topic where known.
    """
    with _reading(path, topics, scan) as (messages, _):
        yield from messages


def iter_messages(path: Path, topics: Iterable[str] | None, scan: BagScan) -> Iterator[tuple[str, int, Any]]:
    """(topic, log time ns, message) as `iter_raw`, deserialised; a message that does not deserialise ends it too."""
    with _reading(path, topics, scan) as (messages, deserialize):
        for index, raw in enumerate(messages):
            try:
                msg = deserialize(raw.data, raw.msgtype)
            except Exception as exc:  # the type store's errors for bytes that do not fit the type
                scan.messages -= 1
                scan.error = _describe(index, raw.topic, f"{type(exc).__name__}: {exc}")
                return
            yield raw.topic, raw.log_time, msg


def stream(path: Path, handlers: Handlers, required: Iterable[str] = ()) -> BagScan:
    """Call `handlers[topic](log_time_ns, msg)` for each handled message in log-time order."""
    scan = open_scan(path, required)
    for topic, log_time, msg in iter_messages(path, handlers, scan):
        handlers[topic](log_time, msg)
    require_topics(scan.topics, required, path)
    return scan


def _describe(index: int, topic: str | None, reason: str) -> str:
    return f"message #{index} (topic {topic or 'unknown'}): {reason}"


@contextmanager
def _reading(
    path: Path, topics: Iterable[str] | None, scan: BagScan
) -> Iterator[tuple[Iterator[RawMessage], Callable[[bytes, str], Any]]]:
    """The bag's raw messages, counted in `scan` up to the first bad one, and the deserialiser that fits them."""
    wanted = None if topics is None else set(topics)
    files, reader = [], None
    try:
        reader = _open(path)
    except BagError:
        files = _mcap_files(path)
        if not files:
            raise
    if reader is None:
        scan.indexed = False
        yield _counted(_iter_unindexed(files, wanted, scan), scan), bag_typestore().deserialize_cdr
        return
    try:
        yield _counted(_iter_indexed(reader, wanted), scan), reader.deserialize
    finally:
        reader.close()


def _counted(messages: Iterator[RawMessage], scan: BagScan) -> Iterator[RawMessage]:
    index = 0
    while True:
        try:
            message = next(messages)
        except StopIteration:
            return
        except _Damage as exc:
            scan.error = _describe(index, exc.topic, exc.reason)
            return
        except Exception as exc:  # rosbags and sqlite3 raise various types for damaged storage
            scan.error = _describe(index, None, f"{type(exc).__name__}: {exc}")
            return
        scan.messages += 1
        index += 1
        yield message


def _iter_indexed(reader: AnyReader, topics: set[str] | None) -> Iterator[RawMessage]:
    connections = [c for c in reader.connections if topics is None or c.topic in topics]
    if connections:  # AnyReader reads every connection when given none
        for connection, log_time, data in reader.messages(connections=connections):
            yield RawMessage(connection.topic, connection.msgtype, log_time, bytes(data))


# ---- MCAP without its index (the recorder died): the `mcap` package's stream reader, and what a cut leaves ----------


class _Damage(Exception):
    """Reading stopped here; `channel_id`: of the message record that was cut, where that is known."""

    def __init__(self, reason: str, channel_id: int | None = None, chunk: Chunk | None = None) -> None:
        super().__init__(reason)
        self.reason, self.channel_id, self.chunk = reason, channel_id, chunk
        self.topic: str | None = None


DECOMPRESSORS = {"zstd": "zstandard", "lz4": "lz4"}  # chunk compression -> the Python package the mcap reader uses


def _iter_unindexed(files: list[Path], topics: set[str] | None, scan: BagScan) -> Iterator[RawMessage]:
    for file in files:
        schemas: dict[int, str] = {}
        channels: dict[int, tuple[str, str]] = {}  # id -> topic, msgtype (ids are per file)
        with open(file, "rb") as handle:
            try:
                for record in _data_records(handle):
                    if isinstance(record, Schema):
                        schemas[record.id] = record.name
                    elif isinstance(record, Channel):
                        channels[record.id] = (record.topic, schemas.get(record.schema_id, "?"))
                        scan.topics.setdefault(record.topic, channels[record.id][1])
                    elif isinstance(record, Message):
                        if record.channel_id not in channels:
                            raise _Damage(f"message on undeclared channel {record.channel_id}")
                        topic, msgtype = channels[record.channel_id]
                        if topics is None or topic in topics:
                            yield RawMessage(topic, msgtype, record.log_time, record.data)
            except _Damage as damage:
                damage.topic = channels.get(damage.channel_id, (None,))[0]
                damage.reason = f"{file.name}: {damage.reason}"
                raise


def _data_records(handle: IO[bytes]) -> Iterator[Any]:
    """Schemas, channels and messages of an MCAP file's data section, chunks opened; _Damage where it breaks.

    The complete messages of an uncompressed chunk cut short come before the damage is raised.
    """
    try:
        for record in _whole_records(handle):
            if isinstance(record, DataEnd):
                return
            yield from _chunk_records(record) if isinstance(record, Chunk) else (record,)
    except _Damage as damage:
        if damage.chunk is None:
            raise
        if damage.chunk.compression:
            raise _Damage(f"truncated {damage.chunk.compression} chunk") from None
        try:
            yield from _whole_records(BytesIO(damage.chunk.data), skip_magic=True)
        except _Damage as cut:  # always: a chunk's records end without a footer
            raise _Damage("truncated chunk", cut.channel_id) from None


def _chunk_records(chunk: Chunk) -> list:
    if chunk.compression and chunk.compression not in DECOMPRESSORS:
        raise _Damage(f"chunk compression {chunk.compression!r} is not supported")
    try:
        return breakup_chunk(chunk, validate_crc=True)
    except UnsupportedCompressionError:
        package = DECOMPRESSORS[chunk.compression]
        raise _Damage(
            f"cannot decompress a {chunk.compression} chunk: the Python package {package!r} is missing"
        ) from None
    except Exception as exc:  # the decoders' errors, a CRC mismatch, a malformed record
        raise _Damage(f"bad {chunk.compression or 'uncompressed'} chunk: {type(exc).__name__}: {exc}") from None


def _whole_records(handle: IO[bytes], *, skip_magic: bool = False) -> Iterator[Any]:
    """The complete records of an MCAP stream, chunks unopened; _Damage at the first one cut short or malformed.

    The damage carries what could be read of a cut record: a message's channel id, a chunk's header and partial data.
    """
    records = StreamReader(handle, skip_magic=skip_magic, emit_chunks=True).records
    while True:
        start = handle.tell()
        try:
            record = next(records)
        except StopIteration:
            return
        except (EndOfFile, struct.error):  # the stream stops inside this record, or before it
            handle.seek(start)
            cut = ReadDataStream(BytesIO(handle.read()))
            damage = _Damage("truncated between records")
            try:
                opcode = cut.read1()
                damage.reason = f"truncated {_record_name(opcode)} record"
                cut.read8()
                if opcode == Opcode.MESSAGE:
                    damage.channel_id = cut.read2()
                elif opcode == Opcode.CHUNK:
                    damage.chunk = Chunk.read(cut)  # the data that is there
            except (EndOfFile, struct.error, UnicodeDecodeError):
                pass
            raise damage from None
        except Exception as exc:  # the mcap package's errors: bad magic, a record over its size limit, bad UTF-8
            raise _Damage(f"{type(exc).__name__}: {exc}") from None
        yield record


def _record_name(opcode: int) -> str:
    try:
        return Opcode(opcode).name.lower().replace("_", " ")
    except ValueError:
        return f"0x{opcode:02x}"
