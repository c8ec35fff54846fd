"""bag_player: replays a rosbag2 (MCAP or SQLite3) over rclpy as raw CDR, with /clock, for installs without `ros2 bag`.

Messages go out in log-time order at start + (t_k - t_0) / rate on the monotonic wall clock; /clock carries the bag
time of each message just before it and advances at --clock-hz in between. The bag is read by
mm_tracker_model.bags.read: an MCAP file cut short (no index) is read record by record, in file order, and its topics
get publishers as they appear. Exit codes: 0 done, 1 the bag is corrupt from some message on (the earlier ones were
published), 2 bad arguments or not a (readable) bag, 3 no subscribers in time, 130 interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mm_tracker_model.bags.msgtypes import RawMessage, history_depth, import_msg_class
from mm_tracker_model.bags.paths import check_bag_path
from mm_tracker_model.bags.read import BagInfo, iter_raw, open_bag, read_topics
from mm_tracker_model.errors import BagError
from mm_tracker_model.topics import absolute_topic

EXIT_OK, EXIT_CORRUPT, EXIT_USAGE, EXIT_NO_SUBSCRIBERS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
CLOCK_TOPIC = "/clock"
MATCH_TIMEOUT_S = 2.0  # a publisher created mid-playback waits this long at most for its subscribers to match


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
) -> float:
    """Publishes one pass on schedule; returns its wall seconds, from the first message to the last."""
    period = 1.0 / clock_hz if publish_clock is not None and clock_hz > 0 else None
    last_clock: int | None = None

    def tick(value: int) -> None:
        nonlocal last_clock
        last_clock = value if last_clock is None else max(value, last_clock)  # never backwards within a pass
        publish_clock(last_clock)

    start = t0 = last_bag = last_wall = None
    for topic, t, data in messages:
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
    return 0.0 if start is None else now() - start


def format_summary(counts: Counter, wall_s: float, passes: int, skipped: Sequence[str] = ()) -> str:
    per_topic = ", ".join(f"{topic} {n}" for topic, n in sorted(counts.items())) or "none"
    line = (
        f"bag_player: published {sum(counts.values())} messages in {wall_s:.2f} s of playback "
        f"({passes} pass{'es' if passes != 1 else ''}): {per_topic}"
    )
    return line + (f"; skipped topics: {', '.join(skipped)}" if skipped else "")


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


class Publishers:
    """The player's publishers by topic: made up front for an indexed bag (or the topics read ahead of playing one
    without its index), else on each topic's first message."""

    def __init__(self, node, *, with_clock: bool) -> None:
        self.node, self.with_clock = node, with_clock
        self.by_topic: dict = {}
        self.skipped: list[str] = []  # types that cannot be imported
        self.ignored: set[str] = set()  # topics met and not played

    def add(self, topic: str, msgtype: str) -> bool:
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

        try:
            msg_class = import_msg_class(msgtype)
        except (ImportError, AttributeError, ValueError) as exc:
            _warn(f"skipping {topic}: cannot import its type {msgtype!r} ({exc})")
            self.skipped.append(topic)
            return False
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=history_depth(msgtype), reliability=ReliabilityPolicy.RELIABLE
        )
        self.by_topic[topic] = self.node.create_publisher(msg_class, topic, qos)
        return True

    def offer(self, topic: str, msgtype: str) -> bool:
        """Whether `topic` has a publisher; the first offer of a topic that can be played makes one."""
        if topic not in self.by_topic and topic not in self.ignored:
            chosen, warnings = select_topics({topic: msgtype}, (), with_clock=self.with_clock)
            for warning in warnings:
                _warn(warning)
            if not chosen or not self.add(topic, msgtype):
                self.ignored.add(topic)
        return topic in self.by_topic

    def playable(self, messages: Iterable[RawMessage]) -> Iterator[tuple[str, int, bytes]]:
        """(topic, log time, data) of the messages that have a publisher; a topic met for the first time gets one."""
        for message in messages:
            new = message.topic not in self.by_topic
            if self.offer(message.topic, message.msgtype):
                if new:
                    self._await_matches(message.topic)
                yield message.topic, message.log_time, message.data

    def _await_matches(self, topic: str) -> None:
        # A new publisher's first message is lost to subscribers it has not matched yet (volatile durability).
        deadline = time.monotonic() + MATCH_TIMEOUT_S
        publisher = self.by_topic[topic]
        while publisher.get_subscription_count() < self.node.count_subscribers(topic) and time.monotonic() < deadline:
            time.sleep(0.01)


