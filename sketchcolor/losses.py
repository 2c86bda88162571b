"""Training losses: rebalanced soft cross-entropy over ab bins, Huber on the correction head, the fill-trust
gate, sketch-inversion losses (L1 + edges, optional SSIM), and the optional adversarial term.

Conventions: ``ab`` is in Lab units, ``ab_norm = ab / 110``, ``l_norm = (L - 50) / 50``; every loss returns a
scalar averaged over pixels (and the batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from sketchcolor import color as C
from sketchcolor.errors import ConfigError
from sketchcolor.models.color import ColorOutput, base_ab


@dataclass
class ColorLossConfig:
    """Weights of the color-net loss terms.

    ``ce``: rebalanced soft cross-entropy (everywhere); ``huber``: Huber on the correction head where it is
    used (hinted and filled pixels); ``huber_everywhere``: the same on all other pixels (a plain regression,
    small or off); ``gate``: the fill-trust gate's binary cross-entropy; ``trust_ab``: how close (Lab units) the
    fill must be to the target to count as trustworthy; ``soft_k`` / ``soft_sigma``: soft encoding (5 nearest
    bins, Gaussian sigma 5); ``rebalance_lambda``: mix of prior and uniform in the rebalancing weights.
    """

    ce: float = 1.0
    huber: float = 1.0
    huber_everywhere: float = 0.0
    gate: float = 0.5
    trust_ab: float = 10.0
    soft_k: int = 5
    soft_sigma: float = 5.0
    rebalance_lambda: float = 0.5

    def __post_init__(self) -> None:
        for name in ("ce", "huber", "huber_everywhere", "gate", "trust_ab", "soft_sigma"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        if self.soft_k < 1:
            raise ConfigError(f"loss.soft_k must be >= 1, got {self.soft_k}")
        if not 0.0 <= self.rebalance_lambda <= 1.0:
            raise ConfigError(f"loss.rebalance_lambda must be in [0, 1], got {self.rebalance_lambda}")


@dataclass
class InversionLossConfig:
    """Weights of the inversion loss: ``l1`` on l_norm, ``edge`` L1 on its horizontal/vertical differences
    (keeps region boundaries sharp), ``ssim`` (1 - SSIM on L / 100; off by default)."""

    l1: float = 1.0
    edge: float = 0.5
    ssim: float = 0.0

    def __post_init__(self) -> None:
        for name in ("l1", "edge", "ssim"):
            if getattr(self, name) < 0:
                raise ConfigError(f"loss.inversion.{name} must be >= 0, got {getattr(self, name)}")


def downsample_ab(ab: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-average ``ab`` (B, 2, H, W) to ``size`` (the logits' resolution); identity at the same size."""
    if tuple(ab.shape[-2:]) == tuple(size):
        return ab
    return F.interpolate(ab, size=size, mode="area")


def rebalanced_soft_ce(
    logits: Tensor,
    ab_target: Tensor,
    bins: Tensor,
    weights: Tensor | None = None,
    *,
    k: int = 5,
    sigma: float = 5.0,
) -> Tensor:
    """Soft-encoded, class-rebalanced cross-entropy (Zhang et al. 2016, eq. 2 and 3), in its KL form.

    ``logits`` (B, Q, h, w); ``ab_target`` (B, 2, H, W) Lab units, area-averaged to (h, w) first; ``bins``
    (Q, 2); ``weights`` (Q,) rebalancing weights (None = all 1). Each pixel's cross-entropy against its soft
    target (k nearest bins, Gaussian ``sigma``) is weighted by the weight of its nearest bin; the result is the
    mean over pixels. The targets' own entropy (a constant, about 1.1 nats for the default encoding) is
    subtracted: the gradients are Zhang's, and a perfect fit reads 0, so logged values show real progress.
    """
    ab_small = downsample_ab(ab_target.float(), tuple(logits.shape[-2:]))
    with torch.no_grad():
        target = C.soft_encode(ab_small, bins, k=k, sigma=sigma)  # (B, Q, h, w), sums to 1 over Q
        entropy = -(target * torch.log(target.clamp_min(1e-12))).sum(dim=1)  # (B, h, w)
    ce = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1) - entropy  # (B, h, w), >= 0
    if weights is not None:
        # The Gaussian soft encoding peaks at the nearest bin, so its argmax is the nearest bin.
        ce = ce * weights.to(ce)[target.argmax(dim=1)]
    return ce.mean()


def huber_ab(ab_norm: Tensor, target_ab_norm: Tensor, mask: Tensor | None = None) -> Tensor:
    """Huber loss on ab with a 1-Lab-unit knee (Zhang et al. 2017), scaled to ab_norm units so that large errors
    cost |error| in ab_norm; averaged over the pixels where ``mask`` (B, 1, H, W) is 1 (0 if none)."""
    per_px = F.smooth_l1_loss(ab_norm.float(), target_ab_norm.float(), beta=1.0 / C.AB_SCALE, reduction="none")
    per_px = per_px.sum(dim=1, keepdim=True)  # (B, 1, H, W)
    if mask is None:
        return per_px.mean()
    mask = mask.to(per_px)
    return (per_px * mask).sum() / mask.sum().clamp_min(1.0)


