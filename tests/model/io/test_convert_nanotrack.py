"""NanoTrack's released backbone fills the MobileNetV3 stem, and the stem computes what NanoTrack's own export does."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mm_tracker_model.errors import CheckpointError
from mm_tracker_model.io.convert import convert_pretrained, nanotrack_stem
from mm_tracker_model.io.released import read_released_file
from mm_tracker_model.nn.mobilenet_stem import STEM_BLOCKS, MobileNetStem
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import get_preset

NANOTRACK = Path(__file__).resolve().parents[3].parent / "shared" / "pretrained" / "nanotrack"
needs_release = pytest.mark.skipif(
    not (NANOTRACK / "nanotrackv2.pth").is_file(), reason=f"NanoTrack release files not found in {NANOTRACK}"
)
MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


def _fake_release(variant: str) -> dict:
    """A NanoTrack-shaped training file: the stem's features under `backbone.features.*` plus neck and head."""
    features = MobileNetStem(variant, 8).features.state_dict()
    state = {f"backbone.features.{k}": v for k, v in features.items()}
    state["neck.downsample.0.weight"] = torch.zeros(4, 48, 1, 1)
    state["ban_head.cls_pred.weight"] = torch.zeros(2, 4, 1, 1)
    return {"epoch": 3, "state_dict": state, "optimizer": {}}


@pytest.mark.parametrize("variant", sorted(STEM_BLOCKS))
def test_nanotrack_backbone_fills_the_stem_and_nothing_else(variant):
    raw = _fake_release(variant)
    assert nanotrack_stem(raw) == variant
    net = build_net(get_preset("full_tiny", stem=variant))
    report = convert_pretrained(raw, "nanotrack", net)
    assert report.missing == [] and report.unexpected == []
    assert set(report.ignored) == {"neck.downsample.0.weight", "ban_head.cls_pred.weight"}
    assert all(k.startswith("backbone.stem.features.") for k in report.consumed)
    assert "backbone.stem.proj.weight" in report.new and "box_head.conv5_ctr.weight" in report.new
    loaded = net.state_dict()
    for key in report.consumed:
        assert torch.equal(loaded[key], raw["state_dict"][key.replace("backbone.stem.", "backbone.")])


def test_a_v3_backbone_into_a_v2_stem_names_the_option():
    with pytest.raises(CheckpointError, match="--stem nanotrack_v3"):
        convert_pretrained(
            _fake_release("nanotrack_v3"), "nanotrack", build_net(get_preset("full_tiny", stem="nanotrack_v2"))
        )


def test_a_file_without_nanotrack_features_is_refused():
    with pytest.raises(CheckpointError, match="neither V2"):
        nanotrack_stem({"state_dict": {"backbone.features.0.0.weight": torch.zeros(1)}})


@needs_release
@pytest.mark.parametrize("name", ["nanotrackv2.pth", "nanotrackv3.pth"])
def test_released_files_are_read_and_converted(name):
    released = read_released_file(NANOTRACK / name)
    assert set(released.skipped.values()) == {"numpy.core.multiarray.scalar"}  # the pickled learning rates
    variant = nanotrack_stem(released.content)
    assert variant == {"nanotrackv2.pth": "nanotrack_v2", "nanotrackv3.pth": "nanotrack_v3"}[name]
    report = convert_pretrained(released.content, "nanotrack", build_net(get_preset("full_tiny", stem=variant)))
    assert report.missing == [] and report.unexpected == []
    assert len(report.consumed) == sum(k.startswith("backbone.features.") for k in released.content["state_dict"])


@needs_release
def test_the_converted_stem_computes_nanotracks_own_onnx_backbone():
    """cv2.dnn runs the ONNX export cv2.TrackerNano uses on raw BGR pixels; our stem gets normalised RGB."""
    released = read_released_file(NANOTRACK / "nanotrackv2.pth")
    net = build_net(get_preset("full_tiny", stem="nanotrack_v2")).eval()
    convert_pretrained(released.content, "nanotrack", net)
    image_bgr = np.random.default_rng(0).integers(0, 256, (127, 127, 3), dtype=np.uint8)
    onnx = cv2.dnn.readNet(str(NANOTRACK / "onnx" / "nanotrackv2_backbone_sim.onnx"))
    onnx.setInput(cv2.dnn.blobFromImage(image_bgr))
    expected = onnx.forward()
    normalised = (image_bgr[:, :, ::-1] / 255.0 - MEAN) / STD
    with torch.no_grad():
        ours = net.backbone.stem.raw_features(torch.from_numpy(normalised.transpose(2, 0, 1).copy()).float()[None])
    assert ours.shape == expected.shape == (1, 48, 8, 8)
    np.testing.assert_allclose(ours.numpy(), expected, atol=2e-4 * np.abs(expected).max())
