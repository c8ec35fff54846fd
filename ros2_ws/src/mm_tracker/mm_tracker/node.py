"""mm_tracker_node: the lifecycle node wiring subscriptions -> sync -> worker -> engine -> publishers."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.clock import Clock, ClockType
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.executors import ExternalShutdownException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.time import Time
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_srvs.srv import Trigger

from mm_tracker.camera_info import CameraInfoState, camera_info_problems
from mm_tracker.conversions import alignment_msg, target_msg
from mm_tracker.debug_image import render_debug_image
from mm_tracker.diagnostics import NodeStats
from mm_tracker.parameters import SPECS, ParamSpec, validate
from mm_tracker.worker import InferenceWorker
from mm_tracker_model.calibration import CalibrationError, load_calibration, save_calibration
from mm_tracker_model.engine import EngineConfig, Tracker, TrackState
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.streams.image_msgs import (
    ImageConversionError,
    array_to_image_fields,
    aux_from_message,
    check_image,
    rgb_from_message,
)
from mm_tracker_model.streams.sync_policy import SyncedPair, SyncPolicy
from mm_tracker_model.weights import default_checkpoint
from mm_tracker_msgs.msg import Alignment, TrackedTarget
from mm_tracker_msgs.srv import InitTarget

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE
WARN_PERIOD_S = 5.0


def descriptor(spec: ParamSpec) -> ParameterDescriptor:
    desc = ParameterDescriptor(name=spec.name, description=spec.description)
    if spec.choices:
        desc.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.low is not None:
        if isinstance(spec.default, int) and not isinstance(spec.default, bool):
            desc.integer_range = [IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)]
        else:
            desc.floating_point_range = [FloatingPointRange(from_value=float(spec.low), to_value=float(spec.high))]
    return desc


class TrackerNode(LifecycleNode):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__("mm_tracker", **kwargs)
        self._declaration_errors: list[str] = []
        for spec in SPECS:
            try:
                self.declare_parameter(spec.name, spec.default, descriptor(spec))
            except (InvalidParameterValueException, InvalidParameterTypeException) as exc:
                # rclpy rejects out-of-range overrides at declaration; report them at configure instead.
                self._declaration_errors.append(f"parameter '{spec.name}': {exc}")
                self.declare_parameter(spec.name, spec.default, descriptor(spec), ignore_override=True)
        self.stats = NodeStats()
        self._lock = threading.Lock()
        self._tracker: Tracker | None = None
        self._worker: InferenceWorker | None = None
        self._input_subscriptions: list = []
        self._pending_box: list[float] | None = None
        self._last_warn: dict[str, float] = {}
        self._calibration = None
        self._camera_info = {"rgb": CameraInfoState(), "aux": CameraInfoState()}

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.params = {spec.name: self.get_parameter(spec.name).value for spec in SPECS}
        problems = self._declaration_errors + validate(self.params)
        if problems:
            for problem in problems:
                self.get_logger().error(f"invalid parameter: {problem}")
            return FAILURE
        if self.params["cpu_threads"] > 0:
            # One thread leaves the other cores to DDS and the camera drivers; measured faster end to end.
            torch.set_num_threads(self.params["cpu_threads"])
        try:
            self._device = self._resolve_device(self.params["device"])
            net = self._load_network()
            self._h_calibration = self._load_calibration()
        except (MMTrackerError, RuntimeError) as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return FAILURE
        p = self.params
        self._tracker = Tracker(
            net,
            EngineConfig(
                device=self._device,
                precision=p["precision"],
                tocu_alpha=p["tocu_alpha"],
                tocu_beta=p["tocu_beta"],
                tocu_every=p["tocu_every"],
                lost_score=p["lost_score"],
                lost_patience=p["lost_patience"],
                max_corner_shift=p["max_corner_shift"],
            ),
        )
        self._sync = SyncPolicy(slop_ns=int(p["sync_slop"] * 1e9), queue_size=p["sync_queue_size"])
        self._thermal_range = tuple(p["thermal_range"]) if list(p["thermal_range"]) != [0.0] else None
        self._pending_box = list(p["initial_box"]) if list(p["initial_box"]) != [0.0] else None
        self._target_pub = self.create_lifecycle_publisher(TrackedTarget, "target", 10)
        self._alignment_pub = self.create_lifecycle_publisher(Alignment, "alignment", 10)
        self._debug_pub = self.create_lifecycle_publisher(Image, "debug_image", 1)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._tracker_services = [
            self.create_service(InitTarget, "init_target", self._on_init_target),
            self.create_service(Trigger, "reset", self._on_reset),
            self.create_service(Trigger, "save_calibration", self._on_save_calibration),
        ]
        # Diagnostics tick on the steady clock: under use_sim_time a ROS-time timer stalls when a bag pauses,
        # and rclpy then busy-waits on it, starving the inference thread.
        self._diagnostics_timer = self.create_timer(
            p["diagnostics_period"], self._publish_diagnostics, clock=Clock(clock_type=ClockType.STEADY_TIME)
        )
        self.get_logger().info(f"configured: {net.config.name} on {self._device} ({p['precision']})")
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=self.params["image_qos_depth"],
            reliability=ReliabilityPolicy.RELIABLE
            if self.params["image_reliability"] == "reliable"
            else ReliabilityPolicy.BEST_EFFORT,
        )
        compressed = self.params["transport"] == "compressed"
        msg_type, suffix = (CompressedImage, "/compressed") if compressed else (Image, "")
        self._worker = InferenceWorker(self._process, self._on_worker_error)
        self._input_subscriptions = [
            self.create_subscription(msg_type, "rgb/image" + suffix, self._on_rgb, qos),
            self.create_subscription(msg_type, "aux/image" + suffix, self._on_aux, qos),
        ]
        if self.params["use_camera_info"]:
            for stream in ("rgb", "aux"):
                callback = (lambda s: lambda msg: self._on_camera_info(s, msg))(stream)
                subscription = self.create_subscription(CameraInfo, f"{stream}/camera_info", callback, qos)
                self._input_subscriptions.append(subscription)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        if self._device.startswith("cuda"):
            torch.cuda.empty_cache()
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._release()
        return SUCCESS

    def _stop_inputs(self) -> None:
        for subscription in self._input_subscriptions:
            self.destroy_subscription(subscription)
        self._input_subscriptions = []
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _release(self) -> None:
        for publisher in ("_target_pub", "_alignment_pub", "_debug_pub", "_diagnostics_pub"):
            if hasattr(self, publisher):
                self.destroy_publisher(getattr(self, publisher))
                delattr(self, publisher)
        for service in getattr(self, "_services", []):
            self.destroy_service(service)
        self._tracker_services = []
        if hasattr(self, "_diagnostics_timer"):
            self.destroy_timer(self._diagnostics_timer)
            del self._diagnostics_timer
        self._tracker = None

    # -- configuration pieces ----------------------------------------------------------------------------------

    def _resolve_device(self, requested: str) -> str:
        if requested == "auto":
            if torch.cuda.is_available():
                return "cuda"
            self.get_logger().warning("device 'auto': no CUDA device found, running on the CPU")
            return "cpu"
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise MMTrackerError(f"parameter 'device' = {requested!r}, but CUDA is not available on this machine")
        return requested

    def _load_network(self):
        checkpoint = self.params["checkpoint"] or default_checkpoint(self.params["aux_modality"])
        if checkpoint:
            net = load_net(checkpoint)
        else:
            self.get_logger().warning(
                "no checkpoint given and no default model is packaged yet (model/weights/): "
                f"using a randomly initialised '{self.params['preset']}' — boxes will not follow the target"
            )
            torch.manual_seed(0)
            net = build_net(self.params["preset"])
        return net

    def _load_calibration(self) -> np.ndarray:
        path = self.params["calibration_file"]
        if not path:
            return np.eye(3)
        self._calibration = load_calibration(path)
        if self._calibration.modality != self.params["aux_modality"]:
            raise CalibrationError(
                f"calibration {path!r} is for a {self._calibration.modality} camera, "
                f"but aux_modality is {self.params['aux_modality']!r}"
            )
        return self._calibration.homography_aux_to_rgb

    # -- inputs -------------------------------------------------------------------------------------------------

    def _on_rgb(self, msg: Any) -> None:
        self.stats.tick("rgb")
        self._feed(self._sync.add_rgb, msg, "rgb")

    def _on_aux(self, msg: Any) -> None:
        self.stats.tick("aux")
        self._feed(self._sync.add_aux, msg, "aux")

    def _on_camera_info(self, stream: str, msg: Any) -> None:
        self.stats.tick(f"{stream}_camera_info")
        self._camera_info[stream] = CameraInfoState(int(msg.width), int(msg.height), msg.header.frame_id)

    def _feed(self, add, msg: Any, stream: str) -> None:
        # Header-level checks here, so a bad message is counted even when the worker is busy.
        if isinstance(msg, Image):
            try:
                check_image(msg)
            except ImageConversionError as exc:
                self._degrade(f"{stream}_bad_image", f"{stream} message dropped: {exc}")
                return
        stamp = Time.from_msg(msg.header.stamp).nanoseconds
        with self._lock:
            pairs = add(stamp, msg)
        if self._worker is not None:
            for pair in pairs:
                self._worker.slot.put(pair)

    # -- inference (worker thread) ------------------------------------------------------------------------------

    def _process(self, pair: SyncedPair) -> None:
        rgb_msg = pair.rgb
        try:
            rgb = rgb_from_message(rgb_msg)
        except (MMTrackerError, ValueError) as exc:
            self._degrade("rgb_bad_image", f"RGB frame dropped: {exc}")
            return
        self._check_size(rgb, "rgb")
        aux_msg, aux = pair.aux, None
        aux_frame_id = aux_msg.header.frame_id if aux_msg is not None else ""
        if aux_msg is None:
            self.stats.count("aux_missing")
        elif abs(pair.rgb_stamp - pair.aux_stamp) > self.params["aux_max_age"] * 1e9:
            self._degrade("aux_stale", "X frame too old for its RGB frame: running RGB-only")
        else:
            try:
                aux, degradations = aux_from_message(aux_msg, self.params["aux_modality"], self._thermal_range)
                for name in degradations:
                    self._degrade(name, f"X frame degraded: {name}")
                self._check_size(aux, "aux")
            except (MMTrackerError, ValueError) as exc:
                self._degrade("aux_bad_image", f"X frame unusable, running RGB-only: {exc}")
        tracker = self._tracker
        if tracker is None:
            return
        started = self._maybe_initialize(tracker, rgb, aux)
        header = rgb_msg.header
        if tracker.state == TrackState.IDLE:
            self._target_pub.publish(target_msg(header, aux_frame_id, None))
            return
        # The init frame reports the given box; tracking the template's own frame again would bias it.
        result = tracker.initial_result() if started else tracker.track(rgb, aux)
        for name in result.degraded:
            self.stats.count(name)
        self._target_pub.publish(target_msg(header, aux_frame_id, result))
        self._alignment_pub.publish(alignment_msg(header, aux_frame_id, result, self._h_calibration))
        if self.params["publish_debug_image"] and self._debug_pub.get_subscription_count() > 0:
            self._publish_debug(header, rgb, aux, result)
        self.stats.tick("tracked")
        latency = (self.get_clock().now() - Time.from_msg(header.stamp)).nanoseconds / 1e6
        self.stats.add_latency(latency)

    def _check_size(self, image: np.ndarray, stream: str) -> None:
        """Images of another size than the calibration's make its homography wrong: count and warn."""
        camera = None
        if self._calibration is not None:
            camera = self._calibration.rgb if stream == "rgb" else self._calibration.aux
        calibration_size = (camera.width, camera.height) if camera is not None else None
        image_size = (image.shape[1], image.shape[0])
        for name, message in camera_info_problems(self._camera_info[stream], image_size, calibration_size):
            self._degrade(f"{stream}_{name}", f"{stream}: {message}")
        if camera is None:
            return
        if image.shape[:2] != (camera.height, camera.width):
            self._degrade(
                f"{stream}_size_mismatch",
                f"{stream} image is {image.shape[1]}x{image.shape[0]}, calibration says {camera.width}x{camera.height}",
            )

    def _maybe_initialize(self, tracker: Tracker, rgb: np.ndarray, aux: np.ndarray | None) -> bool:
        """Start tracking a pending box on this frame; True when it started."""
        with self._lock:
            box, self._pending_box = self._pending_box, None
        if box is None:
            return False
        if aux is None:  # the X template needs an X frame: wait for the next usable pair
            with self._lock:
                self._pending_box = self._pending_box or box
            self._degrade("init_waiting_for_aux", "target box waits for a usable X frame")
            return False
        try:
            tracker.initialize(rgb, aux, box, self._h_calibration)
        except MMTrackerError as exc:
            self._degrade("init_rejected", f"target box refused: {exc}")
            return False
        self.get_logger().info(f"tracking box {box}")
        return True

    def _publish_debug(self, header: Any, rgb: np.ndarray, aux: np.ndarray | None, result) -> None:
        label = f"{result.state.name} {result.score:.2f} {'/'.join(result.experts)}"
        view = render_debug_image(
            rgb, aux, result.frame_homography, result.box, int(result.state), label, self.params["debug_image_scale"]
        )
        self._debug_pub.publish(Image(header=header, **array_to_image_fields(view, "rgb8")))

    def _degrade(self, name: str, message: str) -> None:
        """Count a degradation; warn about each kind at most every few seconds."""
        self.stats.count(name)
        now = time.monotonic()
        if now - self._last_warn.get(name, -1e9) >= WARN_PERIOD_S:
            self._last_warn[name] = now
            self.get_logger().warning(f"{message} ({name}: {self.stats.counters[name]} so far)")

    def _on_worker_error(self, exc: BaseException) -> None:
        self._degrade("frame_errors", f"frame failed: {type(exc).__name__}: {exc}")

    # -- services -----------------------------------------------------------------------------------------------

    def _on_init_target(self, request: InitTarget.Request, response: InitTarget.Response) -> InitTarget.Response:
        box = [request.box.x, request.box.y, request.box.width, request.box.height]
        if not (np.isfinite(box).all() and box[2] > 0 and box[3] > 0):
            response.success, response.message = False, f"box {box} is degenerate: need finite x, y and w, h > 0"
            return response
        with self._lock:
            self._pending_box = box
        response.success, response.message = True, "tracking starts on the next synchronised frame pair"
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._tracker is None or self._tracker.state == TrackState.IDLE:
            response.success, response.message = False, "no target is being tracked"
            return response
        self._tracker.reset_alignment()
        response.success, response.message = True, "homography reset to the calibration"
        return response

    def _on_save_calibration(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._calibration is None or self._tracker is None or self._tracker.state == TrackState.IDLE:
            response.success = False
            response.message = "nothing to save: needs a calibration_file and an active target"
            return response
        source = Path(self.params["calibration_file"])
        target = source.with_name(f"{source.stem}.{time.strftime('%Y%m%d-%H%M%S')}{source.suffix}")
        updated = dataclasses.replace(self._calibration, homography_aux_to_rgb=self._tracker.h_global.copy())
        response.success, response.message = True, f"saved {save_calibration(target, updated)}"
        return response

    # -- diagnostics --------------------------------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        values = self.stats.snapshot()
        with self._lock:
            values |= {f"sync_{name}": str(count) for name, count in sorted(self._sync.drops.items())}
        if self._worker is not None:
            values["dropped_while_busy"] = str(self._worker.slot.dropped)
        tracker = self._tracker
        if tracker is not None:
            values |= {
                "state": tracker.state.name,
                "device": self._device,
                "tocu_accepted": str(tracker.stats.tocu_accepted),
            }
        degraded = any(
            k.startswith(("aux_", "rgb_", "depth_", "init_", "frame_", "homography_")) for k in self.stats.counters
        )
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if degraded else DiagnosticStatus.OK,
            name=f"{self.get_name()}: tracker",
            message="degraded inputs seen (see counters)" if degraded else "ok",
            hardware_id=self._device,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    node = TrackerNode()
    try:
        if node.get_parameter("autostart").value:
            if node.trigger_configure() != SUCCESS:
                node.get_logger().fatal("configure failed (see the errors above); exiting")
                return 2
            node.trigger_activate()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node._stop_inputs()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
