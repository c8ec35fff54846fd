import re

import pytest
import torch

from mm_tracker_model.errors import InputShapeError
from mm_tracker_model.nn.tracker_net import PARAM_GROUPS, TRAINING_MODES, build_net, param_group
from mm_tracker_model.presets import get_preset


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_net("patrack_tiny").eval()


def _pair(batch, size):
    return torch.randn(batch, 6, size, size)


@pytest.mark.parametrize("preset", ["patrack_tiny", "patrack_base"])
def test_forward_shapes(preset):
    net = build_net(preset).eval()
    with torch.no_grad():
        out = net(_pair(2, 128), _pair(2, 256))
    assert out.score_map.shape == (2, 1, 16, 16)
    assert out.size_map.shape == (2, 2, 16, 16)
    assert out.offset_map.shape == (2, 2, 16, 16)
    assert out.boxes.shape == (2, 4)
    assert ((out.score_map > 0) & (out.score_map < 1)).all()


def test_separate_rgb_and_x_tensors_equal_the_six_channel_form(tiny):
    template, search = _pair(1, 128), _pair(1, 256)
    with torch.no_grad():
        stacked = tiny(template, search)
        separate = tiny((template[:, :3], template[:, 3:]), (search[:, :3], search[:, 3:]))
    assert torch.equal(stacked.score_map, separate.score_map)
    assert torch.equal(stacked.boxes, separate.boxes)


def test_a_list_of_templates_adds_template_tokens(tiny):
    template, search = _pair(1, 128), _pair(1, 256)
    with torch.no_grad():
        one = tiny(template, search)
        two = tiny([template, _pair(1, 128)], search)
    assert two.score_map.shape == one.score_map.shape
    assert not torch.equal(one.score_map, two.score_map)


def test_boxes_are_the_peak_cell_plus_offset_and_size(tiny):
    with torch.no_grad():
        out = tiny(_pair(1, 128), _pair(1, 256))
    peak = int(out.score_map.flatten().argmax())
    row, col = divmod(peak, 16)
    cx = (col + out.offset_map[0, 0, row, col]) / 16
    cy = (row + out.offset_map[0, 1, row, col]) / 16
    expected = torch.stack([cx, cy, out.size_map[0, 0, row, col], out.size_map[0, 1, row, col]])
    assert torch.allclose(out.boxes[0], expected)


@pytest.mark.parametrize(
    ("template", "search", "message"),
    [
        (torch.zeros(1, 6, 64, 64), torch.zeros(1, 6, 256, 256), r"template rgb: expected \(B, 3, 128, 128\)"),
        (torch.zeros(1, 6, 128, 128), torch.zeros(1, 4, 256, 256), r"search: expected a \(B, 6, 256, 256\)"),
        (torch.zeros(1, 6, 128, 128), torch.zeros(2, 6, 256, 256), "batches differ"),
        (torch.zeros(1, 6, 128, 128), "image", "got str"),
    ],
)
def test_bad_input_shapes_are_named(tiny, template, search, message):
    with pytest.raises(InputShapeError, match=message):
        tiny(template, search)


def test_every_parameter_belongs_to_one_group(tiny):
    groups = {param_group(name) for name, _ in tiny.named_parameters()}
    assert groups == set(PARAM_GROUPS) - {"alignment"}
    full = {param_group(name) for name, _ in build_net("full_tiny").named_parameters()}
    assert full == set(PARAM_GROUPS)


def _perturb_zero_projections(net):
    # Move the adapters off their zero init so gradients reach every adapter layer.
    with torch.no_grad():
        for name, p in net.named_parameters():
            if re.search(r"\.up(\.\d+)?\.(weight|bias)$|gamma$|regressor|offsets|adapt\.2\.", name):
                p.normal_(0, 0.02)


