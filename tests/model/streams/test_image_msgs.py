import numpy as np
import pytest
from sensor_msgs.msg import Image

from mm_tracker_model.streams.image_msgs import ImageConversionError, array_to_image_fields, image_to_array


def _msg(array, encoding, pad=0, bigendian=False):
    fields = array_to_image_fields(array, encoding)
    row = fields["step"]
    data = np.frombuffer(fields["data"], np.uint8).reshape(fields["height"], row)
    if bigendian:
        itemsize = array.dtype.itemsize
        data = data.reshape(fields["height"], -1, itemsize)[:, :, ::-1].reshape(fields["height"], row)
    data = np.hstack([data, np.zeros((fields["height"], pad), np.uint8)])
    return Image(
        height=fields["height"],
        width=fields["width"],
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=row + pad,
        data=data.tobytes(),
    )


@pytest.mark.parametrize(
    ("encoding", "array"),
    [
        ("rgb8", np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)),
        ("bgra8", np.arange(4 * 5 * 4, dtype=np.uint8).reshape(4, 5, 4)),
        ("mono8", np.arange(20, dtype=np.uint8).reshape(4, 5)),
        ("16UC1", np.arange(20, dtype=np.uint16).reshape(4, 5) * 1000),
        ("mono16", np.arange(20, dtype=np.uint16).reshape(4, 5) * 7),
        ("32FC1", np.linspace(0, 5, 20, dtype=np.float32).reshape(4, 5)),
    ],
)
@pytest.mark.parametrize("pad", [0, 3])
def test_round_trip_with_step_padding(encoding, array, pad):
    np.testing.assert_array_equal(image_to_array(_msg(array, encoding, pad=pad)), array)


def test_big_endian_16_bit_is_read_in_native_order():
    depth = np.array([[1, 256, 4000]], dtype=np.uint16)
    np.testing.assert_array_equal(image_to_array(_msg(depth, "16UC1", bigendian=True)), depth)


def test_nan_depth_survives_conversion():
    depth = np.array([[np.nan, 1.5]], dtype=np.float32)
    assert np.isnan(image_to_array(_msg(depth, "32FC1"))[0, 0])


def test_unsupported_encoding_is_named():
    msg = Image(height=1, width=1, encoding="yuv422", step=2, data=b"\0\0")
    with pytest.raises(ImageConversionError, match="'yuv422' unsupported"):
        image_to_array(msg)


def test_truncated_data_is_reported():
    msg = _msg(np.zeros((4, 5, 3), np.uint8), "rgb8")
    msg.data = bytes(msg.data)[:-7]
    with pytest.raises(ImageConversionError, match="expected step 15 x height 4 = 60"):
        image_to_array(msg)


def test_step_shorter_than_a_row_is_reported():
    msg = Image(height=2, width=5, encoding="rgb8", step=10, data=bytes(20))
    with pytest.raises(ImageConversionError, match="step 10 is shorter"):
        image_to_array(msg)