def gate_targets(x: Tensor, target_ab_norm: Tensor, trust_ab: float = 10.0) -> tuple[Tensor, Tensor]:
    """Where the classical answer in ``x`` (B, 7, H, W) deserves trust: ``(trusted (B, 1, H, W) in {0, 1},
    base_mask (B, 1, H, W))`` — trusted where there is a base color within ``trust_ab`` Lab units of the target."""
    base, base_mask = base_ab(x)
    err_ab = (base - target_ab_norm).norm(dim=1, keepdim=True) * C.AB_SCALE
    return ((err_ab < trust_ab).to(base) * base_mask), base_mask


def gate_loss(gate_logit: Tensor, trusted: Tensor, base_mask: Tensor) -> Tensor:
    """Binary cross-entropy of the gate (B, 1, H, W) against ``trusted``, over pixels with a base color only
    (elsewhere the gate is masked to 0 anyway)."""
    bce = F.binary_cross_entropy_with_logits(gate_logit.float(), trusted.float(), reduction="none")
    return (bce * base_mask).sum() / base_mask.sum().clamp_min(1.0)


def color_loss(
    out: ColorOutput,
    x: Tensor,
    target_ab: Tensor,
    bins: Tensor,
    weights: Tensor | None,
    cfg: ColorLossConfig,
) -> tuple[Tensor, dict[str, float]]:
    """The color net's total loss for output ``out`` of input ``x`` (B, 7, H, W) against ``target_ab``
    (B, 2, H, W) Lab units. Returns ``(total, parts)`` with detached floats per term for logging."""
    target_norm = C.ab_to_norm(target_ab.float())
    ce = rebalanced_soft_ce(out.logits, target_ab, bins, weights, k=cfg.soft_k, sigma=cfg.soft_sigma)
    trusted, base_mask = gate_targets(x, target_norm, cfg.trust_ab)
    huber = huber_ab(out.ab_norm, target_norm, base_mask)
    gate = gate_loss(out.gate_logit, trusted, base_mask)
    total = cfg.ce * ce + cfg.huber * huber + cfg.gate * gate
    parts = {"ce": float(ce.detach()), "huber": float(huber.detach()), "gate": float(gate.detach())}
    if cfg.huber_everywhere > 0:
        rest = huber_ab(out.ab_norm, target_norm, 1.0 - base_mask)
        total = total + cfg.huber_everywhere * rest
        parts["huber_rest"] = float(rest.detach())
    return total, parts


def image_gradients(img: Tensor) -> tuple[Tensor, Tensor]:
    """Forward differences of ``img`` (B, C, H, W): ``(dx (B, C, H, W-1), dy (B, C, H-1, W))``."""
    return img[..., :, 1:] - img[..., :, :-1], img[..., 1:, :] - img[..., :-1, :]


def edge_l1(pred: Tensor, target: Tensor) -> Tensor:
    """Mean L1 between the image gradients of ``pred`` and ``target`` (B, C, H, W)."""
    pdx, pdy = image_gradients(pred)
    tdx, tdy = image_gradients(target)
    return 0.5 * ((pdx - tdx).abs().mean() + (pdy - tdy).abs().mean())


def _gaussian_window(size: int, sigma: float, device, dtype) -> Tensor:
    coords = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]  # (1, 1, size, size)


def ssim(x: Tensor, y: Tensor, *, window: int = 11, sigma: float = 1.5, data_range: float = 1.0) -> Tensor:
    """Mean SSIM (Wang et al. 2004, Gaussian window) of ``x`` and ``y`` (B, C, H, W) with values in a range of
    width ``data_range``; 1 for identical pictures. Windows shrink to fit pictures smaller than ``window``."""
    window = min(window, x.shape[-1], x.shape[-2])
    c = x.shape[1]
    w = _gaussian_window(window, sigma, x.device, x.dtype).expand(c, 1, window, window)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(t, w, groups=c)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.mean()


def inversion_loss(
    l_pred_norm: Tensor, l_target_norm: Tensor, cfg: InversionLossConfig
) -> tuple[Tensor, dict[str, float]]:
    """Sketch-inversion loss on ``l_norm`` (B, 1, H, W) pairs: L1 + edge L1 (+ 1 - SSIM). Returns
    ``(total, parts)``."""
    pred, target = l_pred_norm.float(), l_target_norm.float()
    l1 = (pred - target).abs().mean()
    edge = edge_l1(pred, target)
    total = cfg.l1 * l1 + cfg.edge * edge
    parts = {"l1": float(l1.detach()), "edge": float(edge.detach())}
    if cfg.ssim > 0:
        # SSIM on L / 100 in [0, 1] so its constants mean what they usually do.
        s = ssim((pred + 1) / 2, (target + 1) / 2)
        total = total + cfg.ssim * (1.0 - s)
        parts["ssim"] = float(s.detach())
    return total, parts


def gan_loss(logits: Tensor, real: bool) -> Tensor:
    """Non-saturating GAN loss on patch ``logits``: BCE against all-real (1) or all-fake (0) labels."""
    labels = torch.ones_like(logits) if real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), labels.float())
