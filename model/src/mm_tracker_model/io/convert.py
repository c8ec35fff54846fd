"""Import pretrained OSTrack, DropTrack, MAE and NanoTrack weights into a TrackerNet (names: DESIGN §4.6)."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from mm_tracker_model.errors import CheckpointError
from mm_tracker_model.io.checkpoint import check_shapes
from mm_tracker_model.nn.mobilenet_stem import STEM_BLOCKS
from mm_tracker_model.nn.tracker_net import TrackerNet, param_group
from mm_tracker_model.presets import NetConfig

# Groups a pretrained single-modality tracker is expected to fill; the adapters are new.
PRETRAINED_GROUPS = ("backbone", "head")


@dataclass
class ConversionReport:
    consumed: list[str] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)  # key -> why it is not used
    unexpected: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # entries this kind of file should fill but did not
    new: list[str] = field(default_factory=list)  # entries that start at their initialisation (adapters ...)
    resized: dict[str, str] = field(default_factory=dict)


def resize_grid_embedding(embedding: torch.Tensor, grid: int, mode: str) -> torch.Tensor:
    """(1, s*s, C) position embedding -> (1, grid*grid, C) by interpolating it as an s x s image."""
    tokens, channels = embedding.shape[1], embedding.shape[2]
    side = math.isqrt(tokens)
    if side * side != tokens:
        raise CheckpointError(f"position embedding with {tokens} tokens is not a square grid")
    if side == grid:
        return embedding
    image = embedding.reshape(1, side, side, channels).permute(0, 3, 1, 2).float()
    image = F.interpolate(image, size=(grid, grid), mode=mode, align_corners=False)
    return image.permute(0, 2, 3, 1).reshape(1, grid * grid, channels).to(embedding.dtype)


def _state_from(raw: object, key: str, source: str) -> dict[str, torch.Tensor]:
    if isinstance(raw, dict) and isinstance(raw.get(key), dict):
        return raw[key]
    found = sorted(raw)[:8] if isinstance(raw, dict) else type(raw).__name__
    raise CheckpointError(f"not a {source} checkpoint: expected a dict with a {key!r} state dict, found {found}")


def _ostrack_like(raw: object, net: TrackerNet, report: ConversionReport, source: str) -> dict[str, torch.Tensor]:
    state = dict(_state_from(raw, "net", source))
    for unused in ("backbone.cls_token", "backbone.pos_embed"):
        if unused in state:
            del state[unused]
            report.ignored[unused] = "OSTrack's ImageNet cls token / position embedding; the tracker does not use it"
    cfg = net.config
    for name, grid in (("backbone.pos_embed_z", cfg.template_grid), ("backbone.pos_embed_x", cfg.search_grid)):
        temporal = name.replace("pos_embed", "temporal_pos_embed")
        if temporal in state:  # DropTrack's per-frame embedding is folded into the spatial one
            state[name] = state[name] + state.pop(temporal)
            report.ignored[temporal] = f"added into {name}"
        if name in state:
            before = tuple(state[name].shape)
            state[name] = resize_grid_embedding(state[name], grid, "bilinear")
            if tuple(state[name].shape) != before:
                report.resized[name] = f"{before} -> {tuple(state[name].shape)} (bilinear)"
    return state


def _from_ostrack(raw: object, net: TrackerNet, report: ConversionReport) -> dict[str, torch.Tensor]:
    return _ostrack_like(raw, net, report, "OSTrack")


def _from_droptrack(raw: object, net: TrackerNet, report: ConversionReport) -> dict[str, torch.Tensor]:
    return _ostrack_like(raw, net, report, "DropTrack")


_MAE_DECODER = re.compile(r"^(decoder_|mask_token)")


def _from_mae(raw: object, net: TrackerNet, report: ConversionReport) -> dict[str, torch.Tensor]:
    source = _state_from(raw, "model", "MAE")
    state: dict[str, torch.Tensor] = {}
    cfg = net.config
    for key, tensor in source.items():
        if _MAE_DECODER.match(key):
            report.ignored[key] = "MAE decoder (pre-training only)"
        elif key == "cls_token":
            report.ignored[key] = "cls token; the tracker has none"
        elif key == "pos_embed":
            grid_tokens = tensor[:, 1:]  # drop the cls position
            for name, grid in (("backbone.pos_embed_z", cfg.template_grid), ("backbone.pos_embed_x", cfg.search_grid)):
                state[name] = resize_grid_embedding(grid_tokens, grid, "bicubic")
                report.resized[name] = f"pos_embed {tuple(tensor.shape)} -> {tuple(state[name].shape)} (bicubic)"
        else:
            state[f"backbone.{key}"] = tensor
    return state


_NANOTRACK_PREFIX = "backbone.features."
_STEM_FEATURES = "backbone.stem.features."


def nanotrack_stem(raw: object) -> str:
    """The stem variant a NanoTrack checkpoint fills: V2 has feature blocks 0-8, V3 blocks 0-9."""
    state = _state_from(raw, "state_dict", "NanoTrack")
    blocks = {int(k.split(".")[2]) for k in state if k.startswith(_NANOTRACK_PREFIX)}
    for variant, layout in STEM_BLOCKS.items():
        if blocks == set(range(len(layout) + 1)):
            return variant
    raise CheckpointError(f"NanoTrack checkpoint with feature blocks {sorted(blocks)}: neither V2 (0-8) nor V3 (0-9)")


def _from_nanotrack(raw: object, net: TrackerNet, report: ConversionReport) -> dict[str, torch.Tensor]:
    variant = nanotrack_stem(raw)
    if net.config.stem != variant:
        raise CheckpointError(
            f"this is a {variant} backbone, but preset {net.config.name!r} has stem {net.config.stem!r}: "
            f"convert with --stem {variant}"
        )
    state = {}
    for key, tensor in _state_from(raw, "state_dict", "NanoTrack").items():
        if key.startswith(_NANOTRACK_PREFIX):
            state[_STEM_FEATURES + key.removeprefix(_NANOTRACK_PREFIX)] = tensor
        else:
            report.ignored[key] = "NanoTrack's neck / correlation head; the tracker has its own"
    return state


def _fills_backbone_and_head(key: str) -> bool:
    return param_group(key) in PRETRAINED_GROUPS


def _fills_stem(key: str) -> bool:
    return key.startswith(_STEM_FEATURES)


@dataclass(frozen=True)
class Converter:
    read: Callable[[object, TrackerNet, ConversionReport], dict[str, torch.Tensor]]
    fills: Callable[[str], bool]  # the entries a file of this family is expected to provide


CONVERTERS: dict[str, Converter] = {
    "ostrack": Converter(_from_ostrack, _fills_backbone_and_head),
    "droptrack": Converter(_from_droptrack, _fills_backbone_and_head),
    "mae": Converter(_from_mae, _fills_backbone_and_head),
    "nanotrack": Converter(_from_nanotrack, _fills_stem),
}


def convert_pretrained(raw: object, source: str, net: TrackerNet) -> ConversionReport:
    """Load a pretrained checkpoint's tensors into `net` in place; shape mismatches raise, naming the key."""
    if source not in CONVERTERS:
        raise CheckpointError(f"source {source!r} unknown; known: {', '.join(CONVERTERS)}")
    report = ConversionReport()
    converter = CONVERTERS[source]
    state = converter.read(raw, net, report)
    expected = net.state_dict()
    report.unexpected = sorted(k for k in state if k not in expected)
    for key in report.unexpected:
        del state[key]
    check_shapes(net, state)
    net.load_state_dict(state, strict=False)
    report.consumed = sorted(state)
    for key in sorted(set(expected) - set(state)):
        (report.missing if converter.fills(key) else report.new).append(key)
    return report


def sum_to_mean_fusion(
    config: NetConfig, state_dict: dict[str, torch.Tensor]
) -> tuple[NetConfig, dict[str, torch.Tensor]]:
    """The same function under mean fusion: a network trained with PATrack's sum, rewritten exactly.

    With m = S / 2: HA'(m) = m + Up/2(GELU(2·Down(m))) = HA(S) / 2, and the head's first convolutions with
    doubled weights see HA(S) again, so every output is unchanged (up to float rounding).
    """
    if config.fusion != "sum":
        raise CheckpointError(f"preset {config.name!r} already uses {config.fusion!r} fusion")
    state = dict(state_dict)
    scaled = {"head_adapter.down.weight": 2.0, "head_adapter.up.weight": 0.5, "head_adapter.up.bias": 0.5}
    scaled |= {f"box_head.conv1_{branch}.0.weight": 2.0 for branch in ("ctr", "offset", "size")}
    for key, factor in scaled.items():
        if key not in state:
            raise CheckpointError(f"state dict has no {key!r}: not a TrackerNet state dict")
        state[key] = state[key] * factor
    return dataclasses.replace(config, fusion="mean"), state
