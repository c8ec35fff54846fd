"""An independent OSTrack: synthetic checkpoints with the official key names and a plain forward over them.

Written from OSTrack's published structure with torch.nn.functional only (no timm, no mm_tracker code) so
tests can compare the library against it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

HEAD_BRANCHES = {"ctr": 1, "offset": 2, "size": 2}


def ostrack_state_dict(
    dim: int = 768,
    depth: int = 12,
    head_channels: tuple[int, ...] = (256, 128, 64, 32),
    template_grid: int = 8,
    search_grid: int = 16,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Random tensors under OSTrack_ep0300's names and shapes (242 entries at ViT-B sizes)."""
    gen = torch.Generator().manual_seed(seed)

    def rand(*shape: int, scale: float = 0.02, offset: float = 0.0) -> torch.Tensor:
        return torch.randn(*shape, generator=gen) * scale + offset

    state = {
        "backbone.cls_token": rand(1, 1, dim),
        "backbone.pos_embed": rand(1, 197, dim),
        "backbone.pos_embed_z": rand(1, template_grid**2, dim),
        "backbone.pos_embed_x": rand(1, search_grid**2, dim),
        "backbone.patch_embed.proj.weight": rand(dim, 3, 16, 16),
        "backbone.patch_embed.proj.bias": rand(dim),
    }
    for i in range(depth):
        b = f"backbone.blocks.{i}"
        state |= {
            f"{b}.norm1.weight": rand(dim, scale=0.1, offset=1.0),
            f"{b}.norm1.bias": rand(dim),
            f"{b}.attn.qkv.weight": rand(3 * dim, dim),
            f"{b}.attn.qkv.bias": rand(3 * dim),
            f"{b}.attn.proj.weight": rand(dim, dim),
            f"{b}.attn.proj.bias": rand(dim),
            f"{b}.norm2.weight": rand(dim, scale=0.1, offset=1.0),
            f"{b}.norm2.bias": rand(dim),
            f"{b}.mlp.fc1.weight": rand(4 * dim, dim),
            f"{b}.mlp.fc1.bias": rand(4 * dim),
            f"{b}.mlp.fc2.weight": rand(dim, 4 * dim),
            f"{b}.mlp.fc2.bias": rand(dim),
        }
    state["backbone.norm.weight"] = rand(dim, scale=0.1, offset=1.0)
    state["backbone.norm.bias"] = rand(dim)
    widths = [dim, *head_channels]
    for branch, out in HEAD_BRANCHES.items():
        for i in range(len(head_channels)):
            conv, bn = f"box_head.conv{i + 1}_{branch}.0", f"box_head.conv{i + 1}_{branch}.1"
            fan_in = widths[i] * 9
            state |= {
                f"{conv}.weight": rand(widths[i + 1], widths[i], 3, 3, scale=1 / math.sqrt(fan_in)),
                f"{conv}.bias": rand(widths[i + 1]),
                f"{bn}.weight": rand(widths[i + 1], scale=0.1, offset=1.0),
                f"{bn}.bias": rand(widths[i + 1], scale=0.1),
                f"{bn}.running_mean": rand(widths[i + 1], scale=0.1),
                f"{bn}.running_var": rand(widths[i + 1], scale=0.1).abs() + 0.5,
                f"{bn}.num_batches_tracked": torch.tensor(1000),
            }
        state[f"box_head.conv5_{branch}.weight"] = rand(out, widths[-1], 1, 1, scale=0.1)
        state[f"box_head.conv5_{branch}.bias"] = rand(out, scale=0.1)
    return state


def backbone_forward(state: dict[str, torch.Tensor], template: torch.Tensor, search: torch.Tensor, heads: int):
    """Plain OSTrack ViT forward (no candidate elimination) of one 3-channel stream -> (B, Nz + Nx, C)."""

    def p(name: str) -> torch.Tensor:
        return state[f"backbone.{name}"]

    def embed(image: torch.Tensor) -> torch.Tensor:
        patches = F.conv2d(image, p("patch_embed.proj.weight"), p("patch_embed.proj.bias"), stride=16)
        return patches.flatten(2).transpose(1, 2)

    x = torch.cat([embed(template) + p("pos_embed_z"), embed(search) + p("pos_embed_x")], dim=1)
    batch, tokens, dim = x.shape
    depth = 1 + max(int(k.split(".")[2]) for k in state if k.startswith("backbone.blocks."))
    for i in range(depth):
        b = f"blocks.{i}"
        h = F.layer_norm(x, (dim,), p(f"{b}.norm1.weight"), p(f"{b}.norm1.bias"), eps=1e-6)
        qkv = F.linear(h, p(f"{b}.attn.qkv.weight"), p(f"{b}.attn.qkv.bias"))
        q, k, v = qkv.reshape(batch, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        attn = ((q @ k.transpose(-2, -1)) * (dim // heads) ** -0.5).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, tokens, dim)
        x = x + F.linear(out, p(f"{b}.attn.proj.weight"), p(f"{b}.attn.proj.bias"))
        h = F.layer_norm(x, (dim,), p(f"{b}.norm2.weight"), p(f"{b}.norm2.bias"), eps=1e-6)
        hidden = F.gelu(F.linear(h, p(f"{b}.mlp.fc1.weight"), p(f"{b}.mlp.fc1.bias")))
        x = x + F.linear(hidden, p(f"{b}.mlp.fc2.weight"), p(f"{b}.mlp.fc2.bias"))
    return F.layer_norm(x, (dim,), p("norm.weight"), p("norm.bias"), eps=1e-6)


def head_forward(state: dict[str, torch.Tensor], search_tokens: torch.Tensor, grid: int):
    """OSTrack's CenterPredictor on (B, grid*grid, C) tokens -> score, size, offset maps and cx,cy,w,h boxes."""
    batch, _, dim = search_tokens.shape
    feature = search_tokens.unsqueeze(-1).permute(0, 3, 2, 1).contiguous().view(batch, dim, grid, grid)

    def branch(name: str) -> torch.Tensor:
        y, i = feature, 1
        while f"box_head.conv{i}_{name}.0.weight" in state:
            conv, bn = f"box_head.conv{i}_{name}.0", f"box_head.conv{i}_{name}.1"
            y = F.conv2d(y, state[f"{conv}.weight"], state[f"{conv}.bias"], padding=1)
            y = F.batch_norm(
                y, state[f"{bn}.running_mean"], state[f"{bn}.running_var"], state[f"{bn}.weight"], state[f"{bn}.bias"]
            )
            y, i = F.relu(y), i + 1
        return F.conv2d(y, state[f"box_head.conv5_{name}.weight"], state[f"box_head.conv5_{name}.bias"])

    score = torch.clamp(branch("ctr").sigmoid(), min=1e-4, max=1 - 1e-4)
    size = torch.clamp(branch("size").sigmoid(), min=1e-4, max=1 - 1e-4)
    offset = branch("offset")
    _, idx = torch.max(score.flatten(1), dim=1, keepdim=True)
    idx_y, idx_x = idx // grid, idx % grid
    gather = idx.unsqueeze(1).expand(idx.shape[0], 2, 1)
    size_at = size.flatten(2).gather(dim=2, index=gather)
    offset_at = offset.flatten(2).gather(dim=2, index=gather).squeeze(-1)
    boxes = torch.cat(
        [
            (idx_x.to(torch.float) + offset_at[:, :1]) / grid,
            (idx_y.to(torch.float) + offset_at[:, 1:]) / grid,
            size_at.squeeze(-1),
        ],
        dim=1,
    )
    return score, size, offset, boxes
