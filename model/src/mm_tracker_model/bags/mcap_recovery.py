"""The recovery back-end of bags.read: MCAP files cut before their summary (the recorder died), read record by record.

rosbags needs the summary at the end of an MCAP file. Without it the `mcap` package's stream reader walks the data
section in file order: the complete messages come out, then McapDamage says where and why the data stops (a record
cut short, a chunk that does not decompress) and, where that is known, the topic of the message that was cut.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from mcap.data_stream import ReadDataStream
from mcap.exceptions import EndOfFile, UnsupportedCompressionError
from mcap.opcode import Opcode
from mcap.records import Channel, Chunk, DataEnd, Message, Schema
from mcap.stream_reader import StreamReader, breakup_chunk
from mcap.writer import MCAP0_MAGIC

from mm_tracker_model.bags.msgtypes import RawMessage
from mm_tracker_model.bags.paths import mcap_files
from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.errors import BagError

DECOMPRESSORS = {"zstd": "zstandard", "lz4": "lz4"}  # chunk compression -> the Python package the mcap reader uses


class McapDamage(Exception):
    """Reading stopped: `reason` (the file and what is wrong there), `topic` of the message cut where known."""

    def __init__(self, reason: str, topic: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.topic = reason, topic


class McapRecovery:
    """The messages of a bag's MCAP files without their index, file by file in record order.

    `topics` (topic -> msgtype) fills in as the files' channels are met. A bags.read back-end.
    """

    indexed = False

    def __init__(self, files: list[Path]) -> None:
        self.files = files
        self.topics: dict[str, str] = {}

    @classmethod
    def of(cls, path: Path) -> McapRecovery | None:
        """The back-end of the bag's MCAP files; None when it has none, BagError when one is not an MCAP file."""
        files = mcap_files(path)
        for file in files:
            with open(file, "rb") as handle:
                if handle.read(len(MCAP0_MAGIC)) != MCAP0_MAGIC:
                    raise BagError(f"cannot open bag {str(path)!r}: {file.name} is not an MCAP file")
        return cls(files) if files else None

    def messages(self, topics: set[str] | None) -> Iterator[RawMessage]:
        """The messages of `topics` (None: all); McapDamage where the data stops being readable."""
        for file in self.files:
            schemas: dict[int, str] = {}
            channels: dict[int, tuple[str, str]] = {}  # id -> topic, msgtype (ids are per file)
            with open(file, "rb") as handle:
                try:
                    for record in _data_records(handle):
                        if isinstance(record, Schema):
                            schemas[record.id] = record.name
                        elif isinstance(record, Channel):
                            channels[record.id] = (record.topic, schemas.get(record.schema_id, "?"))
                            self.topics.setdefault(record.topic, channels[record.id][1])
                        elif isinstance(record, Message):
                            if record.channel_id not in channels:
                                raise _Damage(f"message on undeclared channel {record.channel_id}")
                            topic, msgtype = channels[record.channel_id]
                            if topics is None or topic in topics:
                                yield RawMessage(topic, msgtype, record.log_time, record.data)
                except _Damage as damage:
                    topic = channels.get(damage.channel_id, (None,))[0]
                    raise McapDamage(f"{file.name}: {damage.reason}", topic) from None

    def deserialize(self, data: bytes, msgtype: str) -> Any:
        return bag_typestore().deserialize_cdr(data, msgtype)

    def close(self) -> None:
        """Nothing to close: a file is open only while it is read."""


class _Damage(Exception):
    """Reading stopped here; `channel_id`: of the message record that was cut, where that is known."""

    def __init__(self, reason: str, channel_id: int | None = None, chunk: Chunk | None = None) -> None:
        super().__init__(reason)
        self.reason, self.channel_id, self.chunk = reason, channel_id, chunk


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
