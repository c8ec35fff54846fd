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


def _unfolded_field(matcher, maps, prior):
    """The offset field computed the direct way (every window unfolded and masked): the reference that the
    gathered implementation must reproduce."""
    from mm_tracker_model.nn.alignment.fine import warp_map

    rgb, aux = maps
    batch, channels, height, width = rgb.shape
    side = 2 * matcher.radius + 1
    warped = warp_map(torch.cat([aux, torch.ones_like(aux[:, :1])], 1), prior)
    window = F.unfold(warped, side, padding=matcher.radius).view(batch, channels + 1, side * side, -1)
    similarity = (rgb.flatten(2).unsqueeze(2) * window[:, :-1]).sum(1)
    logits = (similarity * matcher.log_temperature.exp()).masked_fill(window[:, -1] < 0.5, -1e4)
    displacements = matcher.displacements
    peak = displacements[logits.argmax(1)]
    near = ((displacements[None, :, None, :] - peak[:, None]).abs() * matcher.grid <= 1.01).all(-1)
    offsets = torch.einsum("bkn,kc->bcn", logits.masked_fill(~near, -1e4).softmax(dim=1), displacements)
    valid = window[:, -1] >= 0.5
    chance = (near & valid).sum(1, keepdim=True) / valid.sum(1, keepdim=True).clamp_min(1)
    mass = (logits.softmax(dim=1) * near).sum(1, keepdim=True).clamp_max(1.0)  # a share: at most 1
    confidence = ((mass - chance) / (1 - chance).clamp_min(1e-6)).clamp_min(0.0)
    return torch.cat([offsets, confidence], dim=1).view(batch, 3, height, width)


@pytest.mark.parametrize("params", [[0.0, 0.0, 0.0, 0.0], [0.3, -0.2, 0.1, -0.05], [0.9, 0.8, 0.5, 0.4]])
def test_gathered_field_equals_the_unfolded_reference(matcher, params):
    # From no shift to most of the crop warped off the map (cells with no valid window place at all).
    scene = _scene(batch=2, seed=3)
    aux, _ = _seen_through(scene, torch.tensor([[0.05, -0.03, 0.02, 0.0]]).expand(2, -1))
    maps = matcher.encode(scene, aux)
    prior = hg.params_to_matrix(torch.tensor([params, [-p for p in params]]))
    with torch.no_grad():
        field, reference = matcher.offset_field(maps, prior), _unfolded_field(matcher, maps, prior)
    torch.testing.assert_close(field, reference, atol=1e-4, rtol=1e-4)  # float rounding, nothing more
