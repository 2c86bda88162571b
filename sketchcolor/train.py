"""Training: ``python -m sketchcolor.train --stage inversion|color|joint --data MANIFEST --out runs/NAME``.

One process or many (``torchrun --nproc-per-node N -m sketchcolor.train ...``: DistributedDataParallel, gloo on
CPU, nccl on GPU, rank 0 alone writes). The run folder is a checkpoint folder (``model.safetensors``,
``config.json``, ``meta.json``; :meth:`sketchcolor.Colorizer.from_pretrained` loads it) plus

- ``train_config.json``: the full :class:`TrainConfig` (``--config FILE`` reads one; ``--set a.b=v`` overrides);
- ``trainer_state.pt``: everything ``--resume`` needs to continue exactly (weights, optimizer state, step, RNG
  states) as plain tensors/dicts, loadable with ``torch.load(weights_only=True)``;
- ``prior.json``: the ab prior over the bins from the training targets (class rebalancing), computed once;
- ``log.csv``, ``loss.png`` and ``samples/step_NNNNNNN.png`` (val pictures: input | L | prediction | target).

Stages:

- ``inversion``: line art -> L (L1 + edge loss) on sketch samples.
- ``color``: (L, hints, propagated fills) -> ab. Gray-task samples get the true L. Sketch samples get the L
  estimate of a frozen inversion net (``--inversion PATH``, or the inversion net inside ``--init PATH``) so the
  color net learns on the imperfect L it meets at inference; with no inversion net they fall back to the true L.
  The frozen inversion net is saved with the run so the folder colors sketches on its own.
- ``joint``: line -> inversion -> L estimate -> color, end to end (color loss + ``loss.joint_inversion`` x the
  inversion loss, which keeps the L estimate an L); gray-task samples bypass the inversion net.

Batches are per process (global batch = batch_size x processes). Data order is a pure function of (seed,
epoch, index) — DistributedSampler permutations and :class:`sketchcolor.data.PairDataset` samples — so a resumed
run skips the batches it already saw and reproduces an uninterrupted one bit for bit on CPU.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import math
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler

from sketchcolor import color as C
from sketchcolor.data.augment import AugmentConfig
from sketchcolor.errors import CheckpointError, ConfigError, SketchcolorError
from sketchcolor.hints import HintSimConfig
from sketchcolor.losses import (
    ColorLossConfig,
    InversionLossConfig,
    color_loss,
    gan_loss,
    inversion_loss,
)
from sketchcolor.models import (
    ColorConfig,
    ColorNet,
    DiscriminatorConfig,
    InversionConfig,
    InversionNet,
    PatchDiscriminator,
    build_model,
    color_input,
)
from sketchcolor.models.configs import apply_overrides, from_dict, parse_value, to_dict

log = logging.getLogger(__name__)

STAGES = ("inversion", "color", "joint")
STATE_FILE = "trainer_state.pt"
TRAIN_CONFIG_FILE = "train_config.json"
PRIOR_FILE = "prior.json"
LOG_FILE = "log.csv"


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


# ----------------------------------------------------------------------------------------------------- configs


@dataclass
class ModelConfigs:
    """Configs of the two nets (see :mod:`sketchcolor.models`)."""

    inversion: InversionConfig = field(default_factory=InversionConfig)
    color: ColorConfig = field(default_factory=ColorConfig)


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
    temperature: float = 0.38
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


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warmup over ``optim.warmup_steps``, then
    cosine decay from ``optim.lr`` to ``optim.lr * optim.min_lr_ratio`` at ``max_steps``."""
    o = cfg.optim
    if o.warmup_steps and step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    span = max(1, cfg.max_steps - o.warmup_steps)
    progress = min(1.0, (step - o.warmup_steps) / span)
    return o.lr * (o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


# ------------------------------------------------------------------------------------------- distributed setup


@dataclass
class Dist:
    """Process-group facts: ``rank``, ``world`` size, and whether this process writes (rank 0)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def init_distributed(device: torch.device) -> Dist:
    """Join the process group torchrun (or a test) described in the environment (RANK, WORLD_SIZE, ...)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=int(os.environ.get("LOCAL_RANK", 0)))


