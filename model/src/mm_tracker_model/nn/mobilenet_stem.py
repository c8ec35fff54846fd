"""NanoTrack's tracking-pretrained MobileNetV3-small as an image stem in place of the ViT's patch embedding.

The module layout mirrors NanoTrack's `backbone.features.*` (HonglinChu/SiamTrackers, Apache-2.0) so its
released weights load by a prefix rename (`mm-tracker-convert --from nanotrack`). Its blocks differ from
timm's MobileNetV3 blocks in the order of squeeze-excite and activation, so they are written out here.
"""

from __future__ import annotations

import torch
from torch import nn

# Per block: kernel, expansion, out channels, squeeze-excite, hard-swish, stride (NanoTrack's configs).
_SMALL = (
    (3, 1, 16, True, False, 2),
    (3, 4.5, 24, False, False, 2),
    (3, 3.67, 24, False, False, 1),
    (5, 4, 40, True, True, 2),
    (5, 6, 40, True, True, 1),
    (5, 6, 40, True, True, 1),
    (5, 3, 48, True, True, 1),
    (5, 3, 48, True, True, 1),
)
STEM_BLOCKS: dict[str, tuple[tuple, ...]] = {
    "nanotrack_v2": _SMALL,
    "nanotrack_v3": (*_SMALL, (5, 6, 96, True, True, 1)),  # V3 keeps stride 16 with one more block
}
STEM_STRIDE = 16
# NanoTrack was trained on raw 0-255 BGR pixels; the tracker's crops arrive ImageNet-normalised RGB.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _divisible(value: float, divisor: int = 8) -> int:
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _act(hard_swish: bool) -> nn.Module:
    return nn.Hardswish() if hard_swish else nn.ReLU()


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        hidden = _divisible(channels // 4)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3)))[:, :, None, None]


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, hidden: int, out: int, kernel: int, stride: int, se: bool, hs: bool) -> None:
        super().__init__()
        self.identity = stride == 1 and inp == out
        depthwise = [
            nn.Conv2d(hidden, hidden, kernel, stride, (kernel - 1) // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
        ]
        project = [nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out)]
        excite = SqueezeExcite(hidden) if se else nn.Identity()
        if inp == hidden:
            layers = [*depthwise, _act(hs), excite, *project]
        else:
            expand = [nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), _act(hs)]
            layers = [*expand, *depthwise, excite, _act(hs), *project]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.identity else self.conv(x)


class MobileNetStem(nn.Module):
    """(B, 3, H, W) ImageNet-normalised RGB -> (B, H/16 * W/16, dim) tokens: MobileNetV3 features + 1x1 conv."""

    def __init__(self, variant: str, embed_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        ]
        channels = 16
        for kernel, expansion, out, se, hs, stride in STEM_BLOCKS[variant]:
            out = _divisible(out)
            layers.append(InvertedResidual(channels, _divisible(channels * expansion), out, kernel, stride, se, hs))
            channels = out
        self.features = nn.Sequential(*layers)
        self.proj = nn.Conv2d(channels, embed_dim, 1)
        std = torch.tensor(_IMAGENET_STD) * 255
        mean = torch.tensor(_IMAGENET_MEAN) * 255
        # normalised RGB -> raw BGR: x_bgr = x_rgb[::-1] * std + mean, as one per-channel affine.
        self.register_buffer("to_raw_scale", std.flip(0).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("to_raw_shift", mean.flip(0).view(1, 3, 1, 1), persistent=False)

    def raw_features(self, image: torch.Tensor) -> torch.Tensor:
        """NanoTrack's own feature map of the image (what its released backbone computes)."""
        return self.features(image.flip(1) * self.to_raw_scale + self.to_raw_shift)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.proj(self.raw_features(image)).flatten(2).transpose(1, 2)
