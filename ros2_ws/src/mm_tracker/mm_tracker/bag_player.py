"""bag_player: replays a rosbag2 (MCAP or SQLite3) over rclpy as raw CDR, with /clock, for installs without `ros2 bag`.

Messages go out in log-time order at start + (t_k - t_0) / rate on the monotonic wall clock; /clock carries the bag
time of each message just before it and advances at --clock-hz in between. Exit codes: 0 done, 1 the bag is corrupt
from some message on (the earlier ones were published), 2 bad arguments or not a bag, 3 no subscribers in time.
"""

from __future__ import annotations

import argparse
import importlib
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

EXIT_OK, EXIT_CORRUPT, EXIT_USAGE, EXIT_NO_SUBSCRIBERS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
CLOCK_TOPIC = "/clock"
# Types whose messages are large: a shallow history keeps DDS memory bounded. Everything else gets depth 100.
LARGE_TYPES = frozenset(
    {
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/PointCloud2",
        "sensor_msgs/msg/PointCloud",
        "stereo_msgs/msg/DisparityImage",
        "mm_tracker_msgs/msg/TrackedTarget",  # can carry a debug crop
    }
)
LARGE_DEPTH, SMALL_DEPTH = 10, 100
MSGTYPE_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/(msg|srv|action)/([A-Za-z][A-Za-z0-9_]*)$")


class BagInputError(Exception):
    """The path is missing or is not a rosbag2 bag (exit 2)."""


class CorruptBag(Exception):
    """Reading stopped at message `index` (0-based, of the played stream) of `topic` (None when unknown)."""

    def __init__(self, index: int, topic: str | None, reason: str) -> None:
        super().__init__(index, topic, reason)
        self.index, self.topic, self.reason = index, topic, reason

    def __str__(self) -> str:
        return f"bag unreadable from message #{self.index} (topic {self.topic or 'unknown'}): {self.reason}"


# ---- pure pieces --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerOptions:
    bag: Path
    rate: float = 1.0
    loop: bool = False
    clock_hz: float = 100.0
    topics: tuple[str, ...] = ()
    wait_for_subscribers: tuple[str, ...] = ()
    wait_timeout: float = 60.0
    start_paused_s: float = 0.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bag_player", description="Replay a rosbag2 bag as raw CDR with /clock.")
    parser.add_argument("bag", type=Path, help="bag directory, or a .mcap / .db3 file")
    parser.add_argument("--rate", type=float, default=1.0, help="playback speed factor (> 0)")
    parser.add_argument("--loop", action="store_true", help="replay forever (the clock jumps back each pass)")
    parser.add_argument("--clock-hz", type=float, default=100.0, help="/clock rate between messages; 0: no /clock")
    parser.add_argument("--topics", nargs="+", default=[], metavar="T", help="play only these topics")
    parser.add_argument(
        "--wait-for-subscribers", nargs="+", default=[], metavar="TOPIC", help="start once each has a subscriber"
    )
    parser.add_argument("--wait-timeout", type=float, default=60.0, metavar="S", help="for --wait-for-subscribers")
    parser.add_argument(
        "--start-paused-s", type=float, default=0.0, metavar="S", help="hold (publishing /clock at t0) before playing"
    )
    return parser


def validate(args: argparse.Namespace) -> PlayerOptions:
    """Checks the ranges argparse cannot; raises ValueError with the message to show."""
    if not args.rate > 0:  # also rejects nan
        raise ValueError(f"--rate must be > 0 (got {args.rate})")
    if not args.clock_hz >= 0:
        raise ValueError(f"--clock-hz must be >= 0 (got {args.clock_hz})")
    if not args.wait_timeout >= 0:
        raise ValueError(f"--wait-timeout must be >= 0 (got {args.wait_timeout})")
    if not args.start_paused_s >= 0:
        raise ValueError(f"--start-paused-s must be >= 0 (got {args.start_paused_s})")
    return PlayerOptions(
        bag=args.bag,
        rate=args.rate,
        loop=args.loop,
        clock_hz=args.clock_hz,
        topics=tuple(absolute_topic(t) for t in args.topics),
        wait_for_subscribers=tuple(absolute_topic(t) for t in args.wait_for_subscribers),
        wait_timeout=args.wait_timeout,
        start_paused_s=args.start_paused_s,
    )