def resolve_device(name: str, local_rank: int) -> torch.device:
    """"auto" -> this process's GPU when CUDA is there, else CPU; otherwise the named device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available; use --device cpu")
    return device


def _all_true(flag: bool, d: Dist, device: torch.device) -> bool:
    """True when ``flag`` holds on every process."""
    if not d.enabled:
        return flag
    t = torch.tensor([0.0 if flag else 1.0], device=device)
    dist.all_reduce(t)
    return float(t) == 0.0


def _any_true(flag: bool, d: Dist, device: torch.device) -> bool:
    return not _all_true(not flag, d, device)


# ------------------------------------------------------------------------------------------------------- data


class ResumableSampler(DistributedSampler):
    """DistributedSampler that can start an epoch part-way through (``start_batch`` batches in), for exact
    resume; shuffling depends only on (seed, epoch)."""

    def __init__(self, dataset, *, num_replicas: int, rank: int, seed: int, batch_size: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.start_batch = 0

    def set_position(self, epoch: int, start_batch: int) -> None:
        self.set_epoch(epoch)
        self.start_batch = start_batch

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start_batch * self.batch_size:])

    def __len__(self) -> int:
        return super().__len__() - self.start_batch * self.batch_size


def make_dataset(cfg: TrainConfig, split: str, *, train: bool, hints: bool | None = None):
    """The :class:`sketchcolor.data.PairDataset` of ``split`` for this stage (no augmentation unless ``train``)."""
    from sketchcolor.data import PairDataset

    use_hints = cfg.data.use_hints if hints is None else hints
    hint_cfg = cfg.data.hints if (use_hints and cfg.stage != "inversion") else None
    return PairDataset(
        cfg.data.manifest,
        split=split,
        size=cfg.data.size,
        task=cfg.task,
        augment=cfg.data.augment if (train and cfg.data.use_augment) else None,
        hints=hint_cfg,
        seed=cfg.seed,
        gray_share=cfg.data.gray_share,
    )


def compute_prior(cfg: TrainConfig, bins: Tensor) -> tuple[Tensor, int]:
    """The ab prior (Q,) over ``bins`` from the first ``data.prior_samples`` training targets (no augmentation),
    and how many targets were counted."""
    ds = make_dataset(cfg, "train", train=False, hints=False)
    n = min(len(ds), cfg.data.prior_samples)
    loader = DataLoader(torch.utils.data.Subset(ds, range(n)), batch_size=16, num_workers=0)
    prior = C.ab_prior((batch["lab"][:, 1:] for batch in loader), bins)
    return prior.float(), n


def load_or_compute_prior(cfg: TrainConfig, out: Path, d: Dist, device: torch.device, bins: Tensor) -> Tensor:
    """The cached prior of the run (``prior.json``), computed by rank 0 on first use and sent to all ranks."""
    prior = torch.zeros(bins.shape[0])
    if d.main:
        path = out / PRIOR_FILE
        cached = json.loads(path.read_text()) if path.exists() else None
        if cached and cached.get("bins") == bins.shape[0] and cached.get("grid") == cfg.model.color.ab_grid:
            prior = torch.tensor(cached["prior"], dtype=torch.float32)
        else:
            t0 = time.perf_counter()
            prior, n = compute_prior(cfg, bins)
            _write_json_atomic(path, {"grid": cfg.model.color.ab_grid, "ab_max": cfg.model.color.ab_max,
                                      "bins": bins.shape[0], "samples": n, "manifest": cfg.data.manifest,
                                      "prior": [float(p) for p in prior]})  # exact: resume must match
            log.info("ab prior from %d training targets in %.1fs", n, time.perf_counter() - t0)
    if d.enabled:
        prior = prior.to(device)
        dist.broadcast(prior, 0)
    return prior.cpu()


# ----------------------------------------------------------------------------------------------- stage module


class StageModel(nn.Module):
    """The trained nets of one stage and the loss computation, as one module (so DDP wraps one forward).

    ``forward(batch)`` -> ``(loss, parts, preview)``: ``batch`` holds the dataset tensors on the device;
    ``parts`` are floats for logging; ``preview`` holds what the sample grid shows (L and, for color stages,
    the color input).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        inversion: InversionNet | None,
        color: ColorNet | None,
        frozen_inversion: InversionNet | None,
        rebalance: Tensor | None,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.stage = cfg.stage
        self.inversion = inversion
        self.color = color
        # Kept out of the parameter list (and so out of DDP and the optimizer): a frozen helper, not trained.
        self._frozen = [frozen_inversion] if frozen_inversion is not None else []
        if color is not None:
            self.register_buffer("rebalance", rebalance if rebalance is not None else torch.ones(color.num_bins))

    def trained_nets(self) -> dict[str, nn.Module]:
        return {k: v for k, v in (("inversion", self.inversion), ("color", self.color)) if v is not None}

    def _l_input(self, batch: dict[str, Tensor], l_true: Tensor) -> tuple[Tensor, Tensor | None]:
        """(l_norm fed to the color net, L estimate of the inversion net or None) for a color/joint batch."""
        is_sketch = batch["is_sketch"].view(-1, 1, 1, 1)
        if self.stage == "joint":
            l_est = self.inversion(batch["line"])
            return torch.where(is_sketch, l_est, l_true), l_est
        if self._frozen:
            with torch.no_grad():
                l_est = self._frozen[0](batch["line"]).clamp(-1, 1)
            return torch.where(is_sketch, l_est, l_true), None
        return l_true, None

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float], dict[str, Tensor]]:
        l_true = C.l_to_norm(batch["lab"][:, :1])
        if self.stage == "inversion":
            l_est = self.inversion(batch["line"])
            loss, parts = inversion_loss(l_est, l_true, self.cfg.loss.inversion)
            return loss, parts, {"l_norm": l_est}
        l_norm, l_est = self._l_input(batch, l_true)
        x = color_input(
            l_norm,
            C.ab_to_norm(batch["hint_ab"]),
            batch["hint_mask"],
            C.ab_to_norm(batch["fill_ab"]),
            batch["fill_mask"],
        )
        out = self.color(x)
        loss, parts = color_loss(out, x, batch["lab"][:, 1:], self.color.bins, self.rebalance, self.cfg.loss.color)
        if l_est is not None:
            sketch = batch["is_sketch"]
            if sketch.any():
                inv_loss, inv_parts = inversion_loss(l_est[sketch], l_true[sketch], self.cfg.loss.inversion)
            else:
                inv_loss, inv_parts = l_est.sum() * 0.0, {"l1": 0.0, "edge": 0.0}
            loss = loss + self.cfg.loss.joint_inversion * inv_loss
            parts.update({f"inv_{k}": v for k, v in inv_parts.items()})
        return loss, parts, {"l_norm": l_norm, "x": x, "out": out}


