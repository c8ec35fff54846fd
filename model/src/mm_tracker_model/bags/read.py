"""Read a rosbag2: open it (its mm_tracker metadata, its topics), and stream its messages, raw or deserialised.

A bag without the expected topics is refused with the list of topics it has. A corrupt or truncated bag is read up
to its first unreadable message: a MessageStream yields everything before it, then ends with `damage` set. An MCAP
file that rosbags cannot open (no summary at its end: the recording was cut short) is read by the recovery back-end
(bags.mcap_recovery), record by record in file order.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from rosbags.highlevel import AnyReader

from mm_tracker_model.bags.mcap_recovery import McapDamage, McapRecovery
from mm_tracker_model.bags.msgtypes import RawMessage
from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.errors import BagDamagedError, BagError

T = TypeVar("T")


def stamp_ns(header: Any) -> int:
    return int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)


class BagBackend(Protocol):
    """What reads a bag's storage: the index through rosbags, or the MCAP recovery back-end."""

    indexed: bool
    topics: dict[str, str]  # topic -> msgtype; without an index, those met so far

    def messages(self, topics: set[str] | None) -> Iterator[RawMessage]:
        """Messages of `topics` (None: all); raises where the storage stops being readable."""
        ...

    def deserialize(self, data: bytes, msgtype: str) -> Any: ...

    def close(self) -> None: ...


class _Indexed:
    """A bag rosbags opens (SQLite3, or MCAP with its summary): messages in log-time order."""

    indexed = True

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise BagError(f"bag {str(path)!r} does not exist")
        try:
            reader = AnyReader([path], default_typestore=bag_typestore())
            reader.open()
        except Exception as exc:  # rosbags raises several unrelated types for unreadable files
            raise BagError(f"cannot open bag {str(path)!r}: {exc}") from exc
        self._reader: AnyReader | None = reader
        self.topics = {c.topic: c.msgtype for c in reader.connections}

    def messages(self, topics: set[str] | None) -> Iterator[RawMessage]:
        connections = [c for c in self._reader.connections if topics is None or c.topic in topics]
        if connections:  # AnyReader reads every connection when given none
            for connection, log_time, data in self._reader.messages(connections=connections):
                yield RawMessage(connection.topic, connection.msgtype, log_time, bytes(data))

    def deserialize(self, data: bytes, msgtype: str) -> Any:
        return self._reader.deserialize(data, msgtype)

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()


def _open_backend(path: Path) -> BagBackend:
    path = Path(path)
    try:
        return _Indexed(path)
    except BagError:
        recovery = McapRecovery.of(path)
        if recovery is None:
            raise
        return recovery


@dataclass(frozen=True)
class BagInfo:
    path: Path
    meta: dict  # the mm_tracker custom data of metadata.yaml; {} without it
    topics: dict[str, str]  # topic -> msgtype; {} without an index (see read_topics)
    indexed: bool  # False: an MCAP bag without its summary, for the recovery back-end


def open_bag(path: Path, required: Iterable[str] = ()) -> BagInfo:
    """Check a bag opens (or is an MCAP bag to recover) and has the `required` topics; BagError if not."""
    backend = _open_backend(path)
    topics = dict(backend.topics)
    backend.close()
    if backend.indexed:  # without an index the topics are known only while reading
        _require_topics(topics, required, path)
    return BagInfo(Path(path), _meta(path), topics, backend.indexed)


def _meta(path: Path) -> dict:
    metadata = Path(path) / "metadata.yaml"
    if metadata.is_file():
        import yaml

        info = yaml.safe_load(metadata.read_text()).get("rosbag2_bagfile_information", {})
        custom = (info.get("custom_data") or {}).get("mm_tracker")
        if custom:
            return json.loads(custom)
    return {}


def _require_topics(available: dict[str, str], wanted: Iterable[str], path: Path) -> None:
    missing = [t for t in wanted if t not in available]
    if missing:
        have = ", ".join(f"{t} ({m})" for t, m in sorted(available.items())) or "none"
        raise BagError(f"bag {str(path)!r} lacks {', '.join(missing)}; it has: {have}")


class MessageStream(Generic[T]):
    """One pass over a bag's messages, in log-time order (file order for an MCAP without its index).

    The bag is opened on creation (BagError when it cannot be read at all). Iteration ends early at the first message
    that cannot be read or deserialised: what came before it is yielded, then `damage` says how many messages that
    was and why (a BagDamagedError; None while the bag reads). Callers that use the readable part check it after the
    loop. `count`: the messages yielded; `topics`: the bag's (topic -> msgtype), for an MCAP without its index
    (`indexed` False) those met so far. A `with` block closes the bag when the loop ends early.
    """

    def __init__(self, path: Path, topics: Iterable[str] | None, convert: Callable[[BagBackend, RawMessage], T]):
        self._backend = _open_backend(path)
        self._convert = convert
        self.indexed, self.topics = self._backend.indexed, self._backend.topics
        self.count = 0
        self.damage: BagDamagedError | None = None
        self._items = self._read(None if topics is None else set(topics))

    def __iter__(self) -> MessageStream[T]:
        return self

    def __next__(self) -> T:
        return next(self._items)

    def __enter__(self) -> MessageStream[T]:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        self._items.close()
        self._backend.close()

    def _read(self, topics: set[str] | None) -> Iterator[T]:
        messages = self._backend.messages(topics)
        try:
            while True:
                try:
                    raw = next(messages)
                except StopIteration:
                    return
                except McapDamage as exc:
                    self.damage = BagDamagedError(self.count, exc.topic, exc.reason)
                    return
                except Exception as exc:  # rosbags and sqlite3 raise various types for damaged storage
                    self.damage = BagDamagedError(self.count, None, f"{type(exc).__name__}: {exc}")
                    return
                try:
                    item = self._convert(self._backend, raw)
                except Exception as exc:  # the type store's errors for bytes that do not fit the type
                    self.damage = BagDamagedError(self.count, raw.topic, f"{type(exc).__name__}: {exc}")
                    return
                self.count += 1
                yield item
        finally:
            self._backend.close()


def _raw(_: BagBackend, raw: RawMessage) -> RawMessage:
    return raw


def _deserialised(backend: BagBackend, raw: RawMessage) -> tuple[str, int, Any]:
    return raw.topic, raw.log_time, backend.deserialize(raw.data, raw.msgtype)


def iter_raw(path: Path, topics: Iterable[str] | None = None) -> MessageStream[RawMessage]:
    """The serialised messages of `topics` (None: all), as stored."""
    return MessageStream(path, topics, _raw)


def iter_messages(path: Path, topics: Iterable[str] | None = None) -> MessageStream[tuple[str, int, Any]]:
    """(topic, log time ns, message) of `topics` (None: all); a message that does not deserialise is damage too."""
    return MessageStream(path, topics, _deserialised)


def read_topics(path: Path, until: Iterable[str] | None = None) -> dict[str, str]:
    """A bag's topics (-> msgtype): from its index, or, without one, read until each of `until` has been met (None:
    to the end). Damage ends the search quietly: the pass that plays or scores the bag reports it."""
    wanted = None if until is None else set(until)
    with iter_raw(path) as messages:
        while not messages.indexed and (wanted is None or not wanted <= messages.topics.keys()):
            if next(messages, None) is None:
                break
        return dict(messages.topics)
