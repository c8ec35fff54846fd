"""The node's topic names, in one place: relative (so namespaces and remaps work), as the node creates them.

Bags and evaluation store them fully qualified (`absolute_topic`), as for a node in the root namespace.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NodeTopics:
    rgb: str = "rgb/image"
    aux: str = "aux/image"
    rgb_info: str = "rgb/camera_info"
    aux_info: str = "aux/camera_info"
    target: str = "target"
    alignment: str = "alignment"
    debug_image: str = "debug_image"
    detections: str = "detections"  # vision_msgs/Detection2DArray, with publish_detections
    diagnostics: str = "/diagnostics"  # absolute by ROS convention
    gt_target: str = "ground_truth/target"  # written into bags beside the camera topics
    gt_alignment: str = "ground_truth/alignment"


NODE = NodeTopics()
COMPRESSED_SUFFIX = "/compressed"


def absolute_topic(topic: str) -> str:
    """A topic as bags store it: fully qualified, "a/b" meaning "/a/b" (as for a node in the root namespace)."""
    return topic if topic.startswith("/") else "/" + topic
