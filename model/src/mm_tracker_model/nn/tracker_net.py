"""The assembled tracker network: two-stream backbone -> fusion -> head adapter -> CENTER head."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from mm_tracker_model.errors import InputShapeError
from mm_tracker_model.nn.adapters import HeadAdapter
from mm_tracker_model.nn.alignment.branch import AlignmentBranch, AlignmentOutput
from mm_tracker_model.nn.alignment.fine import FIELD_CHANNELS
from mm_tracker_model.nn.alignment.inputs import StageInputs
from mm_tracker_model.nn.alignment.stage import StageOutput
from mm_tracker_model.nn.backbone import TwoStreamViT
from mm_tracker_model.nn.head import CenterHead
from mm_tracker_model.presets import NetConfig, get_preset

# Parameter groups by top-level module name prefix.
PARAM_GROUPS: dict[str, tuple[str, ...]] = {
    "backbone": ("backbone.patch_embed", "backbone.stem", "backbone.pos_embed", "backbone.blocks", "backbone.norm"),
    "adapters": ("backbone.adapters",),
    "head_adapter": ("head_adapter",),
    "head": ("box_head",),
    "alignment": ("alignment",),
}

# Which groups each training mode updates.
TRAINING_MODES: dict[str, tuple[str, ...]] = {
    "adapters": ("adapters", "head_adapter"),
    "full": ("backbone", "adapters", "head_adapter", "head", "alignment"),
    "alignment": ("alignment",),
    "frozen": (),
}

# An image pair is either one (B, 6, H, W) tensor (RGB channels first) or an (rgb, x) pair of (B, 3, H, W).
ImagePair = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class EmbeddedTemplate:
    """A template pair's tokens of both streams (`TrackerNet.embed_template`): reusable while the template is."""

    tokens: torch.Tensor  # (2B, Nz, C), RGB rows first


@dataclass
class NetOutput:
    """Head outputs on the search grid; boxes are (cx, cy, w, h) in normalised search-crop units."""

    score_map: torch.Tensor
    size_map: torch.Tensor
    offset_map: torch.Tensor
    boxes: torch.Tensor
    alignment: AlignmentOutput | None = None


def param_group(name: str) -> str:
    """The group a parameter name belongs to."""
    for group, prefixes in PARAM_GROUPS.items():
        if name.startswith(prefixes):
            return group
    raise KeyError(f"parameter {name!r} belongs to no group; groups: {', '.join(PARAM_GROUPS)}")


