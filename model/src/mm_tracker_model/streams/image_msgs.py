"""sensor_msgs/Image <-> numpy without cv_bridge (not on PyPI; its unofficial port breaks on numpy 2).

Handles `step` row padding and `is_bigendian`; unsupported encodings raise ImageConversionError, which the
node counts and reports instead of crashing.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from mm_tracker_model.engine.preprocess import aux_to_rgb, colour_to_rgb, thermal_to_rgb
from mm_tracker_model.errors import ImageConversionError

# encoding -> (dtype, channels)
ENCODINGS: dict[str, tuple[np.dtype, int]] = {
    "rgb8": (np.dtype(np.uint8), 3),
    "bgr8": (np.dtype(np.uint8), 3),
    "rgba8": (np.dtype(np.uint8), 4),
    "bgra8": (np.dtype(np.uint8), 4),
    "mono8": (np.dtype(np.uint8), 1),
    "mono16": (np.dtype(np.uint16), 1),
    "16UC1": (np.dtype(np.uint16), 1),
    "32FC1": (np.dtype(np.float32), 1),
}


def check_image(msg: Any) -> None:
    """Cheap header-level checks (encoding, sizes, data length), run where the message arrives."""
    encoding = msg.encoding
    if encoding not in ENCODINGS:
        raise ImageConversionError(f"encoding {encoding!r} unsupported; supported: {', '.join(ENCODINGS)}")
    dtype, channels = ENCODINGS[encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if height <= 0 or width <= 0:
        raise ImageConversionError(f"image has no pixels ({width}x{height})")
    if step < row_bytes:
        raise ImageConversionError(
            f"step {step} is shorter than a row of {width} {encoding} pixels ({row_bytes} bytes)"
        )
    if len(msg.data) < step * height:
        raise ImageConversionError(
            f"data holds {len(msg.data)} bytes, expected step {step} x height {height} = {step * height}"
        )


def image_to_array(msg: Any) -> np.ndarray:
    """(H, W) or (H, W, C) array viewing or copying the message data, in native byte order."""
    check_image(msg)
    dtype, channels = ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    data = msg.data if isinstance(msg.data, (bytes, bytearray, memoryview)) else bytes(msg.data)
    rows = np.frombuffer(data, dtype=np.uint8, count=step * height).reshape(height, step)[:, :row_bytes]
    order = ">" if msg.is_bigendian else "<"
    pixels = np.ascontiguousarray(rows).view(dtype.newbyteorder(order) if dtype.itemsize > 1 else dtype)
    pixels = pixels.astype(dtype, copy=False)  # native byte order
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def array_to_image_fields(array: np.ndarray, encoding: str) -> dict[str, Any]:
    """Fields for a sensor_msgs/Image holding `array` (data as bytes: assigning a numpy array is ~50x slower)."""
    dtype, channels = ENCODINGS[encoding]
    array = np.ascontiguousarray(array, dtype=dtype)
    if (array.shape[2] if array.ndim == 3 else 1) != channels:
        raise ImageConversionError(f"array of shape {array.shape} is not {encoding}")
    height, width = array.shape[:2]
    return {
        "height": height,
        "width": width,
        "encoding": encoding,
        "is_bigendian": 0,
        "step": width * channels * dtype.itemsize,
        "data": array.tobytes(),
    }


def decode(msg: Any) -> tuple[np.ndarray, str]:
    """An Image or CompressedImage -> (array, encoding)."""
    if hasattr(msg, "encoding"):
        return image_to_array(msg), msg.encoding
    data = np.frombuffer(bytes(msg.data), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise ImageConversionError(f"compressed image ({msg.format!r}) could not be decoded")
    if image.ndim == 3:
        return image[..., :3], "bgr8"
    return image, "16UC1" if image.dtype == np.uint16 else "mono8"


def rgb_from_message(msg: Any) -> np.ndarray:
    array, encoding = decode(msg)
    return colour_to_rgb(array, encoding)


def aux_from_message(
    msg: Any, modality: str, thermal_range: tuple[float, float] | None
) -> tuple[np.ndarray, list[str]]:
    array, encoding = decode(msg)
    if modality == "thermal" and thermal_range is not None and encoding in ("mono16", "16UC1"):
        return thermal_to_rgb(array, encoding, fixed_range=thermal_range), []
    return aux_to_rgb(array, modality, encoding)
