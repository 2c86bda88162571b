"""The training run's typed config (:class:`TrainConfig` and its parts), its JSON form, and the LR schedule."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sketchcolor import color as C
from sketchcolor.atomic import write_json_atomic
from sketchcolor.data.augment import AugmentConfig
from sketchcolor.errors import ConfigError
from sketchcolor.hints import HintSimConfig
from sketchcolor.losses import ColorLossConfig, InversionLossConfig
from sketchcolor.models import DiscriminatorConfig, full_spec
from sketchcolor.models.configs import apply_overrides, from_dict, to_dict

STAGES = ("inversion", "color", "joint")
TRAIN_CONFIG_FILE = "train_config.json"


@dataclass
class ModelConfigs:
    """Each role's net in the form a checkpoint's config.json records it: ``{"arch": name, **its config}``
    (:mod:`sketchcolor.models`; no ``"arch"`` means the role's default architecture). ``--set
    model.color.arch=NAME`` picks another registered architecture, ``--set model.color.KEY=VALUE`` sets a key of its
    config. Checked and written out whole when the config is built, so ``train_config.json`` shows every key."""

    inversion: dict[str, Any] = field(default_factory=dict)
    color: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for role in ("inversion", "color"):
            setattr(self, role, full_spec(role, getattr(self, role), where=f"model.{role}"))


@dataclass
class DataConfig:
    """``manifest``: the pair manifest (``--data``); ``size``: training crop side (the nets' working size);
    ``task``: "auto" (inversion: sketch; color and joint: mixed), "sketch", "gray" or "mixed"; ``gray_share``:
    share of gray samples in mixed; ``augment``: augmentation (``use_augment`` false turns it off);
    ``use_hints`` / ``hints``: simulated hints (:class:`sketchcolor.hints.HintSimConfig`);
    ``prior_samples``: training targets counted for the ab prior; ``val_samples``: pictures in sample grids."""

    manifest: str = ""
    size: int = 256
    task: str = "auto"
    gray_share: float = 0.5
    use_augment: bool = True
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    use_hints: bool = True
    hints: HintSimConfig = field(default_factory=HintSimConfig)
    prior_samples: int = 400
    val_samples: int = 6


@dataclass
class OptimConfig:
    """AdamW (or Adam) with linear warmup then cosine decay to ``min_lr_ratio`` x ``lr`` at ``max_steps``;
    ``grad_clip`` is the max global gradient norm (0 = off)."""

    optimizer: str = "adamw"
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0


@dataclass
class LossConfigs:
    """Loss weights: ``color`` / ``inversion`` terms, ``joint_inversion`` (weight of the inversion loss in the
    joint stage), ``adversarial`` (PatchGAN term on the decoded color, 0 = off) and its ``discriminator``."""

    color: ColorLossConfig = field(default_factory=ColorLossConfig)
    inversion: InversionLossConfig = field(default_factory=InversionLossConfig)
    joint_inversion: float = 0.5
    adversarial: float = 0.0
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as ``train_config.json``. ``batch_size`` is per process;
    ``max_minutes`` (0 = none) stops early with a checkpoint; ``device``: "auto" | "cpu" | "cuda" | "cuda:N";
    ``precision``: "auto" (bf16 autocast on CUDA, fp32 on CPU) | "fp32" | "bf16"."""

    stage: str = "color"
    seed: int = 0
    max_steps: int = 20000
    max_minutes: float = 0.0
    batch_size: int = 16
    workers: int = 2
    device: str = "auto"
    precision: str = "auto"
    temperature: float = C.DEFAULT_TEMPERATURE
    log_every: int = 10
    sample_every: int = 500
    checkpoint_every: int = 500
    model: ModelConfigs = field(default_factory=ModelConfigs)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfigs = field(default_factory=LossConfigs)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ConfigError(f"unknown stage {self.stage!r}; allowed: {list(STAGES)}")
        if self.data.task not in ("auto", "sketch", "gray", "mixed"):
            raise ConfigError(f"data.task {self.data.task!r} is unknown; allowed: ['auto', 'sketch', 'gray', 'mixed']")
        if self.optim.optimizer not in ("adam", "adamw"):
            raise ConfigError(f"optim.optimizer {self.optim.optimizer!r} is unknown; allowed: ['adam', 'adamw']")
        if self.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"precision {self.precision!r} is unknown; allowed: ['auto', 'fp32', 'bf16']")
        positive = {"max_steps": self.max_steps, "batch_size": self.batch_size, "log_every": self.log_every,
                    "sample_every": self.sample_every, "checkpoint_every": self.checkpoint_every,
                    "data.size": self.data.size, "optim.lr": self.optim.lr, "temperature": self.temperature}
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be > 0, got {value}")
        if self.workers < 0 or self.max_minutes < 0 or self.optim.warmup_steps < 0:
            raise ConfigError("workers, max_minutes and optim.warmup_steps must be >= 0")

    @property
    def task(self) -> str:
        """The dataset task this stage trains on."""
        if self.data.task != "auto":
            return self.data.task
        return "sketch" if self.stage == "inversion" else "mixed"


def load_config(
    base: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
) -> TrainConfig:
    """A :class:`TrainConfig` from a plain dict (e.g. ``--config`` JSON) with dotted-key ``overrides``
    applied; unknown keys and wrong types raise :class:`ConfigError`."""
    data = apply_overrides(base or {}, overrides or {}, TrainConfig)
    return from_dict(TrainConfig, data)


def save_train_config(folder: str | os.PathLike, cfg: TrainConfig) -> Path:
    """Write ``cfg`` as the run folder's ``train_config.json`` (what ``--resume`` and ``--config`` read back)."""
    return write_json_atomic(Path(folder) / TRAIN_CONFIG_FILE, to_dict(cfg))


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup over ``optim.warmup_steps``, then
    cosine decay from ``optim.lr`` to ``optim.lr * optim.min_lr_ratio`` at ``max_steps``."""
    o = cfg.optim
    if o.warmup_steps and step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    span = max(1, cfg.max_steps - o.warmup_steps)
    progress = min(1.0, (step - o.warmup_steps) / span)
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
