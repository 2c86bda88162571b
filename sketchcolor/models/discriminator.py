"""PatchGAN discriminator (pix2pix-style) for an optional adversarial term; off by default in training.

It judges overlapping patches of a (condition, color) pair, e.g. ``cat(l_norm, ab_norm)`` (3 channels), and
returns a map of real/fake logits. Not part of :data:`sketchcolor.models.MODEL_REGISTRY`: it only exists
during training and is never saved into an inference checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from sketchcolor.errors import ConfigError
from sketchcolor.models.blocks import xavier_init


@dataclass
class DiscriminatorConfig:
    """``in_channels``: channels of the judged pair (3 = l_norm + ab_norm); ``width``: first-layer channels
    (doubling per layer up to 8x); ``layers``: stride-2 layers (receptive field 70 px for 3)."""

    in_channels: int = 3
    width: int = 64
    layers: int = 3

    def __post_init__(self) -> None:
        for name in ("in_channels", "width", "layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"discriminator.{name} must be >= 1, got {getattr(self, name)}")


class PatchDiscriminator(nn.Module):
    """(B, in_channels, H, W) -> patch logits (B, 1, ~H / 2**layers, ~W / 2**layers); > 0 means "real"."""

    def __init__(self, config: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        self.config = config or DiscriminatorConfig()
        cfg = self.config
        layers: list[nn.Module] = [nn.Conv2d(cfg.in_channels, cfg.width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        ch = cfg.width
        for i in range(1, cfg.layers + 1):
            out = cfg.width * min(2**i, 8)
            stride = 2 if i < cfg.layers else 1
            # Instance statistics: the patch verdict should not depend on the other pictures in the batch.
            layers += [
                nn.Conv2d(ch, out, 4, stride=stride, padding=1),
                nn.InstanceNorm2d(out, affine=True),
                nn.LeakyReLU(0.2),
            ]
            ch = out
        layers.append(nn.Conv2d(ch, 1, 4, padding=1))
        self.net = nn.Sequential(*layers)
        xavier_init(self)

    def forward(self, x: Tensor) -> Tensor:
        """``x`` (B, in_channels, H, W) -> logits (B, 1, h, w)."""
        return self.net(x)
