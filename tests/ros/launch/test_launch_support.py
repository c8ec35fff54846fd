"""What the launch files compute at launch time (mm_tracker.launch_support), and replay's reading of the bag."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from launch_view import load

from mm_tracker.launch_support import (
    NO_BOX,
    LaunchFailure,
    bag_storage,
    box_argument,
    exit_reason,
    first_ground_truth_box,
)
from mm_tracker_model.bags.write import BagOptions, write_bag
from mm_tracker_model.errors import MMTrackerError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("[300, 200, 60, 40]", "[300.0, 200.0, 60.0, 40.0]"),  # launch_ros would make this an integer array
        ("[-4.5, 2, 60.25, 40]", "[-4.5, 2.0, 60.25, 40.0]"),  # a box partly outside the image
        ("[0]", NO_BOX),
        ("0", NO_BOX),
        ("", NO_BOX),
    ],
)
def test_box_argument_gives_the_node_a_double_array(given, expected):
    assert box_argument(given) == expected
    assert box_argument(expected) == expected


@pytest.mark.parametrize("given", ["[1, 2, 3]", "[1, 2, 3, nan]", "[a, b, c, d]", "[true, 1, 2, 3]", "{x: 1}", "[1, 2"])
def test_box_argument_rejects_what_is_not_a_box(given):
    with pytest.raises(ValueError, match="initial_box"):
        box_argument(given)


def test_the_first_ground_truth_box_is_the_first_frame_s(synthetic_bag):
    bag, sequence = synthetic_bag
    box = [float(v) for v in box_argument(first_ground_truth_box(bag)).strip("[]").split(",")]
    np.testing.assert_allclose(box, sequence.boxes_rgb[0], atol=1e-9)


def test_a_bag_without_ground_truth_is_reported(synthetic_bag):
    bag, _ = synthetic_bag
    with pytest.raises(MMTrackerError, match="no valid ground-truth box on /elsewhere"):
        first_ground_truth_box(bag, "/elsewhere")


def test_bag_storage_names_the_plugin_for_ros2_bag_play(synthetic_bag, tmp_path):
    bag, sequence = synthetic_bag
    assert bag_storage(bag) == "mcap"
    assert bag_storage(write_bag(sequence, tmp_path / "db3", BagOptions(storage="sqlite3"))) == "sqlite3"
    with pytest.raises(MMTrackerError, match="no such bag"):
        bag_storage(tmp_path / "missing")


@pytest.mark.parametrize("from_bag", ["true", "false"])
def test_replay_reads_storage_and_optionally_the_initial_box_off_the_bag(synthetic_bag, from_bag):
    bag, _ = synthetic_bag
    replay = load("replay.launch.py")
    (read_bag,) = [e for e in replay.entities if e.kind == "OpaqueFunction"]
    context = SimpleNamespace(launch_configurations={"bag": str(bag), "initial_box_from_bag": from_bag})
    settings = {s.args[0]: s.args[1] for s in read_bag.kwargs["function"](context)}
    expected = {"bag_storage": "mcap"}
    if from_bag == "true":
        expected["initial_box"] = first_ground_truth_box(bag)
    assert settings == expected


def test_exit_reason():
    assert exit_reason("node", 0, shutting_down=False, end_on_success=True) == "node exited"
    assert exit_reason("player", 0, shutting_down=False, end_on_success=False) is None
    assert exit_reason("node", 2, shutting_down=True, end_on_success=True) is None
    with pytest.raises(LaunchFailure, match="player exited with code 3"):
        exit_reason("player", 3, shutting_down=False, end_on_success=False)
