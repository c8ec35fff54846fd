"""The interim demo over real Fast DDS on loopback: model box -> Box2D -> DDS -> a second node."""

import subprocess
from pathlib import Path

import pytest

EXECUTABLE = Path(__file__).resolve().parents[2] / "ros2_ws/install/mm_tracker/lib/mm_tracker/demo_roundtrip"


@pytest.mark.integration
def test_demo_box_is_published_and_received_over_dds():
    # Inherits ROS_DOMAIN_ID and ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST from tests/conftest.py.
    result = subprocess.run([str(EXECUTABLE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "published and received on demo/box: Box2D x=" in result.stdout
