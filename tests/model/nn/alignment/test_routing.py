import dataclasses

import pytest
import torch

from mm_tracker_model.nn.alignment.stage import EXPERT_NAMES
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import get_preset


@pytest.fixture(scope="module")
def full_tiny():
    """full_tiny without the fine field: routing is tested on its own (the fine field's near-tied best matches may
    resolve differently in a batched matmul, which is not what these tests are about)."""
    torch.manual_seed(0)
    plain = dataclasses.replace(get_preset("full_tiny").alignment, fine_stride=0)
    net = build_net(get_preset("full_tiny", alignment=plain)).eval()
    with torch.no_grad():  # move the experts off their identity init so outputs depend on them
        for stage in net.alignment.stages:
            for expert in stage.experts:
                expert.output_layer.weight.normal_(0, 0.05)
    return net


def _inputs(net, batch=1, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cfg = net.config
    return (
        torch.randn(batch, 6, cfg.template_size, cfg.template_size, generator=gen),
        torch.randn(batch, 6, cfg.search_size, cfg.search_size, generator=gen),
    )


def _count_calls(net):
    calls = {}
    hooks = []
    for k, stage in enumerate(net.alignment.stages):
        for name, expert in zip(EXPERT_NAMES, stage.experts, strict=True):
            calls[(k, name)] = 0

            def hook(module, args, output, key=(k, name)):
                calls[key] += 1

            hooks.append(expert.register_forward_hook(hook))
    return calls, hooks


def test_hard_routing_runs_only_the_selected_expert(full_tiny):
    calls, hooks = _count_calls(full_tiny)
    try:
        with torch.no_grad():
            out = full_tiny(*_inputs(full_tiny))
    finally:
        for h in hooks:
            h.remove()
    for k, stage in enumerate(out.alignment.stages):
        chosen = EXPERT_NAMES[int(stage.selected)]
        assert calls[(k, chosen)] == 1
        assert sum(calls[(k, name)] for name in EXPERT_NAMES) == 1
        assert stage.router_weights.sum() == 1 and stage.router_weights.max() == 1


def test_training_runs_all_experts_with_soft_weights(full_tiny):
    calls, hooks = _count_calls(full_tiny)
    full_tiny.train()
    try:
        out = full_tiny(*_inputs(full_tiny, batch=2))
    finally:
        full_tiny.eval()
        for h in hooks:
            h.remove()
    assert set(calls.values()) == {1}
    for stage in out.alignment.stages:
        torch.testing.assert_close(stage.router_weights.sum(-1), torch.ones(2))
        assert stage.expert_params.shape == (2, 3, 4)


def test_batched_hard_routing_equals_routing_each_sample_alone(full_tiny):
    template, search = _inputs(full_tiny, batch=3, seed=3)
    with torch.no_grad():
        batched = full_tiny(template, search)
        single = [full_tiny(template[i : i + 1], search[i : i + 1]) for i in range(3)]
    for i in range(3):
        torch.testing.assert_close(
            batched.alignment.homography[i], single[i].alignment.homography[0], atol=1e-4, rtol=1e-4
        )


def test_two_eval_runs_are_identical(full_tiny):
    inputs = _inputs(full_tiny)
    with torch.no_grad():
        first, second = full_tiny(*inputs), full_tiny(*inputs)
    assert torch.equal(first.score_map, second.score_map)
    assert torch.equal(first.alignment.homography, second.alignment.homography)


def test_expert_costs_are_measured_and_ordered(full_tiny):
    for stage in full_tiny.alignment.stages:
        macs = stage.expert_macs.tolist()
        assert all(m > 0 for m in macs)
        assert macs[2] == max(macs)  # DPE is the most expensive
        assert stage.expert_costs.max() == 1.0


def test_fresh_stages_predict_the_identity_without_evidence_of_misalignment():
    """Without the fine field a fresh stage adds nothing; with it, identical RGB and X crops give the identity
    up to the sub-cell refinement's noise (measured 2e-4 crop units, 0.03 px)."""
    plain = dataclasses.replace(get_preset("full_tiny").alignment, fine_stride=0)
    net = build_net(get_preset("full_tiny", alignment=plain)).eval()
    with torch.no_grad():
        out = net(*_inputs(net))
    torch.testing.assert_close(out.alignment.homography, torch.eye(3).unsqueeze(0))
    net = build_net("full_tiny").eval()
    template, search = _inputs(net)
    same = (torch.cat([template[:, :3]] * 2, 1), torch.cat([search[:, :3]] * 2, 1))
    with torch.no_grad():
        out = net(*same)
    torch.testing.assert_close(out.alignment.homography, torch.eye(3).unsqueeze(0), atol=1e-3, rtol=0)
