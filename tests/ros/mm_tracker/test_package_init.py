"""The node's package sets the passive OpenMP wait policy before any of its modules imports torch."""

import os
import subprocess
import sys

import pytest


def test_the_node_package_sets_it_before_its_modules_import_torch():
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    probe = "import sys, mm_tracker, os; assert 'torch' not in sys.modules; print(os.environ['OMP_WAIT_POLICY'])"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if "No module named 'mm_tracker'" in done.stderr:
        pytest.skip("the ROS package mm_tracker is not installed (colcon build of ros2_ws)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PASSIVE"
