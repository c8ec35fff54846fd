from pathlib import Path

import numpy as np
import pytest
import yaml

from mm_tracker_model.calibration import CalibrationError, load_calibration, parse_calibration, save_calibration

DEMO = Path(__file__).resolve().parents[2] / "calibration" / "demo_rig.yaml"


def test_demo_rig_loads():
    rig = load_calibration(DEMO)
    assert rig.modality == "thermal" and (rig.rgb.width, rig.aux.height) == (640, 512)
    assert rig.homography_aux_to_rgb.shape == (3, 3) and rig.rgb.camera_matrix[0, 0] == 525.0
    assert "extrinsics" in rig.extras


def _demo_dict():
    return yaml.safe_load(DEMO.read_text())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("homography_aux_to_rgb"), "homography_aux_to_rgb missing"),
        (lambda d: d.update(modality="radar"), "modality 'radar' unknown"),
        (lambda d: d["aux"].pop("frame_id"), r"aux\.frame_id: missing"),
        (lambda d: d["rgb"].update(image_width=-5), "positive integers"),
        (lambda d: d["homography_aux_to_rgb"].update(rows=2), "expected 3x3, got 2x3"),
        (lambda d: d["homography_aux_to_rgb"].update(data=[0.0] * 9), "singular"),
        (lambda d: d["homography_aux_to_rgb"].update(data=[1, 0, 0, 0, 1, 0, 0, 0]), "rows x cols = 9"),
        (lambda d: d["rgb"]["camera_matrix"].update(data=["a"] * 9), "must be numbers"),
        (lambda d: d.pop("rgb"), "rgb: missing"),
    ],
)
def test_malformed_fields_are_named(edit, message):
    data = _demo_dict()
    edit(data)
    with pytest.raises(CalibrationError, match=message):
        parse_calibration(data, "rig.yaml")


def test_unreadable_and_invalid_yaml(tmp_path):
    with pytest.raises(CalibrationError, match="cannot be read"):
        load_calibration(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rig: [unclosed")
    with pytest.raises(CalibrationError, match="not valid YAML"):
        load_calibration(bad)


def test_save_round_trips_and_keeps_the_previous_file(tmp_path):
    rig = load_calibration(DEMO)
    path = save_calibration(tmp_path / "rig.yaml", rig)
    again = load_calibration(path)
    np.testing.assert_allclose(again.homography_aux_to_rgb, rig.homography_aux_to_rgb)
    assert again.extras == rig.extras
    save_calibration(path, rig)
    assert len(list(tmp_path.glob("rig.yaml.*.bak"))) == 1
    assert not list(tmp_path.glob(".rig.yaml.*"))  # no temporary files left
