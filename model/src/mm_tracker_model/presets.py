"""Network presets as data: one frozen dataclass per architecture, registered by name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mm_tracker_model.errors import PresetError

MDA_SOURCES = ("intra", "cross")


@dataclass(frozen=True)
class NetConfig:
    """Architecture of the two-stream OSTrack ViT with PATrack adapters and the CENTER head."""

    name: str
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    template_size: int = 128
    search_size: int = 256
    template_factor: float = 2.0
    search_factor: float = 4.0
    drop_path_rate: float = 0.1
    # Blocks (0-based) that host a CEA instead of an MDA; the later alignment stages sit after the same blocks.
    cea_blocks: tuple[int, ...] = (3, 6, 9)
    mda_bottleneck: int = 8
    # "intra": each modality's MDA sees its own features (the paper); "cross": the other's (released code).
    mda_source: str = "intra"
    cea_dim: int = 192
    ha_bottleneck: int = 8
    head_channels: tuple[int, ...] = (256, 128, 64, 32)

    def __post_init__(self) -> None:
        problems = []
        if self.embed_dim % self.num_heads:
            problems.append(f"embed_dim {self.embed_dim} is not divisible by num_heads {self.num_heads}")
        for size_name in ("template_size", "search_size"):
            size = getattr(self, size_name)
            if size <= 0 or size % self.patch_size:
                problems.append(f"{size_name} {size} is not a positive multiple of patch_size {self.patch_size}")
        bad_blocks = [b for b in self.cea_blocks if not 0 <= b < self.depth]
        if bad_blocks:
            problems.append(f"cea_blocks {bad_blocks} outside 0..{self.depth - 1}")
        if self.mda_source not in MDA_SOURCES:
            problems.append(f"mda_source {self.mda_source!r} unknown; known: {', '.join(MDA_SOURCES)}")
        if self.mda_bottleneck % 4:
            problems.append(f"mda_bottleneck {self.mda_bottleneck} must be a multiple of 4 (4-way channel split)")
        if len(self.head_channels) != 4:
            problems.append(f"head_channels {self.head_channels} must list 4 widths")
        if problems:
            raise PresetError(f"preset {self.name!r}: " + "; ".join(problems))

    @property
    def template_grid(self) -> int:
        return self.template_size // self.patch_size

    @property
    def search_grid(self) -> int:
        return self.search_size // self.patch_size

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, not tuples) so a checkpoint loads with weights_only=True."""
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise PresetError(f"config fields {unknown} unknown; known: {', '.join(known)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)


_BASE = NetConfig(name="patrack_base")

PRESETS: dict[str, NetConfig] = {
    "patrack_base": _BASE,
    # Same structure sized for the CPU: ViT-Tiny width, narrower CEA and head.
    "patrack_tiny": dataclasses.replace(
        _BASE, name="patrack_tiny", embed_dim=192, num_heads=3, cea_dim=48, head_channels=(128, 64, 32, 16)
    ),
}


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str, **overrides: Any) -> NetConfig:
    """Return the named preset, optionally with fields replaced."""
    if name not in PRESETS:
        raise PresetError(f"preset {name!r} unknown; known: {', '.join(preset_names())}")
    preset = PRESETS[name]
    if overrides:
        bad = sorted(set(overrides) - {f.name for f in dataclasses.fields(NetConfig)})
        if bad:
            raise PresetError(f"preset override fields {bad} unknown")
        preset = dataclasses.replace(preset, **overrides)
    return preset