@pytest.mark.parametrize(
    ("preset", "mode"), [("patrack_tiny", "adapters"), ("patrack_tiny", "full"), ("full_tiny", "alignment")]
)
def test_gradients_reach_only_the_trainable_groups(preset, mode):
    # No drop path: a randomly dropped branch would get no gradient in this one step.
    cfg = get_preset(preset, drop_path_rate=0.0)
    net = build_net(cfg, training_mode=mode)
    _perturb_zero_projections(net)
    net.train()
    out = net(_pair(2, cfg.template_size), _pair(2, cfg.search_size))
    loss = out.score_map.sum() + out.size_map.sum() + out.offset_map.pow(2).sum()
    if out.alignment is not None:
        loss = loss + sum(
            s.expert_params.pow(2).sum() + s.confidence.sum() + s.router_logits.pow(2).sum()
            for s in out.alignment.stages
        )
    loss.backward()
    trainable = TRAINING_MODES[mode]
    for name, p in net.named_parameters():
        if param_group(name) in trainable:
            assert p.requires_grad and p.grad is not None and p.grad.abs().sum() > 0, name
        else:
            assert not p.requires_grad and p.grad is None, name


def test_zero_initialised_projections_still_receive_gradient():
    net = build_net("patrack_tiny", training_mode="adapters").train()
    out = net(_pair(1, 128), _pair(1, 256))
    out.score_map.sum().backward()
    ups = [
        p
        for n, p in net.named_parameters()
        if n.startswith("backbone.adapters") and re.search(r"\.up(\.\d)?\.weight$", n)
    ]
    assert ups and all(p.grad.abs().sum() > 0 for p in ups)


def test_frozen_head_keeps_batchnorm_statistics_in_training():
    net = build_net("patrack_tiny", training_mode="adapters").train()
    before = net.box_head.conv1_ctr[1].running_mean.clone()
    net(_pair(2, 128), _pair(2, 256))
    assert torch.equal(before, net.box_head.conv1_ctr[1].running_mean)
    assert net.backbone.training and not net.box_head.training


def test_unknown_training_mode_lists_the_known_ones(tiny):
    with pytest.raises(ValueError, match="training mode 'lora' unknown; known: adapters, full, alignment, frozen"):
        tiny.set_training_mode("lora")


def test_eval_forward_is_deterministic(tiny):
    template, search = _pair(1, 128), _pair(1, 256)
    with torch.no_grad():
        assert torch.equal(tiny(template, search).score_map, tiny(template, search).score_map)


def test_reused_stages_apply_the_earlier_residuals_without_estimating():
    torch.manual_seed(0)
    net = build_net("full_tiny").eval()
    template, search, later = _pair(1, 80), _pair(1, 160), _pair(1, 160)
    with torch.no_grad():
        first = net(template, search)
        again = net(template, search, reuse_stages=first.alignment.stages)
    torch.testing.assert_close(again.boxes, first.boxes, rtol=0, atol=0)  # the same residuals, the same frame
    torch.testing.assert_close(again.alignment.homography, first.alignment.homography, rtol=0, atol=0)
    ran = []
    for stage in net.alignment.stages:
        stage.register_forward_pre_hook(lambda module, args, ran=ran: ran.append("stage"))
    fine = net.alignment.fine
    for name in ("encode", "offset_field"):
        method = getattr(fine, name)
        setattr(fine, name, lambda *a, method=method, name=name: ran.append(name) or method(*a))
    with torch.no_grad():
        reused = net(template, later, reuse_stages=first.alignment.stages)
        assert ran == []  # no router, expert or fine field ran
        fresh = net(template, later)
    assert ran == ["encode"] + ["offset_field", "stage"] * 3
    torch.testing.assert_close(reused.alignment.homography, first.alignment.homography, rtol=0, atol=0)
    assert not torch.equal(reused.score_map, fresh.score_map)  # the streams read each other through the old ones
    with pytest.raises(InputShapeError, match="reuse_stages: expected 3 stage outputs of batch 2"):
        net(_pair(2, 80), _pair(2, 160), reuse_stages=first.alignment.stages)
