"""The assembled tracker network: two-stream backbone -> fusion -> head adapter -> CENTER head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from mm_tracker_model.errors import InputShapeError
from mm_tracker_model.nn.adapters import HeadAdapter
from mm_tracker_model.nn.backbone import TwoStreamViT
from mm_tracker_model.nn.head import CenterHead
from mm_tracker_model.presets import NetConfig, get_preset

# Parameter groups by top-level module name prefix.
PARAM_GROUPS: dict[str, tuple[str, ...]] = {
    "backbone": ("backbone.patch_embed", "backbone.pos_embed", "backbone.blocks", "backbone.norm"),
    "adapters": ("backbone.adapters",),
    "head_adapter": ("head_adapter",),
    "head": ("box_head",),
}

# Which groups each training mode updates.
TRAINING_MODES: dict[str, tuple[str, ...]] = {
    "adapters": ("adapters", "head_adapter"),
    "full": ("backbone", "adapters", "head_adapter", "head"),
    "frozen": (),
}

# An image pair is either one (B, 6, H, W) tensor (RGB channels first) or an (rgb, x) pair of (B, 3, H, W).
ImagePair = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass
class NetOutput:
    """Head outputs on the search grid; boxes are (cx, cy, w, h) in normalised search-crop units."""

    score_map: torch.Tensor
    size_map: torch.Tensor
    offset_map: torch.Tensor
    boxes: torch.Tensor


def param_group(name: str) -> str:
    """The group a parameter name belongs to."""
    for group, prefixes in PARAM_GROUPS.items():
        if name.startswith(prefixes):
            return group
    raise KeyError(f"parameter {name!r} belongs to no group; groups: {', '.join(PARAM_GROUPS)}")


class TrackerNet(nn.Module):
    """PATrack: OSTrack ViT on RGB and X with MDA/CEA adapters, LN-sum fusion, HA and the CENTER head."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = TwoStreamViT(config)
        self.head_adapter = HeadAdapter(config.embed_dim, config.ha_bottleneck)
        self.box_head = CenterHead(config.embed_dim, config.head_channels, config.search_grid)
        self.training_mode = "full"

    def set_training_mode(self, mode: str) -> None:
        """Freeze every group the mode does not train (requires_grad, and BatchNorm statistics)."""
        if mode not in TRAINING_MODES:
            raise ValueError(f"training mode {mode!r} unknown; known: {', '.join(TRAINING_MODES)}")
        trainable = TRAINING_MODES[mode]
        for name, param in self.named_parameters():
            param.requires_grad_(param_group(name) in trainable)
        self.training_mode = mode
        self.train(self.training)

    def train(self, mode: bool = True) -> TrackerNet:
        super().train(mode)
        if "head" not in TRAINING_MODES[self.training_mode]:
            self.box_head.eval()  # a frozen head keeps its pretrained BatchNorm statistics
        return self

    @staticmethod
    def _split(images: ImagePair, size: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(images, tuple) and len(images) == 2:
            rgb, x = images
        elif isinstance(images, torch.Tensor) and images.dim() == 4 and images.shape[1] == 6:
            rgb, x = images[:, :3], images[:, 3:]
        else:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise InputShapeError(f"{what}: expected a (B, 6, {size}, {size}) tensor or an (rgb, x) pair, got {got}")
        for part, tensor in (("rgb", rgb), ("x", x)):
            if tensor.dim() != 4 or tuple(tensor.shape[1:]) != (3, size, size):
                raise InputShapeError(f"{what} {part}: expected (B, 3, {size}, {size}), got {tuple(tensor.shape)}")
        return rgb, x

    def forward(self, template: ImagePair | Sequence[ImagePair], search: ImagePair) -> NetOutput:
        """Track one template pair, or a list of them (initial + dynamic templates), against a search pair."""
        cfg = self.config
        templates = list(template) if isinstance(template, list) else [template]
        template_pairs = [self._split(t, cfg.template_size, "template") for t in templates]
        search_rgb, search_x = self._split(search, cfg.search_size, "search")
        if search_rgb.shape[0] != search_x.shape[0] or any(
            t.shape[0] != search_rgb.shape[0] for pair in template_pairs for t in pair
        ):
            raise InputShapeError("template and search batches differ in size")
        features_rgb, features_x = self.backbone(
            [p[0] for p in template_pairs], search_rgb, [p[1] for p in template_pairs], search_x
        )
        search_tokens = cfg.search_grid**2
        fused = features_rgb[:, -search_tokens:] + features_x[:, -search_tokens:]
        score_map, size_map, offset_map, boxes = self.box_head(self.head_adapter(fused))
        return NetOutput(score_map, size_map, offset_map, boxes)


def build_net(preset: str | NetConfig, training_mode: str = "full") -> TrackerNet:
    """Build a randomly initialised network (adapters at zero init) from a preset name or config."""
    config = get_preset(preset) if isinstance(preset, str) else preset
    net = TrackerNet(config)
    net.set_training_mode(training_mode)
    return net
