import dataclasses

import pytest

from mm_tracker_model.errors import PresetError
from mm_tracker_model.presets import NetConfig, get_preset, preset_names


def test_known_presets_include_base_and_tiny():
    assert {"patrack_base", "patrack_tiny"} <= set(preset_names())


def test_base_preset_is_ostrack_vit_b16_with_cea_at_3_6_9():
    cfg = get_preset("patrack_base")
    assert (cfg.embed_dim, cfg.depth, cfg.num_heads, cfg.patch_size) == (768, 12, 12, 16)
    assert (cfg.template_size, cfg.search_size, cfg.template_grid, cfg.search_grid) == (128, 256, 8, 16)
    assert cfg.cea_blocks == (3, 6, 9)
    assert (cfg.mda_bottleneck, cfg.cea_dim, cfg.ha_bottleneck) == (8, 192, 8)


def test_tiny_preset_keeps_the_structure_and_shrinks_the_width():
    base, tiny = get_preset("patrack_base"), get_preset("patrack_tiny")
    assert tiny.embed_dim < base.embed_dim
    assert (tiny.depth, tiny.cea_blocks, tiny.template_size, tiny.search_size) == (
        base.depth,
        base.cea_blocks,
        base.template_size,
        base.search_size,
    )


def test_unknown_preset_error_lists_known_names():
    with pytest.raises(
        PresetError, match=r"'patrack_tny' unknown; known: full_base, full_tiny, patrack_base, patrack_tiny"
    ):
        get_preset("patrack_tny")


def test_invalid_fields_are_named():
    with pytest.raises(PresetError, match="not divisible by num_heads"):
        get_preset("patrack_base", num_heads=7)
    with pytest.raises(PresetError, match=r"cea_blocks \[12\] outside 0..11"):
        get_preset("patrack_base", cea_blocks=(3, 12))
    with pytest.raises(PresetError, match="search_size 250"):
        get_preset("patrack_base", search_size=250)
    with pytest.raises(PresetError, match="mda_source 'both' unknown"):
        get_preset("patrack_base", mda_source="both")
    with pytest.raises(PresetError, match=r"override fields \['width'\] unknown"):
        get_preset("patrack_base", width=3)


def test_config_round_trips_through_plain_dict():
    cfg = get_preset("patrack_tiny", mda_source="cross")
    data = cfg.to_dict()
    assert all(not isinstance(v, tuple) for v in data.values())
    assert NetConfig.from_dict(data) == cfg


def test_from_dict_rejects_unknown_fields():
    data = dataclasses.asdict(get_preset("patrack_tiny")) | {"bogus": 1}
    with pytest.raises(PresetError, match=r"\['bogus'\] unknown"):
        NetConfig.from_dict(data)
