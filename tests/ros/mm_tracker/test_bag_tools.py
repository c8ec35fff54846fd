"""bag_player / bag_recorder pieces that need no DDS: arguments, type imports, schedule, clock, publishers, QoS."""

from __future__ import annotations

import ast
import os
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rosbags.rosbag2 import CompressionFormat, CompressionMode, StoragePlugin, Writer

from mm_tracker import bag_player as player
from mm_tracker import bag_recorder as recorder
from mm_tracker_model.bags.msgtypes import LARGE_DEPTH, SMALL_DEPTH, RawMessage, import_msg_class
from mm_tracker_model.bags.read import iter_raw, open_bag
from mm_tracker_model.bags.typestore import bag_typestore

T0 = 1_700_000_000_000_000_000


def write_bag(path: Path, n_images: int = 20, zstd: bool = False) -> list[tuple[str, int, bytes]]:
    """An MCAP bag of 64x48 images at 20 Hz plus a Box2D every 4th frame; returns (topic, t, data) in log-time order."""
    store = bag_typestore()
    types = store.types
    written = []
    writer = Writer(path, version=9, storage_plugin=StoragePlugin.MCAP)
    if zstd:
        writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
    with writer:
        image_conn = writer.add_connection("/cam/image", "sensor_msgs/msg/Image", typestore=store)
        box_conn = writer.add_connection("/box", "mm_tracker_msgs/msg/Box2D", typestore=store)
        for i in range(n_images):
            t = T0 + i * 50_000_000
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9), frame_id="cam"
            )
            image = types["sensor_msgs/msg/Image"](
                header=header, height=48, width=64, encoding="mono8", is_bigendian=0, step=64,
                data=np.full(64 * 48, i, np.uint8),
            )  # fmt: skip
            data = store.serialize_cdr(image, "sensor_msgs/msg/Image")
            writer.write(image_conn, t, data)
            written.append(("/cam/image", t, bytes(data)))
            if i % 4 == 0:
                box = types["mm_tracker_msgs/msg/Box2D"](x=float(i), y=2.0, width=3.0, height=4.0)
                data = store.serialize_cdr(box, "mm_tracker_msgs/msg/Box2D")
                writer.write(box_conn, t + 1, data)
                written.append(("/box", t + 1, bytes(data)))
    return written


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.t += seconds


def run_pass(messages, *, rate=1.0, clock_hz=100.0, pause_s=0.0):
    fake, events, counts = FakeTime(), [], Counter()
    result = player.play_pass(
        messages,
        lambda topic, data: events.append(("msg", fake.t, topic, data)),
        (lambda t: events.append(("clock", fake.t, t))) if clock_hz else None,
        rate=rate,
        clock_hz=clock_hz,
        counts=counts,
        pause_s=pause_s,
        now=fake.now,
        sleep=fake.sleep,
    )
    return result, events, counts


def test_player_defaults_and_topic_names():
    options = player.parse_args(["bag", "--topics", "cam/image", "/box", "--wait-for-subscribers", "a"])
    assert options == player.PlayerOptions(bag=Path("bag"), topics=("/cam/image", "/box"), wait_for_subscribers=("/a",))
    assert (options.rate, options.clock_hz, options.wait_timeout, options.start_paused_s) == (1.0, 100.0, 60.0, 0.0)