def prepare_batch(batch: dict[str, Any], device: torch.device, channels_last: bool) -> dict[str, Tensor]:
    """Dataset batch -> tensors on ``device`` (+ ``is_sketch`` bool (B,) from the per-sample task strings)."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    out = {k: v.to(device, non_blocking=True).contiguous(memory_format=fmt)
           for k, v in batch.items() if isinstance(v, Tensor)}
    out["is_sketch"] = torch.tensor([t == "sketch" for t in batch["task"]], device=device)
    return out


# --------------------------------------------------------------------------------------------------- files


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _rng_state() -> dict[str, Any]:
    """Torch, NumPy and Python RNG states as tensors/ints/lists (weights-only loadable)."""
    np_state = np.random.get_state(legacy=False)
    py_version, py_internal, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
        "numpy_pos": int(np_state["state"]["pos"]),
        "numpy_has_gauss": int(np_state["has_gauss"]),
        "numpy_gauss": float(np_state["gauss"]),
        "python": torch.tensor(py_internal, dtype=torch.int64),
        "python_version": int(py_version),
        "python_gauss": py_gauss,
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state({
        "bit_generator": "MT19937",
        "state": {"key": state["numpy_key"].numpy().astype(np.uint32), "pos": state["numpy_pos"]},
        "has_gauss": state["numpy_has_gauss"],
        "gauss": state["numpy_gauss"],
    })
    random.setstate((state["python_version"], tuple(int(v) for v in state["python"]), state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_trainer_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` of plain tensors/dicts/ints to ``path`` atomically (temp file + os.replace)."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_trainer_state(path: Path) -> dict[str, Any]:
    """Read ``trainer_state.pt`` with ``weights_only=True``; CheckpointError when missing or unreadable."""
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {path.name} to resume from (was the run started with this --out?)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise CheckpointError(f"{path}: corrupt or truncated trainer state ({type(exc).__name__}: {exc})") from None


def plot_losses(rows: list[dict[str, Any]], path: Path) -> None:
    """Loss curves (total and each part, log scale) from the CSV rows to ``path`` (PNG), atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    keys = [k for k in rows[0] if k not in ("step", "epoch", "lr", "samples_per_s", "elapsed_s")]
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key in keys:
        values = [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]
        ax.plot(steps, values, label=key, linewidth=1.5 if key == "loss" else 0.8)
    ax.set_xlabel("step")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------- trainer