class TrackerNet(nn.Module):
    """PATrack: OSTrack ViT on RGB and X with MDA/CEA adapters, LN fusion (mean or sum), HA and the CENTER head."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = TwoStreamViT(config)
        self.head_adapter = HeadAdapter(config.embed_dim, config.ha_bottleneck)
        self.box_head = CenterHead(config.embed_dim, config.head_channels, config.search_grid)
        self.alignment = AlignmentBranch(config) if config.alignment is not None else None
        self.training_mode = "full"
        if self.alignment is not None:
            self._measure_expert_costs()

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

    def embed_template(self, template: ImagePair) -> EmbeddedTemplate:
        """The template's tokens, computed once: the engine reuses them on every frame until it changes."""
        rgb, x = self._split(template, self.config.template_size, "template")
        return EmbeddedTemplate(self.backbone.embed_template(rgb, x))

    def forward(
        self,
        template: ImagePair | EmbeddedTemplate | Sequence[ImagePair | EmbeddedTemplate],
        search: ImagePair,
        initial_homography: torch.Tensor | None = None,
        reuse_stages: Sequence[StageOutput] | None = None,
    ) -> NetOutput:
        """Track one template pair, or a list of them (initial + dynamic templates), against a search pair.

        Templates may be given as images or as their `embed_template` tokens (the same result). The optional
        `initial_homography` (B, 3, 3): X -> RGB search-crop map (centred normalised units) the alignment
        stages refine; identity when omitted (the X crop is already warped by the current estimate).
        `reuse_stages` (an earlier output's `alignment.stages`, same batch) applies those residuals instead of
        estimating new ones: the cross-modal reading and the fusion warp run, the estimation does not.
        """
        cfg = self.config
        templates = list(template) if isinstance(template, list) else [template]
        embedded = [t if isinstance(t, EmbeddedTemplate) else self.embed_template(t) for t in templates]
        search_rgb, search_aux = self._split(search, cfg.search_size, "search")
        batch = search_rgb.shape[0]
        if search_aux.shape[0] != batch or any(t.tokens.shape[0] != 2 * batch for t in embedded):
            raise InputShapeError("template and search batches differ in size")
        alignment_state = self._alignment_state(initial_homography, batch, search_rgb, reuse_stages)
        if alignment_state is not None and reuse_stages is None:
            alignment_state.fine_maps = self.alignment.encode_fine(search_rgb, search_aux)
        features_rgb, features_aux = self.backbone(
            [t.tokens for t in embedded],
            search_rgb,
            search_aux,
            after_block=alignment_state.after_block if alignment_state else None,
            normalise=alignment_state is None,
        )
        search_tokens = cfg.search_grid**2
        search_rgb_tokens, search_aux_tokens = features_rgb[:, -search_tokens:], features_aux[:, -search_tokens:]
        alignment = None
        if alignment_state is not None:
            alignment = AlignmentOutput(alignment_state.stages, alignment_state.homography)
            search_aux_tokens = self.alignment.warp_to_rgb(search_aux_tokens, alignment.homography)
            search_rgb_tokens, search_aux_tokens = (
                self.backbone.norm(search_rgb_tokens),
                self.backbone.norm(search_aux_tokens),
            )
        fused = search_rgb_tokens + search_aux_tokens
        if cfg.fusion == "mean":
            fused = 0.5 * fused
        score_map, size_map, offset_map, boxes = self.box_head(self.head_adapter(fused))
        return NetOutput(score_map, size_map, offset_map, boxes, alignment)

    def _alignment_state(
        self, initial: torch.Tensor | None, batch: int, like: torch.Tensor, reuse: Sequence[StageOutput] | None
    ) -> _AlignmentRun | None:
        if self.alignment is None:
            return None
        if initial is None:
            initial = torch.eye(3, dtype=like.dtype, device=like.device).expand(batch, 3, 3)
        elif tuple(initial.shape) != (batch, 3, 3):
            raise InputShapeError(f"initial_homography: expected ({batch}, 3, 3), got {tuple(initial.shape)}")
        if reuse is not None and (
            len(reuse) != len(self.alignment.stages) or any(out.residual.shape[0] != batch for out in reuse)
        ):
            raise InputShapeError(
                f"reuse_stages: expected {len(self.alignment.stages)} stage outputs of batch {batch}, "
                f"got {[tuple(out.residual.shape) for out in reuse]}"
            )
        return _AlignmentRun(self.alignment, batch, initial.to(like.dtype), reuse)

    def _measure_expert_costs(self) -> None:
        """Expert MACs on one example pair, measured once at build time (CPESL's cost term)."""
        cfg = self.config
        template = torch.zeros(1, 6, cfg.template_size, cfg.template_size)
        search = torch.zeros(1, 6, cfg.search_size, cfg.search_size)
        stage_inputs: list = []

        def record(index: int, tokens: torch.Tensor) -> torch.Tensor:
            stage = self.alignment.stage_after_block.get(index)
            if stage is not None:
                n = cfg.search_grid**2
                rgb, x = tokens[:1], tokens[1:]
                grid = cfg.search_grid
                fine = torch.zeros(1, FIELD_CHANNELS, grid, grid) if self.alignment.fine is not None else None
                stage_inputs.append(StageInputs(rgb[:, :-n], x[:, :-n], rgb[:, -n:], x[:, -n:], grid, fine))
            return tokens

        was_training = self.training
        self.eval()
        with torch.no_grad():
            self.backbone([self.embed_template(template).tokens], search[:, :3], search[:, 3:], after_block=record)
            for stage, inputs in zip(self.alignment.stages, stage_inputs, strict=True):
                stage.measure_expert_costs(inputs)
        self.train(was_training)


class _AlignmentRun:
    """Per-forward state of the alignment stages: the running homography and each stage's output."""

    def __init__(
        self, branch: AlignmentBranch, batch: int, initial: torch.Tensor, reuse: Sequence[StageOutput] | None = None
    ) -> None:
        self.branch, self.batch, self.homography, self.reuse = branch, batch, initial, reuse
        self.stages: list[StageOutput] = []
        self.fine_maps = None

    def after_block(self, index: int, tokens: torch.Tensor) -> torch.Tensor:
        stage = self.branch.stage_after_block.get(index)
        if stage is None:
            return tokens
        reuse = None if self.reuse is None else self.reuse[stage]
        rgb, x, out = self.branch.run_stage(
            stage, tokens[: self.batch], tokens[self.batch :], self.homography, self.fine_maps, reuse
        )
        self.homography = out.homography
        self.stages.append(out)
        return torch.cat([rgb, x])


def build_net(preset: str | NetConfig, training_mode: str = "full") -> TrackerNet:
    """Build a randomly initialised network (adapters at zero init) from a preset name or config."""
    config = get_preset(preset) if isinstance(preset, str) else preset
    net = TrackerNet(config)
    net.set_training_mode(training_mode)
    return net
