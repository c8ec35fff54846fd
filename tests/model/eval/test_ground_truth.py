import numpy as np
import pytest
from rosbags.rosbag2 import StoragePlugin, Writer

from mm_tracker_model.bags.topics import ALIGNMENT, IMAGE, TARGET, BagTopics
from mm_tracker_model.bags.typestore import bag_typestore
from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.ground_truth import GroundTruth, target_box, target_box_x
from mm_tracker_model.eval.live import _first_truth

T0 = 1_000_000_000_000
TYPES = bag_typestore().types
NAN = float("nan")


def header(stamp: int):
    time = TYPES["builtin_interfaces/msg/Time"](sec=stamp // 10**9, nanosec=stamp % 10**9)
    return TYPES["std_msgs/msg/Header"](stamp=time, frame_id="rgb_camera")


def target(stamp: int, box, state: int = 1, box_x=None):
    box2d = TYPES["mm_tracker_msgs/msg/Box2D"]
    return TYPES[TARGET](
        header=header(stamp), state=state, score=1.0, box=box2d(*box), aux_frame_id="aux_camera",
        has_box_x=box_x is not None, box_x=box2d(*(box_x if box_x is not None else (0, 0, 0, 0))), degraded=False,
    )  # fmt: skip


# (state, box) -> the box scored, or None: the target is absent on that frame
CASES = [
    (1, (10.0, 20.0, 30.0, 40.0), (10.0, 20.0, 30.0, 40.0)),
    (2, (-5.0, -8.0, 30.0, 40.0), (-5.0, -8.0, 30.0, 40.0)),  # LOST, partly outside the image: still the target
    (0, (10.0, 20.0, 30.0, 40.0), None),  # IDLE: annotated as absent
    (1, (NAN, 20.0, 30.0, 40.0), None),
    (1, (10.0, 20.0, 0.0, 40.0), None),
    (1, (10.0, 20.0, 30.0, 0.0), None),
    (1, (10.0, 20.0, -30.0, 40.0), None),
    (1, (10.0, 20.0, 30.0, -40.0), None),
    (1, (10.0, float("inf"), 30.0, 40.0), None),
]


@pytest.mark.parametrize(("state", "box", "expected"), CASES)
def test_a_target_box_is_the_targets_only_when_present_and_valid(state, box, expected):
    truth = GroundTruth()
    truth.add_target(target(T0, box, state))
    got = target_box(target(T0, box, state))
    if expected is None:
        assert got is None and np.isnan(truth.boxes[T0]).all()  # annotated frame, target absent
    else:
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(truth.boxes[T0], expected)


@pytest.mark.parametrize(("state", "box", "expected"), [c for c in CASES if c[0] != 0])
def test_an_x_box_follows_the_same_rules_whatever_the_rgb_state(state, box, expected):
    msg = target(T0, (0.0, 0.0, 0.0, 0.0), 0, box_x=box)  # X sees what RGB does not
    truth = GroundTruth()
    truth.add_target(msg)
    if expected is None:
        assert target_box_x(msg) is None and T0 not in truth.boxes_x
    else:
        np.testing.assert_array_equal(truth.boxes_x[T0], expected)
    assert target_box_x(target(T0, box, state)) is None  # has_box_x false: no X box at all


def test_alignment_gives_the_true_homography():
    flat = np.arange(9, dtype=np.float64)
    msg = TYPES[ALIGNMENT](
        header=header(T0), aux_frame_id="aux_camera", homography=flat, frame_homography=flat,
        calibration_homography=flat, updated=False, confidence=1.0, stage_experts=[], stage_params=np.zeros(0),
    )  # fmt: skip
    truth = GroundTruth()
    truth.add_alignment(msg)
    np.testing.assert_array_equal(truth.homographies[T0], flat.reshape(3, 3))


def write_truth_bag(path, boxes) -> None:
    """/ground_truth/target boxes (state, box) one per frame, each followed by an 8x6 RGB and a 4x4 X image."""
    store, topics = bag_typestore(), BagTopics()
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        gt = writer.add_connection(topics.gt_target, TARGET, typestore=store)
        rgb = writer.add_connection(topics.rgb, IMAGE, typestore=store)
        aux = writer.add_connection(topics.aux, IMAGE, typestore=store)
        for i, (state, box) in enumerate(boxes):
            stamp = T0 + i * 1000
            writer.write(gt, stamp, store.serialize_cdr(target(stamp, box, state), TARGET))
            for connection, (width, height) in ((rgb, (8, 6)), (aux, (4, 4))):
                image = TYPES[IMAGE](
                    header=header(stamp), height=height, width=width, encoding="mono8", is_bigendian=0, step=width,
                    data=np.zeros(width * height, np.uint8),
                )  # fmt: skip
                writer.write(connection, stamp + 1, store.serialize_cdr(image, IMAGE))


def test_the_live_run_starts_from_the_first_box_scoring_counts_as_the_target(tmp_path):
    invalid = [(state, box) for state, box, expected in CASES if expected is None]
    write_truth_bag(tmp_path / "bag", [*invalid, (1, (-5.0, 2.0, 3.0, 4.0)), (1, (1.0, 1.0, 1.0, 1.0))])
    box, homography, rgb_size, x_size = _first_truth(tmp_path / "bag", BagTopics())
    np.testing.assert_array_equal(box, [-5.0, 2.0, 3.0, 4.0])
    assert homography is None and rgb_size == (8, 6) and x_size == (4, 4)
    write_truth_bag(tmp_path / "absent", invalid)
    with pytest.raises(MMTrackerError, match="no ground-truth box"):
        _first_truth(tmp_path / "absent", BagTopics())
