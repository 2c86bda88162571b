"""Process groups for one or many training processes: joining one, each one's device, agreeing on flags."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from sketchcolor.errors import ConfigError


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


def max_each(values: Sequence[int], d: Dist, device: torch.device) -> list[int]:
    """Each of ``values``' maximum over the processes, all in one all-reduce (flags: 0/1, signal numbers)."""
    if not d.enabled:
        return [int(v) for v in values]
    t = torch.tensor([int(v) for v in values], dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [int(v) for v in t.tolist()]


def any_true(flag: bool, d: Dist, device: torch.device) -> bool:
    """True when ``flag`` holds on at least one process."""
    return max_each([flag], d, device)[0] > 0


def all_true(flag: bool, d: Dist, device: torch.device) -> bool:
    """True when ``flag`` holds on every process."""
    return not any_true(not flag, d, device)
