import torch

from mm_tracker_model.nn.head import boxes_from_maps

GRID = 10


def _maps(peaks: dict[tuple[int, int], float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scores at (row, column) cells; each cell's box: offset (0.5, 0.5), size 0.1 x (column + 1), 0.2."""
    score = torch.zeros(1, 1, GRID, GRID)
    for (row, column), value in peaks.items():
        score[0, 0, row, column] = value
    offset = torch.full((1, 2, GRID, GRID), 0.5)
    size = torch.stack([0.1 * (torch.arange(GRID).float() + 1).expand(GRID, GRID), torch.full((GRID, GRID), 0.2)])
    return score, size[None], offset


def test_radius_zero_takes_the_peak_cell_box():
    box = boxes_from_maps(*_maps({(3, 4): 0.9, (3, 5): 0.8}))
    torch.testing.assert_close(box, torch.tensor([[4.5 / GRID, 3.5 / GRID, 0.5, 0.2]]))


def test_radius_one_averages_the_neighbours_by_score():
    box = boxes_from_maps(*_maps({(3, 4): 0.6, (3, 5): 0.2}), radius=1)
    # centre x: (4.5 * 0.6 + 5.5 * 0.2) / 0.8 cells; width (0.5 * 0.6 + 0.6 * 0.2) / 0.8
    torch.testing.assert_close(box, torch.tensor([[4.75 / GRID, 3.5 / GRID, 0.525, 0.2]]))


def test_cells_beyond_the_radius_are_ignored():
    near = boxes_from_maps(*_maps({(3, 4): 0.6}), radius=1)
    with_far = boxes_from_maps(*_maps({(3, 4): 0.6, (3, 7): 0.5, (8, 4): 0.5}), radius=1)
    torch.testing.assert_close(near, with_far)
