import numpy as np
import pytest

from mm_tracker_model.engine.preprocess import (
    aux_to_rgb,
    colour_to_rgb,
    depth_to_rgb,
    events_to_frame,
    thermal_to_rgb,
)
from mm_tracker_model.errors import PreprocessError


def test_colour_encodings_become_rgb():
    bgr = np.zeros((2, 3, 3), dtype=np.uint8)
    bgr[..., 0] = 200  # blue in BGR
    assert colour_to_rgb(bgr, "bgr8")[0, 0].tolist() == [0, 0, 200]
    bgra = np.dstack([bgr, np.full((2, 3), 7, np.uint8)])
    assert colour_to_rgb(bgra, "bgra8")[0, 0].tolist() == [0, 0, 200]
    mono = np.full((2, 3), 9, np.uint8)
    assert colour_to_rgb(mono, "mono8").shape == (2, 3, 3)


def test_thermal_raw_counts_are_normalised_robustly():
    counts = np.linspace(1000, 2000, 10_000).astype(np.uint16).reshape(100, 100)
    counts[0, :5] = 65535  # dead hot pixels must not squash the range
    grey = thermal_to_rgb(counts, "16UC1")[..., 0].astype(int)
    assert grey[0, 5] <= 5 and grey[99, 90] >= 250 and 110 < grey[50, 0] < 150
    assert (np.diff(grey.flatten()[5:]) >= 0).all()
    fixed = thermal_to_rgb(counts, "mono16", fixed_range=(1000, 3000))
    assert fixed[99, 99, 0] == pytest.approx(255 * (2000 - 1000) / 2000, abs=2)


def test_depth_millimetres_with_invalid_zeros_become_jet():
    depth = np.full((8, 8), 1500, dtype=np.uint16)
    depth[:4] = 500
    depth[0, 0] = 0
    rgb, any_valid = depth_to_rgb(depth, "16UC1")
    assert any_valid and rgb.shape == (8, 8, 3)
    assert rgb[7, 7, 0] > rgb[7, 7, 2]  # far = red end of JET
    assert rgb[1, 1, 2] > rgb[1, 1, 0]  # near = blue end


def test_depth_metres_with_nan_and_all_invalid_frames():
    depth = np.full((4, 4), np.nan, dtype=np.float32)
    rgb, any_valid = depth_to_rgb(depth, "32FC1")
    assert not any_valid and not rgb.any()
    _, degraded = aux_to_rgb(depth, "depth", "32FC1")
    assert degraded == ["depth_all_invalid"]
    depth[0, 0] = 2.0
    assert depth_to_rgb(depth, "32FC1")[1]


def test_depth_is_clipped_at_three_times_the_median():
    depth = np.full((10, 10), 1.0, dtype=np.float32)
    depth[0, 0] = 9.0  # an outlier beyond 3 x median
    depth[0, 1] = 2.0
    rgb, _ = depth_to_rgb(depth, "32FC1")
    near_outlier, _ = depth_to_rgb(np.where(depth == 9.0, 3.0, depth).astype(np.float32), "32FC1")
    np.testing.assert_array_equal(rgb, near_outlier)


def test_events_draw_on_red_off_blue_on_white_within_the_window():
    frame = events_to_frame(
        x=np.array([1, 2, 3]),
        y=np.array([0, 1, 2]),
        t=np.array([0.5, 0.9, 0.1]),
        polarity=np.array([1, 0, 1]),
        height=4,
        width=5,
        t_end=1.0,
        window=0.6,
    )
    assert frame[0, 1].tolist() == [255, 0, 0]
    assert frame[1, 2].tolist() == [0, 0, 255]
    assert frame[2, 3].tolist() == [255, 255, 255]  # too old


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: colour_to_rgb(np.zeros((2, 2, 3), np.uint8), "yuv422"), "'yuv422' unsupported"),
        (lambda: thermal_to_rgb(np.zeros((2, 2), np.float32), "16UC1"), "expected dtype uint16"),
        (lambda: colour_to_rgb(np.zeros((2, 2), np.uint8), "rgb8"), "expected 3 channel"),
        (lambda: colour_to_rgb(np.zeros((0, 2, 3), np.uint8), "rgb8"), "non-empty"),
        (lambda: aux_to_rgb(np.zeros((2, 2), np.uint8), "radar", "mono8"), "modality 'radar' unknown"),
        (lambda: events_to_frame([1], [1, 2], [0.1], [1], 4, 4, 1.0, 1.0), "differ in length"),
    ],
)
def test_bad_inputs_are_named(call, message):
    with pytest.raises(PreprocessError, match=message):
        call()
