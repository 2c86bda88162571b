"""One stage's trained nets and their loss as a single module (so DDP wraps one forward), and the batch it takes."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from sketchcolor import color as C
from sketchcolor.losses import color_loss, inversion_loss
from sketchcolor.models import ColorModel, InversionModel
from sketchcolor.train.config import TrainConfig


class StageModel(nn.Module):
    """The trained nets of one stage and the loss computation, as one module (so DDP wraps one forward).

    ``forward(batch)`` -> ``(loss, parts, preview)``: ``batch`` holds the dataset tensors on the device;
    ``parts`` are floats for logging; ``preview`` holds what the sample grid shows (L and, for color stages,
    the color input).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        inversion: InversionModel | None,
        color: ColorModel | None,
        frozen_inversion: InversionModel | None,
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
            self.register_buffer("rebalance", rebalance if rebalance is not None else torch.ones(color.bins.shape[0]))

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
        x = self.color.make_input(
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
