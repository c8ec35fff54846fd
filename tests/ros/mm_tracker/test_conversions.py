import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header

from mm_tracker_model.streams.image_msgs import (
    ImageConversionError,
    array_to_image_fields,
    aux_from_message,
    decode,
    rgb_from_message,
)


def test_compressed_colour_and_16_bit_png_decode():
    rgb = np.zeros((8, 10, 3), np.uint8)
    rgb[..., 0] = 200  # red
    _, png = cv2.imencode(".png", rgb[..., ::-1])
    msg = CompressedImage(format="png", data=png.tobytes())
    assert rgb_from_message(msg)[0, 0].tolist() == [200, 0, 0]
    depth = np.full((4, 4), 1500, np.uint16)
    _, png16 = cv2.imencode(".png", depth)
    array, encoding = decode(CompressedImage(format="png", data=png16.tobytes()))
    assert encoding == "16UC1" and array.dtype == np.uint16 and array[0, 0] == 1500


def test_undecodable_compressed_image_is_reported():
    with pytest.raises(ImageConversionError, match="could not be decoded"):
        decode(CompressedImage(format="jpeg", data=b"not a jpeg"))


def test_nan_depth_message_is_a_counted_degradation_not_an_error():
    depth = np.full((6, 8), np.nan, np.float32)
    msg = Image(header=Header(frame_id="depth"), **array_to_image_fields(depth, "32FC1"))
    image, degradations = aux_from_message(msg, "depth", None)
    assert image.shape == (6, 8, 3) and degradations == ["depth_all_invalid"]


def test_fixed_thermal_range_is_used_for_16_bit_thermal():
    counts = np.full((4, 4), 3000, np.uint16)
    msg = Image(**array_to_image_fields(counts, "16UC1"))
    image, _ = aux_from_message(msg, "thermal", (2000.0, 4000.0))
    assert image[0, 0, 0] == 128
