import pytest
import torch

from mm_tracker_model.nn.adapters import CEA, MDA, HeadAdapter, MDAPair
from mm_tracker_model.nn.tokens import grid_slices, merge_grids, split_grids

GRIDS = [8, 16]  # one template map and the search map
TOKENS = sum(g * g for g in GRIDS)


def test_split_and_merge_grids_are_inverse_and_row_major():
    tokens = torch.arange(2 * TOKENS * 3, dtype=torch.float32).reshape(2, TOKENS, 3)
    maps = split_grids(tokens, GRIDS)
    assert [tuple(m.shape) for m in maps] == [(2, 3, 8, 8), (2, 3, 16, 16)]
    # token r * g + c sits at row r, column c of its map
    assert torch.equal(maps[1][0, :, 2, 5], tokens[0, 64 + 2 * 16 + 5])
    assert torch.equal(merge_grids(maps), tokens)
    assert [(s.start, s.stop) for s in grid_slices(GRIDS)] == [(0, 64), (64, 320)]


@pytest.mark.parametrize("adapter", [MDA(32, 8), HeadAdapter(32, 8)])
def test_fresh_single_modality_adapters_output_exact_zero_or_identity(adapter):
    tokens = torch.randn(2, TOKENS, 32)
    out = adapter(tokens, GRIDS) if isinstance(adapter, MDA) else adapter(tokens)
    expected = torch.zeros_like(tokens) if isinstance(adapter, MDA) else tokens
    assert torch.equal(out, expected)


def test_fresh_cea_outputs_exact_zero_for_both_modalities():
    cea = CEA(32, 16)
    out_rgb, out_x = cea(torch.randn(2, TOKENS, 32), torch.randn(2, TOKENS, 32), GRIDS)
    assert torch.equal(out_rgb, torch.zeros_like(out_rgb)) and torch.equal(out_x, torch.zeros_like(out_x))


def _trained(module):
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.2)
    return module


def test_mda_processes_template_and_search_maps_separately():
    mda = _trained(MDA(32, 8))
    tokens = torch.randn(1, TOKENS, 32)
    changed = tokens.clone()
    changed[:, 70] += 5.0  # a search token
    out, out_changed = mda(tokens, GRIDS), mda(changed, GRIDS)
    assert torch.equal(out[:, :64], out_changed[:, :64])  # template untouched by a search change
    assert not torch.allclose(out[:, 64:], out_changed[:, 64:])


def test_cea_updates_each_modality_from_the_other():
    cea = _trained(CEA(32, 16))
    rgb, x = torch.randn(1, TOKENS, 32), torch.randn(1, TOKENS, 32)
    base_rgb, _ = cea(rgb, x, GRIDS)
    moved_rgb, _ = cea(rgb, x + 1.0, GRIDS)
    assert not torch.allclose(base_rgb, moved_rgb)


def test_cea_attention_is_scaled_by_inverse_sqrt_dim():
    cea = CEA(32, 16)
    assert cea.scale == pytest.approx(16**-0.5)


def test_mda_pair_cross_source_swaps_inputs():
    intra, cross = MDAPair(32, 8, "intra"), MDAPair(32, 8, "cross")
    cross.load_state_dict(_trained(intra).state_dict())
    rgb, x = torch.randn(1, TOKENS, 32), torch.randn(1, TOKENS, 32)
    intra_rgb, _ = intra(rgb, x, GRIDS)
    cross_rgb, cross_x = cross(rgb, x, GRIDS)
    assert torch.equal(cross_rgb, intra.rgb(x, GRIDS)) and torch.equal(cross_x, intra.x(rgb, GRIDS))
    assert not torch.allclose(cross_rgb, intra_rgb)
