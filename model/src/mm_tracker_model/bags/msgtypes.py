"""ROS 2 message types by name (their Python import, their history depth) and a message as a bag stores it.

The import uses importlib only: the library never imports rclpy, and the classes exist where ROS is installed.
"""

from __future__ import annotations

import importlib
import re
from typing import NamedTuple

# Types whose messages are large: a shallow history keeps DDS memory bounded. Everything else gets depth 100.
LARGE_TYPES = frozenset(
    {
        "sensor_msgs/msg/Image",
        "sensor_msgs/msg/CompressedImage",
        "sensor_msgs/msg/PointCloud2",
        "sensor_msgs/msg/PointCloud",
        "stereo_msgs/msg/DisparityImage",
        "mm_tracker_msgs/msg/TrackedTarget",  # can carry a debug crop
    }
)
LARGE_DEPTH, SMALL_DEPTH = 10, 100
MSGTYPE_PATTERN = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)/(msg|srv|action)/([A-Za-z][A-Za-z0-9_]*)$")


class RawMessage(NamedTuple):
    topic: str
    msgtype: str
    log_time: int  # ns
    data: bytes  # serialised (CDR) as stored


def msgtype_to_import(msgtype: str) -> tuple[str, str]:
    """Module and class name of a type: pkg/msg/Name -> ("pkg.msg", "Name"); ValueError for anything else."""
    match = MSGTYPE_PATTERN.match(msgtype)
    if not match:
        raise ValueError(f"not a ROS 2 message type name: {msgtype!r}")
    package, kind, name = match.groups()
    return f"{package}.{kind}", name


def import_msg_class(msgtype: str) -> type:
    """The ROS message class of `msgtype`; ImportError / AttributeError / ValueError when unavailable."""
    module, name = msgtype_to_import(msgtype)
    return getattr(importlib.import_module(module), name)


def history_depth(msgtype: str) -> int:
    return LARGE_DEPTH if msgtype in LARGE_TYPES else SMALL_DEPTH
