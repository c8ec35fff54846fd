"""A rosbags type store with the standard ROS 2 messages plus mm_tracker_msgs, read from their .msg files."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from mm_tracker_model.errors import MMTrackerError

PACKAGE = "mm_tracker_msgs"
SOURCE_MSG_DIR = Path(__file__).resolve().parents[4] / "ros2_ws" / "src" / PACKAGE / "msg"


def msg_dir() -> Path:
    """mm_tracker_msgs/msg from an installed prefix (AMENT_PREFIX_PATH), else from this checkout."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        candidate = Path(prefix) / "share" / PACKAGE / "msg"
        if prefix and candidate.is_dir():
            return candidate
    if SOURCE_MSG_DIR.is_dir():
        return SOURCE_MSG_DIR
    raise MMTrackerError(f"cannot find the {PACKAGE} .msg files (AMENT_PREFIX_PATH or {SOURCE_MSG_DIR})")


@lru_cache(maxsize=1)
def bag_typestore() -> Typestore:
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(msg_dir().glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"{PACKAGE}/msg/{path.stem}"))
    store.register(types)
    return store
