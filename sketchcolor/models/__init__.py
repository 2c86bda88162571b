"""The nets: roles, architectures and their explicit registry.

A **role** is a place in the pipeline (``inversion``: line art -> L; ``color``: L + hints -> ab) with a declared
interface (:mod:`sketchcolor.models.interface`: what the pipeline, the trainer and the benchmark may call). An
**architecture** is a net that fills a role: a config dataclass and a module class, registered by name in
:data:`ARCHITECTURES`. Checkpoints store each role's net as ``{"arch": name, **asdict(config)}``; a spec without
``"arch"`` (checkpoints written before architectures had names) means the role's default architecture.

Adding a net: write its config dataclass and module in its own file, implement the role's interface (the
:class:`~sketchcolor.models.interface.ColorModel` or :class:`~sketchcolor.models.interface.InversionModel`
members), and add one line to :data:`ARCHITECTURES`. Train it with ``--set model.color.arch=NAME`` (plus its own
config keys as ``--set model.color.KEY=VALUE``); checkpoints, the Colorizer, evaluation and the benchmark then use it
unchanged.
"""

from __future__ import annotations

from dataclasses import is_dataclass
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sketchcolor.errors import ConfigError
from sketchcolor.models.color import IN_CHANNELS, ColorConfig, ColorNet, base_ab, color_input
from sketchcolor.models.configs import from_dict, to_dict
from sketchcolor.models.discriminator import DiscriminatorConfig, PatchDiscriminator
from sketchcolor.models.interface import ColorModel, ColorOutput, InversionModel
from sketchcolor.models.inversion import InversionConfig, InversionNet


class Architecture(NamedTuple):
    """A registered net: the ``role`` it fills, its config dataclass and its module class."""

    role: str
    config_cls: type
    net_cls: type


class Role(NamedTuple):
    """A place in the pipeline: the architecture used when a spec names none, and the interface a net must have."""

    default_arch: str
    interface: type


ARCHITECTURES: dict[str, Architecture] = {
    "inversion-unet": Architecture("inversion", InversionConfig, InversionNet),
    "color-unet": Architecture("color", ColorConfig, ColorNet),
}

ROLES: dict[str, Role] = {
    "inversion": Role("inversion-unet", InversionModel),
    "color": Role("color-unet", ColorModel),
}

ARCH_KEY = "arch"
# The most parameters a config may ask for: the shipped nets have about 2 M, and a config asking for billions (a
# typo'd width) must fail at once, not after trying to allocate terabytes.
MAX_PARAMETERS = 200_000_000

__all__ = [
    "ARCHITECTURES",
    "ARCH_KEY",
    "ROLES",
    "Architecture",
    "Role",
    "build_model",
    "count_flops",
    "count_parameters",
    "full_spec",
    "model_arch",
    "model_config",
    "net_spec",
    "color_input",
    "base_ab",
    "ColorConfig",
    "ColorModel",
    "ColorNet",
    "ColorOutput",
    "InversionConfig",
    "InversionModel",
    "InversionNet",
    "DiscriminatorConfig",
    "PatchDiscriminator",
    "IN_CHANNELS",
    "MAX_PARAMETERS",
]


def _check_role(role: str) -> Role:
    if role not in ROLES:
        raise ConfigError(f"unknown model {role!r}; allowed: {sorted(ROLES)}")
    return ROLES[role]


def _arch_of(role: str, spec: dict[str, Any] | Any | None) -> tuple[str, Architecture]:
    """The architecture a spec names (or implies by its config class), checked against ``role``."""
    default = _check_role(role).default_arch
    if is_dataclass(spec) and not isinstance(spec, type):
        # The exact config class: an architecture's config may subclass another's.
        names = [n for n, a in ARCHITECTURES.items() if a.role == role and type(spec) is a.config_cls]
        if not names:
            raise ConfigError(f"a {type(spec).__name__} is no config of a {role!r} net")
        name = names[0]
    elif spec is None or isinstance(spec, dict):
        name = (spec or {}).get(ARCH_KEY, default)
    else:
        raise ConfigError(f"config for {role!r} must be a dict or a config dataclass, got {type(spec).__name__}")
    if name not in ARCHITECTURES or ARCHITECTURES[name].role != role:
        allowed = sorted(n for n, a in ARCHITECTURES.items() if a.role == role)
        raise ConfigError(f"unknown {role}.{ARCH_KEY} {name!r}; allowed: {allowed}")
    return name, ARCHITECTURES[name]


def model_config(role: str, spec: dict[str, Any] | Any | None = None, *, where: str | None = None):
    """The config dataclass of the ``role`` net that ``spec`` describes: a dict in the checkpoint's form
    (``{"arch": ..., **config}``; no ``"arch"`` = the role's default), a config instance, or None (defaults).
    ``where`` names the spec in error messages (default: the role)."""
    _, arch = _arch_of(role, spec)
    if isinstance(spec, arch.config_cls):
        return spec
    config = {k: v for k, v in (spec or {}).items() if k != ARCH_KEY}
    return from_dict(arch.config_cls, config, where=where or role)


def model_arch(role: str, spec: dict[str, Any] | Any | None = None) -> str:
    """The architecture name of the ``role`` net that ``spec`` describes (see :func:`model_config`)."""
    return _arch_of(role, spec)[0]


def build_model(role: str, spec: dict[str, Any] | Any | None = None) -> nn.Module:
    """Build the ``role`` net ("inversion" | "color") that ``spec`` describes (see :func:`model_config`).

    Unknown roles, architectures or config keys and bad values raise :class:`ConfigError` naming what is allowed.
    """
    _, arch = _arch_of(role, spec)
    config = model_config(role, spec)
    with torch.device("meta"):  # shapes only: count what the config asks for before allocating it
        planned = count_parameters(arch.net_cls(config))
    if planned > MAX_PARAMETERS:
        raise ConfigError(f"the {role} config asks for {planned / 1e6:,.0f} M parameters; at most "
                          f"{MAX_PARAMETERS / 1e6:,.0f} M are allowed (the shipped nets have about 2 M)")
    net = arch.net_cls(config)
    if not isinstance(net, ROLES[role].interface):
        raise ConfigError(f"{arch.net_cls.__name__} does not implement the {role!r} interface")
    return net


def net_spec(role: str, net: nn.Module) -> dict[str, Any]:
    """What a checkpoint records of the ``role`` net ``net``: ``{"arch": name, **asdict(config)}``."""
    config = getattr(net, "config", None)
    if config is None or not is_dataclass(config):
        raise ConfigError(f"{type(net).__name__} has no config dataclass; only registered nets can be saved")
    return full_spec(role, config)


def full_spec(role: str, spec: dict[str, Any] | Any | None = None, *, where: str | None = None) -> dict[str, Any]:
    """``spec`` (see :func:`model_config`) checked and written out whole: ``{"arch": name, **every config key}``,
    JSON-ready."""
    config = model_config(role, spec, where=where)
    return {ARCH_KEY: model_arch(role, config), **to_dict(config)}


def count_parameters(module: nn.Module) -> int:
    """Number of parameters of a torch module, trainable or frozen (what a checkpoint stores)."""
    return sum(p.numel() for p in module.parameters())


def count_flops(module: nn.Module, *inputs: Any) -> int:
    """FLOPs of one ``module(*inputs)`` call as ``torch.utils.flop_counter`` counts them (2 per multiply-add).

    Works on the "meta" device too (shapes only, no real computation). Put the module in eval mode first.
    """
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        module(*inputs)
    return int(counter.get_total_flops())
