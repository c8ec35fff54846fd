import pytest
import torch
from torch import nn

from mm_tracker_model.nn.inference import MergedCenterHead, fold_batch_norms, inference_copy, quantize_linears
from mm_tracker_model.nn.tracker_net import build_net
from mm_tracker_model.presets import get_preset


def _trained_looking(preset):
    """A network whose BatchNorms hold non-trivial statistics and affine terms, so folding them is tested."""
    torch.manual_seed(0)
    net = build_net(preset)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


@pytest.fixture(scope="module")
def nano_net():
    return _trained_looking(get_preset("full_tiny", stem="nanotrack_v2"))


def _inputs(cfg, batch=1, templates=1):
    zs = [torch.randn(batch, 6, cfg.template_size, cfg.template_size) for _ in range(templates)]
    return (zs if templates > 1 else zs[0]), torch.randn(batch, 6, cfg.search_size, cfg.search_size)


@pytest.mark.parametrize("templates", [1, 2])
def test_the_inference_copy_computes_the_eager_network(nano_net, templates):
    fused = inference_copy(nano_net)
    template, search = _inputs(nano_net.config, batch=2, templates=templates)
    with torch.no_grad():
        eager, fast = nano_net(template, search), fused(template, search)
    for name in ("score_map", "size_map", "offset_map", "boxes"):
        torch.testing.assert_close(getattr(fast, name), getattr(eager, name), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(fast.alignment.homography, eager.alignment.homography, atol=1e-5, rtol=1e-4)


def test_the_copy_has_no_batch_norm_left_and_the_source_is_untouched(nano_net):
    before = {k: v.clone() for k, v in nano_net.state_dict().items()}
    nano_net.train()
    fused = inference_copy(nano_net)
    assert nano_net.training and not fused.training
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in nano_net.modules())
    assert isinstance(fused.box_head, MergedCenterHead)
    assert not any(p.requires_grad for p in fused.parameters())
    for key, value in nano_net.state_dict().items():
        assert torch.equal(value, before[key]), key
    nano_net.eval()


def test_folding_covers_every_convolution_batch_norm_pair():
    net = _trained_looking(get_preset("full_tiny", stem="nanotrack_v2"))
    pairs = sum(1 for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    assert fold_batch_norms(net) == pairs  # the stem's and the head's: each follows its convolution


def test_the_merged_head_equals_the_three_branches():
    head = _trained_looking("full_tiny").box_head
    tokens = torch.randn(3, head.grid**2, head.conv1_ctr[0].in_channels)
    with torch.no_grad():
        for got, expected in zip(MergedCenterHead(head)(tokens), head(tokens), strict=True):
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_embedded_templates_give_the_same_result_as_images(nano_net):
    template, search = _inputs(nano_net.config)
    with torch.no_grad():
        from_images = nano_net(template, search)
        from_tokens = nano_net(nano_net.embed_template(template), search)
        mixed = nano_net([nano_net.embed_template(template), template], search)
        both_images = nano_net([template, template], search)
    assert torch.equal(from_tokens.score_map, from_images.score_map)
    assert torch.equal(from_tokens.boxes, from_images.boxes)
    assert torch.equal(mixed.score_map, both_images.score_map)


def _int8_linears(module):
    return {name for name, m in module.named_modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)}


def test_the_int8_copy_quantises_the_blocks_linear_layers_and_stays_close(nano_net):
    quantised = inference_copy(nano_net, int8=True)
    blocks = {n for n, m in nano_net.named_modules() if isinstance(m, nn.Linear) and n.startswith("backbone.blocks.")}
    assert len(blocks) == 4 * nano_net.config.depth and _int8_linears(quantised) == blocks  # qkv, proj, fc1, fc2
    assert isinstance(quantised.alignment.tcmda_rgb[0].value_proj, nn.Linear)  # the rest stays float
    template, search = _inputs(nano_net.config, batch=2, templates=2)
    with torch.no_grad():
        exact, approx = inference_copy(nano_net)(template, search), quantised(template, search)
    for name in ("score_map", "size_map", "boxes"):
        torch.testing.assert_close(getattr(approx, name), getattr(exact, name), atol=2e-2, rtol=0)
    assert not torch.equal(approx.score_map, exact.score_map)  # it is quantised, not the float network


def test_every_linear_layer_can_be_quantised_and_unknown_scopes_are_named(nano_net):
    everything = quantize_linears(inference_copy(nano_net), names=("",))
    assert not any(isinstance(m, nn.Linear) for m in everything.modules())
    assert len(_int8_linears(everything)) == sum(isinstance(m, nn.Linear) for m in nano_net.modules())
    with pytest.raises(ValueError, match="no submodule"):
        quantize_linears(inference_copy(nano_net), names=("backbone.nothing",))
