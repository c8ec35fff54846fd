"""bag_player -> Fast DDS on loopback -> bag_recorder, as real processes: bytes, order, /clock, rate, bad bags."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.rosbag2 import StoragePlugin, Writer

from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.executables import ros_executable

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
try:
    PLAYER, RECORDER = ros_executable("bag_player"), ros_executable("bag_recorder")
except MMTrackerError as exc:
    pytest.skip(str(exc), allow_module_level=True)
T0 = 1_700_000_000_000_000_000
DATA_TOPICS = ("/cam/image", "/box", "/note")
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def env():
    # A domain of its own: the other live tests of a run share the one tests/conftest.py picked.
    domain = (int(os.environ.get("ROS_DOMAIN_ID", "0")) + 50) % 100 + 1
    return {**os.environ, "ROS_DOMAIN_ID": str(domain)}


def write_source_bag(path: Path) -> list[tuple[str, int, bytes]]:
    """20 RGB 320x240 images at 20 Hz (0.95 s), a Box2D every 4th frame and a String every 5th (~4.6 MB)."""
    store = bag_typestore()
    types = store.types
    written = []
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {
            "/cam/image": writer.add_connection("/cam/image", "sensor_msgs/msg/Image", typestore=store),
            "/box": writer.add_connection("/box", "mm_tracker_msgs/msg/Box2D", typestore=store),
            "/note": writer.add_connection("/note", "std_msgs/msg/String", typestore=store),
        }

        def put(topic, msgtype, t, msg):
            data = bytes(store.serialize_cdr(msg, msgtype))
            writer.write(conns[topic], t, data)
            written.append((topic, t, data))

        rng = np.random.default_rng(3)
        for i in range(20):
            t = T0 + i * 50_000_000
            stamp = types["builtin_interfaces/msg/Time"](sec=t // 10**9, nanosec=t % 10**9)
            image = types["sensor_msgs/msg/Image"](
                header=types["std_msgs/msg/Header"](stamp=stamp, frame_id="rgb_camera"),
                height=240, width=320, encoding="rgb8", is_bigendian=0, step=960,
                data=rng.integers(0, 256, 240 * 960, dtype=np.uint8),
            )  # fmt: skip
            put("/cam/image", "sensor_msgs/msg/Image", t, image)
            if i % 4 == 0:
                box = types["mm_tracker_msgs/msg/Box2D"](x=10.0 + i, y=20.0, width=30.0, height=40.0)
                put("/box", "mm_tracker_msgs/msg/Box2D", t + 1_000_000, box)
            if i % 5 == 0:
                put("/note", "std_msgs/msg/String", t + 2_000_000, types["std_msgs/msg/String"](data=f"frame {i}"))
    return written


@pytest.fixture(scope="module")
def source_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "bag"
    return path, write_source_bag(path)


def start_recorder(env, out: Path, topics, *extra) -> subprocess.Popen:
    args = [str(RECORDER), "--out", str(out), "--topics", *topics, *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def stop(process: subprocess.Popen, sig=signal.SIGINT) -> tuple[str, str]:
    process.send_signal(sig)
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


def run_player(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(PLAYER), *map(str, args)], capture_output=True, text=True, env=env, timeout=TIMEOUT_S)


def read_bag(path: Path) -> dict[str, list[tuple[int, bytes, object]]]:
    """topic -> [(record timestamp, raw bytes, message for /clock else None)] in log-time order."""
    out: dict[str, list] = {}
    with AnyReader([path]) as reader:
        for connection, timestamp, data in reader.messages():
            msg = reader.deserialize(data, connection.msgtype) if connection.topic == "/clock" else None
            out.setdefault(connection.topic, []).append((timestamp, bytes(data), msg))
    return out


def padded(data: bytes) -> bytes:
    """What a subscriber receives: DDS pads the serialized payload to a multiple of 4 bytes (rosbags does not)."""
    return data + b"\0" * (-len(data) % 4)


def playback_seconds(stdout: str) -> float:
    match = re.search(r"in ([0-9.]+) s of playback", stdout)
    assert match, stdout
    return float(match.group(1))


@pytest.fixture(scope="module")
def roundtrip(env, source_bag, tmp_path_factory):
    bag, written = source_bag
    out = tmp_path_factory.mktemp("recorded") / "bag"
    recorder = start_recorder(env, out, [*DATA_TOPICS, "/clock"], "--ros-args", "-p", "use_sim_time:=true")
    try:
        play = run_player(
            env, bag, "--wait-for-subscribers", *DATA_TOPICS, "--wait-timeout", "30", "--start-paused-s", "0.3"
        )
        time.sleep(0.5)  # the last messages reach the recorder
    finally:
        rec_stdout, rec_stderr = stop(recorder, signal.SIGINT)
    return {
        "written": written,
        "play": play,
        "recorder": (recorder.returncode, rec_stdout, rec_stderr),
        "recorded": read_bag(out),
    }


def test_player_and_recorder_exit_cleanly(roundtrip):
    play = roundtrip["play"]
    assert play.returncode == 0, play.stdout + play.stderr
    assert "bag_player: published 29 messages" in play.stdout and "/cam/image 20" in play.stdout
    code, stdout, stderr = roundtrip["recorder"]
    assert code == 0, stdout + stderr
    assert "/cam/image 20" in stdout and "/box 5" in stdout and "/note 4" in stdout


def test_every_message_arrives_in_order_byte_identical(roundtrip):
    # Identical up to the transport's alignment padding (the /note strings are not all 4-byte multiples).
    recorded = roundtrip["recorded"]
    for topic in DATA_TOPICS:
        sent = [padded(data) for t, _, data in roundtrip["written"] if t == topic]
        got = [data for _, data, _ in recorded.get(topic, [])]
        assert got == sent, f"{topic}: {len(got)} of {len(sent)} messages, or changed / reordered"


def test_clock_is_recorded_non_decreasing_within_the_bag_span(roundtrip):
    clocks = [msg.clock.sec * 10**9 + msg.clock.nanosec for _, _, msg in roundtrip["recorded"]["/clock"]]
    assert len(clocks) >= 50  # 100 Hz over ~1.25 s
    assert clocks == sorted(clocks)
    last = roundtrip["written"][-1][1]
    assert clocks[0] >= T0 and clocks[-1] == last


def test_recorder_stamps_with_sim_time(roundtrip):
    # use_sim_time:=true: receipt times on the node clock follow /clock, i.e. the source bag's times, not wall time.
    stamps = [t for topic in DATA_TOPICS for t, _, _ in roundtrip["recorded"][topic]]
    last = roundtrip["written"][-1][1]
    assert all(T0 <= t <= last for t in stamps), (min(stamps), max(stamps))


def test_rate_two_takes_about_half_the_time(env, source_bag, roundtrip):
    bag, _ = source_bag
    fast = run_player(env, bag, "--rate", "2")
    assert fast.returncode == 0, fast.stderr
    normal_s, fast_s = playback_seconds(roundtrip["play"].stdout), playback_seconds(fast.stdout)
    assert normal_s >= 0.9  # the bag spans 0.95 s
    assert 0.45 <= fast_s < 0.8 * normal_s, (normal_s, fast_s)


def test_truncated_bag_plays_the_readable_messages_then_exits_1(env, source_bag, tmp_path):
    bag, written = source_bag
    broken = tmp_path / "broken"
    shutil.copytree(bag, broken)
    (mcap,) = broken.glob("*.mcap")
    os.truncate(mcap, int(mcap.stat().st_size * 0.6))
    out = tmp_path / "recorded"
    recorder = start_recorder(env, out, DATA_TOPICS, "--storage", "sqlite3")
    try:
        play = run_player(env, broken, "--wait-for-subscribers", *DATA_TOPICS, "--wait-timeout", "30")
        time.sleep(0.5)
    finally:
        rec_stdout, rec_stderr = stop(recorder, signal.SIGTERM)
    assert play.returncode == 1, play.stdout + play.stderr
    match = re.search(r"bag unreadable from message #(\d+) \(topic (\S+)\): .*truncated", play.stderr)
    assert match, play.stderr
    index, topic = int(match.group(1)), match.group(2)
    assert 0.4 * len(written) < index < 0.75 * len(written)
    assert topic == written[index][0]
    assert f"published {index} messages" in play.stdout
    # SIGTERM closed the sqlite3 bag properly; it holds exactly the readable prefix.
    assert recorder.returncode == 0, rec_stdout + rec_stderr
    recorded = read_bag(out)
    for name in DATA_TOPICS:
        expected = [padded(data) for t, _, data in written[:index] if t == name]
        assert [data for _, data, _ in recorded.get(name, [])] == expected, name


def test_player_rejects_a_missing_path_and_a_non_bag(env, tmp_path):
    missing = run_player(env, tmp_path / "nope")
    assert missing.returncode == 2 and f"no such bag: {tmp_path / 'nope'}" in missing.stderr
    not_bag = run_player(env, tmp_path)
    assert not_bag.returncode == 2 and "is not a rosbag2 bag" in not_bag.stderr
    bad_rate = run_player(env, tmp_path, "--rate", "0")
    assert bad_rate.returncode == 2 and "--rate must be > 0" in bad_rate.stderr


def test_player_gives_up_waiting_for_subscribers_with_exit_3(env, source_bag):
    bag, _ = source_bag
    result = run_player(env, bag, "--wait-for-subscribers", "/nobody/listens", "--wait-timeout", "0.5")
    assert result.returncode == 3 and "no subscriber within 0.5 s on: /nobody/listens" in result.stderr


def test_recorder_duration_closes_a_readable_bag_and_lists_unseen_topics(env, tmp_path):
    out = tmp_path / "quiet"
    start = time.monotonic()
    result = subprocess.run(
        [str(RECORDER), "--out", str(out), "--topics", "/never/published", "--duration", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 15
    assert "never seen: /never/published" in result.stdout
    assert read_bag(out) == {}
    again = subprocess.run(
        [str(RECORDER), "--out", str(out), "--topics", "/x"], capture_output=True, text=True, env=env, timeout=60
    )
    assert again.returncode == 2 and "exists; not overwriting" in again.stderr
