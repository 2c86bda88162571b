"""Sketch inversion net: line art (1 channel) -> an estimate of the picture's lightness, ``l_norm``.

A small U-Net (after Güçlütürk et al., "Convolutional Sketch Inversion"): a full-resolution stem, stride-2
encoder levels of residual units, dilated residual units at the bottom for context, a decoder that
upsamples and concatenates the skip features of each level, and three final convolutions at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from sketchcolor.errors import ConfigError
from sketchcolor.models.blocks import (
    NORMS,
    ConvNormAct,
    DownStage,
    ResBlock,
    UpConcat,
    level_depth,
    level_widths,
    xavier_init,
)


@dataclass
class InversionConfig:
    """Width and depth of :class:`InversionNet`.

    ``width``: channels at 1/2 resolution (doubling per level up to ``max_width``); ``stem_width``: channels at
    full resolution; ``levels``: stride-2 encoder levels (``size_multiple`` = 2**levels); ``depth``: residual units
    per level below the first; ``bottleneck_blocks``: dilated residual units at the deepest level;
    ``norm``: "batch" | "group" | "none".
    """

    width: int = 24
    stem_width: int = 16
    levels: int = 4
    depth: int = 1
    bottleneck_blocks: int = 1
    max_width: int = 256
    norm: str = "batch"

    def __post_init__(self) -> None:
        for name in ("width", "stem_width", "max_width"):
            if getattr(self, name) < 1:
                raise ConfigError(f"inversion.{name} must be >= 1, got {getattr(self, name)}")
        if self.bottleneck_blocks < 0:
            raise ConfigError(f"inversion.bottleneck_blocks must be >= 0, got {self.bottleneck_blocks}")
        if self.levels < 1 or self.depth < 0:
            raise ConfigError(
                f"inversion.levels must be >= 1 and inversion.depth >= 0, got {self.levels} and {self.depth}"
            )
        if self.norm not in NORMS:
            raise ConfigError(f"inversion.norm {self.norm!r} is unknown; allowed: {list(NORMS)}")


class InversionNet(nn.Module):
    """Line art ``(B, 1, H, W)`` in [0, 1] (1 = white paper) -> ``l_norm`` ``(B, 1, H, W)`` in [-1, 1]
    (``L = 50 + 50 * l_norm``). H and W must be multiples of ``size_multiple``. Architecture ``"inversion-unet"``,
    filling the ``inversion`` role (:class:`sketchcolor.models.interface.InversionModel`)."""

    def __init__(self, config: InversionConfig | None = None) -> None:
        super().__init__()
        self.config = config or InversionConfig()
        cfg = self.config
        levels = cfg.levels
        self.size_multiple = 2**levels
        widths = level_widths(cfg.width, levels, cfg.max_width)

        self.stem = ConvNormAct(1, cfg.stem_width, norm=cfg.norm)  # (B, stem, H, W)
        # chs[k]: channels of the features at stride 2**k (k = 0: the stem).
        chs = [cfg.stem_width, *widths]
        self.down = nn.ModuleList(
            DownStage(chs[k], chs[k + 1], level_depth(k, cfg.depth), norm=cfg.norm) for k in range(levels)
        )
        self.bottleneck = nn.Sequential(
            *(ResBlock(widths[-1], dilation=2, norm=cfg.norm) for _ in range(cfg.bottleneck_blocks))
        )
        # Decoder from the deepest level back to full resolution; the step to level k concatenates the skip of
        # level k and takes its width.
        self.up = nn.ModuleList(UpConcat(chs[k + 1], chs[k], chs[k], norm=cfg.norm) for k in reversed(range(levels)))
        # Three final convolutions (seed design note); the input line art joins them so thin strokes reach the
        # output without passing the bottleneck.
        self.head = nn.Sequential(
            ConvNormAct(cfg.stem_width + 1, cfg.stem_width, norm=cfg.norm),
            ConvNormAct(cfg.stem_width, cfg.stem_width, norm=cfg.norm),
            nn.Conv2d(cfg.stem_width, 1, 1),
        )
        xavier_init(self)

    def example_input(self, size: int) -> Tensor:
        """A (1, 1, size, size) fixed random line-art input in [0, 1], on the net's device."""
        line = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0))
        return line.to(next(self.parameters()).device)

    def forward(self, line: Tensor) -> Tensor:
        """``line`` (B, 1, H, W) in [0, 1] -> ``l_norm`` (B, 1, H, W) in [-1, 1]."""
        if line.dim() != 4 or line.shape[1] != 1:
            raise ValueError(f"InversionNet input must be (B, 1, H, W), got {tuple(line.shape)}")
        # Centre the input (paper 1 -> +1, ink 0 -> -1) so the first convs see a zero-mean signal.
        x = line * 2.0 - 1.0
        skips = [self.stem(x)]
        for stage in self.down:
            skips.append(stage(skips[-1]))  # level k: (B, chs[k], H / 2**k, W / 2**k)
        feat = self.bottleneck(skips.pop())
        for up in self.up:
            feat = up(feat, skips.pop())  # doubles H, W
        return torch.tanh(self.head(torch.cat((feat, x), dim=1)))
