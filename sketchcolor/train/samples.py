"""Sample grids, ``samples/step_NNNNNNN.png``: val pictures through the stage, one row each."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sketchcolor import color as C
from sketchcolor.train.stage import StageModel

SAMPLES_DIR = "samples"


@torch.no_grad()
def write_sample_grid(
    model: StageModel, batch: dict[str, Tensor], path: Path, *, temperature: float, autocast: AbstractContextManager
) -> Path:
    """Run ``model`` in eval mode (``autocast`` around the forward; train mode again after) on the prepared
    ``batch`` and write a grid to ``path``, one row a picture: input (line art or gray, hints drawn over) |
    L fed/estimated | prediction | target."""
    from PIL import Image

    from sketchcolor.image_io import save_image

    model.eval()
    try:
        with autocast:
            _, _, preview = model(batch)
        l_norm = preview["l_norm"].float().clamp(-1, 1)
        l_lab = C.norm_to_l(l_norm)
        if model.stage == "inversion":
            pred_rgb = C.lab_to_rgb(torch.cat((l_lab, torch.zeros_like(batch["lab"][:, 1:])), dim=1))
        else:
            ab = C.norm_to_ab(model.color.decode(preview["out"], preview["x"], temperature))
            pred_rgb = C.lab_to_rgb(torch.cat((l_lab, ab.float()), dim=1))
    finally:
        model.train()
    is_sketch = batch["is_sketch"].view(-1, 1, 1, 1)
    gray_in = torch.where(is_sketch, batch["line"], batch["lab"][:, :1] / 100.0).expand(-1, 3, -1, -1)
    l_img = (l_lab / 100.0).expand(-1, 3, -1, -1)
    # Hints drawn over the input column so a reader sees what the net was asked.
    hinted = batch.get("hint_mask", torch.zeros_like(batch["line"])) > 0
    gray_in = torch.where(hinted.expand(-1, 3, -1, -1), batch["rgb"], gray_in)
    rows = [torch.cat(cols, dim=-1) for cols in zip(gray_in, l_img, pred_rgb, batch["rgb"])]
    grid = torch.cat(rows, dim=-2).clamp(0, 1)
    grid_u8 = (grid.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    save_image(Image.fromarray(grid_u8), path)
    return path
