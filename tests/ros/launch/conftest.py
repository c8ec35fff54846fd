"""A small bag as `mm-tracker-make-bag` writes them, for the launch-time helpers and the replay proof of life."""

from __future__ import annotations

import pytest

from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.data.synthetic import SynthConfig, read_synthetic, write_sequence


@pytest.fixture(scope="session")
def synthetic_bag(tmp_path_factory):
    """(bag folder, the sequence written into it)."""
    root = tmp_path_factory.mktemp("replay")
    # Seed 7: a sequence the default model tracks (see tests/ros/integration/test_eval_live.py).
    sequence = read_synthetic(write_sequence(root / "synth", SynthConfig(frames=60, seed=7), 0))
    return write_bag(sequence, root / "bag", BagOptions(rate_hz=30.0, aux_every=3)), sequence