def _play(options: PlayerOptions, bag: BagInfo, ros_argv: Sequence[str]) -> int:
    import rclpy
    from builtin_interfaces.msg import Time
    from rclpy.duration import Duration
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions
    from rosgraph_msgs.msg import Clock

    with_clock = options.clock_hz > 0
    if not bag.indexed:
        _warn("the bag's index is unreadable; reading its MCAP file(s) record by record, topics as they appear")
    elif not bag.topics:
        _warn(f"{options.bag} holds no topics")
        print(format_summary(Counter(), 0.0, 0), flush=True)
        return EXIT_OK

    # Ctrl-C stays a KeyboardInterrupt, so the summary still prints.
    rclpy.init(args=list(ros_argv), signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node("bag_player")
    try:
        publishers = Publishers(node, with_clock=with_clock)
        topics = options.topics or None
        if bag.indexed:
            chosen, warnings = select_topics(bag.topics, options.topics, with_clock=with_clock)
            for warning in warnings:
                _warn(warning)
            for topic, msgtype in sorted(chosen.items()):
                publishers.add(topic, msgtype)
            if not publishers.by_topic:
                _error("nothing to play (no topic left after --topics and importable types)")
                return EXIT_USAGE
            topics = set(publishers.by_topic)
        elif options.wait_for_subscribers:
            # A recorder subscribes once it sees a publisher, whose type it needs: publish the awaited topics first.
            for topic, msgtype in sorted(read_topics(options.bag, options.wait_for_subscribers).items()):
                if topics is None or topic in topics:
                    publishers.offer(topic, msgtype)
        publish_clock = None
        if with_clock:
            clock_publisher = node.create_publisher(
                Clock, CLOCK_TOPIC, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
            )

            def publish_clock(t_ns: int) -> None:
                clock_publisher.publish(Clock(clock=Time(sec=t_ns // 10**9, nanosec=t_ns % 10**9)))

        waiting = wait_for_subscribers(node, publishers.by_topic, options.wait_for_subscribers, options.wait_timeout)
        if waiting:
            _error(f"no subscriber within {options.wait_timeout:g} s on: {', '.join(waiting)}")
            return EXIT_NO_SUBSCRIBERS

        counts: Counter = Counter()
        passes, wall_s, code = 0, 0.0, EXIT_OK
        try:
            while True:
                passes += 1
                before = sum(counts.values())
                messages = iter_raw(options.bag, topics)
                wall_s += play_pass(
                    publishers.playable(messages),
                    lambda topic, data: publishers.by_topic[topic].publish(data),
                    publish_clock,
                    rate=options.rate,
                    clock_hz=options.clock_hz,
                    counts=counts,
                    pause_s=options.start_paused_s if passes == 1 else 0.0,
                )
                if messages.damage is not None:  # the messages before it were played
                    _error(f"bag unreadable from {messages.damage}")
                    code = EXIT_CORRUPT
                    break
                if not options.loop or sum(counts.values()) == before:
                    break
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        if code != EXIT_INTERRUPTED:
            # Reliable delivery of the last messages before the publishers go away.
            for publisher in publishers.by_topic.values():
                publisher.wait_for_all_acked(Duration(seconds=2))
        print(format_summary(counts, wall_s, passes, publishers.skipped), flush=True)
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
        check_bag_path(options.bag)
        bag = open_bag(options.bag)
    except BagError as exc:
        _error(str(exc))
        return EXIT_USAGE
    # SIGINT and SIGTERM end playback with the summary, also where the parent left SIGINT ignored (`cmd &` in a script).
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        return _play(options, bag, argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
