from mm_tracker_model import weights


def test_a_modality_without_its_own_model_falls_back_to_the_thermal_default(tmp_path, monkeypatch):
    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path)
    assert weights.default_checkpoint("event") is None
    (tmp_path / "full_tiny_default.pt").write_bytes(b"x")
    assert weights.default_checkpoint("event") == tmp_path / "full_tiny_default.pt"
    (tmp_path / "full_tiny_depth.pt").write_bytes(b"x")
    assert weights.default_checkpoint("depth") == tmp_path / "full_tiny_depth.pt"
    assert weights.default_checkpoint("thermal") == tmp_path / "full_tiny_default.pt"
