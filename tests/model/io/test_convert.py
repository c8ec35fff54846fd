import pytest
import torch
from support.ostrack_reference import ostrack_state_dict

from mm_tracker_model.errors import CheckpointError, ShapeMismatchError
from mm_tracker_model.io.convert import convert_pretrained, resize_grid_embedding
from mm_tracker_model.nn.tracker_net import build_net, param_group
from mm_tracker_model.presets import get_preset

TINY = get_preset("patrack_tiny")


def _tiny_ostrack(**kwargs):
    return ostrack_state_dict(TINY.embed_dim, TINY.depth, TINY.head_channels, **kwargs)


def test_official_ostrack_checkpoint_fills_every_backbone_and_head_entry():
    state = ostrack_state_dict()
    assert len(state) == 242
    net = build_net("patrack_base")
    report = convert_pretrained({"net": state, "epoch": 300}, "ostrack", net)
    assert report.unexpected == [] and report.missing == []
    assert set(report.ignored) == {"backbone.cls_token", "backbone.pos_embed"}
    assert len(report.consumed) == 240
    loaded = net.state_dict()
    for key in report.consumed:
        assert torch.equal(loaded[key], state[key]), key
    assert {param_group(k) for k in report.new} == {"adapters", "head_adapter"}


def test_droptrack_position_embeddings_are_resized_and_temporal_ones_folded_in():
    state = _tiny_ostrack(template_grid=12, search_grid=24)
    state["backbone.temporal_pos_embed_x"] = torch.full((1, 1, TINY.embed_dim), 0.5)
    state["backbone.temporal_pos_embed_z"] = torch.full((1, 1, TINY.embed_dim), 0.25)
    net = build_net(TINY)
    report = convert_pretrained({"net": state}, "droptrack", net)
    assert report.missing == [] and report.unexpected == []
    assert set(report.resized) == {"backbone.pos_embed_x", "backbone.pos_embed_z"}
    expected_x = resize_grid_embedding(state["backbone.pos_embed_x"] + 0.5, 16, "bilinear")
    torch.testing.assert_close(net.backbone.pos_embed_x.data, expected_x)
    assert net.backbone.pos_embed_z.shape == (1, 64, TINY.embed_dim)


def test_resizing_a_constant_embedding_keeps_it_constant():
    embedding = torch.full((1, 24 * 24, 4), 3.0)
    assert torch.allclose(resize_grid_embedding(embedding, 16, "bilinear"), torch.full((1, 256, 4), 3.0))
    with pytest.raises(CheckpointError, match="not a square grid"):
        resize_grid_embedding(torch.zeros(1, 10, 4), 4, "bilinear")


def test_mae_weights_fill_the_backbone_and_leave_the_head_missing():
    ostrack = _tiny_ostrack()
    model = {k.removeprefix("backbone."): v for k, v in ostrack.items() if k.startswith("backbone.")}
    model.pop("pos_embed_x"), model.pop("pos_embed_z")
    model["pos_embed"] = torch.randn(1, 197, TINY.embed_dim)
    model["mask_token"] = torch.zeros(1, 1, 8)
    model["decoder_embed.weight"] = torch.zeros(8, TINY.embed_dim)
    net = build_net(TINY)
    report = convert_pretrained({"model": model}, "mae", net)
    assert report.unexpected == []
    assert {param_group(k) for k in report.missing} == {"head"}
    assert "decoder_embed.weight" in report.ignored and "mask_token" in report.ignored
    assert net.backbone.pos_embed_x.shape == (1, 256, TINY.embed_dim)


def test_shape_mismatch_names_the_key():
    state = _tiny_ostrack()
    state["backbone.blocks.3.mlp.fc1.weight"] = torch.zeros(10, TINY.embed_dim)
    with pytest.raises(ShapeMismatchError, match=r"'backbone\.blocks\.3\.mlp\.fc1\.weight'"):
        convert_pretrained({"net": state}, "ostrack", build_net(TINY))


def test_a_base_checkpoint_does_not_fit_the_tiny_preset():
    with pytest.raises(ShapeMismatchError, match="model expects"):
        convert_pretrained({"net": ostrack_state_dict(depth=1)}, "ostrack", build_net(TINY))


def test_a_dict_without_net_is_not_an_ostrack_checkpoint():
    with pytest.raises(CheckpointError, match="expected a dict with a 'net' state dict"):
        convert_pretrained({"model": {}}, "ostrack", build_net(TINY))


def test_unknown_source_lists_known_ones():
    with pytest.raises(CheckpointError, match="known: ostrack, droptrack, mae"):
        convert_pretrained({}, "vitdet", build_net(TINY))


def test_a_sum_fusion_network_is_rewritten_exactly_for_mean_fusion():
    from mm_tracker_model.io.convert import sum_to_mean_fusion

    summed = build_net(get_preset("full_tiny", fusion="sum")).eval()
    with torch.no_grad():  # trained-looking head adapter, so the rewrite has something to preserve
        summed.head_adapter.up.weight.normal_(0, 0.5)
        summed.head_adapter.up.bias.normal_(0, 0.5)
    config, state = sum_to_mean_fusion(summed.config, summed.state_dict())
    assert config.fusion == "mean"
    mean = build_net(config).eval()
    mean.load_state_dict(state)
    template, search = torch.randn(2, 6, 80, 80), torch.randn(2, 6, 160, 160)
    with torch.no_grad():
        before, after = summed(template, search), mean(template, search)
        plain_mean = build_net(config).eval()
        plain_mean.load_state_dict(summed.state_dict())
        unconverted = plain_mean(template, search)
    for name in ("score_map", "size_map", "offset_map", "boxes"):
        torch.testing.assert_close(getattr(after, name), getattr(before, name), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(unconverted.score_map, before.score_map, atol=1e-4)  # the rewrite is needed
    with pytest.raises(CheckpointError, match="already uses 'mean'"):
        sum_to_mean_fusion(config, state)


def test_checkpoints_from_before_the_fusion_option_load_as_sum():
    from mm_tracker_model.presets import NetConfig

    legacy = get_preset("full_tiny").to_dict()
    del legacy["fusion"]
    assert NetConfig.from_dict(legacy).fusion == "sum"
    assert NetConfig.from_dict(get_preset("full_tiny").to_dict()).fusion == "mean"
