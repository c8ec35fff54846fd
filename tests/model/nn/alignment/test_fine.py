"""Sub-token evidence: the fine offset field and its closed-form fit (nn/alignment/fine.py)."""

import pytest
import torch
import torch.nn.functional as F

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.io.checkpoint import load_checkpoint
from mm_tracker_model.nn.alignment.fine import FineMatcher, fitted_params
from mm_tracker_model.nn.alignment.tcmda import token_centres
from mm_tracker_model.presets import NetConfig, get_preset
from mm_tracker_model.weights import default_checkpoint

SIZE = 160


def _scene(batch=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noise = torch.rand(batch, 1, 20, 20, generator=generator)
    image = F.interpolate(noise, size=(SIZE, SIZE), mode="bicubic", align_corners=False)
    return image.expand(-1, 3, -1, -1).contiguous()


def _seen_through(image, params):
    """X whose pixel p shows the scene at H(p) (H: X -> RGB), H from [dx, dy, ln sx, ln sy]."""
    truth = hg.params_to_matrix(params)
    points = hg.apply(truth, token_centres(SIZE).expand(image.shape[0], -1, -1))
    warped = F.grid_sample(image, (2 * points).unsqueeze(1), align_corners=False)
    return warped.view_as(image), truth


@pytest.fixture
def matcher():
    return FineMatcher(stride=8, channels=8, search_size=SIZE).eval()


def test_identical_crops_give_a_zero_field(matcher):
    image = _scene()
    field = matcher.offset_field(matcher.encode(image, image), torch.eye(3).expand(4, 3, 3))
    assert field.shape == (4, 3, 20, 20)
    assert field[:, :2].abs().mean() < 1e-3
    assert fitted_params(field, with_scale=True).abs().max() < 1e-3


def test_a_one_cell_shift_is_read_exactly_inside_the_crop(matcher):
    image = _scene()
    shifted, _ = _seen_through(image, torch.tensor([[8 / SIZE, 0.0, 0.0, 0.0]]).expand(4, 4))
    field = matcher.offset_field(matcher.encode(image, shifted), torch.eye(3).expand(4, 3, 3))
    inner = field[:, 0, 3:-3, 3:-3] * 20  # in fine cells
    assert (inner + 1.0).abs().median() < 0.01 and (inner + 1.0).abs().mean() < 0.02
    translation = fitted_params(field, with_scale=False)[:, :2]
    torch.testing.assert_close(translation, torch.tensor([[8 / SIZE, 0.0]]).expand(4, 2), atol=2e-3, rtol=0)


def test_under_the_true_prior_nothing_is_left_to_correct(matcher):
    image = _scene(seed=1)
    params = torch.tensor([[0.04, -0.03, 0.05, -0.04]] * 4)
    x, truth = _seen_through(image, params)
    maps = matcher.encode(image, x)
    before = fitted_params(matcher.offset_field(maps, torch.eye(3).expand(4, 3, 3)), with_scale=False)
    after = fitted_params(matcher.offset_field(maps, truth), with_scale=True)
    assert (before[:, :2] - params[:, :2]).abs().max() < 0.015  # the fit finds the shift ...
    assert after.abs().max() < 0.01  # ... and with the truth applied, the residual (shift and scale) vanishes


def test_a_blank_x_crop_gives_no_confidence(matcher):
    image = _scene()
    field = matcher.offset_field(matcher.encode(image, torch.zeros_like(image)), torch.eye(3).expand(4, 3, 3))
    assert field[:, 2].max() < 1e-6


def test_older_checkpoints_keep_their_pooled_experts_without_the_fine_field():
    legacy = get_preset("full_tiny").to_dict()
    for key in ("readout", "fine_stride", "fine_channels"):
        legacy["alignment"].pop(key)
    config = NetConfig.from_dict(legacy)
    assert config.alignment.readout == "pooled" and config.alignment.fine_stride == 0
    assert get_preset("full_tiny").alignment.readout == "positional"


@pytest.mark.skipif(default_checkpoint() is None, reason="no default model in model/weights/")
def test_the_shipped_default_loads_with_its_own_design():
    assert load_checkpoint(default_checkpoint()).config.alignment is not None
