"""An inference copy of a network: the same function in fewer, larger ops (BatchNorm folded, head branches merged).

The engine tracks with such a copy (`EngineConfig.fused`), so the caller's network — a training run's, say —
is never changed; `tests/model/nn/test_inference.py` checks the copy against the eager network. Optionally
(`EngineConfig.int8`) the ViT blocks' linear layers run with int8 weights and dynamically quantised activations.
"""

from __future__ import annotations

import copy
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from mm_tracker_model.nn.head import CenterHead, boxes_from_maps, clamped_sigmoid

HEAD_BRANCHES = ("ctr", "size", "offset")


def fold_batch_norms(module: nn.Module) -> int:
    """Fold every Conv2d followed by a BatchNorm2d inside an nn.Sequential into the convolution (eval only)."""
    folded = 0
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            conv, norm = seq[i], seq[i + 1]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                seq[i], seq[i + 1] = fuse_conv_bn_eval(conv, norm), nn.Identity()
                folded += 1
    return folded


class MergedCenterHead(nn.Module):
    """CENTER head with its three branches as one stack: a shared first convolution, grouped ones after it."""

    def __init__(self, head: CenterHead) -> None:
        super().__init__()
        self.grid = head.grid
        self.layers = nn.ModuleList()
        for i in range(head.depth):
            convs = [_folded(getattr(head, f"conv{i + 1}_{name}")) for name in HEAD_BRANCHES]
            groups = 1 if i == 0 else len(convs)
            merged = nn.Conv2d(
                convs[0].in_channels * groups, sum(c.out_channels for c in convs), 3, 1, 1, groups=groups
            )
            merged.weight.data.copy_(torch.cat([c.weight for c in convs]))
            merged.bias.data.copy_(torch.cat([c.bias for c in convs]))
            self.layers.append(merged)
        last = [getattr(head, f"conv5_{name}") for name in HEAD_BRANCHES]
        # Output widths differ (1, 2, 2), so the last 1x1 convolution is one block-diagonal matrix.
        self.out = nn.Conv2d(sum(c.in_channels for c in last), sum(c.out_channels for c in last), 1)
        self.out.weight.data.copy_(torch.block_diag(*[c.weight[:, :, 0, 0] for c in last])[:, :, None, None])
        self.out.bias.data.copy_(torch.cat([c.bias for c in last]))

    def forward(self, search_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        batch, _, channels = search_tokens.shape
        x = search_tokens.transpose(1, 2).reshape(batch, channels, self.grid, self.grid)
        for layer in self.layers:
            x = F.relu(layer(x))
        out = self.out(x)
        score_map, size_map, offset_map = clamped_sigmoid(out[:, :1]), clamped_sigmoid(out[:, 1:3]), out[:, 3:]
        return score_map, size_map, offset_map, boxes_from_maps(score_map, size_map, offset_map)


def _folded(block: nn.Sequential) -> nn.Conv2d:
    """The convolution of a conv-BN-ReLU block with its BatchNorm folded in."""
    conv, norm = block[0], block[1]
    return fuse_conv_bn_eval(conv, norm) if isinstance(norm, nn.BatchNorm2d) else conv


# The submodules whose linear layers `int8` quantises: the ViT blocks' (most of the products). Measured on the
# validation sets (README, "Int8 linear layers"): every linear layer in int8 cost about a point of SR, the
# blocks' alone stayed within the run-to-run spread, at most of the speed.
INT8_MODULES = ("backbone.blocks",)


def quantize_linears(module: nn.Module, names: tuple[str, ...] = INT8_MODULES) -> nn.Module:
    """`module` (eval, CPU) with the nn.Linear layers inside the submodules `names` ("": all) replaced by int8
    ones that quantise their input per call.

    PyTorch's eager dynamic quantisation is deprecated in favour of torchao, whose int8 CPU path needs
    torch.compile; the eager kernels (fbgemm on x86, qnnpack on ARM) are the ones that run faster as they are.
    """
    if torch.backends.quantized.engine == "none":
        raise RuntimeError("int8 inference needs a quantized engine (fbgemm, x86 or qnnpack); this torch has none")
    submodules = dict(module.named_modules())
    missing = [name for name in names if name not in submodules]
    if missing:
        raise ValueError(f"quantize_linears: no submodule {missing} in {type(module).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")
        warnings.filterwarnings("ignore", message=".*per-tensor.*|.*quantize_per_tensor.*")
        for name in names:
            quantised = torch.ao.quantization.quantize_dynamic(submodules[name], {nn.Linear}, dtype=torch.qint8)
            if name:
                parent, _, child = name.rpartition(".")
                setattr(module.get_submodule(parent), child, quantised)
            else:
                module = quantised
    return module


def inference_copy(net: nn.Module, int8: bool = False) -> nn.Module:
    """A detached eval-mode copy of `net` with BatchNorms folded and, for a CENTER head, its branches merged.

    `int8`: the ViT blocks' linear layers also quantised (`quantize_linears`; CPU only, outputs close to but
    not equal to the float network's).
    """
    fused = copy.deepcopy(net).eval()
    head = getattr(fused, "box_head", None)
    if isinstance(head, CenterHead):
        fused.box_head = MergedCenterHead(head)
    fold_batch_norms(fused)
    fused.requires_grad_(False)
    return quantize_linears(fused) if int8 else fused
