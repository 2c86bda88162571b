"""The run's loss curves, ``loss.png``, drawn from the logged rows."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sketchcolor.atomic import atomic_path

PLOT_FILE = "loss.png"


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
    with atomic_path(path) as tmp:
        fig.savefig(tmp)  # the temporary name keeps the .png suffix, which picks the format
    plt.close(fig)
