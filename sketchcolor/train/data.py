"""Training data: the stage's datasets, a sampler that resumes mid-epoch, and the val batch for sample grids."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from sketchcolor.data.manifest import ManifestEntry, held_out_entries
from sketchcolor.errors import ConfigError, SketchcolorError
from sketchcolor.train.config import TrainConfig


class ResumableSampler(DistributedSampler):
    """DistributedSampler that can start an epoch part-way through (``start_batch`` batches in), for exact
    resume; the epoch's order depends only on (seed, epoch).

    When the dataset's ``weights`` (one per sample, e.g. :attr:`sketchcolor.data.PairDataset.weights`) are not
    all equal, an epoch draws its ``total_size`` indices with replacement in proportion to them instead of
    shuffling; the epoch's length is the same either way.
    """

    def __init__(self, dataset, *, num_replicas: int, rank: int, seed: int, batch_size: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.batch_size = batch_size
        self.start_batch = 0
        weights = getattr(dataset, "weights", None)
        self.weights: torch.Tensor | None = None
        # Equal weights keep the plain permutation, so unweighted runs (and their resumes) stay as they were.
        if weights is not None and np.ptp(np.asarray(weights, dtype=np.float64)) > 0:
            self.weights = torch.as_tensor(np.asarray(weights, dtype=np.float64))

    def set_position(self, epoch: int, start_batch: int) -> None:
        self.set_epoch(epoch)
        self.start_batch = start_batch

    def __iter__(self) -> Iterator[int]:
        if self.weights is None:
            indices = list(super().__iter__())
        else:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            drawn = torch.multinomial(self.weights, self.total_size, replacement=True, generator=g).tolist()
            # Every rank draws the same list and keeps its own stride, as DistributedSampler does.
            indices = drawn[self.rank:self.total_size:self.num_replicas]
        return iter(indices[self.start_batch * self.batch_size:])

    def __len__(self) -> int:
        return super().__len__() - self.start_batch * self.batch_size


def make_dataset(cfg: TrainConfig, split: str, *, train: bool, hints: bool | None = None):
    """The :class:`sketchcolor.data.PairDataset` of ``split`` for this stage (no augmentation unless ``train``);
    a train split that holds held-out pictures is refused (:func:`refuse_held_out`)."""
    from sketchcolor.data import PairDataset

    use_hints = cfg.data.use_hints if hints is None else hints
    hint_cfg = cfg.data.hints if (use_hints and cfg.stage != "inversion") else None
    dataset = PairDataset(
        cfg.data.manifest,
        split=split,
        size=cfg.data.size,
        task=cfg.task,
        augment=cfg.data.augment if (train and cfg.data.use_augment) else None,
        hints=hint_cfg,
        seed=cfg.seed,
        gray_share=cfg.data.gray_share,
    )
    if split == "train":
        refuse_held_out(dataset.entries, cfg.data.manifest)
    return dataset


def refuse_held_out(entries: Sequence[ManifestEntry], manifest: str | os.PathLike) -> None:
    """Raise :class:`ConfigError` if training ``entries`` hold pictures from
    :data:`sketchcolor.data.manifest.HELD_OUT_SOURCES`."""
    held_out = held_out_entries(entries)
    if held_out:
        sources = ", ".join(sorted({e.source for e in held_out}))
        raise ConfigError(
            f"--data {manifest}: the manifest's train split holds {len(held_out)} "
            f"picture{'s' if len(held_out) != 1 else ''} from held-out sources {sources} (the held-out-designer "
            "test is never trained on)"
        )


def load_val_batch(cfg: TrainConfig) -> dict[str, Any]:
    """The first ``data.val_samples`` val pairs as one batch (training pairs when there is no val split)."""
    try:
        ds = make_dataset(cfg, "val", train=False)
    except SketchcolorError:
        ds = make_dataset(cfg, "train", train=False)  # no val split: show training pictures
    n = min(len(ds), cfg.data.val_samples)
    return next(iter(DataLoader(torch.utils.data.Subset(ds, range(n)), batch_size=n)))
