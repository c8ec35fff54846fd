"""Parameter and MAC accounting for one template+search pair, the way the papers report it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TypeVar

import torch
from torch import nn

from mm_tracker_model.flops import count_macs
from mm_tracker_model.nn.alignment.stage import EXPERT_NAMES
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
    total: int  # every counted op, hard-routed alignment (the experts the router picked on the example)
    modules: int  # Linear and convolution ops only (thop's convention)
    groups: dict[str, int]
    by_op: dict[str, int]
    alignment_all_experts: int | None = None  # every expert of every stage (training, or soft routing)
    alignment_hard_route_max: int | None = None  # the most expensive single expert per stage, summed
    alignment_stages: list[dict[str, int]] | None = None  # per stage, MACs of each expert
    alignment_selected: list[str] | None = None  # the expert each stage picked on the example pair

    def without_experts(self) -> int:
        """MACs of everything but the alignment experts (for per-frame MACs under any routing)."""
        if not self.alignment_stages:
            return self.total
        return self.total - sum(
            stage[name] for stage, name in zip(self.alignment_stages, self.alignment_selected, strict=True)
        )


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


def _add_alignment_macs(macs: MacCount, net: TrackerNet, output) -> None:
    stages = [
        {name: int(value) for name, value in zip(EXPERT_NAMES, stage.expert_macs.tolist(), strict=True)}
        for stage in net.alignment.stages
    ]
    macs.alignment_stages = stages
    macs.alignment_all_experts = sum(sum(stage.values()) for stage in stages)
    macs.alignment_hard_route_max = sum(max(stage.values()) for stage in stages)
    macs.alignment_selected = [EXPERT_NAMES[int(stage.selected[0])] for stage in output.alignment.stages]


@torch.no_grad()
def account(net: TrackerNet) -> Accounting:
    """Parameters (total, used in the forward pass, trainable per group) and MACs for one pair."""
    was_training = net.training
    net.eval()
    template, search = example_inputs(net)
    outputs = []
    try:
        macs, used = _run_recording_parameters(net, lambda: measure_macs(lambda: outputs.append(net(template, search))))
    finally:
        net.train(was_training)
    if net.alignment is not None:
        _add_alignment_macs(macs, net, outputs[0])
    cfg = net.config
    tokens = {
        "template": cfg.template_grid**2,
        "search": cfg.search_grid**2,
        "per_stream": cfg.template_grid**2 + cfg.search_grid**2,
        "total": 2 * (cfg.template_grid**2 + cfg.search_grid**2),
    }
    return Accounting(preset=cfg.name, params=count_params(net, used), macs=macs, tokens=tokens)