class Trainer:
    """One run: builds data, nets and optimizer from a :class:`TrainConfig`, trains, logs and checkpoints.

    ``out`` is the run folder; ``init`` a checkpoint whose weights start the trained nets; ``inversion_path``
    a checkpoint with the frozen inversion net for the color stage; ``resume`` continues from ``out``.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        out: str | os.PathLike,
        *,
        init: str | None = None,
        inversion_path: str | None = None,
        resume: bool = False,
        argv: Sequence[str] | None = None,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.out = Path(out)
        self.argv = list(argv or [])
        self.progress = progress
        device = resolve_device(cfg.device, int(os.environ.get("LOCAL_RANK", 0)))
        self.dist = init_distributed(device)
        self.device = device
        if device.type == "cuda":
            torch.cuda.set_device(device)
        self.autocast_dtype = torch.bfloat16 if (
            cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")) else None
        self.channels_last = device.type == "cuda"
        if not cfg.data.manifest:
            raise ConfigError("no training data: pass --data MANIFEST (or data.manifest in --config)")
        if not Path(cfg.data.manifest).is_file():
            raise ConfigError(f"--data {cfg.data.manifest}: no such manifest file")

        state = load_trainer_state(self.out / STATE_FILE) if resume else None
        _seed_everything(cfg.seed)
        self.step = 0
        self.history: list[dict[str, Any]] = []

        inversion, color, frozen = self._build_nets(init, inversion_path, state)
        self.frozen = frozen
        rebalance = None
        if color is not None:
            if self.dist.main:
                self.out.mkdir(parents=True, exist_ok=True)
            prior = load_or_compute_prior(cfg, self.out, self.dist, device, color.bins)
            rebalance = C.rebalance_weights(prior.double(), cfg.loss.color.rebalance_lambda).float()
        self.model = StageModel(cfg, inversion, color, frozen, rebalance).to(device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt_cls = torch.optim.AdamW if cfg.optim.optimizer == "adamw" else torch.optim.Adam
        weight_decay = cfg.optim.weight_decay if cfg.optim.optimizer == "adamw" else 0.0
        self.optimizer = opt_cls(params, lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=weight_decay)

        self.disc = None
        if cfg.loss.adversarial > 0 and cfg.stage != "inversion":
            self.disc = PatchDiscriminator(cfg.loss.discriminator).to(device)
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas)

        if state is not None:
            self._restore(state)
        self.ddp_model: nn.Module = self.model
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
            if self.disc is not None:
                self.ddp_disc = nn.parallel.DistributedDataParallel(self.disc, device_ids=ids)
        elif self.disc is not None:
            self.ddp_disc = self.disc

        self.train_set = make_dataset(cfg, "train", train=True)
        self.sampler = ResumableSampler(self.train_set, num_replicas=self.dist.world, rank=self.dist.rank,
                                        seed=cfg.seed, batch_size=cfg.batch_size)
        self.steps_per_epoch = len(self.sampler) // cfg.batch_size
        if self.steps_per_epoch == 0:
            raise ConfigError(
                f"batch size {cfg.batch_size} x {self.dist.world} processes is larger than the "
                f"{len(self.train_set)} training pairs; lower --batch-size"
            )
        self._val_batch: dict[str, Any] | None = None

    # -- construction helpers

    def _build_nets(self, init: str | None, inversion_path: str | None, state: dict[str, Any] | None):
        """(inversion, color, frozen inversion) for this stage; untrained nets are None. On resume the frozen
        net is rebuilt from the trainer state's copy."""
        from sketchcolor.checkpoint import load_checkpoint

        cfg = self.cfg
        loaded: dict[str, nn.Module] = {}
        if init:
            loaded = dict(load_checkpoint(init).models)
            log.info("initial weights from %s (%s)", init, ", ".join(sorted(loaded)))
        wanted = {"inversion": ("inversion", "joint"), "color": ("color", "joint")}
        nets: dict[str, nn.Module | None] = {}
        for name, stages in wanted.items():
            if cfg.stage not in stages:
                nets[name] = None
            elif name in loaded:
                nets[name] = loaded[name].train()
                # The init checkpoint's architecture wins; record it so the saved config matches the weights.
                setattr(cfg.model, name, nets[name].config)
            else:
                nets[name] = build_model(name, getattr(cfg.model, name))
        frozen = None
        if cfg.stage == "color":
            if state is not None and "frozen_inversion" in state:
                frozen = build_model("inversion", state["frozen_inversion_config"])
                frozen.load_state_dict(state["frozen_inversion"])
            elif inversion_path:
                frozen = load_checkpoint(inversion_path, names=["inversion"]).models["inversion"]
            elif "inversion" in loaded:
                frozen = loaded["inversion"]
            if frozen is not None:
                frozen = frozen.to(self.device).eval().requires_grad_(False)
        return nets["inversion"], nets["color"], frozen

    def _restore(self, state: dict[str, Any]) -> None:
        nets = self.model.trained_nets()
        if sorted(state["models"]) != sorted(nets):
            raise CheckpointError(
                f"{self.out}: trainer state holds {sorted(state['models'])}, "
                f"stage {self.cfg.stage} trains {sorted(nets)}"
            )
        for name, net in nets.items():
            net.load_state_dict(state["models"][name])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.disc is not None and "discriminator" in state:
            self.disc.load_state_dict(state["discriminator"])
            self.disc_opt.load_state_dict(state["discriminator_optimizer"])
        self.step = int(state["step"])
        _set_rng_state(state["rng"])
        if self.dist.main and (self.out / LOG_FILE).exists():
            with open(self.out / LOG_FILE, newline="") as f:
                self.history = [r for r in csv.DictReader(f) if int(r["step"]) <= self.step]
        log.info("resumed %s at step %d", self.out, self.step)

    # -- saving

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "format": "sketchcolor-trainer-state",
            "version": 1,
            "stage": self.cfg.stage,
            "step": self.step,
            "models": {k: v.state_dict() for k, v in self.model.trained_nets().items()},
            "optimizer": self.optimizer.state_dict(),
            "rng": _rng_state(),
        }
        if self.frozen is not None:
            state["frozen_inversion"] = self.frozen.state_dict()
            state["frozen_inversion_config"] = dataclasses.asdict(self.frozen.config)
        if self.disc is not None:
            state["discriminator"] = self.disc.state_dict()
            state["discriminator_optimizer"] = self.disc_opt.state_dict()
        return state

    def save(self, reason: str) -> None:
        """Write the checkpoint folder and the trainer state (rank 0 only)."""
        if not self.dist.main:
            return
        from sketchcolor.checkpoint import save_checkpoint

        self.out.mkdir(parents=True, exist_ok=True)
        nets = dict(self.model.trained_nets())
        if self.frozen is not None:
            nets["inversion"] = self.frozen
        meta = {
            "stage": self.cfg.stage,
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "samples_seen": self.step * self.cfg.batch_size * self.dist.world,
            "processes": self.dist.world,
            "reason": reason,
            "manifest": self.cfg.data.manifest,
            "command": self.argv,
            "last": self.history[-1] if self.history else {},
            "frozen_inversion": self.frozen is not None,
        }
        # The trainer state first: a crash between the two writes leaves a resumable state one save ahead of
        # the inference weights, never behind them.
        save_trainer_state(self.out / STATE_FILE, self._state())
        save_checkpoint(self.out, nets, meta=meta, extra_config={"working_size": self.cfg.data.size})
        _write_json_atomic(self.out / TRAIN_CONFIG_FILE, to_dict(self.cfg))

    # -- logging and samples

    def _log_row(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        path = self.out / LOG_FILE
        fields = list(self.history[0])
        # Rewritten whole (it is small) so a resumed run's log never holds the steps it redid twice.
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.history)
        os.replace(tmp, path)

    def _val_samples(self) -> dict[str, Any]:
        if self._val_batch is None:
            try:
                ds = make_dataset(self.cfg, "val", train=False)
            except SketchcolorError:
                ds = make_dataset(self.cfg, "train", train=False)  # no val split: show training pictures
            n = min(len(ds), self.cfg.data.val_samples)
            self._val_batch = next(iter(DataLoader(torch.utils.data.Subset(ds, range(n)), batch_size=n)))
        return self._val_batch

    @torch.no_grad()
    def write_samples(self) -> Path | None:
        """A grid of val pictures, one row each: input (line art or gray) | L fed/estimated | prediction | target."""
        if not self.dist.main:
            return None
        from PIL import Image

        from sketchcolor.image_io import save_image

        self.model.eval()
        try:
            batch = prepare_batch(self._val_samples(), self.device, False)
            with self._autocast():
                _, _, preview = self.model(batch)
            l_norm = preview["l_norm"].float().clamp(-1, 1)
            l_lab = C.norm_to_l(l_norm)
            if self.cfg.stage == "inversion":
                pred_rgb = C.lab_to_rgb(torch.cat((l_lab, torch.zeros_like(batch["lab"][:, 1:])), dim=1))
            else:
                ab = C.norm_to_ab(self.model.color.decode(preview["out"], preview["x"], self.cfg.temperature))
                pred_rgb = C.lab_to_rgb(torch.cat((l_lab, ab.float()), dim=1))
        finally:
            self.model.train()
        is_sketch = batch["is_sketch"].view(-1, 1, 1, 1)
        gray_in = torch.where(is_sketch, batch["line"], batch["lab"][:, :1] / 100.0).expand(-1, 3, -1, -1)
        l_img = (l_lab / 100.0).expand(-1, 3, -1, -1)
        # Hints drawn over the input column so a reader sees what the net was asked.
        hinted = batch.get("hint_mask", torch.zeros_like(batch["line"])) > 0
        gray_in = torch.where(hinted.expand(-1, 3, -1, -1), batch["rgb"], gray_in)
        rows = [torch.cat(cols, dim=-1) for cols in zip(gray_in, l_img, pred_rgb, batch["rgb"])]
        grid = torch.cat(rows, dim=-2).clamp(0, 1)
        grid_u8 = (grid.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
        path = self.out / "samples" / f"step_{self.step:07d}.png"
        save_image(Image.fromarray(grid_u8), path)
        return path

    def _autocast(self):
        if self.autocast_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # -- the loop

    def _loader(self, epoch: int, start_batch: int) -> DataLoader:
        from sketchcolor.data import worker_init_fn

        self.sampler.set_position(epoch, start_batch)
        # The dataset's epoch seed makes each sample a pure function of (seed, epoch, index), whatever worker.
        self.train_set.set_epoch(epoch)
        return DataLoader(
            self.train_set,
            batch_size=self.cfg.batch_size,
            sampler=self.sampler,
            num_workers=self.cfg.workers,
            worker_init_fn=worker_init_fn,
            pin_memory=self.device.type == "cuda",
            drop_last=True,
            persistent_workers=False,
        )

    def _train_step(self, batch: dict[str, Tensor], lr: float) -> tuple[Tensor, dict[str, float]]:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self._autocast():
            loss, parts, preview = self.ddp_model(batch)
        if self.disc is not None:
            fake_ab = self.model.color.decode(preview["out"], preview["x"], self.cfg.temperature)
            fake = torch.cat((preview["l_norm"], fake_ab), dim=1)
            real = torch.cat((preview["l_norm"], C.ab_to_norm(batch["lab"][:, 1:])), dim=1).detach()
            # Generator term through the plain module with D frozen, so D's DDP hooks see no gradient here.
            self.disc.requires_grad_(False)
            adv = gan_loss(self.disc(fake), real=True)
            self.disc.requires_grad_(True)
            loss = loss + self.cfg.loss.adversarial * adv
            parts["adv"] = float(adv.detach())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        if self.disc is not None:
            for group in self.disc_opt.param_groups:
                group["lr"] = lr
            d_real = gan_loss(self.ddp_disc(real), real=True)
            d_loss = 0.5 * (d_real + gan_loss(self.ddp_disc(fake.detach()), real=False))
            self.disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.disc_opt.step()
            parts["disc"] = float(d_loss.detach())
        return loss, parts

    def fit(self) -> dict[str, Any]:
        """Train until ``max_steps`` or ``max_minutes``; returns the last logged row. Raises
        :class:`TrainingDiverged` (after keeping the last good checkpoint) on a NaN/inf loss."""
        from tqdm import tqdm

        cfg, d = self.cfg, self.dist
        if d.main:
            self.out.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(self.out / TRAIN_CONFIG_FILE, to_dict(cfg))
        start_time = time.perf_counter()
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not (d.main and self.progress),
                   desc=f"train {cfg.stage}", dynamic_ncols=True)
        window_t, window_n = time.perf_counter(), 0
        sums: dict[str, float] = {}
        last: dict[str, Any] = {}
        stop_reason = "max_steps"
        self.model.train()
        while self.step < cfg.max_steps:
            epoch, start_batch = divmod(self.step, self.steps_per_epoch)
            for raw in self._loader(epoch, start_batch):
                batch = prepare_batch(raw, self.device, self.channels_last)
                loss, parts = self._train_step(batch, lr_at(self.step, cfg))
                finite = _all_true(bool(torch.isfinite(loss.detach()).item()), d, self.device)
                if not finite:
                    bar.close()
                    raise TrainingDiverged(
                        f"loss became {float(loss.detach())} at step {self.step} (parts {parts}); stopped without "
                        f"saving, the last good checkpoint in {self.out} (step {self._last_saved_step()}) is kept; "
                        "try a lower --lr"
                    )
                self.optimizer.step()
                self.step += 1
                window_n += cfg.batch_size * d.world
                for k, v in {"loss": float(loss.detach()), **parts}.items():
                    sums[k] = sums.get(k, 0.0) + v
                sums["_n"] = sums.get("_n", 0.0) + 1
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    elapsed = time.perf_counter() - window_t
                    n = sums.pop("_n")
                    last = {"step": self.step, "epoch": epoch, "lr": f"{lr_at(self.step - 1, cfg):.3e}",
                            **{k: f"{v / n:.5f}" for k, v in sums.items()},
                            "samples_per_s": f"{window_n / max(elapsed, 1e-9):.2f}",
                            "elapsed_s": f"{time.perf_counter() - start_time:.1f}"}
                    bar.set_postfix(loss=last["loss"], sps=last["samples_per_s"])
                    if d.main:
                        self._log_row(last)
                    sums, window_t, window_n = {}, time.perf_counter(), 0
                out_of_time = cfg.max_minutes > 0 and time.perf_counter() - start_time > cfg.max_minutes * 60
                out_of_time = _any_true(out_of_time, d, self.device)
                if self.step % cfg.sample_every == 0 and d.main:
                    self.write_samples()
                    plot_losses(self.history, self.out / "loss.png")
                if self.step % cfg.checkpoint_every == 0 and self.step < cfg.max_steps and not out_of_time:
                    self.save("periodic")
                if out_of_time:
                    stop_reason = "max_minutes"
                    break
                if self.step >= cfg.max_steps:
                    break
            if stop_reason == "max_minutes":
                break
        bar.close()
        self.save(stop_reason)
        if d.main:
            self.write_samples()
            plot_losses(self.history, self.out / "loss.png")
            log.info("stopped at step %d (%s); run folder %s", self.step, stop_reason, self.out)
        return last

    def _last_saved_step(self) -> int | str:
        path = self.out / "meta.json"
        try:
            return json.loads(path.read_text())["step"]
        except (OSError, ValueError, KeyError):
            return "none"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------------- CLI


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sketchcolor.train",
        description="Train the sketch-inversion net, the color net, or both end to end.",
    )
    p.add_argument("--stage", choices=STAGES, help="what to train (default: from --config, else color)")
    p.add_argument("--data", metavar="MANIFEST", help="pair manifest (JSONL)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder (becomes a checkpoint folder)")
    p.add_argument("--config", metavar="FILE", help="TrainConfig JSON (e.g. a run's train_config.json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a config key, e.g. --set model.color.width=32 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--init", metavar="PATH", help="checkpoint whose weights start the trained nets")
    p.add_argument("--inversion", metavar="PATH", help="color stage: checkpoint with the frozen inversion net")
    p.add_argument("--max-steps", type=int, help="optimizer steps in total")
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--batch-size", type=int, help="samples per process per step")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--workers", type=int, help="data loader worker processes")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config: the resumed run's saved config (``--resume``) or ``--config`` FILE, then ``--set``
    overrides, then the dedicated flags."""
    base: dict[str, Any] = {}
    source = Path(args.out) / TRAIN_CONFIG_FILE if args.resume else (Path(args.config) if args.config else None)
    if source is not None:
        try:
            base = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(base, dict):
            raise ConfigError(f"{source}: expected a JSON object")
    overrides: dict[str, Any] = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. model.color.width=32")
        overrides[key.strip()] = parse_value(value.strip())
    flags = {"stage": args.stage, "data.manifest": args.data, "max_steps": args.max_steps,
             "max_minutes": args.max_minutes, "device": args.device, "batch_size": args.batch_size,
             "optim.lr": args.lr, "workers": args.workers, "seed": args.seed}
    overrides.update({k: v for k, v in flags.items() if v is not None})
    return load_config(base, overrides)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sketchcolor.train`` and ``sketchcolor train``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.resume and (args.init or args.inversion):
            raise ConfigError("--resume continues a run as saved; it cannot take --init or --inversion")
        cfg = config_from_args(args)
        trainer = Trainer(cfg, args.out, init=args.init, inversion_path=args.inversion, resume=args.resume,
                          argv=argv, progress=not args.no_progress)
        trainer.fit()
        if dist.is_initialized():
            # Leave together: a rank that tears gloo down while rank 0 still writes the last checkpoint can abort.
            dist.barrier()
    except (SketchcolorError, TrainingDiverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
