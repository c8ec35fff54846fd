import numpy as np
import pytest
import torch

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.crops import CropTransform, to_cv2, warp_into_crop

PARAMS = torch.tensor([[0.1, -0.2, 0.3, -0.4], [0.0, 0.0, 0.0, 0.0], [-0.3, 0.25, -1.2, 1.1]], dtype=torch.float64)


def test_params_matrix_round_trip():
    torch.testing.assert_close(hg.matrix_to_params(hg.params_to_matrix(PARAMS)), PARAMS)


def test_params_scale_about_the_centre_then_translate():
    matrix = hg.params_to_matrix(torch.tensor([0.1, 0.2, np.log(2.0), np.log(0.5)], dtype=torch.float64))
    points = torch.tensor([[0.0, 0.0], [0.25, 0.25]], dtype=torch.float64)
    torch.testing.assert_close(hg.apply(matrix, points), torch.tensor([[0.1, 0.2], [0.6, 0.325]], dtype=torch.float64))


def test_composition_is_the_matrix_product_applied_inner_first():
    outer, inner = hg.params_to_matrix(PARAMS[0]), hg.params_to_matrix(PARAMS[2])
    points = torch.rand(5, 2, dtype=torch.float64)
    torch.testing.assert_close(hg.apply(hg.compose(outer, inner), points), hg.apply(outer, hg.apply(inner, points)))
    torch.testing.assert_close(hg.compose(outer, inner), outer @ inner)


def test_inverse_of_scale_and_translation_is_exact_for_any_scale():
    matrix = hg.params_to_matrix(PARAMS[2])  # sx = e^-1.2, sy = e^1.1: PMATrack's inverse is wrong here
    inverse = hg.inverse(matrix)
    torch.testing.assert_close(inverse @ matrix, torch.eye(3, dtype=torch.float64))
    sx, sy = np.exp(-1.2), np.exp(1.1)
    expected = torch.tensor([0.3 / sx, -0.25 / sy, 1.2, -1.1], dtype=torch.float64)  # t' = -t / s, ln s' = -ln s
    torch.testing.assert_close(hg.matrix_to_params(inverse), expected)


def test_corners_to_matrix_maps_the_four_corners_exactly():
    source = torch.tensor([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]], dtype=torch.float64)
    target = source + torch.tensor([[0.05, -0.02], [0.01, 0.03], [-0.04, 0.02], [0.02, -0.01]], dtype=torch.float64)
    matrix = hg.corners_to_matrix(source, target)
    torch.testing.assert_close(hg.apply(matrix, source), target)


def test_corner_error_of_a_pure_shift_is_the_shift():
    shifted = hg.params_to_matrix(torch.tensor([3.0, 4.0, 0.0, 0.0], dtype=torch.float64))
    assert float(hg.corner_error(shifted, torch.eye(3, dtype=torch.float64), 640, 480)) == pytest.approx(5.0)
    scaled = torch.diag(torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64))
    distances = hg.corner_distances(scaled, torch.eye(3, dtype=torch.float64), 100, 50)
    torch.testing.assert_close(distances, torch.tensor([0.0, 100.0, 100.0, 0.0], dtype=torch.float64))
    assert float(hg.corner_error(scaled, torch.eye(3, dtype=torch.float64), 100, 50)) == pytest.approx(50.0)


def test_centred_and_pixel_crop_coordinates_are_inverse():
    torch.testing.assert_close(hg.pixel_to_centred(256) @ hg.centred_to_pixel(256), torch.eye(3, dtype=torch.float64))
    centre = hg.apply(hg.pixel_to_centred(256), torch.tensor([[128.0, 128.0], [0.5, 0.5]], dtype=torch.float64))
    torch.testing.assert_close(centre, torch.tensor([[0.0, 0.0], [0.5 / 256 - 0.5] * 2], dtype=torch.float64))


def test_crop_conjugation_matches_point_by_point_mapping():
    """A crop-level homography conjugated to image pixels maps points like crop -> H -> uncrop does."""
    crop = CropTransform.around((100.0, 50.0, 40.0, 30.0), factor=4.0, output_size=256)
    crop_h = (hg.centred_to_pixel(256) @ hg.params_to_matrix(PARAMS[0]) @ hg.pixel_to_centred(256)).numpy()
    image_h = np.linalg.inv(crop.matrix) @ crop_h @ crop.matrix
    points = np.array([[110.0, 60.0], [90.5, 40.25], [150.0, 100.0]])
    for point in points:
        q = crop.matrix @ [*point, 1.0]
        q = crop_h @ q
        explicit = np.linalg.inv(crop.matrix) @ q
        mapped = image_h @ [*point, 1.0]
        np.testing.assert_allclose(mapped[:2] / mapped[2], explicit[:2] / explicit[2])


def test_crop_box_maps_back_to_the_image_exactly():
    box = (100.0, 50.0, 40.0, 30.0)
    crop = CropTransform.around(box, factor=4.0, output_size=256)
    corner = crop.matrix @ [box[0], box[1], 1.0]
    in_crop = np.array([corner[0], corner[1], box[2] * crop.scale, box[3] * crop.scale])
    np.testing.assert_allclose(crop.box_to_image(in_crop), box)
    assert crop.matrix @ [box[0] + box[2] / 2, box[1] + box[3] / 2, 1.0] == pytest.approx([128.0, 128.0, 1.0])


def test_degenerate_box_cannot_be_cropped():
    with pytest.raises(ValueError, match="no area"):
        CropTransform.around((10.0, 10.0, 0.0, 5.0), 2.0, 128)


def test_warp_follows_the_pixel_centre_convention():
    """A 1:1 crop at an integer offset copies pixels exactly (no half-pixel shift)."""
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    shift = np.array([[1.0, 0.0, -5.0], [0.0, 1.0, -3.0], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(warp_into_crop(image, shift, 8), image[3:11, 5:13])


def test_warp_at_scale_two_samples_pixel_centres():
    """Upsampling x2: crop pixel centre 0.5 maps to image coordinate 0.25, between the cv2 and our grids."""
    image = np.tile(np.arange(8, dtype=np.float32), (8, 1))
    up = np.diag([2.0, 2.0, 1.0])
    row = warp_into_crop(image, up, 16)[4]
    # Our image pixel i has value i at centre i + 0.5; crop pixel j's centre is image coordinate (j + 0.5) / 2.
    expected = np.clip((np.arange(16) + 0.5) / 2 - 0.5, 0, None)
    np.testing.assert_allclose(row[1:15], expected[1:15], atol=1e-2)
    assert to_cv2(np.eye(3)).tolist() == np.eye(3).tolist()
