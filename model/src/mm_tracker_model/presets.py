"""Network presets as data: one frozen dataclass per architecture, registered by name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mm_tracker_model.errors import PresetError

MDA_SOURCES = ("intra", "cross")
# How the head sees the two normalised search streams: "mean" equals a pretrained OSTrack's input when both
# streams carry the same features (zero adapters, RGB-only mode); "sum" is PATrack's paper (twice that input).
FUSIONS = ("mean", "sum")
# Image stems: the ViT's linear patch embedding, or NanoTrack's tracking-pretrained MobileNetV3-small (stride 16).
STEMS = ("patch", "nanotrack_v2", "nanotrack_v3")
# Checkpoints written before the fusion field existed were trained with the sum.
LEGACY_FUSION = "sum"
STAGE_KINDS = ("translation", "scale", "perspective")
# How each expert turns its evidence into parameters: "positional" keeps where things are (the plan's expected
# displacement, the matching offset field, per-token features); "pooled" averages position away (checkpoints
# written before the field existed; measured to learn nothing that generalises, DESIGN §4.3).
READOUTS = ("positional", "pooled")
LEGACY_READOUT = "pooled"


@dataclass(frozen=True)
class AlignmentConfig:
    """PMATrack's progressive alignment branch: one DMAE stage (3 experts + router) after each listed block."""

    blocks: tuple[int, ...] = (3, 6, 9)
    # What each stage estimates: centre offset, + anisotropic scale, or an 8-DoF corner refinement.
    stages: tuple[str, ...] = ("translation", "scale", "scale")
    tre_dim: int = 64
    fme_dim: int = 64
    fme_channels: int = 8
    dpe_channels: int = 96
    router_hidden: int = 64
    tcmda_heads: int = 8
    tcmda_points: int = 4
    # Entropic regularisation of TRE's transport, in squared normalised-grid units (see nn/alignment/tre.py).
    sinkhorn_reg: float = 0.01
    sinkhorn_iterations: int = 30  # converges to ~1e-15 marginal error on 16x16 grids
    readout: str = "positional"
    # Sub-token evidence (nn/alignment/fine.py): gradient maps of both search crops at this stride, matched per
    # stage under the running homography; 0: off (checkpoints written before the field existed).
    fine_stride: int = 8
    fine_channels: int = 8

    def problems(self, depth: int, embed_dim: int) -> list[str]:
        found = []
        if len(self.blocks) != len(self.stages):
            found.append(f"alignment blocks {self.blocks} and stages {self.stages} differ in length")
        if list(self.blocks) != sorted(set(self.blocks)) or any(not 0 <= b < depth for b in self.blocks):
            found.append(f"alignment blocks {self.blocks} must increase within 0..{depth - 1}")
        unknown = [k for k in self.stages if k not in STAGE_KINDS]
        if unknown:
            found.append(f"alignment stages {unknown} unknown; known: {', '.join(STAGE_KINDS)}")
        if embed_dim % self.tcmda_heads:
            found.append(f"embed_dim {embed_dim} is not divisible by tcmda_heads {self.tcmda_heads}")
        if self.readout not in READOUTS:
            found.append(f"alignment readout {self.readout!r} unknown; known: {', '.join(READOUTS)}")
        if self.fine_stride < 0 or self.fine_channels < 2:
            found.append(f"fine_stride {self.fine_stride} must be >= 0 and fine_channels {self.fine_channels} >= 2")
        if not self.sinkhorn_reg > 0:
            found.append(f"sinkhorn_reg {self.sinkhorn_reg} must be > 0")
        return found


@dataclass(frozen=True)
class NetConfig:
    """Architecture of the two-stream OSTrack ViT with PATrack adapters and the CENTER head."""

    name: str
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 16
    stem: str = "patch"
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
    fusion: str = "mean"
    head_channels: tuple[int, ...] = (256, 128, 64, 32)
    alignment: AlignmentConfig | None = None

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
        if self.stem not in STEMS:
            problems.append(f"stem {self.stem!r} unknown; known: {', '.join(STEMS)}")
        elif self.stem != "patch" and self.patch_size != 16:
            problems.append(f"stem {self.stem!r} has stride 16, so patch_size must be 16 (got {self.patch_size})")
        if self.fusion not in FUSIONS:
            problems.append(f"fusion {self.fusion!r} unknown; known: {', '.join(FUSIONS)}")
        if self.mda_bottleneck % 4:
            problems.append(f"mda_bottleneck {self.mda_bottleneck} must be a multiple of 4 (4-way channel split)")
        if len(self.head_channels) != 4:
            problems.append(f"head_channels {self.head_channels} must list 4 widths")
        if self.alignment is not None:
            problems += self.alignment.problems(self.depth, self.embed_dim)
            stride = self.alignment.fine_stride
            if stride and (self.search_size % stride or (self.search_size // stride) % self.search_grid):
                problems.append(
                    f"fine_stride {stride} must divide search_size {self.search_size} into a multiple "
                    f"of the {self.search_grid}-cell search grid"
                )
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
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise PresetError(f"config fields {unknown} unknown; known: {', '.join(known)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        values.setdefault("fusion", LEGACY_FUSION)
        if isinstance(values.get("alignment"), dict):
            alignment = {k: tuple(v) if isinstance(v, list) else v for k, v in values["alignment"].items()}
            alignment.setdefault("readout", LEGACY_READOUT)
            alignment.setdefault("fine_stride", 0)
            values["alignment"] = AlignmentConfig(**alignment)
        return cls(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


_BASE = NetConfig(name="patrack_base")
_TINY = dataclasses.replace(
    _BASE, name="patrack_tiny", embed_dim=192, num_heads=3, cea_dim=48, head_channels=(128, 64, 32, 16)
)

PRESETS: dict[str, NetConfig] = {
    "patrack_base": _BASE,
    # Same structure sized for the CPU: ViT-Tiny width, narrower CEA and head.
    "patrack_tiny": _TINY,
    "full_base": dataclasses.replace(_BASE, name="full_base", alignment=AlignmentConfig()),
    # The CPU default: ViT-Tiny width, 6 blocks and 80/160 crops (25 + 100 tokens per stream) for speed.
    "full_tiny": dataclasses.replace(
        _TINY,
        name="full_tiny",
        depth=6,
        template_size=80,
        search_size=160,
        cea_blocks=(1, 3, 5),
        alignment=AlignmentConfig(
            blocks=(1, 3, 5), tre_dim=32, fme_dim=32, dpe_channels=64, router_hidden=32, tcmda_heads=4
        ),
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
