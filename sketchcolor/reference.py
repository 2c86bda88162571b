"""A same-shape stand-in for the Zhang et al. 2016 "Colorful Image Colorization" network, for benchmarking only.

Written from the paper's architecture table (ECCV 2016, Table 4 / Fig. 2), with random weights: speed and memory
do not depend on the weight values, so this net gives ``python -m sketchcolor.bench`` a fixed yardstick that runs
on the same machine in the same run as our own nets (the ratio holds on a noisy machine where absolute times do not).

Layout (input L, 1 channel; every conv 3x3 + ReLU, one batch norm at the end of each block):

| block | convs | channels | stride of last conv | dilation | output at 256² input |
|-------|-------|----------|---------------------|----------|----------------------|
| conv1 | 2     | 64       | 2                   | 1        | 128²                 |
| conv2 | 2     | 128      | 2                   | 1        | 64²                  |
| conv3 | 3     | 256      | 2                   | 1        | 32²                  |
| conv4 | 3     | 512      | 1                   | 1        | 32²                  |
| conv5 | 3     | 512      | 1                   | 2        | 32²                  |
| conv6 | 3     | 512      | 1                   | 2        | 32²                  |
| conv7 | 3     | 512      | 1                   | 1        | 32²                  |
| conv8 | 4x4 deconv stride 2 + 2 convs | 256 | (upsamples x2) | 1 | 64²              |
| out   | 1x1 conv | 313 (ab bins) | -                | -        | 64²                  |

Size: 32.2 M parameters. Cost at a 256² input, counted the way ``torch.utils.flop_counter`` counts (2 FLOPs per
multiply-add): 83.5 GFLOPs, i.e. 41.8 G multiply-adds. So the "84 GFLOPs at 256²" figure in our design notes is the
flop-counter convention (2 x MACs) at 256², not multiply-accumulates: as MACs the net would be 84 G only at about
363² input. (At the paper's 224² training size the same net is 64 GFLOPs = 32 G MACs.) 94% of the cost sits in
the 3x3 convs (conv5-7 alone: 43.5 GFLOPs), 5% in the 4x4 deconv, 0.8% in the 1x1 classifier (0.66 GFLOPs).

The paper's final 313->2 "annealed mean" decoding and its fixed 1x1 ab projection carry no learned cost worth
counting and are left out: the net returns the 313-way logits, which is what its cost is quoted for.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ZhangReferenceConfig", "ZhangReferenceNet", "build_reference"]


@dataclass(frozen=True)
class ZhangReferenceConfig:
    """Shape of the reference net; the defaults are the paper's."""

    in_channels: int = 1
    num_classes: int = 313


def _conv_block(
    in_channels: int, out_channels: int, n_convs: int, *, last_stride: int = 1, dilation: int = 1
) -> nn.Sequential:
    """``n_convs`` 3x3 conv + ReLU layers, the last one strided, then one batch norm (as in the paper's table)."""
    layers: list[nn.Module] = []
    for i in range(n_convs):
        stride = last_stride if i == n_convs - 1 else 1
        layers += [
            nn.Conv2d(
                in_channels if i == 0 else out_channels,
                out_channels,
                kernel_size=3,
                stride=stride,
                padding=dilation,  # keeps the size (before striding) for any dilation of a 3x3 kernel
                dilation=dilation,
            ),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


class ZhangReferenceNet(nn.Module):
    """Zhang 2016 colorization net with random weights.

    ``forward(l: Tensor (B, 1, H, W))`` -> logits ``(B, 313, H/4, W/4)`` over the ab bins. Any value range works
    for benchmarking; H and W must be multiples of 8 (three stride-2 convs, one x2 deconv).
    """

    size_multiple = 8

    def __init__(self, config: ZhangReferenceConfig | None = None) -> None:
        super().__init__()
        self.config = config or ZhangReferenceConfig()
        c_in = self.config.in_channels
        self.conv1 = _conv_block(c_in, 64, 2, last_stride=2)  # H/2
        self.conv2 = _conv_block(64, 128, 2, last_stride=2)  # H/4
        self.conv3 = _conv_block(128, 256, 3, last_stride=2)  # H/8
        self.conv4 = _conv_block(256, 512, 3)
        self.conv5 = _conv_block(512, 512, 3, dilation=2)
        self.conv6 = _conv_block(512, 512, 3, dilation=2)
        self.conv7 = _conv_block(512, 512, 3)
        # conv8: 4x4 stride-2 transposed conv back to H/4, two 3x3 convs, no batch norm (the paper has none here).
        self.conv8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Conv2d(256, self.config.num_classes, kernel_size=1)

    def forward(self, l: torch.Tensor) -> torch.Tensor:  # noqa: E741 - "l" is the Lab lightness channel
        x = self.conv1(l)  # (B, 64, H/2, W/2)
        x = self.conv2(x)  # (B, 128, H/4, W/4)
        x = self.conv3(x)  # (B, 256, H/8, W/8)
        x = self.conv7(self.conv6(self.conv5(self.conv4(x))))  # (B, 512, H/8, W/8)
        x = self.conv8(x)  # (B, 256, H/4, W/4)
        return self.classifier(x)  # (B, 313, H/4, W/4)


def build_reference(config: ZhangReferenceConfig | None = None, *, device: str | torch.device = "cpu") -> nn.Module:
    """The reference net in eval mode (batch norm uses its running statistics) on ``device`` ("meta" works too)."""
    with torch.device(device):
        net = ZhangReferenceNet(config)
    return net.eval()
