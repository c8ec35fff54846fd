import numpy as np
import pytest

from mm_tracker_model.data.augment import (
    Appearance,
    AppearanceConfig,
    blur,
    colour_jitter,
    grayscale,
    occlude,
    paste_distractor,
)
from mm_tracker_model.data.sampler import PairSampler, SamplerConfig
from mm_tracker_model.presets import get_preset

NET = get_preset("full_tiny")
BOX = np.array([60.0, 60.0, 40.0, 40.0])  # the target in a 160-pixel search crop


def textured(seed: int = 0, size: int = 160) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(6, size, size), dtype=np.uint8)


def test_grayscale_equalises_the_rgb_channels_and_keeps_x():
    crop = textured()
    grey = grayscale(crop)
    assert (grey[0] == grey[1]).all() and (grey[1] == grey[2]).all()
    assert not (crop[0] == crop[1]).all()
    np.testing.assert_array_equal(grey[3:], crop[3:])


def test_colour_jitter_identity_factors_change_nothing_and_zero_saturation_is_grey():
    crop = textured(1)
    np.testing.assert_array_equal(colour_jitter(crop, 1.0, 1.0), crop)
    flat = colour_jitter(crop, 1.0, 0.0)
    assert np.abs(flat[0].astype(int) - flat[1]).max() <= 1
    low = colour_jitter(crop, 0.5, 1.0)
    assert low[:3].std() < 0.6 * crop[:3].std()
    np.testing.assert_array_equal(low[3:], crop[3:])


def test_blur_smooths_both_streams():
    crop = textured(2)
    smooth = blur(crop, 1.5)
    assert smooth.shape == crop.shape and smooth.dtype == np.uint8
    assert smooth[:3].std() < 0.5 * crop[:3].std() and smooth[3:].std() < 0.5 * crop[3:].std()


def test_occluder_covers_part_of_the_target_and_nothing_far_from_it():
    crop = textured(3)
    covered = occlude(crop, BOX, 0.4, np.random.default_rng(0))
    changed = (covered != crop).any(axis=0)
    x, y, w, h = BOX.astype(int)
    inside = changed[y : y + h, x : x + w].mean()
    assert 0.05 < inside <= 0.75
    # An occluder centred on the box with at most ~0.4 of its area cannot reach 40 px beyond it.
    far = np.ones_like(changed)
    far[y - 40 : y + h + 40, x - 40 : x + w + 40] = False
    assert not changed[far].any()


def test_distractor_lands_beside_the_target_not_on_it():
    crop = np.zeros((6, 160, 160), np.uint8)
    patch = np.full((6, 30, 30), 200, np.uint8)
    for seed in range(20):
        out = paste_distractor(crop, BOX, patch, np.random.default_rng(seed))
        pasted = (out > 0).any(axis=0)
        assert pasted.any()
        x, y, w, h = BOX.astype(int)
        assert pasted[y : y + h, x : x + w].sum() <= 0.25 * w * h


def test_bad_appearance_configs_are_refused():
    with pytest.raises(ValueError, match="probabilities"):
        AppearanceConfig(grayscale_probability=1.5)
    with pytest.raises(ValueError, match="contrast"):
        AppearanceConfig(contrast=1.0)
    with pytest.raises(ValueError, match="occluder_max_cover"):
        AppearanceConfig(occluder_max_cover=0.0)


def test_appearance_off_draws_nothing_and_returns_the_crops():
    template, search = textured(4, 80), textured(5)
    rng = np.random.default_rng(0)
    out = Appearance(AppearanceConfig())(template, search, BOX, rng)
    assert out[0] is template and out[1] is search
    assert rng.random() == np.random.default_rng(0).random()


def test_sampler_reads_appearance_from_a_yaml_mapping_and_applies_it(sequences):
    config = SamplerConfig(appearance={"grayscale_probability": 1.0, "distractor_probability": 1.0})
    assert isinstance(config.appearance, AppearanceConfig)
    sample = PairSampler(sequences, NET, config).sample(np.random.default_rng(3))
    rgb = sample.search[:3]
    # Normalised per channel with ImageNet statistics: grey pixels are equal before normalisation.
    mean = np.array([0.485, 0.456, 0.406])[:, None, None]
    std = np.array([0.229, 0.224, 0.225])[:, None, None]
    raw = rgb.numpy() * std + mean
    assert np.abs(raw[0] - raw[1]).max() < 1e-3 and np.abs(raw[1] - raw[2]).max() < 1e-3


def test_sampler_without_appearance_samples_exactly_as_before(sequences):
    plain = PairSampler(sequences, NET).sample(np.random.default_rng(9))
    off = PairSampler(sequences, NET, SamplerConfig(appearance={})).sample(np.random.default_rng(9))
    np.testing.assert_array_equal(plain.search.numpy(), off.search.numpy())
    np.testing.assert_array_equal(plain.box.numpy(), off.box.numpy())


def test_distractor_patch_comes_from_another_sequence_at_the_target_size(sequences):
    sampler = PairSampler(sequences, NET)
    patch = sampler._distractor(sequences[0], BOX, np.random.default_rng(0))
    assert patch.shape[0] == 6 and patch.dtype == np.uint8
    assert 0.7 * 40 - 1 <= patch.shape[1] <= 1.3 * 40 + 1 and 0.7 * 40 - 1 <= patch.shape[2] <= 1.3 * 40 + 1
    assert patch.std() > 0
