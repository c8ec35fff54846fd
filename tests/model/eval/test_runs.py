import numpy as np
import pytest

from mm_tracker_model.errors import MMTrackerError
from mm_tracker_model.eval.runs import FrameOutput, SequenceRun


def _run(frames: int, truth_frames: list[int], offset: float) -> SequenceRun:
    run = SequenceRun("s", "thermal", rgb_stamps=list(range(frames)))
    for i in truth_frames:
        run.truth.boxes[i] = np.array([10.0, 10.0, 20.0, 20.0])
    for i in range(frames):
        run.outputs[i] = FrameOutput(np.array([10.0 + offset, 10.0, 20.0, 20.0]), 0.9, 1)
    return run


def test_frames_without_a_ground_truth_message_are_not_scored_as_hits():
    run = _run(10, truth_frames=[0, 1, 2], offset=190.0)  # 190 px off wherever there is truth
    scores = run.score()["tracking"].scores
    assert scores["pr"] == pytest.approx(1 / 3)  # frame 0 := ground truth; frames 1, 2 miss; 3..9 not scored


def test_nothing_to_score_is_an_error_naming_the_sequence():
    with pytest.raises(MMTrackerError, match="'s': no ground-truth message"):
        _run(5, truth_frames=[], offset=0.0).score()
    run = _run(5, truth_frames=[0, 1], offset=0.0)
    run.outputs.clear()
    with pytest.raises(MMTrackerError, match="no output"):
        run.score()


def test_sparse_ground_truth_is_scored_on_the_annotated_frames_with_both_truths():
    run = _run(30, truth_frames=[0, 10, 20], offset=0.0)
    run.gt_every = 10
    run.truth.boxes_x = {i: np.array([10.0, 10.0, 20.0, 20.0]) for i in (0, 10, 20)}
    result = run.score()
    assert set(result) == {"rgbt"} and result["rgbt"].frames == 3 and result["rgbt"].scores["mpr"] == 1.0
