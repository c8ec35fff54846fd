"""FLOP counting with torch.utils.flop_counter, reported as MACs (FLOPs / 2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch.utils.flop_counter import FlopCounterMode


def count_macs(run: Callable[[], Any]) -> tuple[dict[str, int], dict[str, dict[Any, int]]]:
    """Run `run` under a FlopCounterMode: MACs per aten op, and the raw per-module FLOP table."""
    counter = FlopCounterMode(display=False)
    with counter:
        run()
    counts = counter.get_flop_counts()
    by_op: dict[str, int] = {}
    for op, flops in counts.get("Global", {}).items():
        name = str(op).split(".")[-1]
        by_op[name] = by_op.get(name, 0) + flops // 2
    return dict(sorted(by_op.items())), counts
