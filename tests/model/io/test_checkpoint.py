import pytest
import torch

from mm_tracker_model.errors import CheckpointError, ShapeMismatchError
from mm_tracker_model.io.checkpoint import FORMAT, load_checkpoint, load_net, load_state, save_checkpoint
from mm_tracker_model.nn.tracker_net import build_net


@pytest.fixture(scope="module")
def tiny():
    return build_net("patrack_tiny").eval()


def test_round_trip_restores_weights_config_and_metadata(tmp_path, tiny):
    path = save_checkpoint(tmp_path / "model.pt", tiny, {"steps": 12, "data": ["synthetic"]})
    checkpoint = load_checkpoint(path)
    assert checkpoint.config == tiny.config
    assert checkpoint.metadata == {"steps": 12, "data": ["synthetic"]}
    restored = load_net(path).eval()
    template, search = torch.randn(1, 6, 128, 128), torch.randn(1, 6, 256, 256)
    with torch.no_grad():
        assert torch.equal(restored(template, search).score_map, tiny(template, search).score_map)


def test_half_storage_halves_the_file_and_loads_as_float32(tmp_path, tiny):
    full = save_checkpoint(tmp_path / "full.pt", tiny)
    half = save_checkpoint(tmp_path / "half.pt", tiny, storage="float16")
    assert half.stat().st_size < 0.55 * full.stat().st_size
    checkpoint = load_checkpoint(half)
    assert checkpoint.storage == "float16"
    assert {v.dtype for v in checkpoint.state_dict.values() if v.is_floating_point()} == {torch.float32}
    restored = load_net(half).eval()
    template, search = torch.randn(1, 6, 128, 128), torch.randn(1, 6, 256, 256)
    with torch.no_grad():
        expected, got = tiny(template, search).boxes, restored(template, search).boxes
    assert not torch.equal(expected, got)  # it really was rounded ...
    assert torch.allclose(expected, got, atol=2e-3)  # ... by no more than half precision's rounding


def test_half_storage_refuses_values_beyond_its_range(tmp_path):
    net = build_net("patrack_tiny")
    with torch.no_grad():
        next(net.parameters())[0] = 1e6
    with pytest.raises(CheckpointError, match="beyond float16's range"):
        save_checkpoint(tmp_path / "half.pt", net, storage="float16")
    with pytest.raises(CheckpointError, match="storage 'int8' unknown"):
        save_checkpoint(tmp_path / "q.pt", net, storage="int8")


def test_half_storage_keeps_batchnorm_statistics_in_float32(tmp_path):
    net = build_net("patrack_tiny")
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    norms[0].running_var.fill_(2.7e5)  # beyond half's range, as a fine-tuned pretrained stem's first variance
    save_checkpoint(tmp_path / "half.pt", net, storage="float16")
    stored = torch.load(tmp_path / "half.pt", weights_only=True)["state_dict"]
    assert {stored[k].dtype for k in stored if k.endswith("running_var")} == {torch.float32}
    assert {stored[k].dtype for k in stored if k.endswith("weight")} == {torch.float16}
    assert torch.equal(load_checkpoint(tmp_path / "half.pt").state_dict[_name_of(net, norms[0])], norms[0].running_var)


def _name_of(net, module) -> str:
    return next(name for name, m in net.named_modules() if m is module) + ".running_var"


def test_saved_file_loads_with_weights_only(tmp_path, tiny):
    path = save_checkpoint(tmp_path / "model.pt", tiny)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == FORMAT and payload["preset"] == "patrack_tiny"


def test_save_leaves_no_temporary_files(tmp_path, tiny):
    save_checkpoint(tmp_path / "model.pt", tiny)
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_metadata_must_be_json(tmp_path, tiny):
    with pytest.raises(CheckpointError, match="JSON-serialisable"):
        save_checkpoint(tmp_path / "model.pt", tiny, {"when": object()})


def test_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_garbage_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"\x00not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)


class _Arbitrary:
    pass


def test_pickled_objects_are_refused_not_unpickled(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"net": {}, "settings": _Arbitrary()}, path)
    with pytest.raises(CheckpointError, match=r"pickled object \(.*_Arbitrary\).*weights_only=True"):
        load_checkpoint(path)


def test_foreign_state_dict_is_pointed_to_the_converter(tmp_path):
    path = tmp_path / "ostrack.pth"
    torch.save({"net": {"backbone.norm.weight": torch.ones(3)}}, path)
    with pytest.raises(CheckpointError, match="mm-tracker-convert"):
        load_checkpoint(path)


def test_shape_mismatch_names_the_key(tiny):
    state = dict(tiny.state_dict())
    state["backbone.pos_embed_x"] = torch.zeros(1, 100, 192)
    with pytest.raises(ShapeMismatchError, match=r"'backbone.pos_embed_x': checkpoint has \(1, 100, 192\)"):
        load_state(build_net("patrack_tiny"), state)


def test_strict_load_reports_missing_and_unexpected(tiny):
    state = dict(tiny.state_dict())
    del state["box_head.conv5_ctr.bias"]
    state["extra.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointError, match=r"missing \['box_head.conv5_ctr.bias'\], unexpected \['extra.weight'\]"):
        load_state(build_net("patrack_tiny"), state)
    report = load_state(build_net("patrack_tiny"), state, strict=False)
    assert report.missing == ["box_head.conv5_ctr.bias"] and report.unexpected == ["extra.weight"]


def test_requested_preset_must_match(tmp_path, tiny):
    path = save_checkpoint(tmp_path / "model.pt", tiny)
    with pytest.raises(CheckpointError, match="holds preset 'patrack_tiny', not the requested 'patrack_base'"):
        load_net(path, preset="patrack_base")


def test_truncated_checkpoint_is_reported(tmp_path, tiny):
    path = save_checkpoint(tmp_path / "model.pt", tiny)
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(path)
