"""OSTrack ViT backbone run as two streams (RGB, X) with shared weights, joined by PATrack adapters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import torch
from timm.layers import PatchEmbed, trunc_normal_
from timm.models.vision_transformer import Block
from torch import nn

from mm_tracker_model.nn.adapters import CEA, MDAPair
from mm_tracker_model.nn.mobilenet_stem import MobileNetStem
from mm_tracker_model.presets import NetConfig


class BlockAdapters(nn.Module):
    """The two adapters of one block: one beside the attention, one beside the MLP."""

    def __init__(self, config: NetConfig, cross_modal: bool) -> None:
        super().__init__()
        if cross_modal:
            self.attn = CEA(config.embed_dim, config.cea_dim)
            self.mlp = CEA(config.embed_dim, config.cea_dim)
        else:
            self.attn = MDAPair(config.embed_dim, config.mda_bottleneck, config.mda_source)
            self.mlp = MDAPair(config.embed_dim, config.mda_bottleneck, config.mda_source)


class TwoStreamViT(nn.Module):
    """ViT whose RGB and X streams share every weight; the streams are stacked on the batch axis."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.embed_dim
        if config.stem == "patch":
            self.patch_embed = PatchEmbed(
                img_size=None, patch_size=config.patch_size, in_chans=3, embed_dim=dim, strict_img_size=False
            )
        else:
            self.stem = MobileNetStem(config.stem, dim)
        # OSTrack's names (z: template, x: search crop) so its checkpoints load without renaming.
        self.pos_embed_z = nn.Parameter(torch.zeros(1, config.template_grid**2, dim))
        self.pos_embed_x = nn.Parameter(torch.zeros(1, config.search_grid**2, dim))
        drop_path = torch.linspace(0, config.drop_path_rate, config.depth).tolist()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList(
            Block(dim, config.num_heads, config.mlp_ratio, qkv_bias=True, drop_path=dp, norm_layer=norm_layer)
            for dp in drop_path
        )
        self.adapters = nn.ModuleList(BlockAdapters(config, i in config.cea_blocks) for i in range(config.depth))
        self.norm = norm_layer(dim)
        trunc_normal_(self.pos_embed_z, std=0.02)
        trunc_normal_(self.pos_embed_x, std=0.02)

    def _tokenize(self, images: torch.Tensor) -> torch.Tensor:
        return (self.patch_embed if self.config.stem == "patch" else self.stem)(images)

    def embed_template(self, template_rgb: torch.Tensor, template_aux: torch.Tensor) -> torch.Tensor:
        """(2B, Nz, C) template tokens of both streams, RGB first: fixed until the template changes."""
        return self._tokenize(torch.cat([template_rgb, template_aux])) + self.pos_embed_z

    def forward(
        self,
        templates: Sequence[torch.Tensor],
        search_rgb: torch.Tensor,
        search_aux: torch.Tensor,
        after_block: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
        normalise: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, C) tokens of each stream, N = templates then search, final-normed unless `normalise` is off.

        `templates` are `embed_template` outputs (the caller may keep them across frames); `after_block(i,
        tokens)` may replace the stacked (2B, N, C) tokens after block i (the alignment stages).
        """
        batch = search_rgb.shape[0]
        grids = [self.config.template_grid] * len(templates) + [self.config.search_grid]
        search = self._tokenize(torch.cat([search_rgb, search_aux])) + self.pos_embed_x
        tokens = torch.cat([*templates, search], dim=1)
        for i, (block, adapters) in enumerate(zip(self.blocks, self.adapters, strict=True)):
            tokens = self._block_forward(block, adapters, tokens, batch, grids)
            if after_block is not None:
                tokens = after_block(i, tokens)
        if normalise:
            tokens = self.norm(tokens)
        return tokens[:batch], tokens[batch:]

    @staticmethod
    def _block_forward(
        block: Block, adapters: BlockAdapters, tokens: torch.Tensor, batch: int, grids: list[int]
    ) -> torch.Tensor:
        hidden = block.norm1(tokens)
        tokens = tokens + block.drop_path1(block.ls1(block.attn(hidden)))
        tokens = tokens + block.drop_path1(torch.cat(adapters.attn(hidden[:batch], hidden[batch:], grids)))
        hidden = block.norm2(tokens)
        tokens = tokens + block.drop_path2(block.ls2(block.mlp(hidden)))
        return tokens + block.drop_path2(torch.cat(adapters.mlp(hidden[:batch], hidden[batch:], grids)))
