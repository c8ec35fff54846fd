import pytest
import torch

from mm_tracker_model.nn.alignment.tre import (
    displacement_bins,
    grid_positions,
    mean_displacement,
    squared_distance_cost,
    transport_plan,
)

GRID = 16
REG = 0.01  # the presets' sinkhorn_reg


def _peak(x: int, y: int) -> torch.Tensor:
    activation = torch.zeros(GRID * GRID, dtype=torch.float64)
    activation[y * GRID + x] = 1.0
    return activation


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("axis", ["x", "y"])
def test_peaked_maps_k_tokens_apart_transport_k_tokens(k, axis):
    """PMATrack's Sinkhorn (identity kernel) fails this; the log-domain solver on normalised costs does not."""
    source = _peak(4, 6)
    target = _peak(4 + k, 6) if axis == "x" else _peak(4, 6 + k)
    plan = transport_plan(source, target, squared_distance_cost(GRID).double(), REG, iterations=100)
    dx, dy = mean_displacement(plan, GRID).tolist()
    moved, other = (dx, dy) if axis == "x" else (dy, dx)
    assert moved == pytest.approx(k, abs=0.5)
    assert other == pytest.approx(0, abs=0.5)


def test_plan_keeps_both_marginals():
    source = torch.softmax(torch.randn(GRID * GRID, dtype=torch.float64) * 3, 0)
    target = torch.softmax(torch.randn(GRID * GRID, dtype=torch.float64) * 3, 0)
    plan = transport_plan(source, target, squared_distance_cost(GRID).double(), REG, iterations=200)
    torch.testing.assert_close(plan.sum(1), source, atol=1e-4, rtol=0)
    torch.testing.assert_close(plan.sum(0), target, atol=1e-4, rtol=0)


def test_cost_is_squared_distance_in_normalised_grid_units():
    cost = squared_distance_cost(GRID)
    assert cost[0, 1] == pytest.approx(1 / GRID**2)
    assert cost[0, GRID + 1] == pytest.approx(2 / GRID**2)


def test_displacement_bins_index_dy_dx_histogram():
    bins = displacement_bins(GRID).view(GRID * GRID, GRID * GRID)
    side = 2 * GRID - 1
    centre = (GRID - 1) * side + GRID - 1
    assert bins[5, 5] == centre  # no move
    assert bins[0, 3] == centre + 3  # 3 tokens right
    assert bins[0, 2 * GRID] == centre + 2 * side  # 2 rows down
    assert grid_positions(GRID)[GRID + 2].tolist() == [2.0, 1.0]


def test_plan_is_differentiable():
    source = torch.softmax(torch.randn(GRID * GRID, dtype=torch.float64, requires_grad=True), 0)
    target = _peak(7, 7)
    plan = transport_plan(source, target, squared_distance_cost(GRID).double(), REG, iterations=50)
    mean_displacement(plan, GRID).sum().backward()
