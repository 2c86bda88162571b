"""Training data: the stage's datasets, a sampler that resumes mid-epoch, and the val batch for sample grids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler

from sketchcolor.errors import SketchcolorError
from sketchcolor.train.config import TrainConfig


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


def load_val_batch(cfg: TrainConfig) -> dict[str, Any]:
    """The first ``data.val_samples`` val pairs as one batch (training pairs when there is no val split)."""
    try:
        ds = make_dataset(cfg, "val", train=False)
    except SketchcolorError:
        ds = make_dataset(cfg, "train", train=False)  # no val split: show training pictures
    n = min(len(ds), cfg.data.val_samples)
    return next(iter(DataLoader(torch.utils.data.Subset(ds, range(n)), batch_size=n)))
