"""std_msgs/String bags for the reading tests: written with rosbags, then cut short as by a recorder that died."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

from mm_tracker_model.bags.read import MessageStream, RawMessage, iter_raw
from mm_tracker_model.bags.typestore import bag_typestore


@dataclass(frozen=True)
class StringBags:
    t0: int = 1_700_000_000_000_000_000
    msgtype: str = "std_msgs/msg/String"

    def write(self, path: Path, n: int = 40, size: int = 3000, storage=StoragePlugin.MCAP, zstd=False) -> list:
        """/note (hex strings of 2 x `size` chars) and a short /count after every 4th; (topic, t, data) as written."""
        store = bag_typestore()
        rng = np.random.default_rng(0)
        writer = Writer(path, version=9, storage_plugin=storage)
        if zstd:
            writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        written = []
        with writer:
            note = writer.add_connection("/note", self.msgtype, typestore=store)
            count = writer.add_connection("/count", self.msgtype, typestore=store)
            for i in range(n):
                t = self.t0 + i * 10
                for connection, stamp, text in [(note, t, rng.bytes(size).hex()), (count, t + 1, str(i))]:
                    if connection is note or i % 4 == 0:
                        data = self.serialise(text)
                        writer.write(connection, stamp, data)
                        written.append((connection.topic, stamp, data))
        return written

    def serialise(self, text: str) -> bytes:
        store = bag_typestore()
        return bytes(store.serialize_cdr(store.types[self.msgtype](data=text), self.msgtype))

    def cut(self, bag: Path, fraction: float) -> None:
        """Truncates the bag's one MCAP file to `fraction` of its size."""
        (mcap,) = Path(bag).glob("*.mcap")
        os.truncate(mcap, int(mcap.stat().st_size * fraction))

    def read_raw(self, path: Path, topics=None) -> tuple[list[tuple[str, int, bytes]], MessageStream[RawMessage]]:
        """(topic, t, data) of the messages read, and the spent stream (its count, damage, topics)."""
        messages = iter_raw(path, topics)
        return [(m.topic, m.log_time, m.data) for m in messages], messages


@pytest.fixture
def string_bags() -> StringBags:
    return StringBags()
