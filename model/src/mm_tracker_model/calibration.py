"""Rig calibration files (YAML): both cameras and the initial X -> RGB homography. Format: calibration/README.md."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from mm_tracker_model.errors import CalibrationError
from mm_tracker_model.modalities import MODALITIES


@dataclass(frozen=True)
class CameraCalibration:
    frame_id: str
    width: int
    height: int
    camera_matrix: np.ndarray | None = None  # 3x3
    distortion_model: str = "plumb_bob"
    distortion: np.ndarray | None = None


@dataclass(frozen=True)
class RigCalibration:
    rig: str
    modality: str
    rgb: CameraCalibration
    aux: CameraCalibration
    homography_aux_to_rgb: np.ndarray  # 3x3, X image pixels -> RGB image pixels (pixel centres at i + 0.5)
    extras: dict[str, Any] = field(default_factory=dict)  # optional extrinsics, notes: kept, not interpreted


def _matrix(node: Any, where: str, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    if not isinstance(node, dict) or not {"rows", "cols", "data"} <= set(node):
        raise CalibrationError(f"{where}: expected a mapping with rows, cols and data")
    r, c, data = node["rows"], node["cols"], node["data"]
    if (rows is not None and r != rows) or (cols is not None and c != cols):
        raise CalibrationError(f"{where}: expected {rows}x{cols}, got {r}x{c}")
    if not isinstance(data, list) or len(data) != r * c:
        raise CalibrationError(f"{where}: data must list rows x cols = {r * c} numbers")
    try:
        matrix = np.array(data, dtype=np.float64).reshape(r, c)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{where}: data must be numbers ({exc})") from exc
    if not np.isfinite(matrix).all():
        raise CalibrationError(f"{where}: data must be finite")
    return matrix


def _camera(node: Any, where: str) -> CameraCalibration:
    if not isinstance(node, dict):
        raise CalibrationError(f"{where}: missing (a mapping with frame_id, image_width, image_height)")
    for key in ("frame_id", "image_width", "image_height"):
        if key not in node:
            raise CalibrationError(f"{where}.{key}: missing")
    width, height = node["image_width"], node["image_height"]
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        raise CalibrationError(f"{where}: image_width and image_height must be positive integers, got {width}x{height}")
    return CameraCalibration(
        frame_id=str(node["frame_id"]),
        width=width,
        height=height,
        camera_matrix=_matrix(node["camera_matrix"], f"{where}.camera_matrix", 3, 3)
        if "camera_matrix" in node
        else None,
        distortion_model=str(node.get("distortion_model", "plumb_bob")),
        distortion=(
            _matrix(node["distortion_coefficients"], f"{where}.distortion_coefficients", 1)
            if "distortion_coefficients" in node
            else None
        ),
    )


def parse_calibration(data: Any, source: str = "<calibration>") -> RigCalibration:
    if not isinstance(data, dict):
        raise CalibrationError(f"{source}: expected a YAML mapping at the top level")
    modality = data.get("modality")
    if modality not in MODALITIES:
        raise CalibrationError(f"{source}: modality {modality!r} unknown; known: {', '.join(MODALITIES)}")
    if "homography_aux_to_rgb" not in data:
        raise CalibrationError(f"{source}: homography_aux_to_rgb missing")
    homography = _matrix(data["homography_aux_to_rgb"], f"{source}: homography_aux_to_rgb", 3, 3)
    if abs(np.linalg.det(homography)) < 1e-12 or abs(homography[2, 2]) < 1e-12:
        raise CalibrationError(f"{source}: homography_aux_to_rgb is singular: {homography.tolist()}")
    known = {"rig", "modality", "rgb", "aux", "homography_aux_to_rgb"}
    return RigCalibration(
        rig=str(data.get("rig", Path(source).stem)),
        modality=modality,
        rgb=_camera(data.get("rgb"), f"{source}: rgb"),
        aux=_camera(data.get("aux"), f"{source}: aux"),
        homography_aux_to_rgb=homography / homography[2, 2],
        extras={k: v for k, v in data.items() if k not in known},
    )


def load_calibration(path: str | os.PathLike) -> RigCalibration:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CalibrationError(f"calibration file {str(path)!r} cannot be read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{str(path)!r} is not valid YAML: {exc}") from exc
    return parse_calibration(data, str(path))


def _matrix_node(matrix: np.ndarray) -> dict[str, Any]:
    return {"rows": int(matrix.shape[0]), "cols": int(matrix.shape[1]), "data": [float(v) for v in matrix.flatten()]}


def calibration_to_dict(calibration: RigCalibration) -> dict[str, Any]:
    def camera(cam: CameraCalibration) -> dict[str, Any]:
        node: dict[str, Any] = {"frame_id": cam.frame_id, "image_width": cam.width, "image_height": cam.height}
        if cam.camera_matrix is not None:
            node["camera_matrix"] = _matrix_node(cam.camera_matrix)
        if cam.distortion is not None:
            node["distortion_model"] = cam.distortion_model
            node["distortion_coefficients"] = _matrix_node(cam.distortion)
        return node

    return {
        "rig": calibration.rig,
        "modality": calibration.modality,
        "rgb": camera(calibration.rgb),
        "aux": camera(calibration.aux),
        "homography_aux_to_rgb": _matrix_node(calibration.homography_aux_to_rgb),
        **calibration.extras,
    }


def save_calibration(path: str | os.PathLike, calibration: RigCalibration) -> Path:
    """Write atomically to `path`; an existing file there is kept as `<name>.<timestamp>.bak` first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(calibration_to_dict(calibration), sort_keys=False)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text)
    if path.exists():
        os.replace(path, path.with_name(f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak"))
    os.replace(tmp.name, path)
    return path
