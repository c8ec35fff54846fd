"""Parameter and MAC accounting for one template+search pair, the way the papers report it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

import torch
from torch import nn

from mm_tracker_model.flops import count_macs
from mm_tracker_model.nn.tracker_net import PARAM_GROUPS, TrackerNet, param_group

T = TypeVar("T")

# thop counted only Linear and convolution layers; these are the aten ops they lower to.
MODULE_OPS = ("mm", "addmm", "convolution")


@dataclass
class GroupParams:
    total: int
    trainable: int


@dataclass
class ParamCount:
    total: int
    used: int
    trainable: int
    groups: dict[str, GroupParams]


@dataclass
class MacCount:
    total: int
    modules: int
    groups: dict[str, int]
    by_op: dict[str, int]


@dataclass
class Accounting:
    preset: str
    params: ParamCount
    macs: MacCount
    tokens: dict[str, int]

    def to_dict(self) -> dict:
        return asdict(self)


def example_inputs(net: TrackerNet, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = net.config
    device = next(net.parameters()).device
    template = torch.zeros(batch, 6, cfg.template_size, cfg.template_size, device=device)
    search = torch.zeros(batch, 6, cfg.search_size, cfg.search_size, device=device)
    return template, search


def _run_recording_parameters(net: nn.Module, run: Callable[[], T]) -> tuple[T, set[str]]:
    """Run `run`; also return the names of parameters owned by modules whose forward ran (thop's view)."""
    ran: set[str] = set()
    hooks = [
        module.register_forward_hook(lambda m, i, o, name=name: ran.add(name)) for name, module in net.named_modules()
    ]
    try:
        result = run()
    finally:
        for hook in hooks:
            hook.remove()
    return result, {
        f"{module_name}.{param_name}" if module_name else param_name
        for module_name, module in net.named_modules()
        if module_name in ran
        for param_name, _ in module.named_parameters(recurse=False)
    }


def count_params(net: TrackerNet, used_names: set[str]) -> ParamCount:
    groups = {g: GroupParams(0, 0) for g in PARAM_GROUPS}
    total = used = trainable = 0
    for name, param in net.named_parameters():
        n = param.numel()
        group = groups[param_group(name)]
        group.total += n
        total += n
        used += n if name in used_names else 0
        if param.requires_grad:
            group.trainable += n
            trainable += n
    return ParamCount(total=total, used=used, trainable=trainable, groups=groups)


def _group_or_none(name: str) -> str | None:
    try:
        return param_group(name)
    except KeyError:  # the root module, or modules outside a TrackerNet
        return None


def _self_macs(counts: dict[str, dict]) -> dict[str, int]:
    """MACs each module runs itself, not through a submodule that has its own entry (fqn without root)."""
    totals = {fqn: sum(ops.values()) // 2 for fqn, ops in counts.items() if fqn != "Global"}
    own = dict(totals)
    for fqn, macs in totals.items():
        parent = fqn.rpartition(".")[0]
        while parent and parent not in totals:
            parent = parent.rpartition(".")[0]
        if parent:
            own[parent] -= macs
    return {fqn.partition(".")[2]: macs for fqn, macs in own.items()}


def measure_macs(run: Callable[[], object]) -> MacCount:
    """MACs of whatever `run` computes, counted by FlopCounterMode (FLOPs / 2) and split by op and group."""
    by_op, counts = count_macs(run)
    groups = dict.fromkeys(PARAM_GROUPS, 0)
    for name, macs in _self_macs(counts).items():
        group = _group_or_none(name)
        if macs and group is not None:
            groups[group] += macs
    return MacCount(
        total=sum(by_op.values()),
        modules=sum(by_op.get(op, 0) for op in MODULE_OPS),
        groups=groups,
        by_op=by_op,
    )


@torch.no_grad()
def account(net: TrackerNet) -> Accounting:
    """Parameters (total, used in the forward pass, trainable per group) and MACs for one pair."""
    was_training = net.training
    net.eval()
    template, search = example_inputs(net)
    try:
        macs, used = _run_recording_parameters(net, lambda: measure_macs(lambda: net(template, search)))
    finally:
        net.train(was_training)
    cfg = net.config
    tokens = {
        "template": cfg.template_grid**2,
        "search": cfg.search_grid**2,
        "per_stream": cfg.template_grid**2 + cfg.search_grid**2,
        "total": 2 * (cfg.template_grid**2 + cfg.search_grid**2),
    }
    return Accounting(preset=cfg.name, params=count_params(net, used), macs=macs, tokens=tokens)
