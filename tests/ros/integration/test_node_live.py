"""Proof of life: the real node process, real Fast DDS on loopback, a generated RGB + thermal stream.

RGB 640x480 at 30 Hz, thermal 640x512 16UC1 at 10 Hz, with the demo rig calibration. Midway: an unsupported
X encoding, a truncated RGB frame, a burst of out-of-order stamps, the thermal stream stopping and resuming,
and an init box outside the image through the service. The node must keep publishing targets, alignments and
debug images, report rates and every bad input on /diagnostics, and answer its services. That the box follows
the ground truth with the default model, under use_sim_time, is checked in test_eval_live.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import Trigger

from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.executables import ros_executable
from mm_tracker_model.streams.image_msgs import array_to_image_fields
from mm_tracker_msgs.msg import Alignment, Box2D, TrackedTarget
from mm_tracker_msgs.srv import InitTarget

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
try:
    NODE = ros_executable("mm_tracker_node")
except MMTrackerError as exc:
    pytest.skip(str(exc), allow_module_level=True)
STARTUP_TIMEOUT_S = 90


def _thermal_16bit(x_rgb: np.ndarray) -> np.ndarray:
    return (x_rgb[..., 0].astype(np.uint16) * 40 + 20000).astype(np.uint16)


def _call(executor, client, request, timeout=20.0):
    assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
    future = client.call_async(request)
    executor.spin_until_future_complete(future, timeout_sec=timeout)
    assert future.done(), f"no answer from {client.srv_name}"
    return future.result()


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    sequence = toy_sequence(frames=150, rgb_size=(640, 480), x_size=(640, 512), seed=5)
    box = sequence[0].box
    rig = tmp_path_factory.mktemp("rig") / "rig.yaml"
    shutil.copy(REPO / "calibration" / "demo_rig.yaml", rig)
    args = [
        str(NODE),
        "--ros-args",
        "-p",
        "device:=cpu",
        "-p",
        "diagnostics_period:=0.5",
        "-p",
        f"initial_box:=[{box[0]:.1f}, {box[1]:.1f}, {box[2]:.1f}, {box[3]:.1f}]",
        "-p",
        f"calibration_file:={rig}",
        "-p",
        "use_camera_info:=true",
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("mm_tracker_test_driver", context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(node)
    received: dict[str, list] = {"target": [], "alignment": [], "debug_image": [], "diagnostics": []}
    node.create_subscription(TrackedTarget, "target", received["target"].append, 50)
    node.create_subscription(Alignment, "alignment", received["alignment"].append, 50)
    node.create_subscription(Image, "debug_image", received["debug_image"].append, 5)
    node.create_subscription(DiagnosticArray, "/diagnostics", received["diagnostics"].append, 20)
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    rgb_pub = node.create_publisher(Image, "rgb/image", qos)
    aux_pub = node.create_publisher(Image, "aux/image", qos)
    info_pubs = {s: node.create_publisher(CameraInfo, f"{s}/camera_info", qos) for s in ("rgb", "aux")}
    init_client = node.create_client(InitTarget, "init_target")
    reset_client = node.create_client(Trigger, "reset")
    save_client = node.create_client(Trigger, "save_calibration")
    published_stamps, answers = [], {}
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while rgb_pub.get_subscription_count() == 0 or aux_pub.get_subscription_count() == 0:
            assert process.poll() is None, f"node exited early:\n{process.stdout.read()}"
            assert time.monotonic() < deadline, "node did not subscribe in time"
            executor.spin_once(timeout_sec=0.2)
        start = time.monotonic()
        for i, frame in enumerate(sequence):
            t = start + i / 30.0
            while time.monotonic() < t:
                executor.spin_once(timeout_sec=max(0.0, t - time.monotonic()))
            stamp = node.get_clock().now().to_msg()
            if 50 <= i < 56:  # a burst of stamps from the past
                stamp.sec -= 1
            if i == 120:
                request = InitTarget.Request(box=Box2D(x=5000.0, y=10.0, width=40.0, height=40.0))
                answers["init_outside"] = _call(executor, init_client, request)
            rgb_fields = array_to_image_fields(frame.rgb, "rgb8")
            if i == 40:  # a truncated RGB frame
                rgb_fields["data"] = rgb_fields["data"][:1000]
            rgb = Image(**rgb_fields)
            rgb.header.stamp, rgb.header.frame_id = stamp, "rgb_camera"
            rgb_pub.publish(rgb)
            if i % 10 == 0:  # the RGB driver agrees with the images; the thermal driver claims another size
                info_pubs["rgb"].publish(CameraInfo(width=640, height=480))
                info_pubs["aux"].publish(CameraInfo(width=320, height=256))
            published_stamps.append((stamp.sec, stamp.nanosec))
            if i % 3 == 0 and not 70 <= i < 100:  # ~10 Hz thermal that stops for a second, then resumes
                aux = Image(**array_to_image_fields(_thermal_16bit(frame.x), "16UC1"))
                if 30 <= i < 40:
                    aux.encoding = "yuv422"
                aux.header.stamp, aux.header.frame_id = stamp, "thermal_camera"
                aux_pub.publish(aux)
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.1)
        answers["reset"] = _call(executor, reset_client, Trigger.Request())
        answers["save"] = _call(executor, save_client, Trigger.Request())
        alive = process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        node.destroy_node()
        rclpy.shutdown(context=context)
    return {
        "received": received,
        "stamps": set(published_stamps),
        "alive": alive,
        "log": output,
        "answers": answers,
        "rig": rig,
    }


def test_node_survives_bad_inputs(live_run):
    assert live_run["alive"], live_run["log"]


def test_targets_carry_the_rgb_header_and_a_box(live_run):
    targets = live_run["received"]["target"]
    assert len(targets) >= 5, live_run["log"]
    tracked = [t for t in targets if t.state in (TrackedTarget.TRACKING, TrackedTarget.LOST)]
    assert tracked
    for target in tracked:
        assert (target.header.stamp.sec, target.header.stamp.nanosec) in live_run["stamps"]
        assert target.header.frame_id == "rgb_camera"
        assert target.box.width > 0 and target.box.height > 0


def test_alignment_carries_a_finite_homography_and_the_experts(live_run):
    alignments = live_run["received"]["alignment"]
    assert len(alignments) >= 5
    # The init frame reports the calibration without running the network: no stage, no expert.
    assert len(alignments[0].stage_experts) == 0
    np.testing.assert_allclose(alignments[0].homography, alignments[0].calibration_homography)
    for alignment in alignments[1:]:
        assert np.isfinite(alignment.homography).all() and len(alignment.stage_experts) == 3
        assert set(alignment.stage_experts) <= {"tre", "fme", "dpe"}


def test_debug_image_copies_the_rgb_header(live_run):
    images = live_run["received"]["debug_image"]
    assert images and images[-1].header.frame_id == "rgb_camera" and images[-1].encoding == "rgb8"
    assert (images[-1].width, images[-1].height) == (320, 240)  # debug_image_scale 0.5


def test_diagnostics_report_rates_and_the_bad_inputs(live_run):
    statuses = [s for array in live_run["received"]["diagnostics"] for s in array.status if "mm_tracker" in s.name]
    assert statuses
    values = {kv.key: kv.value for kv in statuses[-1].values}
    assert float(values["rgb_rate_hz"]) > 5 and float(values["tracked_rate_hz"]) > 1
    assert int(values.get("aux_bad_image", 0)) >= 1
    assert int(values.get("rgb_bad_image", 0)) >= 1
    assert int(values.get("sync_rgb_out_of_order", 0)) >= 1
    assert int(values.get("sync_rgb_without_aux", 0)) >= 1  # the thermal stream stopped
    assert int(values.get("init_rejected", 0)) >= 1
    assert int(values.get("aux_camera_info_image_size", 0)) >= 1  # CameraInfo 320x256 vs 640x512 images
    assert "rgb_camera_info_image_size" not in values and float(values["aux_camera_info_rate_hz"]) > 0
    assert "latency_ms_p95" in values
    assert statuses[-1].level == statuses[-1].WARN


def test_services_answer(live_run):
    answers = live_run["answers"]
    assert answers["init_outside"].success  # accepted for the next frame, then refused there (counted)
    assert answers["reset"].success and "calibration" in answers["reset"].message
    assert answers["save"].success
    saved = Path(answers["save"].message.removeprefix("saved "))
    assert saved.is_file() and saved != live_run["rig"] and live_run["rig"].is_file()


def test_invalid_parameters_fail_configure_with_a_message():
    result = subprocess.run(
        [str(NODE), "--ros-args", "-p", "device:=gpu", "-p", "tocu_beta:=1.5"],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        env=dict(os.environ),
    )
    assert result.returncode == 2
    log = result.stdout + result.stderr
    assert "parameter 'device' = 'gpu': expected auto, cpu, cuda or cuda:N" in log
    assert "tocu_beta" in log and "configure failed" in log
