"""Optional sensor_msgs/CameraInfo inputs: sizes checked against the images and the rig calibration.

The tracker works in image pixels through the calibration homography, so CameraInfo adds no geometry here;
what it catches is a camera driver whose resolution no longer matches the images or the calibration (a
changed driver setting makes the homography silently wrong).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CameraInfoState:
    """The latest CameraInfo of one camera: size and frame."""

    width: int = 0
    height: int = 0
    frame_id: str = ""

    @property
    def received(self) -> bool:
        return self.width > 0 and self.height > 0


def camera_info_problems(
    info: CameraInfoState, image_size: tuple[int, int] | None, calibration_size: tuple[int, int] | None
) -> list[tuple[str, str]]:
    """(counter name, message) for each inconsistency; sizes are (width, height)."""
    if not info.received:
        return []
    size = (info.width, info.height)
    problems = []
    if image_size is not None and image_size != size:
        problems.append(("camera_info_image_size", f"CameraInfo says {size}, images are {image_size}"))
    if calibration_size is not None and calibration_size != size:
        problems.append(("camera_info_calibration_size", f"CameraInfo says {size}, the calibration {calibration_size}"))
    return problems
