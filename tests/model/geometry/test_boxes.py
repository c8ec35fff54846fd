import numpy as np
import pytest

from mm_tracker_model.geometry.boxes import clip_box, corner_shift, iou, is_valid_box, map_box, overlaps_image


def test_clip_keeps_a_margin_of_the_box_inside_the_image():
    np.testing.assert_allclose(clip_box((-50, 10, 100, 20), 320, 240), [0, 10, 50, 20])
    np.testing.assert_allclose(clip_box((315, 230, 40, 40), 320, 240), [310, 230, 10, 10])  # 10 px margin
    np.testing.assert_allclose(clip_box((20, 30, 40, 50), 320, 240), [20, 30, 40, 50])


def test_iou_in_continuous_coordinates():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 10, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0


def test_map_box_through_a_scale_and_shift():
    matrix = np.array([[2.0, 0, 5], [0, 0.5, -1], [0, 0, 1]])
    np.testing.assert_allclose(map_box((10, 20, 4, 8), matrix), [25, 9, 8, 4])


def test_validity_and_overlap():
    assert is_valid_box((1, 2, 3, 4)) and not is_valid_box((1, 2, -3, 4)) and not is_valid_box((1, 2, np.inf, 4))
    assert overlaps_image((-5, -5, 10, 10), 20, 20) and not overlaps_image((20, 0, 5, 5), 20, 20)


def test_corner_shift_is_the_largest_corner_displacement():
    shifted = np.array([[1.0, 0, 3], [0, 1.0, 4], [0, 0, 1]])
    assert corner_shift(shifted, np.eye(3), 100, 50) == pytest.approx(5.0)
