import dataclasses

import numpy as np
import pytest
import torch

from mm_tracker_model.data.sampler import FLIP, PairSampler, SamplerConfig, collate, crop_homography
from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.crops import CropTransform
from mm_tracker_model.presets import get_preset

NET = get_preset("full_tiny")


def test_samples_have_the_network_shapes(sequences):
    sampler = PairSampler(sequences, NET)
    batch = collate([sampler.sample(np.random.default_rng(i)) for i in range(3)])
    assert batch["template"].shape == (3, 6, 80, 80) and batch["search"].shape == (3, 6, 160, 160)
    assert batch["box"].shape == (3, 4) and batch["homography"].shape == (3, 3, 3)
    assert batch["masks"].shape == (3, 2, 100) and (batch["masks"].sum(-1) > 0).all()
    assert ((batch["box"][:, :2] > 0) & (batch["box"][:, :2] < 1)).all()


def test_crop_homography_matches_explicit_point_mapping():
    true = np.array([[1.02, 0.01, 5.0], [0.0, 0.98, -3.0], [1e-5, 0.0, 1.0]])
    used = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
    crop = CropTransform.around((50.0, 40.0, 30.0, 20.0), 4.0, 160)
    centred = crop_homography(true, used, crop)
    p_x = np.array([60.0, 45.0, 1.0])  # an X image point
    q_x = crop.matrix @ used @ p_x  # where it lands in the X crop
    q_rgb = crop.matrix @ true @ p_x  # where it truly belongs in the RGB crop
    u_x = hg.pixel_to_centred(160).numpy() @ (q_x / q_x[2])
    u_rgb = hg.pixel_to_centred(160).numpy() @ (q_rgb / q_rgb[2])
    mapped = centred @ u_x
    np.testing.assert_allclose(mapped[:2] / mapped[2], u_rgb[:2] / u_rgb[2], atol=1e-9)


def test_flips_mirror_images_boxes_and_homographies_consistently(sequences):
    plain = PairSampler(sequences, NET, SamplerConfig(flip_probability=0.0)).sample(np.random.default_rng(7))
    flipped = PairSampler(sequences, NET, SamplerConfig(flip_probability=1.0)).sample(np.random.default_rng(7))
    torch.testing.assert_close(flipped.search, plain.search.flip(-1))
    torch.testing.assert_close(flipped.box, torch.tensor([1 - plain.box[0], *plain.box[1:]]))
    torch.testing.assert_close(
        flipped.homography, torch.from_numpy(FLIP).float() @ plain.homography @ torch.from_numpy(FLIP).float()
    )
    torch.testing.assert_close(flipped.masks[0].view(10, 10), plain.masks[0].view(10, 10).flip(-1))


def test_alignment_truth_is_near_identity_but_not_identity(sequences):
    sampler = PairSampler(sequences, NET, SamplerConfig(flip_probability=0.0))
    truths = torch.stack([sampler.sample(np.random.default_rng(i)).homography for i in range(6)])
    offsets = truths[:, :2, 2].abs()
    assert (offsets < 0.3).all() and offsets.max() > 1e-3


def test_rgb_only_sequences_without_pseudo_x_are_refused(sequences):
    rgb_only = dataclasses.replace(sequences[0], homographies=None, aux_frames=None, boxes_aux=None)
    with pytest.raises(ValueError, match="no sequence with an X stream"):
        PairSampler([rgb_only], NET)


def test_box_pair_homography_maps_the_x_box_onto_the_rgb_box():
    from mm_tracker_model.data.sampler import box_pair_homography
    from mm_tracker_model.geometry.boxes import map_box

    rgb_box, x_box = np.array([100.0, 50.0, 40.0, 30.0]), np.array([80.0, 45.0, 32.0, 27.0])
    np.testing.assert_allclose(map_box(x_box, box_pair_homography(rgb_box, x_box)), rgb_box)


@pytest.mark.parametrize("registered", [True, False])
def test_real_rgbt_data_gets_an_alignment_truth(sequences, registered):
    """Registered data: a random virtual warp; unregistered: the 4-DoF map of the box pair."""
    base = dataclasses.replace(sequences[0], homographies=None, registered=registered)
    sampler = PairSampler([base], NET, SamplerConfig(flip_probability=0.0))
    truths = torch.stack([sampler.sample(np.random.default_rng(i)).homography for i in range(4)])
    assert torch.isfinite(truths).all() and not torch.allclose(truths, torch.eye(3).expand(4, 3, 3), atol=1e-3)


def test_negative_pairs_search_another_sequence_with_the_same_template(sequences):
    plain = SamplerConfig(brightness=0.0, flip_probability=0.0)  # no random change of the template after the draw
    positive = PairSampler(sequences, NET, plain).sample(np.random.default_rng(3))
    negative_config = dataclasses.replace(plain, negative_probability=1.0)
    negative = PairSampler(sequences, NET, negative_config).sample(np.random.default_rng(3))
    assert float(positive.present) == 1.0 and float(negative.present) == 0.0
    torch.testing.assert_close(negative.template, positive.template)
    assert not torch.allclose(negative.search, positive.search)
    # The box is the other sequence's object: still a valid box inside the crop.
    assert ((negative.box[:2] > 0) & (negative.box[:2] < 1)).all() and (negative.box[2:] > 0).all()


def test_negative_share_follows_the_config_and_is_off_by_default(sequences):
    rng = np.random.default_rng(0)
    half = PairSampler(sequences, NET, SamplerConfig(negative_probability=0.5))
    share = 1 - float(collate([half.sample(rng) for _ in range(40)])["present"].mean())
    assert 0.25 < share < 0.75
    default = collate([PairSampler(sequences, NET).sample(np.random.default_rng(i)) for i in range(5)])
    assert (default["present"] == 1).all()
    with pytest.raises(ValueError, match="negative_probability"):
        SamplerConfig(negative_probability=1.5)
