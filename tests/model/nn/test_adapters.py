import pytest
import torch

from mm_tracker_model.nn.adapters import CEA, HeadAdapter, MDAPair
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


def test_fresh_mda_outputs_exact_zero_and_fresh_head_adapter_the_identity():
    tokens = torch.randn(2, TOKENS, 32)
    out_rgb, out_x = MDAPair(32, 8, "intra")(tokens, tokens + 1, GRIDS)
    assert torch.equal(out_rgb, torch.zeros_like(tokens)) and torch.equal(out_x, torch.zeros_like(tokens))
    assert torch.equal(HeadAdapter(32, 8)(tokens), tokens)


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
    mda = _trained(MDAPair(32, 8, "intra"))
    tokens, other = torch.randn(1, TOKENS, 32), torch.randn(1, TOKENS, 32)
    changed = tokens.clone()
    changed[:, 70] += 5.0  # a search token
    (out, _), (out_changed, _) = mda(tokens, other, GRIDS), mda(changed, other, GRIDS)
    assert torch.equal(out[:, :64], out_changed[:, :64])  # template untouched by a search change
    assert not torch.allclose(out[:, 64:], out_changed[:, 64:])


def test_grouped_mda_keeps_the_modalities_apart():
    """Intra-modal: each modality's output depends on its own features only, despite the grouped kernels."""
    mda = _trained(MDAPair(32, 8, "intra"))
    rgb, x = torch.randn(1, TOKENS, 32), torch.randn(1, TOKENS, 32)
    out_rgb, out_x = mda(rgb, x, GRIDS)
    out_rgb_2, out_x_2 = mda(rgb, x * 3 + 1, GRIDS)
    assert torch.equal(out_rgb, out_rgb_2) and not torch.allclose(out_x, out_x_2)


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
    cross_rgb, cross_x = cross(rgb, x, GRIDS)
    swapped_rgb, swapped_x = intra(x, rgb, GRIDS)
    assert torch.equal(cross_rgb, swapped_rgb) and torch.equal(cross_x, swapped_x)
    assert not torch.allclose(cross_rgb, intra(rgb, x, GRIDS)[0])
