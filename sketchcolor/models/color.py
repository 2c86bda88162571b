"""Lab color net: L plus hint planes plus propagated-hint planes -> ab (classification + gated correction head).

Input ``x`` (B, 7, H, W), built by :func:`color_input`: ``[l_norm, hint_ab_norm (2), hint_mask, fill_ab_norm (2),
fill_mask]``. The net is a U-Net of residual units (encoder levels at 1/2 ... 1/2**levels, dilated units at
the bottom) with two heads:

- **classification** (Zhang et al. 2016) at 1/``logits_stride`` resolution: a hypercolumn of the decoder
  features of that level and every deeper level (upsampled and concatenated), then three convolutions ->
  logits over the in-gamut ab bins of :func:`sketchcolor.color.ab_bins`. Decoded by annealed mean.
- **correction** (Zhang et al. 2017's regression head, re-aimed at the propagated hints) at
  1/``regression_stride`` resolution: three convolutions -> a correction ``delta`` (2) and a gate logit (1),
  upsampled bilinearly; the fill it corrects stays at full resolution, so region edges stay crisp.

Decoding (:meth:`ColorNet.decode`), all at input resolution::

    base      = hint_ab where hint_mask else fill_ab where fill_mask else 0        (the classical answer)
    base_mask = max(hint_mask, fill_mask)
    reg_ab    = base + delta                                                      (ColorOutput.ab_norm)
    g         = base_mask * sigmoid(gate_logit)                                   (ColorOutput.gate_logit)
    ab        = g * reg_ab + (1 - g) * annealed_mean(logits, T)

So the net reproduces (and touches up) its propagated-hint channels where it judges them trustworthy and
falls back to its own vivid classification elsewhere; unhinted, unfilled pixels are pure classification
(no brown regression average there). ``gate_logit`` starts at ``gate_prior`` and ``delta`` at 0, i.e. trusting
the fill (it is usually right: "start where the classical methods stop"); training supervises the gate with
whether the fill matches the target color (see :mod:`sketchcolor.losses`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from sketchcolor import color as C
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
from sketchcolor.models.interface import ColorOutput

IN_CHANNELS = 7


def color_input(
    l_norm: Tensor,
    hint_ab_norm: Tensor | None = None,
    hint_mask: Tensor | None = None,
    fill_ab_norm: Tensor | None = None,
    fill_mask: Tensor | None = None,
) -> Tensor:
    """Stack the color net's input ``(B, 7, H, W)``.

    ``l_norm`` (B, 1, H, W) in [-1, 1]; ``hint_ab_norm`` / ``fill_ab_norm`` (B, 2, H, W) (ab / 110);
    ``hint_mask`` / ``fill_mask`` (B, 1, H, W) in {0, 1}. Missing hints or fills mean "none" (zeros). The ab
    planes are zeroed where their mask is 0 so stray values never leak in.
    """
    if l_norm.dim() != 4 or l_norm.shape[1] != 1:
        raise ValueError(f"l_norm must be (B, 1, H, W), got {tuple(l_norm.shape)}")
    b, _, h, w = l_norm.shape
    zeros_ab = l_norm.new_zeros(b, 2, h, w)
    zeros_mask = l_norm.new_zeros(b, 1, h, w)
    hint_mask = zeros_mask if hint_mask is None else hint_mask.to(l_norm)
    fill_mask = zeros_mask if fill_mask is None else fill_mask.to(l_norm)
    hint_ab_norm = zeros_ab if hint_ab_norm is None else hint_ab_norm.to(l_norm) * hint_mask
    fill_ab_norm = zeros_ab if fill_ab_norm is None else fill_ab_norm.to(l_norm) * fill_mask
    return torch.cat((l_norm, hint_ab_norm, hint_mask, fill_ab_norm, fill_mask), dim=1)


def base_ab(x: Tensor) -> tuple[Tensor, Tensor]:
    """The classical answer in ``x`` (B, 7, H, W): ``(base_ab_norm (B, 2, H, W), base_mask (B, 1, H, W))`` —
    the hint color at hinted pixels, else the propagated fill color where filled, else 0."""
    hint_ab, hint_mask = x[:, 1:3], x[:, 3:4]
    fill_ab, fill_mask = x[:, 4:6], x[:, 6:7]
    base = torch.where(hint_mask > 0.5, hint_ab, fill_ab * fill_mask)
    return base, torch.maximum(hint_mask, fill_mask)


@dataclass
class ColorConfig:
    """Width and depth of :class:`ColorNet`.

    ``width``: channels at 1/2 resolution (doubling per level up to ``max_width``); ``levels``: stride-2
    encoder levels (``size_multiple`` = 2**levels); ``depth``: residual units per level below the first;
    ``bottleneck_blocks``: dilated residual units at the deepest level; ``logits_stride`` /
    ``regression_stride``: resolution divisors of the two heads (powers of two, regression <= logits <=
    2**levels); ``head_width``: channels of the classification head; ``ab_grid`` / ``ab_max``: the bin grid
    of ``color.ab_bins``; ``gate_prior``: the initial bias of the gate towards trusting the fill.
    """

    width: int = 24
    levels: int = 4
    depth: int = 1
    bottleneck_blocks: int = 1
    max_width: int = 256
    norm: str = "batch"
    logits_stride: int = 4
    regression_stride: int = 2
    head_width: int = 64
    ab_grid: int = 10
    ab_max: float = 110.0
    gate_prior: float = 2.0

    def __post_init__(self) -> None:
        for name in ("width", "max_width", "head_width", "ab_grid"):
            if getattr(self, name) < 1:
                raise ConfigError(f"color.{name} must be >= 1, got {getattr(self, name)}")
        if self.bottleneck_blocks < 0:
            raise ConfigError(f"color.bottleneck_blocks must be >= 0, got {self.bottleneck_blocks}")
        if self.levels < 1 or self.depth < 0:
            raise ConfigError(f"color.levels must be >= 1 and color.depth >= 0, got {self.levels} and {self.depth}")
        if self.norm not in NORMS:
            raise ConfigError(f"color.norm {self.norm!r} is unknown; allowed: {list(NORMS)}")
        strides = [2**i for i in range(self.levels + 1)]
        for name in ("logits_stride", "regression_stride"):
            if getattr(self, name) not in strides:
                raise ConfigError(
                    f"color.{name} must be one of {strides} ({self.levels} levels), got {getattr(self, name)}"
                )
        if self.regression_stride > self.logits_stride:
            raise ConfigError(
                f"color.regression_stride ({self.regression_stride}) must be <= logits_stride ({self.logits_stride})"
            )


class ColorNet(nn.Module):
    """(B, 7, H, W) color input -> :class:`ColorOutput`; :meth:`decode` gives the decoded ab. Architecture
    ``"color-unet"``, filling the ``color`` role (:class:`sketchcolor.models.interface.ColorModel`).

    H and W must be multiples of ``size_multiple``.
    """

    def __init__(self, config: ColorConfig | None = None) -> None:
        super().__init__()
        self.config = config or ColorConfig()
        cfg = self.config
        self.levels = cfg.levels
        self.size_multiple = 2**self.levels
        # Bin centres are derived from the config, not stored: non-persistent so checkpoints hold only weights.
        # Computed on the CPU whatever device the net is built on (the meta device counts parameters).
        with torch.device("cpu"):
            bins = C.ab_bins(cfg.ab_grid, cfg.ab_max).clone()
        self.register_buffer("bins", bins, persistent=False)
        self.num_bins = int(self.bins.shape[0])

        widths = level_widths(cfg.width, self.levels, cfg.max_width)
        # chs[k]: channels of the skip features at stride 2**k (k = 0 is the raw input).
        chs = [IN_CHANNELS, *widths]
        self.down = nn.ModuleList(
            DownStage(chs[k], chs[k + 1], level_depth(k, cfg.depth), norm=cfg.norm) for k in range(self.levels)
        )
        self.bottleneck = nn.Sequential(
            *(ResBlock(widths[-1], dilation=2, norm=cfg.norm) for _ in range(cfg.bottleneck_blocks))
        )
        self._logits_level = int(math.log2(cfg.logits_stride))
        self._reg_level = int(math.log2(cfg.regression_stride))
        # Decoder steps from level L down to the regression level; step to level k concatenates skip k and
        # takes width chs[k] (at k = 0, the raw input, it takes width[0] instead of 7).
        self.up = nn.ModuleDict()
        for k in reversed(range(self._reg_level, self.levels)):
            out_ch = chs[k] if k > 0 else widths[0]
            self.up[str(k)] = UpConcat(self._dec_ch(k + 1, chs, widths), chs[k], out_ch, norm=cfg.norm)

        hyper_ch = sum(self._dec_ch(k, chs, widths) for k in range(self._logits_level, self.levels + 1))
        hw = cfg.head_width
        # Three final convolutions per head (seed design note): 1x1 mixes the hypercolumn cheaply, 3x3 adds
        # context, 1x1 maps to the outputs.
        self.cls_head = nn.Sequential(
            ConvNormAct(hyper_ch, hw, 1, norm=cfg.norm),
            ConvNormAct(hw, hw, 3, norm=cfg.norm),
            nn.Conv2d(hw, self.num_bins, 1),
        )
        reg_w = self._dec_ch(self._reg_level, chs, widths)
        self.reg_head = nn.Sequential(
            ConvNormAct(reg_w + IN_CHANNELS, reg_w, 3, norm=cfg.norm),
            ConvNormAct(reg_w, reg_w, 1, norm=cfg.norm),
            nn.Conv2d(reg_w, 3, 1),  # delta ab_norm (2) + gate logit (1)
        )
        xavier_init(self)
        # The correction starts at zero (reg_ab == base) and the gate at sigmoid(gate_prior): the classical
        # answer is the starting point wherever there is one.
        with torch.no_grad():
            nn.init.zeros_(self.reg_head[-1].weight)
            nn.init.zeros_(self.reg_head[-1].bias)
            self.reg_head[-1].bias[2] = cfg.gate_prior

    def _dec_ch(self, level: int, chs: list[int], widths: list[int]) -> int:
        """Channels of the decoder features at ``level`` (the bottleneck at the deepest level)."""
        if level == self.levels:
            return widths[-1]
        return chs[level] if level > 0 else widths[0]

    def forward(self, x: Tensor) -> ColorOutput:
        """``x`` (B, 7, H, W) from :func:`color_input` -> :class:`ColorOutput`."""
        if x.dim() != 4 or x.shape[1] != IN_CHANNELS:
            raise ValueError(f"ColorNet input must be (B, {IN_CHANNELS}, H, W), got {tuple(x.shape)}")
        h, w = x.shape[-2:]
        skips = [x]
        for stage in self.down:
            skips.append(stage(skips[-1]))  # level k: (B, chs[k], H / 2**k, W / 2**k)
        dec = {self.levels: self.bottleneck(skips[-1])}
        for k in reversed(range(self._reg_level, self.levels)):
            dec[k] = self.up[str(k)](dec[k + 1], skips[k])

        size_logits = dec[self._logits_level].shape[-2:]
        hyper = [dec[self._logits_level]] + [
            F.interpolate(dec[k], size=size_logits, mode="bilinear", align_corners=False)
            for k in range(self._logits_level + 1, self.levels + 1)
        ]
        logits = self.cls_head(torch.cat(hyper, dim=1))  # (B, Q, H / logits_stride, W / logits_stride)

        feat = dec[self._reg_level]
        # The raw input at the head's resolution (area average keeps how much of each cell is hinted).
        x_small = F.adaptive_avg_pool2d(x, feat.shape[-2:]) if self._reg_level > 0 else x
        reg = self.reg_head(torch.cat((feat, x_small), dim=1))  # (B, 3, h_reg, w_reg)
        if self._reg_level > 0:
            reg = F.interpolate(reg, size=(h, w), mode="bilinear", align_corners=False)
        base, _ = base_ab(x)
        ab_norm = base + reg[:, :2]
        return ColorOutput(logits=logits, ab_norm=ab_norm, gate_logit=reg[:, 2:3])

    @property
    def logits_stride(self) -> int:
        """Resolution divisor of ``ColorOutput.logits``."""
        return self.config.logits_stride

    def make_input(self, l_norm: Tensor, hint_ab_norm: Tensor | None = None, hint_mask: Tensor | None = None,
                   fill_ab_norm: Tensor | None = None, fill_mask: Tensor | None = None) -> Tensor:
        """This net's input (B, 7, H, W): :func:`color_input`."""
        return color_input(l_norm, hint_ab_norm, hint_mask, fill_ab_norm, fill_mask)

    def example_input(self, size: int) -> Tensor:
        """A (1, 7, size, size) input, a fixed random L plane in [-1, 1] and no hints, on the net's device."""
        l_norm = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
        return color_input(l_norm.to(self.bins.device))

    def classification_ab(self, logits: Tensor, size: tuple[int, int],
                          temperature: float = C.DEFAULT_TEMPERATURE) -> Tensor:
        """Annealed-mean ab_norm (B, 2, *size) of ``logits`` (B, Q, h, w), upsampled bilinearly."""
        ab = C.annealed_mean(logits.float(), self.bins, temperature=temperature)  # (B, 2, h, w) Lab units
        ab_norm = C.ab_to_norm(ab)
        if tuple(ab_norm.shape[-2:]) != tuple(size):
            ab_norm = F.interpolate(ab_norm, size=size, mode="bilinear", align_corners=False)
        return ab_norm

    def decode(self, out: ColorOutput, x: Tensor, temperature: float = C.DEFAULT_TEMPERATURE) -> Tensor:
        """Combine the heads of ``out`` (for input ``x``) into ab_norm (B, 2, H, W) in [-1, 1] (module doc)."""
        _, base_mask = base_ab(x)
        cls_ab = self.classification_ab(out.logits, tuple(x.shape[-2:]), temperature)
        gate = base_mask * torch.sigmoid(out.gate_logit.float())
        ab = gate * out.ab_norm.float() + (1.0 - gate) * cls_ab
        return ab.clamp(-1.0, 1.0)