@pytest.mark.parametrize(
    "args",
    [["--rate", "0"], ["--rate", "-1"], ["--rate", "nan"], ["--clock-hz", "-5"], ["--wait-timeout", "-1"],
     ["--start-paused-s", "-0.1"], ["--rate"]],
)  # fmt: skip
def test_player_rejects_bad_arguments(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        player.parse_args(["bag", *args])
    assert exit_info.value.code == 2
    assert "bag_player: error" in capsys.readouterr().err


def test_import_msg_class_gives_the_rclpy_classes():
    from std_msgs.msg import String

    from mm_tracker_msgs.msg import TrackedTarget

    assert import_msg_class("std_msgs/msg/String") is String
    assert import_msg_class("mm_tracker_msgs/msg/TrackedTarget") is TrackedTarget
    with pytest.raises(AttributeError):
        import_msg_class("std_msgs/msg/NoSuchThing")


def test_select_topics_filters_and_drops_the_bags_clock_when_publishing_one():
    bag = {"/a": "std_msgs/msg/String", "/clock": "rosgraph_msgs/msg/Clock", "/img": "sensor_msgs/msg/Image"}
    chosen, warnings = player.select_topics(bag, [], with_clock=True)
    assert chosen == {"/a": bag["/a"], "/img": bag["/img"]} and "/clock" in warnings[0]
    chosen, warnings = player.select_topics(bag, [], with_clock=False)
    assert chosen == bag and not warnings
    chosen, warnings = player.select_topics(bag, ["/img", "/nope"], with_clock=True)
    assert chosen == {"/img": bag["/img"]} and warnings == ["not in the bag: /nope"]


def test_schedule_scales_with_rate():
    times = [T0, T0 + 50_000_000, T0 + 1_000_000_000]
    assert player.schedule(times, 1.0) == pytest.approx([0.0, 0.05, 1.0])
    assert player.schedule(times, 2.0) == pytest.approx([0.0, 0.025, 0.5])
    assert player.schedule([], 1.0) == []


def test_clock_between_advances_with_wall_time_and_stops_at_the_next_message():
    assert player.clock_between(T0, 10.0, 10.01, 1.0, T0 + 50_000_000) == T0 + 10_000_000
    assert player.clock_between(T0, 10.0, 10.01, 2.0, T0 + 50_000_000) == T0 + 20_000_000
    assert player.clock_between(T0, 10.0, 11.0, 1.0, T0 + 50_000_000) == T0 + 50_000_000


def test_play_pass_publishes_on_schedule_with_the_clock_before_each_message():
    messages = [("/a", T0, b"0"), ("/b", T0 + 50_000_000, b"1"), ("/a", T0 + 200_000_000, b"2")]
    result, events, counts = run_pass(messages)
    published = [e for e in events if e[0] == "msg"]
    start = published[0][1]
    assert [round(e[1] - start, 9) for e in published] == [0.0, 0.05, 0.2]
    assert [e[2:] for e in published] == [(t, d) for t, _, d in messages]
    assert counts == Counter({"/a": 2, "/b": 1})
    assert result == pytest.approx(0.2)
    for i, event in enumerate(events):
        if event[0] == "msg":  # the clock just before carries this message's bag time
            t = next(m[1] for m in messages if m[2] == event[3])
            assert events[i - 1][0] == "clock" and events[i - 1][2] == t
    clocks = [e[2] for e in events if e[0] == "clock"]
    assert clocks == sorted(clocks)
    between = [e for e in events if e[0] == "clock" and e[2] not in {m[1] for m in messages}]
    assert len(between) >= 15  # ~100 Hz over 0.2 s
    for _, wall, value in between:  # sim time follows wall time x rate
        assert value - T0 == pytest.approx((wall - start) * 1e9, abs=1e3)


def test_play_pass_at_rate_two_takes_half_the_time():
    messages = [("/a", T0 + i * 100_000_000, b"x") for i in range(11)]
    slow, _, _ = run_pass(messages, rate=1.0)
    fast, events, _ = run_pass(messages, rate=2.0)
    assert slow == pytest.approx(1.0) and fast == pytest.approx(0.5)
    between = [e for e in events if e[0] == "clock" and (e[2] - T0) % 100_000_000]
    start = next(e[1] for e in events if e[0] == "msg")
    for _, wall, value in between:
        assert value - T0 == pytest.approx((wall - start) * 2e9, abs=1e3)


def test_play_pass_never_moves_the_clock_back_on_out_of_order_times():
    messages = [("/a", T0 + 100_000_000, b"0"), ("/a", T0, b"1"), ("/a", T0 + 150_000_000, b"2")]
    _, events, counts = run_pass(messages)
    clocks = [e[2] for e in events if e[0] == "clock"]
    assert clocks == sorted(clocks) and counts["/a"] == 3


def test_play_pass_pause_publishes_the_start_time_and_no_clock_when_disabled():
    messages = [("/a", T0, b"0"), ("/a", T0 + 50_000_000, b"1")]
    _, events, _ = run_pass(messages, pause_s=0.1)
    first_msg = next(i for i, e in enumerate(events) if e[0] == "msg")
    paused = events[:first_msg]
    assert len(paused) >= 10 and {e[2] for e in paused} == {T0}
    assert events[first_msg][1] - events[0][1] == pytest.approx(0.1)
    _, events, _ = run_pass(messages, clock_hz=0)
    assert [e[0] for e in events] == ["msg", "msg"]


def test_format_summary():
    line = player.format_summary(Counter({"/b": 2, "/a": 5}), 1.234, 1, ["/x"])
    assert line == "bag_player: published 7 messages in 1.23 s of playback (1 pass): /a 5, /b 2; skipped topics: /x"


class FakeNode:
    """create_publisher / count_subscribers as rclpy's node; each publisher records what it published."""

    def __init__(self, subscribers: int = 0) -> None:
        self.subscribers, self.created = subscribers, {}

    def create_publisher(self, msg_class, topic, qos):
        sent = []
        publisher = SimpleNamespace(
            msg_class=msg_class, depth=qos.depth, sent=sent, publish=sent.append, get_subscription_count=lambda: 1
        )
        self.created[topic] = publisher
        return publisher

    def count_subscribers(self, topic: str) -> int:
        return self.subscribers


def test_publishers_are_made_on_a_topics_first_message_and_skip_what_cannot_be_played(capsys):
    from std_msgs.msg import String

    node = FakeNode(subscribers=1)
    publishers = player.Publishers(node, with_clock=True)
    messages = [
        RawMessage("/clock", "rosgraph_msgs/msg/Clock", T0, b"c"),
        RawMessage("/x", "no_such_pkg_xyz/msg/Thing", T0 + 1, b"x"),
        RawMessage("/a", "std_msgs/msg/String", T0 + 2, b"a0"),
        RawMessage("/x", "no_such_pkg_xyz/msg/Thing", T0 + 3, b"x"),
        RawMessage("/a", "std_msgs/msg/String", T0 + 4, b"a1"),
    ]
    assert list(publishers.playable(messages)) == [("/a", T0 + 2, b"a0"), ("/a", T0 + 4, b"a1")]
    assert set(node.created) == {"/a"} and node.created["/a"].msg_class is String
    assert node.created["/a"].depth == SMALL_DEPTH
    assert publishers.skipped == ["/x"] and publishers.ignored == {"/clock", "/x"}
    err = capsys.readouterr().err
    assert err.count("skipping /x") == 1 and err.count("/clock is not replayed") == 1
    publishers = player.Publishers(FakeNode(), with_clock=False)  # --clock-hz 0: the bag's /clock plays
    assert [m[0] for m in publishers.playable(messages[:1])] == ["/clock"]


@pytest.mark.parametrize("zstd", [False, True])
def test_a_truncated_bag_plays_its_readable_messages_through_lazily_made_publishers(tmp_path, zstd):
    written = write_bag(tmp_path / "bag", n_images=40, zstd=zstd)  # ~124 kB: one chunk, cut inside it
    (mcap,) = (tmp_path / "bag").glob("*.mcap")
    os.truncate(mcap, int(mcap.stat().st_size * 0.6))
    assert not open_bag(tmp_path / "bag").indexed
    node, messages = FakeNode(), iter_raw(mcap)
    result, events, counts = run_pass(player.Publishers(node, with_clock=True).playable(messages))
    played = [(e[2], e[3]) for e in events if e[0] == "msg"]
    assert played == [(topic, data) for topic, _, data in written[: len(played)]]
    damage = messages.damage
    if zstd:  # the images compress to one small chunk, whole before the cut; the cut is in the index after it
        assert len(played) == len(written) == damage.read == 50 and damage.topic is None
        assert str(damage).startswith("message #50 (topic unknown): bag.mcap: truncated")
        return
    assert len(played) >= int(len(written) * 0.6) - 2 and sum(counts.values()) == len(played) == damage.read
    assert str(damage).startswith(f"message #{len(played)} (topic {written[len(played)][0]}): bag.mcap: truncated")
    assert node.created["/cam/image"].depth == LARGE_DEPTH and node.created["/box"].depth == SMALL_DEPTH
    assert result == pytest.approx((written[len(played) - 1][1] - T0) / 1e9)


def test_recorder_arguments(capsys):
    options = recorder.parse_args(["--out", "x", "--topics", "/a", "b", "/a", "--storage", "sqlite3"])
    assert options == recorder.RecorderOptions(out=Path("x"), topics=("/a", "b"), storage="sqlite3")
    for bad in (["--topics", "/a"], ["--out", "x"], ["--out", "x", "--topics", "/a", "--duration", "0"],
                ["--out", "x", "--topics", "/a", "--storage", "zip"]):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            recorder.parse_args(bad)
        assert info.value.code == 2
    assert "bag_recorder: error" in capsys.readouterr().err


def test_subscription_qos_matches_the_publishers():
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    best_effort = QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT)
    latched = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    qos = recorder.subscription_qos([reliable], "std_msgs/msg/String")
    assert (qos.reliability, qos.depth, qos.durability) == (ReliabilityPolicy.RELIABLE, 100, DurabilityPolicy.VOLATILE)
    qos = recorder.subscription_qos([reliable, best_effort], "sensor_msgs/msg/Image")
    assert (qos.reliability, qos.depth) == (ReliabilityPolicy.BEST_EFFORT, LARGE_DEPTH)
    assert recorder.subscription_qos([latched], "tf2_msgs/msg/TFMessage").durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert recorder.subscription_qos([latched, reliable], "x/msg/Y").durability == DurabilityPolicy.VOLATILE
    assert recorder.subscription_qos([], "x/msg/Y").reliability == ReliabilityPolicy.RELIABLE


def test_recorder_summary():
    line = recorder.format_summary(Path("out"), Counter({"/a": 3, "/b": 0}), 2.0, ["/b"], ["/c"])
    assert line == "bag_recorder: wrote 3 messages to out in 2.00 s: /a 3, /b 0; never seen: /b; not recordable: /c"


def test_recorder_node_leaves_rclpy_attributes_alone():
    # rclpy keeps its entities in these; a subclass assigning them hid /clock and starved a node here once.
    reserved = {"_subscriptions", "_publishers", "_services", "_timers", "_clients", "_guards", "_clock", "_context"}
    tree = ast.parse(Path(recorder.__file__).read_text())
    node_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "BagRecorderNode")
    assigned = {
        target.attr
        for node in ast.walk(node_class)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in ast.walk(node)
        if isinstance(target, ast.Attribute) and isinstance(target.ctx, ast.Store)
    }
    assert assigned and not assigned & reserved
