import pytest
import torch
import torch.nn.functional as F

from mm_tracker_model.nn.adapters import CEA, HeadAdapter, MDAPair, canvas_layout
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


def _per_grid_reference(mda: MDAPair, h_rgb: torch.Tensor, h_x: torch.Tensor, grids) -> tuple[torch.Tensor, ...]:
    """MDA as PATrack writes it: each grid's map processed on its own, zero / -inf padded at its borders."""
    low = torch.stack([mda.down[0](h_rgb), mda.down[1](h_x)], dim=1)
    q, outputs = mda.quarter, []
    for s, g in zip(grid_slices(grids), grids, strict=True):
        maps = low[:, :, s].transpose(2, 3).reshape(*low.shape[:2], -1, g, g)
        batch, modalities = maps.shape[:2]
        high_a, high_b, rest = (part.reshape(batch, -1, g, g) for part in maps.split([q, q, 2 * q], dim=2))
        rest = F.interpolate(F.avg_pool2d(rest, 2, ceil_mode=True), size=(g, g), mode="nearest")
        parts = [mda.high_conv(high_a), mda.high_pool(high_b), rest]
        mixed = torch.cat([p.view(batch, modalities, -1, g, g) for p in parts], dim=2).reshape(batch, -1, g, g)
        out = (mixed + mda.mix(mixed)).view(batch, modalities, -1, g, g)
        outputs.append(out.flatten(3).transpose(2, 3))
    tokens = torch.cat(outputs, dim=2)
    return mda.up[0](tokens[:, 0]), mda.up[1](tokens[:, 1])


@pytest.mark.parametrize("grids", [[5, 10], [5, 5, 10], [8, 16], [3, 7, 4]])
def test_canvas_mda_equals_each_grid_processed_alone(grids):
    torch.manual_seed(0)
    mda = _trained(MDAPair(32, 8, "intra"))
    tokens = sum(g * g for g in grids)
    rgb, x = torch.randn(2, tokens, 32) * 3, torch.randn(2, tokens, 32) * 3
    for got, want in zip(mda(rgb, x, grids), _per_grid_reference(mda, rgb, x, grids), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_canvas_mda_gradients_are_finite_and_match_the_per_grid_reference():
    torch.manual_seed(1)
    mda, grids = _trained(MDAPair(32, 8, "intra")), [5, 10]
    rgb = torch.randn(1, 125, 32, requires_grad=True)
    sum(o.square().sum() for o in mda(rgb, rgb * 0.5, grids)).backward()
    got = [p.grad.clone() for p in mda.parameters()] + [rgb.grad.clone()]
    mda.zero_grad()
    rgb.grad = None
    sum(o.square().sum() for o in _per_grid_reference(mda, rgb, rgb * 0.5, grids)).backward()
    want = [p.grad for p in mda.parameters()] + [rgb.grad]
    for g, w in zip(got, want, strict=True):
        assert torch.isfinite(g).all()
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)


def test_canvas_layout_puts_grids_at_even_columns_with_a_gap():
    layout = canvas_layout((5, 5, 10), torch.device("cpu"), torch.float32)
    assert (layout.height, layout.width) == (10, 22)
    columns = layout.cells % layout.width
    starts = [int(columns[s].min()) for s in grid_slices([5, 5, 10])]
    assert starts == [0, 6, 12] and int(layout.inside.sum()) == 150


def test_a_layout_first_built_in_inference_mode_still_trains():
    """Validation runs the engine in inference mode, then training goes on with the same grids."""
    mda, grids = _trained(MDAPair(32, 8, "intra")), [4, 6]  # grids no other test uses: a fresh layout
    with torch.inference_mode():
        mda(torch.randn(1, 52, 32), torch.randn(1, 52, 32), grids)
    rgb = torch.randn(1, 52, 32, requires_grad=True)
    sum(o.sum() for o in mda(rgb, rgb, grids)).backward()
    assert rgb.grad is not None and torch.isfinite(rgb.grad).all()
