"""The optional 8-DoF refine stage: corner offsets -> an exact perspective residual, trained by corner loss."""

import dataclasses

import torch

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.geometry.homography import UNIT_CORNERS
from mm_tracker_model.losses import LossWeights, alignment_loss
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import AlignmentConfig, get_preset

CONFIG = dataclasses.replace(
    get_preset("full_tiny"),
    name="full_tiny_8dof",
    alignment=AlignmentConfig(
        blocks=(1, 3, 5),
        stages=("translation", "scale", "perspective"),
        tre_dim=32,
        fme_dim=32,
        dpe_channels=64,
        router_hidden=32,
        tcmda_heads=4,
    ),
)


def test_perspective_stage_maps_the_crop_corners_by_its_offsets():
    stage = build_net(CONFIG).alignment.stages[2]
    offsets = torch.tensor([[0.02, -0.01, 0.0, 0.03, -0.02, 0.01, 0.01, 0.0]])
    matrix = stage.matrix_from_params(offsets)
    torch.testing.assert_close(hg.apply(matrix, UNIT_CORNERS[None]), UNIT_CORNERS[None] + offsets.view(1, 4, 2))
    assert matrix[0, 2, :2].abs().sum() > 0  # a true perspective term


def test_8dof_network_trains_through_the_corner_loss():
    net = build_net(CONFIG).train()
    with torch.no_grad():
        net.alignment.stages[2].experts[2].output_layer.weight.normal_(0, 0.05)
    out = net(torch.randn(2, 6, 80, 80), torch.randn(2, 6, 160, 160))
    assert out.alignment.stages[2].params.shape == (2, 8)
    truth = hg.params_to_matrix(torch.tensor([[0.02, 0.01, 0.05, 0.0]] * 2))
    costs = [s.expert_costs for s in net.alignment.stages]
    terms = alignment_loss(out.alignment.stages, truth, costs, LossWeights(), CONFIG.alignment.stages)
    sum(terms.values()).backward()
    assert net.alignment.stages[2].experts[2].output_layer.weight.grad.abs().sum() > 0
