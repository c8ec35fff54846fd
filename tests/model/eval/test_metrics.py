from pathlib import Path

import numpy as np
import pytest

from mm_tracker_model.data.annotations import read_boxes
from mm_tracker_model.eval.metrics import clean_predictions, inclusive_iou, overall, sequence_curves

LASHER = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "metrics" / "LasHeR_test"


def test_inclusive_iou_counts_pixels():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 10.0, 10.0]])
    assert inclusive_iou(a, b)[0] == pytest.approx(50 / 150)


def test_first_frame_is_ground_truth_and_invalid_predictions_repeat_the_previous():
    gt = np.array([[1.0, 1, 5, 5], [2, 2, 5, 5], [3, 3, 5, 5]])
    pred = np.array([[9.0, 9, 1, 1], [2, 2, 5, 5], [np.nan, 0, 0, 0]])
    np.testing.assert_array_equal(clean_predictions(pred, gt), [[1, 1, 5, 5], [2, 2, 5, 5], [2, 2, 5, 5]])


def test_invalid_ground_truth_rows_are_precision_hits_and_success_misses():
    gt = np.array([[1.0, 1, 5, 5], [0, 0, 0, 0]])
    pred = np.array([[1.0, 1, 5, 5], [100, 100, 5, 5]])
    curves = sequence_curves(pred, gt)
    assert curves.precision[20] == 1.0 and curves.success[1] == 0.5


@pytest.mark.skipif(not LASHER.is_dir(), reason="../shared/reference/metrics is not beside this checkout")
@pytest.mark.parametrize(
    ("tracker", "published"), [("APFNet", (0.500, 0.439, 0.362)), ("mfDiMP", (0.447, 0.395, 0.343))]
)
def test_reproduces_published_lasher_numbers(tracker, published):
    names = (LASHER / "testing_list.txt").read_text().split()
    curves = [
        sequence_curves(
            read_boxes(LASHER / "results" / tracker / f"{n}.txt"), read_boxes(LASHER / "annos" / f"{n}.txt")
        )
        for n in names
    ]
    scores = overall(curves)
    assert (scores.pr, scores.npr, scores.sr) == pytest.approx(published, abs=0.002)
