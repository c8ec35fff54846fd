"""Lifecycle teardown: cleanup destroys exactly the node's own entities, and the node comes back and tracks.

Real rclpy nodes over Fast DDS on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, a distinct domain; see
tests/conftest.py): the tracker node in-process, a driver node calling its services and publishing images.
"""

from __future__ import annotations

import threading
import time

import pytest
import rclpy
from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import GetParameters
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

from mm_tracker.node import SUCCESS, TrackerNode
from mm_tracker_model.data.toy import toy_sequence
from mm_tracker_model.streams.image_msgs import array_to_image_fields
from mm_tracker_msgs.msg import Box2D, TrackedTarget
from mm_tracker_msgs.srv import InitTarget

pytestmark = pytest.mark.integration

OWN_SERVICES = {"init_target", "reset", "save_calibration"}  # relative names, as created
RCLPY_SERVICES = {"/mm_tracker/get_state", "/mm_tracker/change_state", "mm_tracker/get_parameters"}
TIMEOUT_S = 20.0


class Graph:
    """The tracker node and a driver node spun together on a background executor."""

    def __init__(self, **parameters) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        overrides = [Parameter("device", value="cpu"), Parameter("autostart", value=False)]
        overrides += [Parameter(name, value=value) for name, value in parameters.items()]
        self.node = TrackerNode(context=self.context, namespace="/", parameter_overrides=overrides)
        self.driver = rclpy.create_node("lifecycle_driver", context=self.context)
        self.targets: list[TrackedTarget] = []
        self.driver.create_subscription(TrackedTarget, "target", self.targets.append, 50)
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
        self.rgb_pub = self.driver.create_publisher(Image, "rgb/image", qos)
        self.aux_pub = self.driver.create_publisher(Image, "aux/image", qos)
        self.executor = MultiThreadedExecutor(num_threads=2, context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.driver)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def call(self, srv_type, name: str, request):
        client = self.driver.create_client(srv_type, name)
        try:
            assert client.wait_for_service(timeout_sec=TIMEOUT_S), f"{name} does not answer"
            future = client.call_async(request)
            deadline = time.monotonic() + TIMEOUT_S
            while not future.done() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert future.done(), f"no answer from {name}"
            return future.result()
        finally:
            self.driver.destroy_client(client)

    def state(self) -> str:
        return self.call(GetState, "/mm_tracker/get_state", GetState.Request()).current_state.label

    def own_services(self) -> set[str]:
        return {s.srv_name for s in self.node.services} & OWN_SERVICES

    def tracks(self, frames: int = 12) -> list[TrackedTarget]:
        """Ask for the target through the service, publish a few pairs, return the targets that came back."""
        sequence = toy_sequence(frames=frames, rgb_size=(160, 120), x_size=(160, 128), seed=3)
        x, y, w, h = (float(v) for v in sequence[0].box)
        answer = self.call(InitTarget, "/init_target", InitTarget.Request(box=Box2D(x=x, y=y, width=w, height=h)))
        assert answer.success, answer.message
        self.targets.clear()
        for index, frame in enumerate(sequence):
            stamp = self.node.get_clock().now().to_msg()
            rgb = Image(**array_to_image_fields(frame.rgb, "rgb8"))
            aux = Image(**array_to_image_fields(frame.x, "rgb8"))
            rgb.header.stamp = aux.header.stamp = stamp
            rgb.header.frame_id, aux.header.frame_id = "rgb", "aux"
            self.aux_pub.publish(aux)
            self.rgb_pub.publish(rgb)
            deadline = time.monotonic() + 5.0
            while len(self.targets) <= index and time.monotonic() < deadline:
                time.sleep(0.01)
        return list(self.targets)

    def close(self) -> None:
        self.executor.shutdown()
        self.node._stop_inputs()
        self.node.destroy_node()
        self.driver.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def graph():
    graph = Graph()
    yield graph
    graph.close()


def test_configure_activate_deactivate_cleanup_and_back_tracks_again(graph):
    assert graph.state() == "unconfigured" and graph.own_services() == set()
    assert graph.node.trigger_configure() == SUCCESS and graph.node.trigger_activate() == SUCCESS
    assert graph.state() == "active" and graph.own_services() == OWN_SERVICES
    assert any(t.state == TrackedTarget.TRACKING for t in graph.tracks())

    assert graph.node.trigger_deactivate() == SUCCESS and graph.node.trigger_cleanup() == SUCCESS
    assert graph.state() == "unconfigured"
    assert graph.own_services() == set(), "cleanup left the node's own services alive"
    remaining = {s.srv_name for s in graph.node.services}
    assert remaining >= RCLPY_SERVICES, "cleanup destroyed rclpy's services"
    parameters = graph.call(GetParameters, "/mm_tracker/get_parameters", GetParameters.Request(names=["device"]))
    assert parameters.values[0].string_value == "cpu"

    assert graph.node.trigger_configure() == SUCCESS and graph.node.trigger_activate() == SUCCESS
    assert graph.state() == "active" and graph.own_services() == OWN_SERVICES
    targets = graph.tracks()
    assert len(targets) >= 10, f"only {len(targets)} targets after the second activation"
    assert sum(t.state == TrackedTarget.TRACKING for t in targets) >= 10


@pytest.mark.parametrize("reached", ["unconfigured", "inactive", "active"])
def test_shutdown_from_every_state_releases_the_nodes_entities(graph, reached):
    if reached in ("inactive", "active"):
        assert graph.node.trigger_configure() == SUCCESS
    if reached == "active":
        assert graph.node.trigger_activate() == SUCCESS
    assert graph.state() == reached
    assert graph.node.trigger_shutdown() == SUCCESS
    assert graph.state() == "finalized"
    assert graph.own_services() == set()
    assert {s.topic_name for s in graph.node.subscriptions} & {"/rgb/image", "/aux/image"} == set()
    assert {p.topic_name for p in graph.node.publishers} & {"/target", "/alignment", "/debug_image"} == set()
