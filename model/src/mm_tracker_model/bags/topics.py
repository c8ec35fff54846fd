"""Topic names shared by bags, the node and evaluation (the node's relative names in the root namespace)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE = "sensor_msgs/msg/Image"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TARGET = "mm_tracker_msgs/msg/TrackedTarget"
ALIGNMENT = "mm_tracker_msgs/msg/Alignment"


@dataclass(frozen=True)
class BagTopics:
    rgb: str = "/rgb/image"
    aux: str = "/aux/image"
    rgb_info: str = "/rgb/camera_info"
    aux_info: str = "/aux/camera_info"
    gt_target: str = "/ground_truth/target"
    gt_alignment: str = "/ground_truth/alignment"


@dataclass(frozen=True)
class ResultTopics:
    target: str = "/target"
    alignment: str = "/alignment"
    diagnostics: str = "/diagnostics"
