import pytest
import torch

from mm_tracker_model.geometry import homography as hg
from mm_tracker_model.losses import (
    LossWeights,
    alignment_loss,
    focal_loss,
    gaussian_heatmap,
    mask_loss,
    mask_loss_weight,
    tracking_loss,
)
from mm_tracker_model.nn.alignment.stage import StageOutput
from mm_tracker_model.nn.tracker_net import build_net


@pytest.fixture(scope="module")
def trained_output():
    torch.manual_seed(0)
    net = build_net("full_tiny").train()
    cfg = net.config
    out = net(
        torch.randn(2, 6, cfg.template_size, cfg.template_size), torch.randn(2, 6, cfg.search_size, cfg.search_size)
    )
    return net, out


def test_heatmap_peaks_at_the_box_centre_cell():
    heatmap = gaussian_heatmap(torch.tensor([[0.30, 0.70, 0.2, 0.2]]), 16)
    assert heatmap.shape == (1, 1, 16, 16)
    assert heatmap[0, 0, 11, 4] == 1.0 and (heatmap == 1).sum() == 1


def test_focal_loss_prefers_the_right_peak():
    heatmap = gaussian_heatmap(torch.tensor([[0.5, 0.5, 0.2, 0.2]]), 16)
    good = heatmap.clamp(1e-4, 1 - 1e-4)
    bad = torch.roll(good, shifts=5, dims=-1)
    assert focal_loss(good, heatmap) < focal_loss(bad, heatmap)


def test_tracking_loss_is_small_for_a_correct_box(trained_output):
    _, out = trained_output
    right = tracking_loss(out, out.boxes.detach(), LossWeights())
    wrong = tracking_loss(out, torch.tensor([[0.1, 0.1, 0.05, 0.05]] * 2), LossWeights())
    assert right["giou"] < 1e-5 and right["l1"] < 1e-6
    assert wrong["giou"] > right["giou"] and wrong["l1"] > right["l1"]


def _stage(previous, residual_params, router_weights):
    """A StageOutput whose three experts all predict `residual_params` on top of `previous`."""
    batch = previous.shape[0]
    residual = hg.params_to_matrix(residual_params)
    expert_params = residual_params.unsqueeze(1).expand(batch, 3, 4)
    cumulative = hg.compose(residual, previous)
    return StageOutput(
        params=residual_params,
        residual=residual,
        homography=cumulative,
        confidence=torch.ones(batch),
        router_logits=torch.zeros(batch, 3),
        router_weights=router_weights.expand(batch, 3),
        selected=router_weights.argmax().expand(batch),
        expert_params=expert_params,
        expert_homographies=cumulative.unsqueeze(1).expand(batch, 3, 3, 3),
        responses=None,
    )


WEIGHTS = LossWeights(stage_translation=(1.0,), stage_scale=(1.0,))
COSTS = [torch.tensor([0.1, 0.5, 1.0])]


def test_cpesl_compares_cumulative_not_residual_predictions():
    """A later stage that adds nothing to a correct earlier estimate has zero error (PMATrack: residual vs truth)."""
    previous = hg.params_to_matrix(torch.tensor([[0.3, -0.2, 0.2, 0.1]]))
    stage = _stage(previous, torch.zeros(1, 4), torch.tensor([1.0, 0.0, 0.0]))
    terms = alignment_loss([stage], previous, COSTS, WEIGHTS, ("scale",))
    assert terms["translation"] == 0 and terms["scale"] == 0 and terms["expert_translation"] == 0
    cost_only = WEIGHTS.cpesl * WEIGHTS.cost_penalty * 0.1
    assert float(terms["cpesl"]) == pytest.approx(cost_only)


def test_cpesl_charges_the_cost_of_the_routed_expert():
    previous = torch.eye(3).unsqueeze(0)
    residual = torch.tensor([[0.1, 0.0, 0.0, 0.0]])
    cheap = alignment_loss(
        [_stage(previous, residual, torch.tensor([1.0, 0.0, 0.0]))], previous, COSTS, WEIGHTS, ("scale",)
    )
    dear = alignment_loss(
        [_stage(previous, residual, torch.tensor([0.0, 0.0, 1.0]))], previous, COSTS, WEIGHTS, ("scale",)
    )
    difference = WEIGHTS.cpesl * WEIGHTS.cost_penalty * (1.0 - 0.1)
    assert float(dear["cpesl"] - cheap["cpesl"]) == pytest.approx(difference)
    assert float(cheap["translation"]) > 0


def test_alignment_loss_trains_the_branch(trained_output):
    net, out = trained_output
    costs = [s.expert_costs for s in net.alignment.stages]
    truth = hg.params_to_matrix(torch.tensor([[0.05, -0.03, 0.1, -0.1]] * 2))
    terms = alignment_loss(out.alignment.stages, truth, costs, LossWeights(), net.config.alignment.stages)
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())
    sum(terms.values()).backward()
    assert net.alignment.stages[0].router.mlp[-1].weight.grad.abs().sum() > 0


def test_mask_loss_schedule_and_single_average_over_stages(trained_output):
    _, out = trained_output
    assert [mask_loss_weight(e) for e in (1, 2, 5, 6, 40)] == [0.005, 0.1, 0.1, 3.0, 3.0]
    stages = out.alignment.stages
    masks = torch.zeros(2, 2, stages[0].responses.shape[-1])
    one = mask_loss(stages[:1], masks, epoch=6)
    repeated = mask_loss([stages[0]] * 3, masks, epoch=6)
    torch.testing.assert_close(one, repeated)  # averaged, not summed, over stages