def parse_args(argv: Sequence[str]) -> PlayerOptions:
    """argv without the program name and without ROS arguments; exits 2 on bad input."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    try:
        return validate(args)
    except ValueError as exc:
        parser.error(str(exc))  # exits 2


def absolute_topic(topic: str) -> str:
    # Bags store fully qualified names; the player's node lives in "/", so "a/b" means "/a/b".
    return topic if topic.startswith("/") else "/" + topic


def msgtype_to_import(msgtype: str) -> tuple[str, str]:
    """Module and class name of a type: pkg/msg/Name -> ("pkg.msg", "Name"); ValueError for anything else."""
    match = MSGTYPE_PATTERN.match(msgtype)
    if not match:
        raise ValueError(f"not a ROS 2 message type name: {msgtype!r}")
    package, kind, name = match.groups()
    return f"{package}.{kind}", name


def import_msg_class(msgtype: str) -> type:
    """The rclpy message class of `msgtype`; ImportError / AttributeError / ValueError when unavailable."""
    module, name = msgtype_to_import(msgtype)
    return getattr(importlib.import_module(module), name)


def history_depth(msgtype: str) -> int:
    return LARGE_DEPTH if msgtype in LARGE_TYPES else SMALL_DEPTH


def select_topics(
    bag_topics: dict[str, str], requested: Sequence[str], *, with_clock: bool
) -> tuple[dict[str, str], list[str]]:
    """The topics to play (topic -> msgtype) and warnings about the choice."""
    warnings = []
    chosen = dict(bag_topics)
    if requested:
        missing = [t for t in requested if t not in bag_topics]
        if missing:
            warnings.append(f"not in the bag: {', '.join(missing)}")
        chosen = {t: bag_topics[t] for t in requested if t in bag_topics}
    if with_clock and CLOCK_TOPIC in chosen:
        # Two /clock sources would fight; the player's own clock carries the same bag times.
        del chosen[CLOCK_TOPIC]
        warnings.append("the bag's own /clock is not replayed (the player publishes /clock; --clock-hz 0 replays it)")
    return chosen, warnings


def wall_offset_s(t_ns: int, t0_ns: int, rate: float) -> float:
    """Wall seconds after the pass start at which a message logged at t_ns is due."""
    return (t_ns - t0_ns) / 1e9 / rate


def schedule(times_ns: Sequence[int], rate: float) -> list[float]:
    """Wall offsets (s) of a whole pass, relative to its first message."""
    return [wall_offset_s(t, times_ns[0], rate) for t in times_ns] if times_ns else []


def clock_between(last_bag_ns: int, last_wall_s: float, now_s: float, rate: float, next_bag_ns: int) -> int:
    """Sim time between messages: advances with wall time x rate from the last message, never past the next one."""
    return min(last_bag_ns + round((now_s - last_wall_s) * rate * 1e9), next_bag_ns)


class PassResult(NamedTuple):
    wall_s: float  # from the first message to the last
    error: CorruptBag | None  # where reading stopped early


def play_pass(
    messages: Iterable[tuple[str, int, bytes]],
    publish: Callable[[str, bytes], None],
    publish_clock: Callable[[int], None] | None,
    *,
    rate: float,
    clock_hz: float,
    counts: Counter,
    pause_s: float = 0.0,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> PassResult:
    """Publishes one pass on schedule, up to the end of the bag or the first unreadable message."""
    period = 1.0 / clock_hz if publish_clock is not None and clock_hz > 0 else None
    last_clock: int | None = None
    error: CorruptBag | None = None

    def tick(value: int) -> None:
        nonlocal last_clock
        last_clock = value if last_clock is None else max(value, last_clock)  # never backwards within a pass
        publish_clock(last_clock)

    start = t0 = last_bag = last_wall = None
    stream = iter(messages)
    while True:
        try:
            topic, t, data = next(stream)
        except StopIteration:
            break
        except CorruptBag as exc:
            error = exc
            break
        if t0 is None:
            t0 = t
            hold_until = now() + pause_s
            while (remaining := hold_until - now()) > 0:
                if period is not None:
                    tick(t0)
                sleep(min(remaining, period) if period is not None else remaining)
            start = now()
        due = start + wall_offset_s(t, t0, rate)
        while (remaining := due - now()) > 0:
            sleep(min(remaining, period) if period is not None else remaining)
            if period is not None and last_bag is not None and (current := now()) < due:
                tick(clock_between(last_bag, last_wall, current, rate, t))
        if period is not None:
            tick(t)
        publish(topic, data)
        counts[topic] += 1
        last_bag, last_wall = t, now()
    return PassResult(0.0 if start is None else now() - start, error)


def format_summary(counts: Counter, wall_s: float, passes: int, skipped: Sequence[str] = ()) -> str:
    per_topic = ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items())) or "none"
    line = (
        f"bag_player: published {sum(counts.values())} messages in {wall_s:.2f} s of playback "
        f"({passes} pass{'es' if passes != 1 else ''}): {per_topic}"
    )
    return line + (f"; skipped topics: {', '.join(skipped)}" if skipped else "")


# ---- sequential MCAP scan (rosbags needs the summary at the end of the file, which a truncated file lacks) --------

MCAP_MAGIC = b"\x89MCAP0\r\n"
OP_FOOTER, OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK, OP_DATA_END = 0x02, 0x03, 0x04, 0x05, 0x06, 0x0F


class McapChannel(NamedTuple):
    id: int
    topic: str
    msgtype: str


class McapMessage(NamedTuple):
    channel_id: int
    log_time: int
    data: bytes


class McapScanError(Exception):
    def __init__(self, reason: str, channel_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.channel_id = reason, channel_id


def _u16(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 2], "little")


def _u64(buf: bytes, pos: int) -> int:
    return int.from_bytes(buf[pos : pos + 8], "little")


def _string(buf: bytes, pos: int) -> tuple[str, int]:
    size = int.from_bytes(buf[pos : pos + 4], "little")
    return bytes(buf[pos + 4 : pos + 4 + size]).decode(), pos + 4 + size


def _record(op: int, body: bytes, schemas: dict[int, str]) -> McapChannel | McapMessage | None:
    try:
        if op == OP_SCHEMA:
            schemas[_u16(body, 0)], _ = _string(body, 2)
        elif op == OP_CHANNEL:
            topic, _ = _string(body, 4)
            return McapChannel(_u16(body, 0), topic, schemas.get(_u16(body, 2), ""))
        elif op == OP_MESSAGE:
            if len(body) < 22:
                raise McapScanError(f"message record of {len(body)} bytes")
            return McapMessage(_u16(body, 0), _u64(body, 6), bytes(body[22:]))
    except (UnicodeDecodeError, IndexError) as exc:
        raise McapScanError(f"malformed record 0x{op:02x}: {exc}") from None
    return None


def _records(buf: bytes) -> Iterator[tuple[int, bytes]]:
    """(op, body) of the complete records in buf; McapScanError at an incomplete one."""
    view, pos = memoryview(buf), 0
    while pos < len(view):
        if pos + 9 > len(view):
            raise McapScanError(f"truncated record header ({len(view) - pos} of 9 bytes)")
        op, size = view[pos], _u64(view, pos + 1)
        body = view[pos + 9 : pos + 9 + size]
        if len(body) < size:
            channel = _u16(body, 0) if op == OP_MESSAGE and len(body) >= 2 else None
            raise McapScanError(f"truncated record 0x{op:02x} ({len(body)} of {size} bytes)", channel)
        yield op, body
        pos += 9 + size


def _chunk_items(body: bytes, truncated: bool, schemas: dict[int, str]) -> Iterator[McapChannel | McapMessage]:
    from rosbags.rosbag2.storage_mcap import decompress  # validates size and CRC; handles zstd / lz4

    if len(body) < 32:
        raise McapScanError("truncated chunk header")
    uncompressed_size, crc = _u64(body, 16), int.from_bytes(body[24:28], "little")
    compression, pos = _string(body, 28)
    records_size = _u64(body, pos)
    records = body[pos + 8 : pos + 8 + records_size]
    if truncated or len(records) < records_size:
        if compression:
            raise McapScanError(f"truncated {compression} chunk")
        # An uncompressed chunk cut short still holds whole messages: play those, then report the cut one.
        for op, record in _records(records):
            if (item := _record(op, record, schemas)) is not None:
                yield item
        raise McapScanError("truncated chunk")
    try:
        raw = decompress(bytes(records), compression, uncompressed_size, crc)
    except Exception as exc:  # ReaderError, or the zstd / lz4 decoders' own errors
        raise McapScanError(f"chunk: {exc}") from None
    items = [item for op, record in _records(raw) if (item := _record(op, record, schemas)) is not None]
    yield from (item for item in items if isinstance(item, McapChannel))
    # Log-time order within a chunk, like rosbags' indexed reader.
    yield from sorted((item for item in items if isinstance(item, McapMessage)), key=lambda m: m.log_time)


def scan_mcap(path: Path) -> Iterator[McapChannel | McapMessage]:
    """Channels and messages of an MCAP file in file order, without its index; McapScanError at the first damage."""
    schemas: dict[int, str] = {}
    with path.open("rb") as stream:
        if stream.read(8) != MCAP_MAGIC:
            raise McapScanError("not an MCAP file (bad magic)")
        while head := stream.read(9):
            if len(head) < 9:
                raise McapScanError(f"truncated record header at byte {stream.tell() - len(head)}")
            op, size = head[0], _u64(head, 1)
            if op in (OP_DATA_END, OP_FOOTER):
                return
            body = stream.read(size)
            if op == OP_CHUNK:
                yield from _chunk_items(body, len(body) < size, schemas)
            elif len(body) < size:
                channel = _u16(body, 0) if op == OP_MESSAGE and len(body) >= 2 else None
                raise McapScanError(f"truncated record 0x{op:02x} ({len(body)} of {size} bytes)", channel)
            elif (item := _record(op, body, schemas)) is not None:
                yield item


# ---- bag sources --------------------------------------------------------------------------------------------------


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


class ReaderSource:
    """A bag rosbags can open: messages in log-time order from AnyReader, raw (never deserialised)."""

    note = None

    def __init__(self, reader) -> None:
        self.reader = reader
        self.topics = {c.topic: c.msgtype for c in reader.connections}

    def messages(self, topics: set[str]) -> Iterator[tuple[str, int, bytes]]:
        connections = [c for c in self.reader.connections if c.topic in topics]
        if not connections:  # AnyReader reads every connection when given none
            return
        stream, index = self.reader.messages(connections=connections), 0
        while True:
            try:
                connection, timestamp, data = next(stream)
            except StopIteration:
                return
            except Exception as exc:  # rosbags and sqlite3 raise various types for damaged storage
                raise CorruptBag(index, None, f"{type(exc).__name__}: {exc}") from exc
            yield connection.topic, timestamp, bytes(data)
            index += 1

    def close(self) -> None:
        self.reader.close()


class ScanSource:
    """MCAP files rosbags cannot open (no index: truncated, or the recorder died): read front to back."""

    def __init__(self, files: Sequence[Path], reason: str) -> None:
        self.files = list(files)
        self.note = f"the bag's index is unreadable ({reason}); reading the MCAP file(s) sequentially"
        self.topics: dict[str, str] = {}
        for path in self.files:  # a first pass only for the channels, so publishers exist before playing
            try:
                for item in scan_mcap(path):
                    if isinstance(item, McapChannel):
                        self.topics.setdefault(item.topic, item.msgtype)
            except McapScanError:
                break

    def messages(self, topics: set[str]) -> Iterator[tuple[str, int, bytes]]:
        index = 0
        for path in self.files:
            channels: dict[int, McapChannel] = {}
            try:
                for item in scan_mcap(path):
                    if isinstance(item, McapChannel):
                        channels[item.id] = item
                        continue
                    channel = channels.get(item.channel_id)
                    if channel is None:
                        raise McapScanError(f"message on undeclared channel {item.channel_id}")
                    if channel.topic in topics:
                        yield channel.topic, item.log_time, item.data
                        index += 1
            except McapScanError as exc:
                channel = channels.get(exc.channel_id) if exc.channel_id is not None else None
                raise CorruptBag(index, channel.topic if channel else None, f"{path.name}: {exc.reason}") from None

    def close(self) -> None:
        pass


def open_bag(path: Path) -> ReaderSource | ScanSource:
    """BagInputError when `path` is missing or not a rosbag2 bag; CorruptBag when it is one that cannot be read."""
    from rosbags.highlevel import AnyReader

    if not path.exists():
        raise BagInputError(f"no such bag: {path}")
    if path.suffix == ".bag":
        raise BagInputError(f"{path} is a ROS 1 bag; only rosbag2 (.mcap / .db3) holds CDR messages")
    if path.is_dir():
        storage = sorted([*path.glob("*.mcap"), *path.glob("*.db3")], key=_natural_key)
        if not storage and not (path / "metadata.yaml").is_file():
            raise BagInputError(f"{path} is not a rosbag2 bag (no metadata.yaml, .mcap or .db3 files)")
    elif path.suffix in (".mcap", ".db3"):
        storage = [path]
    else:
        raise BagInputError(f"{path} is not a rosbag2 bag (expected a bag directory, or a .mcap or .db3 file)")
    for file in storage:
        if file.suffix == ".mcap":
            with file.open("rb") as stream:
                if stream.read(8) != MCAP_MAGIC:
                    raise BagInputError(f"{file} is not an MCAP file")
    reader = AnyReader([path])
    try:
        reader.open()
    except Exception as exc:  # AnyReaderError mostly; missing files listed in metadata.yaml too
        error = f"{type(exc).__name__}: {exc}"
    else:
        if not reader.is2:
            reader.close()
            raise BagInputError(f"{path} is not a rosbag2 bag")
        return ReaderSource(reader)
    mcaps = [file for file in storage if file.suffix == ".mcap"]
    if mcaps and len(mcaps) == len(storage):
        return ScanSource(mcaps, error)
    raise CorruptBag(0, None, error)


# ---- the ROS shell ------------------------------------------------------------------------------------------------


def _warn(message: str) -> None:
    print(f"bag_player: warning: {message}", file=sys.stderr, flush=True)


def _error(message: str) -> None:
    print(f"bag_player: error: {message}", file=sys.stderr, flush=True)


def wait_for_subscribers(node, publishers: dict, topics: Sequence[str], timeout_s: float) -> list[str]:
    """Waits until each topic has a subscriber; returns those still without one when the timeout passed."""

    def missing() -> list[str]:
        # A topic we publish: count matched subscriptions (the DDS match, not just the graph entry).
        return [
            t
            for t in topics
            if (publishers[t].get_subscription_count() if t in publishers else node.count_subscribers(t)) < 1
        ]

    deadline = time.monotonic() + timeout_s
    while (waiting := missing()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return waiting


def _play(options: PlayerOptions, source: ReaderSource | ScanSource, ros_argv: Sequence[str]) -> int:
    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.duration import Duration
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from rosgraph_msgs.msg import Clock

    if source.note:
        _warn(source.note)
    if not source.topics:
        _warn(f"{options.bag} holds no topics")
        print(format_summary(Counter(), 0.0, 0), flush=True)
        return EXIT_OK
    chosen, warnings = select_topics(source.topics, options.topics, with_clock=options.clock_hz > 0)
    for warning in warnings:
        _warn(warning)

    # Ctrl-C stays a KeyboardInterrupt, so the summary still prints.
    rclpy.init(args=list(ros_argv), signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("bag_player")
    try:
        publishers, skipped = {}, []
        for topic, msgtype in sorted(chosen.items()):
            try:
                msg_class = import_msg_class(msgtype)
            except (ImportError, AttributeError, ValueError) as exc:
                _warn(f"skipping {topic}: cannot import its type {msgtype!r} ({exc})")
                skipped.append(topic)
                continue
            qos = QoSProfile(
                history=HistoryPolicy.KEEP_LAST, depth=history_depth(msgtype), reliability=ReliabilityPolicy.RELIABLE
            )
            publishers[topic] = node.create_publisher(msg_class, topic, qos)
        if not publishers:
            _error("nothing to play (no topic left after --topics and importable types)")
            return EXIT_USAGE
        publish_clock = None
        if options.clock_hz > 0:
            clock_publisher = node.create_publisher(
                Clock, CLOCK_TOPIC, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
            )

            def publish_clock(t_ns: int) -> None:
                clock_publisher.publish(Clock(clock=Time(sec=t_ns // 10**9, nanosec=t_ns % 10**9)))

        waiting = wait_for_subscribers(node, publishers, options.wait_for_subscribers, options.wait_timeout)
        if waiting:
            _error(f"no subscriber within {options.wait_timeout:g} s on: {', '.join(waiting)}")
            return EXIT_NO_SUBSCRIBERS

        counts: Counter = Counter()
        passes, wall_s, code = 0, 0.0, EXIT_OK
        try:
            while True:
                passes += 1
                before = sum(counts.values())
                result = play_pass(
                    source.messages(set(publishers)),
                    lambda topic, data: publishers[topic].publish(data),
                    publish_clock,
                    rate=options.rate,
                    clock_hz=options.clock_hz,
                    counts=counts,
                    pause_s=options.start_paused_s if passes == 1 else 0.0,
                )
                wall_s += result.wall_s
                if result.error is not None:
                    _error(str(result.error))
                    code = EXIT_CORRUPT
                    break
                if not options.loop or sum(counts.values()) == before:
                    break
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        if code != EXIT_INTERRUPTED:
            # Reliable delivery of the last messages before the publishers go away.
            for publisher in publishers.values():
                publisher.wait_for_all_acked(Duration(seconds=2))
        print(format_summary(counts, wall_s, passes, skipped), flush=True)
        return code
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    from rclpy.utilities import remove_ros_args

    argv = list(sys.argv if argv is None else argv)
    options = parse_args(remove_ros_args(argv)[1:])
    try:
        source = open_bag(options.bag)
    except BagInputError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except CorruptBag as exc:
        _error(str(exc))
        return EXIT_CORRUPT
    # SIGINT and SIGTERM end playback with the summary, also where the parent left SIGINT ignored (`cmd &` in a script).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        return _play(options, source, argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        source.close()


if __name__ == "__main__":
    raise SystemExit(main())
