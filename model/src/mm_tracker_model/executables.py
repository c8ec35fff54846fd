"""Where the ROS package's executables are: on AMENT_PREFIX_PATH (a sourced colcon install or system ROS 2)."""

from __future__ import annotations

import os
from pathlib import Path

from mm_tracker_model.errors import MMTrackerError

PACKAGE = "mm_tracker"


def ros_executable(name: str, package: str = PACKAGE) -> Path:
    """`<prefix>/lib/<package>/<name>` for the first prefix that has it."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        path = Path(prefix) / "lib" / package / name
        if prefix and path.is_file():
            return path
    raise MMTrackerError(
        f"{name} of the {package} ROS package not found on AMENT_PREFIX_PATH: "
        "run `source tools/env.sh` after `make setup`, or source your ROS workspace"
    )
