"""Suite-wide settings and shared fixtures."""

import os

import pytest
import torch

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
# A distinct domain per run so parallel runs on one machine never see each other's topics.
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
