"""The ab prior of a run (class rebalancing): counted once over the training targets, cached in ``prior.json``."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

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
        centres = bins.tolist()
        if cached and cached.get("bins") == bins.shape[0] and cached.get("centres") == centres:
            prior = torch.tensor(cached["prior"], dtype=torch.float32)
        else:
            t0 = time.perf_counter()
            prior, n = compute_prior(cfg, bins)
            write_json_atomic(path, {"bins": bins.shape[0], "centres": centres, "samples": n,
                                     "manifest": cfg.data.manifest,
                                     "prior": [float(p) for p in prior]})  # exact: resume must match
            log.info("ab prior from %d training targets in %.1fs", n, time.perf_counter() - t0)
    if d.enabled:
        prior = prior.to(device)
        dist.broadcast(prior, 0)
    return prior.cpu()
