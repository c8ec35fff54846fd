"""mm_tracker_node: the lifecycle node wiring subscriptions -> sync -> worker -> engine -> publishers."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable
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

from mm_tracker.conversions import alignment_msg, detection_array_type, detections_msg, target_msg
from mm_tracker.debug_image import render_debug_image
from mm_tracker.diagnostics import NodeStats
from mm_tracker.parameters import ENGINE_PARAMETERS, SPECS, ParamSpec, validate
from mm_tracker.worker import InferenceWorker
from mm_tracker_model.calibration import CalibrationError, load_calibration, save_calibration
from mm_tracker_model.engine import EngineConfig, Tracker, TrackState
from mm_tracker_model.engine.stream import Degradation, StreamConfig, StreamTracker
from mm_tracker_model.errors import ImageConversionError, MMTrackerError
from mm_tracker_model.io.checkpoint import load_net
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.streams.camera_info import CameraInfoState
from mm_tracker_model.streams.image_msgs import array_to_image_fields, check_image
from mm_tracker_model.streams.sync_policy import SyncedPair, SyncPolicy
from mm_tracker_model.topics import COMPRESSED_SUFFIX, NODE
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
        self._stream: StreamTracker | None = None
        self._worker: InferenceWorker | None = None
        # What configure creates (destroyed by cleanup/shutdown) and what activate creates (by deactivate).
        self._configured: list[tuple[Callable[[Any], Any], Any]] = []
        self._input_subscriptions: list = []
        self._last_warn: dict[str, float] = {}
        self._track_id = 0  # advances with each target started: the detections' id
        self._calibration = None

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
        engine = EngineConfig(device=self._device, **{name: p[name] for name in ENGINE_PARAMETERS if name != "device"})
        tracker = Tracker(net, engine)
        self._stream = StreamTracker(tracker, self._stream_config(), self._h_calibration)
        if list(p["initial_box"]) != [0.0]:
            try:
                self._stream.request_target(p["initial_box"])
            except MMTrackerError as exc:
                self.get_logger().error(f"invalid parameter 'initial_box': {exc}")
                self._stream = None
                return FAILURE
        self._sync = SyncPolicy(slop_ns=int(p["sync_slop"] * 1e9), queue_size=p["sync_queue_size"])
        self._target_pub = self._own(
            self.destroy_lifecycle_publisher, self.create_lifecycle_publisher(TrackedTarget, NODE.target, 10)
        )
        self._alignment_pub = self._own(
            self.destroy_lifecycle_publisher, self.create_lifecycle_publisher(Alignment, NODE.alignment, 10)
        )
        self._debug_pub = self._own(
            self.destroy_lifecycle_publisher, self.create_lifecycle_publisher(Image, NODE.debug_image, 1)
        )
        self._detections_pub = None
        if p["publish_detections"]:  # validate() made sure vision_msgs imports
            self._detections_pub = self._own(
                self.destroy_lifecycle_publisher,
                self.create_lifecycle_publisher(detection_array_type(), NODE.detections, 10),
            )
        self._diagnostics_pub = self._own(
            self.destroy_publisher, self.create_publisher(DiagnosticArray, NODE.diagnostics, 10)
        )
        for srv_type, name, callback in (
            (InitTarget, "init_target", self._on_init_target),
            (Trigger, "reset", self._on_reset),
            (Trigger, "save_calibration", self._on_save_calibration),
        ):
            self._own(self.destroy_service, self.create_service(srv_type, name, callback))
        # Diagnostics tick on the steady clock: under use_sim_time a ROS-time timer stalls when a bag pauses,
        # and rclpy then busy-waits on it, starving the inference thread.
        steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._own(
            self.destroy_timer, self.create_timer(p["diagnostics_period"], self._publish_diagnostics, clock=steady)
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
        msg_type, suffix = (CompressedImage, COMPRESSED_SUFFIX) if compressed else (Image, "")
        self._worker = InferenceWorker(self._process, self._on_worker_error)
        rgb_only = self.params["rgb_only"]
        self._input_subscriptions = [self.create_subscription(msg_type, NODE.rgb + suffix, self._on_rgb, qos)]
        if not rgb_only:
            self._input_subscriptions.append(self.create_subscription(msg_type, NODE.aux + suffix, self._on_aux, qos))
        if self.params["use_camera_info"]:
            for stream in ("rgb",) if rgb_only else ("rgb", "aux"):
                callback = (lambda s: lambda msg: self._on_camera_info(s, msg))(stream)
                topic = getattr(NODE, f"{stream}_info")
                subscription = self.create_subscription(CameraInfo, topic, callback, qos)
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

    def _own(self, destroy: Callable[[Any], Any], entity: Any) -> Any:
        """Record an entity configure created, with the call that destroys it."""
        self._configured.append((destroy, entity))
        return entity

    def _release(self) -> None:
        """Destroy exactly what configure created (never rclpy's own lifecycle and parameter services)."""
        for destroy, entity in reversed(self._configured):
            destroy(entity)
        self._configured = []
        self._stream = None

    def _stream_config(self) -> StreamConfig:
        p = self.params
        sizes = {}
        if self._calibration is not None:
            for stream, camera in (("rgb", self._calibration.rgb), ("aux", self._calibration.aux)):
                if camera is not None:
                    sizes[stream] = (camera.width, camera.height)
        return StreamConfig(
            modality=p["aux_modality"],
            aux_max_age_s=p["aux_max_age"],
            thermal_range=tuple(p["thermal_range"]) if list(p["thermal_range"]) != [0.0] else None,
            rgb_only=p["rgb_only"],
            calibration_sizes=sizes,
        )

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

    def _on_rgb(self, msg: Any) -> None:
        self.stats.tick("rgb")
        self._feed(self._sync.add_rgb, msg, "rgb")

    def _on_aux(self, msg: Any) -> None:
        self.stats.tick("aux")
        self._feed(self._sync.add_aux, msg, "aux")

    def _on_camera_info(self, stream: str, msg: Any) -> None:
        self.stats.tick(f"{stream}_camera_info")
        if self._stream is not None:
            self._stream.camera_info[stream] = CameraInfoState(int(msg.width), int(msg.height), msg.header.frame_id)

    def _feed(self, add, msg: Any, stream: str) -> None:
        # Header-level checks here, so a bad message is counted even when the worker is busy.
        if isinstance(msg, Image):
            try:
                check_image(msg)
            except ImageConversionError as exc:
                if self._stream is not None:
                    self._warn(self._stream.note(f"{stream}_bad_image", f"{stream} message dropped: {exc}"))
                return
        stamp = Time.from_msg(msg.header.stamp).nanoseconds
        if self.params["rgb_only"]:  # nothing to pair with: no need to wait for the next frame
            pairs = [SyncedPair(stamp, msg, None, None)]
        else:
            with self._lock:
                pairs = add(stamp, msg)
        if self._worker is not None:
            for pair in pairs:
                self._worker.slot.put(pair)

    def _process(self, pair: SyncedPair) -> None:
        stream = self._stream
        if stream is None:
            return
        taken = self.get_clock().now()
        frame = stream.process(pair)
        for degradation in frame.degradations:
            self._warn(degradation)
        if frame.rgb is None:
            return
        header = pair.rgb.header
        aux_frame_id = pair.aux.header.frame_id if pair.aux is not None else ""
        if frame.started:
            self._track_id += 1
            self.get_logger().info(f"tracking box {frame.result.box.tolist()}")
        if frame.result is None:
            self._target_pub.publish(target_msg(header, aux_frame_id, None))
            return
        result = frame.result
        publishing = time.perf_counter()
        self._target_pub.publish(target_msg(header, aux_frame_id, result))
        if self._detections_pub is not None:
            self._detections_pub.publish(detections_msg(header, result, self._track_id))
        self._alignment_pub.publish(alignment_msg(header, aux_frame_id, result, self._h_calibration))
        if self.params["publish_debug_image"] and self._debug_pub.get_subscription_count() > 0:
            self._publish_debug(header, frame.rgb, frame.aux, result)
        self.stats.tick("tracked")
        stamp = Time.from_msg(header.stamp)
        self.stats.add_latency((self.get_clock().now() - stamp).nanoseconds / 1e6)
        waiting = (taken - stamp).nanoseconds / 1e6
        published = (time.perf_counter() - publishing) * 1e3
        self.stats.add_phases(
            {"waiting": waiting, "convert": frame.convert_ms, **result.timings_ms, "publish": published}
        )

    def _publish_debug(self, header: Any, rgb: np.ndarray, aux: np.ndarray | None, result) -> None:
        label = f"{result.state.name} {result.score:.2f} {'/'.join(result.experts)}"
        view = render_debug_image(
            rgb, aux, result.frame_homography, result.box, int(result.state), label, self.params["debug_image_scale"]
        )
        self._debug_pub.publish(Image(header=header, **array_to_image_fields(view, "rgb8")))

    def _warn(self, degradation: Degradation, count: int | None = None) -> None:
        """Warn about each kind of degradation at most every few seconds (the stream counts them)."""
        name, now = degradation.name, time.monotonic()
        if now - self._last_warn.get(name, -1e9) >= WARN_PERIOD_S:
            self._last_warn[name] = now
            if count is None:
                count = self._stream.degradations[name] if self._stream is not None else 1
            self.get_logger().warning(f"{degradation.message} ({name}: {count} so far)")

    def _on_worker_error(self, exc: BaseException) -> None:
        self.stats.count("frame_errors")
        message = f"frame failed: {type(exc).__name__}: {exc}"
        self._warn(Degradation("frame_errors", message), self.stats.counters["frame_errors"])

    def _on_init_target(self, request: InitTarget.Request, response: InitTarget.Response) -> InitTarget.Response:
        box = [request.box.x, request.box.y, request.box.width, request.box.height]
        if self._stream is None:
            response.success, response.message = False, "the node is not configured"
            return response
        try:
            self._stream.request_target(box)
        except MMTrackerError as exc:
            response.success, response.message = False, str(exc)
            return response
        response.success, response.message = True, "tracking starts on the next synchronised frame pair"
        return response

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._stream is None or self._stream.state == TrackState.IDLE:
            response.success, response.message = False, "no target is being tracked"
            return response
        self._stream.tracker.reset_alignment()
        response.success, response.message = True, "homography reset to the calibration"
        return response

    def _on_save_calibration(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if self._calibration is None or self._stream is None or self._stream.state == TrackState.IDLE:
            response.success = False
            response.message = "nothing to save: needs a calibration_file and an active target"
            return response
        source = Path(self.params["calibration_file"])
        target = source.with_name(f"{source.stem}.{time.strftime('%Y%m%d-%H%M%S')}{source.suffix}")
        updated = dataclasses.replace(self._calibration, homography_aux_to_rgb=self._stream.tracker.h_global.copy())
        response.success, response.message = True, f"saved {save_calibration(target, updated)}"
        return response

    def _publish_diagnostics(self) -> None:
        values = self.stats.snapshot()
        with self._lock:
            values |= {f"sync_{name}": str(count) for name, count in sorted(self._sync.drops.items())}
        if self._worker is not None:
            values["dropped_while_busy"] = str(self._worker.slot.dropped)
        stream = self._stream
        degraded = bool(self.stats.counters)
        if stream is not None:
            engine = stream.tracker.stats
            values |= {
                "state": stream.state.name,
                "device": self._device,
                "tocu_attempts": str(engine.tocu_attempts),
                "tocu_accepted": str(engine.tocu_accepted),
                "guard_rejections": str(engine.guard_rejections),
                "lost_events": str(engine.lost_events),
                "alignment_estimates": str(engine.alignment_estimates),
                "alignment_reused": str(engine.alignment_reused),
            }
            values |= {name: str(count) for name, count in sorted(stream.degradations.items())}
            degraded = degraded or bool(stream.degradations)
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
