"""bag_recorder: records topics into a rosbag2 (MCAP or SQLite3) as raw CDR, for installs without `ros2 bag`.

Each topic's type comes from the ROS graph (it is subscribed once a publisher appears); every message is written as
it arrives, stamped with the node clock at receipt (so `--ros-args -p use_sim_time:=true` stamps with /clock). The bag
is closed properly on SIGINT, SIGTERM or after --duration (wall seconds). Exit codes: 0 done, 1 a failure while
recording (the bag is still closed), 2 bad arguments or --out exists.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rclpy
from rclpy.clock import Clock, ClockType
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from rclpy.utilities import remove_ros_args

from mm_tracker_model.bags.msgtypes import history_depth, import_msg_class

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DISCOVERY_PERIOD_S = 0.1


@dataclass(frozen=True)
class RecorderOptions:
    out: Path
    topics: tuple[str, ...]
    storage: str = "mcap"
    duration: float | None = None


def parse_args(argv: Sequence[str]) -> RecorderOptions:
    """argv without the program name and without ROS arguments; exits 2 on bad input."""
    parser = argparse.ArgumentParser(prog="bag_recorder", description="Record topics into a rosbag2 bag (raw CDR).")
    parser.add_argument("--out", type=Path, required=True, help="bag directory to create (must not exist)")
    parser.add_argument("--topics", nargs="+", required=True, metavar="T", help="topics to record")
    parser.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S wall seconds")
    args = parser.parse_args(list(argv))
    if args.duration is not None and not args.duration > 0:
        parser.error(f"--duration must be > 0 (got {args.duration})")
    return RecorderOptions(
        out=args.out, topics=tuple(dict.fromkeys(args.topics)), storage=args.storage, duration=args.duration
    )


def subscription_qos(offered: Sequence[QoSProfile], msgtype: str) -> QoSProfile:
    """A QoS that matches every current publisher: reliable unless one offers best effort (a reliable reader
    cannot match a best-effort writer), transient local only if all of them are (to receive latched messages)."""
    reliable = all(p.reliability != ReliabilityPolicy.BEST_EFFORT for p in offered)
    latched = bool(offered) and all(p.durability == DurabilityPolicy.TRANSIENT_LOCAL for p in offered)
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=history_depth(msgtype),
        reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE,
    )


def format_summary(out: Path, counts: Counter, wall_s: float, never_seen: Sequence[str], failed: Sequence[str]) -> str:
    per_topic = ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items())) or "none"
    line = f"bag_recorder: wrote {sum(counts.values())} messages to {out} in {wall_s:.2f} s: {per_topic}"
    if never_seen:
        line += f"; never seen: {', '.join(never_seen)}"
    if failed:
        line += f"; not recordable: {', '.join(failed)}"
    return line


class BagRecorderNode(Node):
    """Subscribes each wanted topic (raw) as soon as the graph shows a publisher, and writes what arrives."""

    # Attribute names stay clear of rclpy's own (_subscriptions, _timers, ...): overwriting them broke a node here.
    def __init__(self, writer, typestore, topics: Sequence[str]) -> None:
        super().__init__("bag_recorder")
        self._writer, self._typestore = writer, typestore
        self._writer_lock = threading.Lock()
        self._writer_open = True
        self._wanted = [self.resolve_topic_name(t) for t in topics]
        self._recording: dict[str, tuple[object, object]] = {}  # topic -> (bag connection, subscription)
        self.counts: Counter = Counter({t: 0 for t in self._wanted})
        self.failed: list[str] = []
        # The steady clock: under use_sim_time a ROS-clock timer would wait for /clock, which may never come.
        self._discovery_timer = self.create_timer(
            DISCOVERY_PERIOD_S, self._discover, clock=Clock(clock_type=ClockType.STEADY_TIME)
        )
        self._discover()

    @property
    def never_seen(self) -> list[str]:
        return [t for t in self._wanted if t not in self._recording and t not in self.failed]

    def _discover(self) -> None:
        pending = self.never_seen
        if not pending:
            self._discovery_timer.cancel()
            return
        types = dict(self.get_topic_names_and_types())
        for topic in pending:
            publishers = self.get_publishers_info_by_topic(topic) if topic in types else []
            if publishers:  # wait for a publisher, so the QoS can match it
                self._start(topic, types[topic], [p.qos_profile for p in publishers])

    def _start(self, topic: str, msgtypes: list[str], offered: list[QoSProfile]) -> None:
        msgtype = msgtypes[0]
        if len(msgtypes) > 1:
            self.get_logger().warning(f"{topic} has several types {msgtypes}; recording {msgtype}")
        try:
            msg_class = import_msg_class(msgtype)
            with self._writer_lock:
                connection = self._writer.add_connection(topic, msgtype, typestore=self._typestore)
        except Exception as exc:  # an unimportable type, or one the bag type store does not know
            self.get_logger().error(f"cannot record {topic} ({msgtype}): {type(exc).__name__}: {exc}")
            self.failed.append(topic)
            return
        qos = subscription_qos(offered, msgtype)
        subscription = self.create_subscription(
            msg_class, topic, lambda data, topic=topic: self._on_message(topic, data), qos, raw=True
        )
        self._recording[topic] = (connection, subscription)
        self.get_logger().info(f"recording {topic} ({msgtype}, {qos.reliability.name.lower()})")

    def _on_message(self, topic: str, data: bytes) -> None:
        stamp = self.get_clock().now().nanoseconds  # receipt time on the node clock (sim time when enabled)
        with self._writer_lock:
            if not self._writer_open:
                return
            self._writer.write(self._recording[topic][0], stamp, data)
        self.counts[topic] += 1

    def close_writer(self) -> None:
        """Closes the bag (idempotent); later messages are dropped."""
        with self._writer_lock:
            if self._writer_open:
                self._writer_open = False
                self._writer.close()


def _error(message: str) -> None:
    print(f"bag_recorder: error: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    from rosbags.rosbag2 import StoragePlugin, Writer

    from mm_tracker_model.bags.typestore import bag_typestore

    argv = list(sys.argv if argv is None else argv)
    options = parse_args(remove_ros_args(argv)[1:])
    if options.out.exists():
        _error(f"{options.out} exists; not overwriting it")
        return EXIT_USAGE
    plugin = StoragePlugin.MCAP if options.storage == "mcap" else StoragePlugin.SQLITE3
    options.out.parent.mkdir(parents=True, exist_ok=True)
    writer = Writer(options.out, version=9, storage_plugin=plugin)
    typestore = bag_typestore()

    stop = threading.Event()

    def request_stop(signum, _frame) -> None:
        stop.set()

    # Our own handlers (rclpy's would shut the context down under us): the loop below notices within 0.1 s.
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO)
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    node, code, started = None, EXIT_OK, time.monotonic()
    try:
        writer.open()
        node = BagRecorderNode(writer, typestore, options.topics)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        deadline = None if options.duration is None else started + options.duration
        while not stop.is_set():
            timeout = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if timeout <= 0:
                break
            executor.spin_once(timeout_sec=timeout)
    except Exception as exc:
        _error(f"{type(exc).__name__}: {exc}")
        code = EXIT_FAILED
    finally:
        try:
            if node is not None:
                node.close_writer()
                node.destroy_node()
            elif writer.storage is not None:  # opened, but the node never came up
                writer.close()
        finally:
            rclpy.try_shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if node is not None:
        print(
            format_summary(options.out, node.counts, time.monotonic() - started, node.never_seen, node.failed),
            flush=True,
        )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
