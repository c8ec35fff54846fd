import pytest
import torch

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.nn.alignment.tcmda import TCMDA, token_centres

GRID, DIM = 16, 32


@pytest.fixture
def tcmda():
    module = TCMDA(DIM, heads=8, points=4)
    with torch.no_grad():
        module.value_proj.weight.copy_(torch.eye(DIM))
        module.value_proj.bias.zero_()
        module.weights.weight.normal_()  # any attention weights: all points sit at the same place
    return module


def _values():
    return torch.randn(1, GRID * GRID, DIM)


def test_identity_samples_each_query_at_its_own_token_centre(tcmda):
    """PMATrack's reference grid is off by up to one token at the far edges; ours is exact everywhere."""
    values = _values()
    out = tcmda.aggregate(torch.randn(1, GRID * GRID, DIM), values, torch.eye(3).unsqueeze(0), GRID)
    torch.testing.assert_close(out, values, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("tx", "ty"), [(2, 0), (0, 3), (-1, 1)])
def test_translation_of_t_tokens_samples_t_tokens_away(tcmda, tx, ty):
    values = _values()
    shift = hg.params_to_matrix(torch.tensor([[tx / GRID, ty / GRID, 0.0, 0.0]]))
    out = tcmda.aggregate(torch.randn(1, GRID * GRID, DIM), values, shift, GRID)
    value_map = values.view(GRID, GRID, DIM)
    for row, col in [(5, 5), (8, 3), (10, 12)]:
        torch.testing.assert_close(out[0, row * GRID + col], value_map[row + ty, col + tx], atol=1e-5, rtol=1e-5)


def test_token_centres_are_pixel_centres_in_centred_units():
    centres = token_centres(GRID)
    assert centres[0].tolist() == pytest.approx([0.5 / GRID - 0.5] * 2)
    assert centres[-1].tolist() == pytest.approx([0.5 - 0.5 / GRID] * 2)


def test_fresh_tcmda_is_the_identity_on_queries():
    module = TCMDA(DIM, heads=8, points=4)
    queries = torch.randn(2, GRID * GRID, DIM)
    assert torch.equal(module(queries, _values().expand(2, -1, -1), torch.eye(3).expand(2, 3, 3), GRID), queries)
