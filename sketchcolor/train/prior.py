"""The ab prior of a run (class rebalancing): counted once over the training targets, cached in ``prior.json``
with the key of what it was counted from (:func:`prior_key`), and counted again when that changes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader

from sketchcolor import color as C
from sketchcolor.atomic import write_json_atomic
from sketchcolor.train.config import TrainConfig
from sketchcolor.train.data import make_dataset
from sketchcolor.train.distributed import Dist

log = logging.getLogger(__name__)

PRIOR_FILE = "prior.json"


def compute_prior(cfg: TrainConfig, bins: Tensor) -> tuple[Tensor, int]:
    """The ab prior (Q,) over ``bins`` from ``data.prior_samples`` training targets (no augmentation): the first
    ones, or, when the manifest weights its entries, a weighted draw seeded by the run's seed (so the prior
    matches what training sees); and how many targets were counted."""
    ds = make_dataset(cfg, "train", train=False, hints=False)
    n = min(len(ds), cfg.data.prior_samples)
    weights = torch.as_tensor(ds.weights)
    if bool((weights != weights[0]).any()):
        g = torch.Generator().manual_seed(cfg.seed)
        indices = torch.multinomial(weights, n, replacement=False, generator=g).tolist()
    else:
        indices = list(range(n))
    loader = DataLoader(torch.utils.data.Subset(ds, indices), batch_size=16, num_workers=0)
    prior = C.ab_prior((batch["lab"][:, 1:] for batch in loader), bins)
    return prior.float(), n


def prior_key(cfg: TrainConfig, bins: Tensor) -> dict[str, Any]:
    """What the prior is counted from: the manifest's bytes, how many targets are counted, the data settings
    the targets are made with (crop size, task) and the bin centres. Not the manifest's path: the same manifest
    moved elsewhere gives the same prior."""
    return {
        "manifest_sha256": file_sha256(cfg.data.manifest),
        "prior_samples": cfg.data.prior_samples,
        "size": cfg.data.size,
        "task": cfg.task,
        "centres": bins.tolist(),
    }


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_or_compute_prior(cfg: TrainConfig, out: Path, d: Dist, device: torch.device, bins: Tensor) -> Tensor:
    """The run's prior: ``prior.json`` when it was computed from the same :func:`prior_key`, else computed anew
    (and cached) by rank 0; sent to all ranks. A cache that cannot be written only costs the next start a
    recount."""
    prior = torch.zeros(bins.shape[0])
    if d.main:
        path = out / PRIOR_FILE
        cached = json.loads(path.read_text()) if path.exists() else None
        key = prior_key(cfg, bins)
        if cached and all(cached.get(k) == v for k, v in key.items()):
            prior = torch.tensor(cached["prior"], dtype=torch.float32)
        else:
            t0 = time.perf_counter()
            prior, n = compute_prior(cfg, bins)
            log.info("ab prior from %d training targets in %.1fs", n, time.perf_counter() - t0)
            try:
                write_json_atomic(path, {**key, "bins": bins.shape[0], "samples": n, "manifest": cfg.data.manifest,
                                         "prior": [float(p) for p in prior]})  # exact: resume must match
            except OSError as exc:
                log.warning("could not cache the ab prior in %s: %s", path, exc.strerror or exc)
    if d.enabled:
        prior = prior.to(device)
        dist.broadcast(prior, 0)
    return prior.cpu()
