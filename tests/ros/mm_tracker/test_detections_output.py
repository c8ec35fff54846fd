"""publish_detections: the optional vision_msgs/Detection2DArray output, and a clear configure failure where
vision_msgs is missing (it has no pip wheel; only a system ROS 2 install brings it)."""

from __future__ import annotations

import importlib.util

import pytest
import rclpy
from rclpy.parameter import Parameter

from mm_tracker.node import FAILURE, SUCCESS, TrackerNode
from mm_tracker.parameters import SPEC_BY_NAME, SPECS, validate
from mm_tracker_model.topics import NODE

HAS_VISION_MSGS = importlib.util.find_spec("vision_msgs") is not None
NEEDS = "parameter 'publish_detections' = True: needs the ROS package vision_msgs"


def _problems(**values):
    defaults = {spec.name: spec.default for spec in SPECS}
    return [p for p in validate(defaults | values) if "publish_detections" in p]


def test_detections_are_off_by_default():
    assert SPEC_BY_NAME["publish_detections"].default is False
    assert _problems() == []


@pytest.mark.parametrize("installed", [True, False])
def test_publish_detections_is_valid_only_where_vision_msgs_imports(monkeypatch, installed):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        if name == "vision_msgs":
            return real("json") if installed else None
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    problems = _problems(publish_detections=True)
    if installed:
        assert problems == []
    else:
        (problem,) = problems
        assert problem.startswith(NEEDS) and "publish_detections:=false" in problem


def test_the_node_configures_with_detections_only_where_vision_msgs_imports():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        overrides = [Parameter("device", value="cpu"), Parameter("publish_detections", value=True)]
        node = TrackerNode(context=context, parameter_overrides=overrides)
        if HAS_VISION_MSGS:
            assert node.trigger_configure() == SUCCESS
            assert "/" + NODE.detections in {p.topic_name for p in node.publishers}
        else:
            assert node.trigger_configure() == FAILURE  # logged: the NEEDS message above
            assert "/" + NODE.detections not in {p.topic_name for p in node.publishers}
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)


def test_without_the_parameter_the_node_has_no_detections_output():
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = TrackerNode(context=context, parameter_overrides=[Parameter("device", value="cpu")])
        assert node.trigger_configure() == SUCCESS
        topics = {p.topic_name for p in node.publishers}
        assert "/target" in topics and "/" + NODE.detections not in topics
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
