"""What ``--resume`` needs besides the weights: the process RNGs and ``trainer_state.pt`` (weights-only loadable)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sketchcolor.atomic import atomic_path
from sketchcolor.errors import CheckpointError

STATE_FILE = "trainer_state.pt"


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
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


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states :func:`rng_state` captured."""
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
    """``torch.save`` of plain tensors/dicts/ints to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_trainer_state(path: Path) -> dict[str, Any]:
    """Read ``trainer_state.pt`` with ``weights_only=True``; CheckpointError when missing or unreadable."""
    if not path.is_file():
        raise CheckpointError(f"{path.parent}: no {path.name} to resume from (was the run started with this --out?)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the same thing to the user
        raise CheckpointError(f"{path}: corrupt or truncated trainer state ({type(exc).__name__}: {exc})") from None
