"""Proof of life of replay.launch.py under the real launch library (a full ROS 2 install; skipped elsewhere).

A bag as mm-tracker-make-bag writes it, replayed with the default arguments plus the initial box from the bag:
targets must arrive from the first frames on (playback waited for `active`), and a node that fails to configure
must make the launch exit non-zero.
"""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import rclpy
from launch_view import LAUNCH, launch_library_missing

from mm_tracker_model.bags.read import iter_messages, stamp_ns
from mm_tracker_model.bags.topics import BagTopics, ResultTopics
from mm_tracker_msgs.msg import TrackedTarget


def _missing() -> str | None:
    """Why `ros2 launch` cannot run here, or None."""
    if launch_library_missing() is not None:
        return launch_library_missing()
    if shutil.which("ros2") is None or importlib.util.find_spec("ros2launch") is None:
        return "`ros2 launch` (ros2cli, ros2launch) is not installed"
    return None


def _ros2_bag_missing() -> str | None:
    return None if importlib.util.find_spec("ros2bag") is not None else "`ros2 bag` (ros2bag) is not installed"


pytestmark = [pytest.mark.integration, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]
TIMEOUT_S = 180
QUIET_S = 5.0


def _launch(log: Path, *arguments: str) -> subprocess.Popen:
    command = ["ros2", "launch", str(LAUNCH / "replay.launch.py"), *arguments]
    # Output goes to a file: a pipe read only at the end could fill up and block the launch.
    with open(log, "w") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen, log: Path) -> tuple[int, str]:
    """Ctrl-C, as a user ends a replay; the exit code and the tail of the log."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return process.returncode, log.read_text(errors="replace")[-4000:]


@pytest.mark.parametrize("player", ["bag_player", "ros2bag"])
def test_replay_with_the_defaults_tracks_from_the_first_frames(synthetic_bag, player, tmp_path):
    if player == "ros2bag" and _ros2_bag_missing():
        pytest.skip(_ros2_bag_missing())
    bag, _ = synthetic_bag
    with iter_messages(bag, [BagTopics().rgb]) as messages:
        rgb_stamps = [stamp_ns(msg.header) for _, _, msg in messages]
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("replay_launch_test", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    targets: list[TrackedTarget] = []
    node.create_subscription(TrackedTarget, ResultTopics().target, targets.append, 100)
    log = tmp_path / "launch.log"
    process = _launch(log, f"bag:={bag}", f"player:={player}", "device:=cpu", "initial_box_from_bag:=true")
    try:
        deadline = time.monotonic() + TIMEOUT_S
        count, quiet_since = 0, time.monotonic()
        while time.monotonic() < deadline and process.poll() is None:
            executor.spin_once(timeout_sec=0.2)
            if len(targets) != count:
                count, quiet_since = len(targets), time.monotonic()
            elif targets and time.monotonic() - quiet_since > QUIET_S:
                break  # the bag (2 s) is over
    finally:
        code, output = _stop(process, log)
        node.destroy_node()
        rclpy.shutdown(context=context)
    assert targets, f"no target arrived:\n{output}"
    stamps = [stamp_ns(t.header) for t in targets]
    assert set(stamps) <= set(rgb_stamps)
    assert min(stamps) in rgb_stamps[:3], "the first frames were played before the node was active"
    # The box starts on the first pair with an X frame (every 3rd RGB frame has one).
    started = [stamp_ns(t.header) for t in targets if t.state != TrackedTarget.IDLE]
    assert started and started[0] in rgb_stamps[:6], "the initial box from the bag did not reach the node"
    assert code == 0, output


def test_a_node_that_fails_to_configure_fails_the_launch(synthetic_bag, tmp_path):
    bag, log = synthetic_bag[0], tmp_path / "launch.log"
    process = _launch(log, f"bag:={bag}", "player:=bag_player", "device:=tpu")
    try:
        process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the launch kept running after the node failed:\n{_stop(process, log)[1]}")
    output = log.read_text(errors="replace")
    assert process.returncode != 0, output[-4000:]
    assert "mm_tracker node exited with code 2" in output
    assert "[bag_player" not in output, "playback started although the node never became active"
