"""The nets and their explicit registry: name -> (config dataclass, module class).

Adding a net: write its config dataclass and module (``.config``, ``size_multiple``) in its own file and add
one line to :data:`MODEL_REGISTRY`. Checkpoints store ``{name: asdict(config)}`` and rebuild nets with
:func:`build_model`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sketchcolor.errors import ConfigError
from sketchcolor.models.color import IN_CHANNELS, ColorConfig, ColorNet, ColorOutput, base_ab, color_input
from sketchcolor.models.configs import from_dict
from sketchcolor.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from sketchcolor.models.inversion import InversionConfig, InversionNet

MODEL_REGISTRY: dict[str, tuple[type, type]] = {
    "inversion": (InversionConfig, InversionNet),
    "color": (ColorConfig, ColorNet),
}

__all__ = [
    "MODEL_REGISTRY",
    "build_model",
    "model_config",
    "model_stats",
    "count_parameters",
    "color_input",
    "base_ab",
    "ColorConfig",
    "ColorNet",
    "ColorOutput",
    "InversionConfig",
    "InversionNet",
    "DiscriminatorConfig",
    "PatchDiscriminator",
    "IN_CHANNELS",
]


def model_config(name: str, config: dict[str, Any] | Any | None = None):
    """The config dataclass of net ``name`` from a dict (JSON form), an instance, or None (defaults)."""
    if name not in MODEL_REGISTRY:
        raise ConfigError(f"unknown model {name!r}; allowed: {sorted(MODEL_REGISTRY)}")
    config_cls, _ = MODEL_REGISTRY[name]
    if isinstance(config, config_cls):
        return config
    if config is not None and not isinstance(config, dict):
        raise ConfigError(f"config for {name!r} must be a dict or {config_cls.__name__}, got {type(config).__name__}")
    return from_dict(config_cls, config, where=name)


def build_model(name: str, config: dict[str, Any] | Any | None = None) -> nn.Module:
    """Build net ``name`` ("inversion" | "color") from ``config`` (dict or dataclass; None = defaults).

    Unknown names or config keys and bad values raise :class:`ConfigError` naming what is allowed.
    """
    cfg = model_config(name, config)
    return MODEL_REGISTRY[name][1](cfg)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def model_stats(name: str, model: nn.Module | None = None, size: int = 256) -> dict[str, Any]:
    """Parameters and forward FLOPs (FlopCounterMode: a multiply-add counts 2) of net ``name`` on one
    ``size`` x ``size`` input, batch 1, in eval mode. Returns ``{"name", "params", "gflops", "size"}``."""
    model = build_model(name) if model is None else model
    channels = 1 if name == "inversion" else IN_CHANNELS
    x = torch.zeros(1, channels, size, size)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    model.train(was_training)
    return {"name": name, "params": count_parameters(model), "gflops": counter.get_total_flops() / 1e9, "size": size}
