import dataclasses

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


def _stage(previous, residual_params, router_weights, expert_residuals=None):
    """A StageOutput that predicts `residual_params` on top of `previous`; its three experts predict
    `expert_residuals` (3, 4) residuals, or all the same one."""
    batch = previous.shape[0]
    residual = hg.params_to_matrix(residual_params)
    if expert_residuals is None:
        expert_residuals = residual_params[0].expand(3, 4)
    expert_params = expert_residuals.unsqueeze(0).expand(batch, 3, 4)
    per_expert = torch.stack([hg.compose(hg.params_to_matrix(p[None]), previous) for p in expert_residuals], 1)
    return StageOutput(
        params=residual_params,
        residual=residual,
        homography=hg.compose(residual, previous),
        confidence=torch.ones(batch),
        router_logits=torch.zeros(batch, 3),
        router_weights=router_weights.expand(batch, 3),
        selected=router_weights.argmax().expand(batch),
        expert_params=expert_params,
        expert_homographies=per_expert,
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
    # Equal experts: no cost penalty either (it would only push the router to the cheapest one).
    assert float(terms["cpesl"]) == 0.0


DIFFERING = torch.tensor([[0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])


def _cpesl(router_weights, expert_residuals):
    previous = torch.eye(3).unsqueeze(0)
    stage = _stage(previous, torch.tensor([[0.1, 0.0, 0.0, 0.0]]), router_weights, expert_residuals)
    return float(alignment_loss([stage], previous, COSTS, WEIGHTS, ("scale",))["cpesl"])


def test_cpesl_charges_the_routed_experts_cost_once_experts_differ():
    """FME and DPE are exact, TRE is off: routing to DPE pays DPE's cost, routing to FME pays FME's."""
    dear, cheap = _cpesl(torch.tensor([0.0, 0.0, 1.0]), DIFFERING), _cpesl(torch.tensor([0.0, 1.0, 0.0]), DIFFERING)
    assert dear - cheap == pytest.approx(WEIGHTS.cpesl * WEIGHTS.cost_penalty * (1.0 - 0.5))
    assert cheap == pytest.approx(WEIGHTS.cpesl * WEIGHTS.cost_penalty * 0.5)
    # Routed to the inaccurate expert: its error outweighs any cost saving.
    assert _cpesl(torch.tensor([1.0, 0.0, 0.0]), DIFFERING) > dear


def test_cpesl_charges_no_cost_while_experts_are_equally_accurate():
    equal = torch.tensor([[0.1, 0.0, 0.0, 0.0]] * 3)
    # All three make the same error: the loss is that error, whichever expert is routed, with no cost term.
    assert _cpesl(torch.tensor([0.0, 0.0, 1.0]), equal) == pytest.approx(_cpesl(torch.tensor([1.0, 0.0, 0.0]), equal))
    assert _cpesl(torch.tensor([1.0, 0.0, 0.0]), equal) > 0


def test_alignment_loss_trains_the_branch(trained_output):
    net, out = trained_output
    costs = [s.expert_costs for s in net.alignment.stages]
    truth = hg.params_to_matrix(torch.tensor([[0.05, -0.03, 0.1, -0.1]] * 2))
    terms = alignment_loss(out.alignment.stages, truth, costs, LossWeights(), net.config.alignment.stages)
    assert all(torch.isfinite(v) and v > 0 for v in terms.values())
    sum(terms.values()).backward()
    assert net.alignment.stages[0].experts[1].output_layer.weight.grad.abs().sum() > 0
    # Fresh experts all predict the same (the fine field's fit), so routing cannot matter yet: no router gradient.
    assert net.alignment.stages[0].router.mlp[-1].weight.grad.abs().sum() < 1e-5


def test_the_router_learns_once_experts_differ():
    torch.manual_seed(0)
    net = build_net("full_tiny").train()
    cfg = net.config
    with torch.no_grad():
        net.alignment.stages[0].experts[2].output_layer.bias[:2] = 0.2
    out = net(
        torch.randn(2, 6, cfg.template_size, cfg.template_size), torch.randn(2, 6, cfg.search_size, cfg.search_size)
    )
    truth = hg.params_to_matrix(torch.tensor([[0.05, -0.03, 0.1, -0.1]] * 2))
    costs = [s.expert_costs for s in net.alignment.stages]
    sum(alignment_loss(out.alignment.stages, truth, costs, LossWeights(), cfg.alignment.stages).values()).backward()
    assert net.alignment.stages[0].router.mlp[-1].weight.grad.abs().sum() > 0


def test_mask_loss_schedule_and_single_average_over_stages(trained_output):
    _, out = trained_output
    assert [mask_loss_weight(e) for e in (1, 2, 5, 6, 40)] == [0.005, 0.1, 0.1, 3.0, 3.0]
    stages = out.alignment.stages
    masks = torch.zeros(2, 2, stages[0].responses.shape[-1])
    one = mask_loss(stages[:1], masks, epoch=6)
    repeated = mask_loss([stages[0]] * 3, masks, epoch=6)
    torch.testing.assert_close(one, repeated)  # averaged, not summed, over stages


def test_negative_pairs_have_no_box_terms_and_push_every_score_down(trained_output):
    _, out = trained_output
    wrong = torch.tensor([[0.1, 0.1, 0.05, 0.05]] * 2)
    absent = torch.zeros(2)
    negative = tracking_loss(out, wrong, LossWeights(), absent)
    assert negative["giou"] == 0 and negative["l1"] == 0
    # Only one of the two samples present: the box terms are that sample's alone.
    mixed = tracking_loss(out, torch.stack([out.boxes[0].detach(), wrong[1]]), LossWeights(), torch.tensor([1.0, 0.0]))
    assert mixed["giou"] < 1e-5 and mixed["l1"] < 1e-6
    lower = dataclasses.replace(out, score_map=out.score_map * 0.5)
    assert tracking_loss(lower, wrong, LossWeights(), absent)["focal"] < negative["focal"]
    # All present: the same loss as without the flag.
    for name, value in tracking_loss(out, wrong, LossWeights(), torch.ones(2)).items():
        torch.testing.assert_close(value, tracking_loss(out, wrong, LossWeights())[name])
