"""Building blocks shared by the nets: conv + norm + activation, residual units, up/down steps, Xavier init.

All blocks take and return feature maps ``(B, C, H, W)``; a ``stride=2`` block halves H and W, an
:class:`UpConcat` doubles them and concatenates the skip features of the matching encoder level (U-Net /
hypercolumn-style aggregation by concatenation, which the seed paper found better than element-wise sums).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from sketchcolor.errors import ConfigError

NORMS = ("batch", "group", "none")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A normalization layer over ``channels``: "batch" (BatchNorm2d), "group" (GroupNorm, 8 channels a group
    at most), or "none" (identity)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        groups = max(1, channels // 8)
        while channels % groups:
            groups -= 1
        return nn.GroupNorm(groups, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"unknown norm {kind!r}; allowed: {list(NORMS)}")


class ConvNormAct(nn.Sequential):
    """``k x k`` convolution (padding keeps the size unless ``stride`` > 1), then norm, then ReLU (``act``)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        dilation: int = 1,
        norm: str = "batch",
        act: bool = True,
    ) -> None:
        padding = dilation * (kernel - 1) // 2
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation, bias=norm == "none"),
            norm_layer(norm, out_ch),
        ]
        if act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Residual unit: two 3x3 convs (the first optionally dilated) plus the identity; shape-preserving."""

    def __init__(self, channels: int, *, dilation: int = 1, norm: str = "batch") -> None:
        super().__init__()
        self.conv1 = ConvNormAct(channels, channels, dilation=dilation, norm=norm)
        self.conv2 = ConvNormAct(channels, channels, norm=norm, act=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x + self.conv2(self.conv1(x)))


class DownStage(nn.Module):
    """One encoder level: a stride-2 conv (halves H, W; ``in_ch`` -> ``out_ch``) then ``depth`` residual units."""

    def __init__(self, in_ch: int, out_ch: int, depth: int, *, norm: str, dilation: int = 1) -> None:
        super().__init__()
        self.down = ConvNormAct(in_ch, out_ch, stride=2, norm=norm)
        self.blocks = nn.Sequential(*(ResBlock(out_ch, dilation=dilation, norm=norm) for _ in range(depth)))

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(self.down(x))


class UpConcat(nn.Module):
    """Decoder step: bilinear upsampling of ``x`` (``in_ch``) to the size of ``skip`` (``skip_ch``),
    concatenation, and a ``kernel`` x ``kernel`` conv to ``out_ch``.

    The nets use ``kernel=1``: a 3x3 conv over the concatenation at 1/2 resolution alone costs about as much
    as a residual unit, and the encoder and the heads' 3x3 convs already supply the spatial context.
    """

    def __init__(self, in_ch: int, skip_ch: int, out_ch: int, *, norm: str, kernel: int = 1) -> None:
        super().__init__()
        self.conv = ConvNormAct(in_ch + skip_ch, out_ch, kernel, norm=norm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat((x, skip), dim=1))


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every conv; norms start at identity (weight 1, bias 0)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def level_widths(width: int, levels: int, max_width: int) -> list[int]:
    """Channel widths of encoder levels 1..levels (1/2, 1/4, ... resolution): ``width`` doubling per level,
    capped at ``max_width``. With doubling widths every level's residual unit costs the same FLOPs
    (about 0.59 M x width**2 at 256²), so depth is spent where it buys the most context: deep levels."""
    return [min(width * 2**i, max_width) for i in range(levels)]


def level_depth(level: int, depth: int) -> int:
    """Residual units at encoder level ``level`` (0 = the 1/2-resolution level): none at 1/2 resolution, where
    a unit costs as much as a deep one (see :func:`level_widths`) but adds the least context; ``depth`` below."""
    return 0 if level == 0 else depth
