"""Modality preprocessing shared by the engine, the datasets and the ROS node: anything -> RGB uint8 (H, W, 3)."""

from __future__ import annotations

import cv2
import numpy as np

from mm_tracker_model.errors import PreprocessError

COLOUR_ENCODINGS = ("rgb8", "bgr8", "rgba8", "bgra8", "mono8")
THERMAL_ENCODINGS = (*COLOUR_ENCODINGS, "mono16", "16UC1")
DEPTH_ENCODINGS = ("16UC1", "mono16", "32FC1")
MAX_DEPTH_M = 10.0


def _check_image(image: np.ndarray, channels: int | None, dtype: type | tuple[type, ...], encoding: str) -> None:
    if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
        shape = getattr(image, "shape", None)
        raise PreprocessError(f"{encoding}: expected a non-empty (H, W[, C]) array, got shape {shape}")
    got_channels = 1 if image.ndim == 2 else image.shape[2]
    if channels is not None and got_channels != channels:
        raise PreprocessError(f"{encoding}: expected {channels} channel(s), got {got_channels} (shape {image.shape})")
    if not np.issubdtype(image.dtype, dtype):
        raise PreprocessError(f"{encoding}: expected dtype {np.dtype(dtype).name}, got {image.dtype}")


def colour_to_rgb(image: np.ndarray, encoding: str) -> np.ndarray:
    """rgb8 / bgr8 / rgba8 / bgra8 / mono8 -> RGB uint8."""
    conversions = {
        "rgb8": (3, None),
        "bgr8": (3, cv2.COLOR_BGR2RGB),
        "rgba8": (4, cv2.COLOR_RGBA2RGB),
        "bgra8": (4, cv2.COLOR_BGRA2RGB),
        "mono8": (1, cv2.COLOR_GRAY2RGB),
    }
    if encoding not in conversions:
        raise PreprocessError(f"encoding {encoding!r} unsupported here; supported: {', '.join(conversions)}")
    channels, code = conversions[encoding]
    _check_image(image, channels, np.uint8, encoding)
    if code is None:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(image.reshape(image.shape[0], image.shape[1], -1) if channels > 1 else image, code)


def thermal_to_rgb(
    image: np.ndarray,
    encoding: str,
    fixed_range: tuple[float, float] | None = None,
    percentiles: tuple[float, float] = (1.0, 99.0),
) -> np.ndarray:
    """Thermal: 8-bit as is; raw 16-bit counts by robust percentiles (or a fixed range) to 8 bit, grey -> RGB."""
    if encoding in COLOUR_ENCODINGS:
        return colour_to_rgb(image, encoding)
    if encoding not in ("mono16", "16UC1"):
        raise PreprocessError(f"thermal encoding {encoding!r} unsupported; supported: {', '.join(THERMAL_ENCODINGS)}")
    _check_image(image, 1, np.uint16, encoding)
    counts = image.astype(np.float32)
    # Percentiles of every 4th pixel in each direction: the same range to within a count, 16x cheaper.
    low, high = fixed_range if fixed_range is not None else np.percentile(counts[::4, ::4], percentiles)
    scaled = np.clip((counts - low) / max(float(high - low), 1e-6), 0.0, 1.0)
    return cv2.cvtColor((scaled * 255.0 + 0.5).astype(np.uint8), cv2.COLOR_GRAY2RGB)


def depth_to_rgb(image: np.ndarray, encoding: str) -> tuple[np.ndarray, bool]:
    """REP 118 depth -> JET RGB: clip at min(3 x median valid depth, 10 m), min-max to 0-255.

    Returns the image and whether it had any valid depth (an all-invalid frame is black, and flagged).
    """
    if encoding in ("16UC1", "mono16"):
        _check_image(image, 1, np.uint16, encoding)
        metres = image.astype(np.float32) / 1000.0
        valid = image > 0
    elif encoding == "32FC1":
        _check_image(image, 1, np.floating, encoding)
        metres = image.astype(np.float32)
        valid = np.isfinite(metres) & (metres > 0)
    else:
        raise PreprocessError(f"depth encoding {encoding!r} unsupported; supported: {', '.join(DEPTH_ENCODINGS)}")
    if not valid.any():
        return np.zeros((*image.shape[:2], 3), dtype=np.uint8), False
    far = min(3.0 * float(np.median(metres[valid])), MAX_DEPTH_M)
    clipped = np.where(valid, np.minimum(metres, far), 0.0)
    low, high = float(clipped[valid].min()), float(clipped[valid].max())
    scaled = np.where(valid, (clipped - low) / max(high - low, 1e-6), 0.0)
    grey = (scaled * 255.0 + 0.5).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB), True


def events_to_frame(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    polarity: np.ndarray,
    height: int,
    width: int,
    t_end: float,
    window: float,
) -> np.ndarray:
    """Raw events in (t_end - window, t_end] -> white frame, ON events red, OFF blue (VisEvent's convention)."""
    frame = np.full((height, width, 3), 255, dtype=np.uint8)
    x, y, t, polarity = (np.asarray(a) for a in (x, y, t, polarity))
    if not (len(x) == len(y) == len(t) == len(polarity)):
        raise PreprocessError(f"event arrays differ in length: x {len(x)}, y {len(y)}, t {len(t)}, p {len(polarity)}")
    keep = (t > t_end - window) & (t <= t_end) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    xs, ys, on = x[keep].astype(np.intp), y[keep].astype(np.intp), polarity[keep] > 0
    frame[ys[on], xs[on]] = (255, 0, 0)
    frame[ys[~on], xs[~on]] = (0, 0, 255)
    return frame


def aux_to_rgb(image: np.ndarray, modality: str, encoding: str) -> tuple[np.ndarray, list[str]]:
    """The second camera's image -> RGB uint8, with the names of any degradations applied."""
    if modality == "thermal":
        return thermal_to_rgb(image, encoding), []
    if modality == "depth":
        if encoding in COLOUR_ENCODINGS:  # an already colourised depth image
            return colour_to_rgb(image, encoding), []
        rgb, any_valid = depth_to_rgb(image, encoding)
        return rgb, [] if any_valid else ["depth_all_invalid"]
    if modality == "event":  # event frames arrive as images
        return colour_to_rgb(image, encoding), []
    raise PreprocessError(f"modality {modality!r} unknown; known: thermal, depth, event")
