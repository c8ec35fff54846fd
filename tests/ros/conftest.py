"""ROS tests need the colcon install of ros2_ws (built by `make test` through tools/bootstrap.sh)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "ros2_ws" / "install"


@pytest.fixture(scope="session", autouse=True)
def _require_ros_install():
    if not (INSTALL / "mm_tracker_msgs").is_dir():
        pytest.skip(f"no colcon install at {INSTALL}: run `make test` (it builds ros2_ws) or tools/bootstrap.sh")
    try:
        import rclpy  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"rclpy not importable ({exc}): source tools/env.sh first")
