"""The node must keep rclpy's own entities visible to the executor.

Regression: the node once assigned `self._subscriptions` / `self._services`, which are rclpy's internal lists.
That hid the /clock subscription of use_sim_time (Fast DDS then woke the executor in a busy loop that starved
inference) and the lifecycle and parameter services.
"""

from __future__ import annotations

import rclpy
from rclpy.parameter import Parameter

from mm_tracker.node import SUCCESS, TrackerNode


def test_node_attributes_do_not_shadow_rclpy_internals():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = TrackerNode(
            context=context,
            parameter_overrides=[Parameter("use_sim_time", value=True), Parameter("device", value="cpu")],
        )
        topics = {s.topic_name for s in node.subscriptions}
        assert "/clock" in topics
        services = {s.srv_name for s in node.services}
        assert {"/mm_tracker/get_state", "/mm_tracker/change_state"} <= services, services
        assert node.trigger_configure() == SUCCESS and node.trigger_activate() == SUCCESS
        topics = {s.topic_name for s in node.subscriptions}
        assert {"/clock", "/rgb/image", "/aux/image"} <= topics
        services = {s.srv_name for s in node.services}
        assert {"/mm_tracker/get_state", "init_target", "reset", "save_calibration"} <= services, sorted(services)
        node._stop_inputs()
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
