import numpy as np
import pytest
import torch

from mm_tracker_model.geometry.boxes import (
    clip_box,
    cxcywh_to_xywh,
    cxcywh_to_xyxy,
    iou,
    is_valid_box,
    map_box,
    overlaps_image,
    valid_boxes,
    xywh_to_xyxy,
)


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


def test_validity_is_vectorised_and_the_single_box_check_agrees():
    boxes = np.array([[0, 0, 5, 5], [0, 0, 0, 5], [0, 0, 5, -1], [np.nan, 0, 5, 5], [1e9, -3, 0.1, 0.1]])
    np.testing.assert_array_equal(valid_boxes(boxes), [True, False, False, False, True])
    assert [is_valid_box(b) for b in boxes] == [True, False, False, False, True]
    assert not is_valid_box([1, 2, 3])


@pytest.mark.parametrize("kind", [np.array, torch.tensor])
def test_conversions_take_numpy_and_torch_of_any_batch_shape(kind):
    centre = kind([[[10.0, 20.0, 4.0, 6.0]], [[0.0, 0.0, 2.0, 2.0]]])
    xywh, xyxy = cxcywh_to_xywh(centre), cxcywh_to_xyxy(centre)
    assert type(xywh) is type(centre) and tuple(xywh.shape) == (2, 1, 4)
    np.testing.assert_allclose(np.asarray(xywh)[0, 0], [8, 17, 4, 6])
    np.testing.assert_allclose(np.asarray(xyxy)[0, 0], [8, 17, 12, 23])
    np.testing.assert_allclose(np.asarray(xywh_to_xyxy(xywh)), np.asarray(xyxy))
