"""Topics and message types as bags hold them: the node's names (mm_tracker_model.topics), fully qualified."""

from __future__ import annotations

from dataclasses import dataclass

from mm_tracker_model.topics import NODE, absolute_topic

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TARGET = "mm_tracker_msgs/msg/TrackedTarget"
ALIGNMENT = "mm_tracker_msgs/msg/Alignment"

__all__ = ["ALIGNMENT", "CAMERA_INFO", "IMAGE", "TARGET", "BagTopics", "ResultTopics", "absolute_topic"]


@dataclass(frozen=True)
class BagTopics:
    rgb: str = absolute_topic(NODE.rgb)
    aux: str = absolute_topic(NODE.aux)
    rgb_info: str = absolute_topic(NODE.rgb_info)
    aux_info: str = absolute_topic(NODE.aux_info)
    gt_target: str = absolute_topic(NODE.gt_target)
    gt_alignment: str = absolute_topic(NODE.gt_alignment)


@dataclass(frozen=True)
class ResultTopics:
    target: str = absolute_topic(NODE.target)
    alignment: str = absolute_topic(NODE.alignment)
    diagnostics: str = NODE.diagnostics
