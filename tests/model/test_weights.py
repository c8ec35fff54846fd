from mm_tracker_model import weights


def test_a_modality_without_its_own_model_falls_back_to_the_thermal_default(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    assert weights.default_checkpoint("event") is None
    (tmp_path / "full_tiny_default.pt").write_bytes(b"x")
    assert weights.default_checkpoint("event") == tmp_path / "full_tiny_default.pt"
    (tmp_path / "full_tiny_depth.pt").write_bytes(b"x")
    assert weights.default_checkpoint("depth") == tmp_path / "full_tiny_depth.pt"
    assert weights.default_checkpoint("thermal") == tmp_path / "full_tiny_default.pt"


def test_every_packaged_default_loads_with_weights_only_and_has_a_model_card():
    import pytest
    import torch

    from mm_tracker_model.io.checkpoint import load_net

    files = sorted(weights.WEIGHTS_DIR.glob("full_tiny_*.pt"))
    if not files:
        pytest.skip("no packaged default model in model/weights/")
    for path in files:
        raw = torch.load(path, weights_only=True, map_location="cpu")
        assert raw["preset"] == "full_tiny", path
        net = load_net(path)
        assert net.config.name == "full_tiny"
        assert net.config.fusion == "mean", f"{path}: converted OSTrack weights and defaults share the mean fusion"
        assert path.with_suffix(".md").is_file() and path.with_suffix(".train.yaml").is_file(), path
