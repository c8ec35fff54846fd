"""The torch profiler's view of a stretch of tracking: which operators the time goes to, per frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class OpCost:
    name: str
    calls_per_frame: float
    self_ms_per_frame: float
    share: float  # of all operators' self time

    def to_dict(self) -> dict:
        return asdict(self)


def profiler() -> torch.profiler.profile:
    return torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])


def top_ops(profile: torch.profiler.profile, frames: int, limit: int = 15) -> list[OpCost]:
    """The `limit` operators with the most self CPU time, per frame, from a finished profile."""
    events = [e for e in profile.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events) or 1.0
    events.sort(key=lambda e: e.self_cpu_time_total, reverse=True)
    return [
        OpCost(e.key, e.count / frames, e.self_cpu_time_total / 1e3 / frames, e.self_cpu_time_total / total)
        for e in events[:limit]
    ]


def op_calls_per_frame(profile: torch.profiler.profile, frames: int) -> float:
    """Operator calls per frame, nested ones included (the dispatch overhead scales with it)."""
    return sum(e.count for e in profile.key_averages()) / frames
