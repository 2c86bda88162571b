"""Colour science for the Lab colour net: sRGB <-> CIE Lab, the quantized ab bins and their encodings.

Responsibility: every conversion between RGB, CIE Lab and the network's scales lives here, together with the
classification machinery of Zhang et al. 2016 ("Colorful Image Colorization"): the in-gamut ab bins, soft-encoded
targets, the empirical prior and class-rebalancing weights, annealed-mean decoding, and top-k colour suggestions.

Conventions
-----------
* ``rgb`` is float in [0, 1] (sRGB-encoded), ``rgb_u8`` is uint8, ``lab`` is CIE L*a*b* (L in [0, 100],
  a and b roughly within +-110), ``l_norm = (L - 50) / 50`` and ``ab_norm = ab / 110`` are the network scales.
* Torch functions take channel-first tensors ``(*, 3, H, W)`` with any number of leading batch dimensions.

Constants
---------
The RGB -> XYZ matrix is *derived* (not copied) from the sRGB primaries (IEC 61966-2-1: R 0.64/0.33,
G 0.30/0.60, B 0.15/0.06) and the D65 white point XYZ = (0.95047, 1, 1.08883) (the 2-degree D65 tristimulus values
scikit-image and most libraries use). Because the matrix maps RGB (1, 1, 1) exactly onto that white point, white
converts to L = 100, a = b = 0 to rounding error. scikit-image's ``rgb2lab`` uses an older rounded matrix whose
rows do not sum to its own white point (its white is Lab (100, -0.0025, 0.0047)), so our values differ from
scikit-image's by up to 0.005 Lab units; with scikit-image's constants swapped for ours the two implementations
agree to 1e-9 (see ``tests/test_color.py``). The Lab non-linearity uses the exact CIE constants
(epsilon = (6/29)^3, slope 1 / (3 (6/29)^2)).

ab bins
-------
The ab plane is cut into square cells of side ``grid`` (10) centred on the multiples of ``grid`` in
[-ab_max, ab_max] (23 x 23 = 529 cells for +-110); cell ``c`` covers ``[c - grid/2, c + grid/2)`` on each axis.
A cell is *in gamut* (kept) when at least one sRGB colour, over all lightnesses, has its ab inside the cell.
The ab footprint of the sRGB solid equals the footprint of its surface (every line of constant ab through the solid
leaves it through the surface), so we sample the six faces of the RGB cube on a 513 x 513 grid per face (neighbouring
samples at most 0.55 ab units apart; the thinnest margin by which a kept cell is reached is 0.035, and the count is
the same with 257, 385, 769 and 1025 samples per side) and keep every cell hit.

This gives **Q = 262** bins for grid 10 over +-110. Zhang et al. report 313 "in-gamut" values without stating the
test. 313 cannot come from sRGB reachability on this grid: even keeping every cell that merely touches the *convex
hull* of the sRGB ab footprint gives only 267, so their test must be looser (about fifty of their cells hold no sRGB
colour at any lightness). Our stricter set spends no classes on colours the output can never show. The bin set is
computed on first use (about half a second), deterministic, and cached.

Decoding
--------
``annealed_mean`` computes ``softmax(logits / T)``. Zhang's formulation is ``softmax(log p / T)`` with
``p = softmax(logits)``; since ``log p = logits - logsumexp(logits)`` differs from the logits by a per-pixel
constant, and softmax ignores constant shifts, the two are identical, and ours avoids ``log(0)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import TypeVar

import numpy as np
import torch
from torch import Tensor

from sketchcolor.errors import DataError

__all__ = [
    "AB_SCALE",
    "L_SCALE",
    "L_SHIFT",
    "DEFAULT_TEMPERATURE",
    "NORMALIZATION",
    "RGB_TO_XYZ",
    "WHITE_D65",
    "XYZ_TO_RGB",
    "ab_bins",
    "ab_prior",
    "ab_to_norm",
    "annealed_mean",
    "l_to_norm",
    "lab_to_rgb",
    "lab_to_rgb_u8_np",
    "max_chroma_table",
    "nearest_bin",
    "norm_to_ab",
    "norm_to_l",
    "rebalance_weights",
    "rgb_to_lab",
    "rgb_u8_to_lab_np",
    "soft_encode",
    "topk_colors",
]

# ---------------------------------------------------------------------------------------------------------------
# Network normalization
# ---------------------------------------------------------------------------------------------------------------

L_SHIFT = 50.0
L_SCALE = 50.0
AB_SCALE = 110.0
#: Written into checkpoint config so a checkpoint states the scales its nets were trained with.
NORMALIZATION: dict[str, float] = {"l_shift": L_SHIFT, "l_scale": L_SCALE, "ab_scale": AB_SCALE}
# Zhang et al. 2016's annealed-mean temperature: between the mean's desaturation and the mode's speckle.
DEFAULT_TEMPERATURE = 0.38

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, Tensor)


def l_to_norm(l: ArrayOrTensor) -> ArrayOrTensor:  # noqa: E741 - L is the colour-science name
    """Lab lightness L in [0, 100] -> network scale ``l_norm`` in [-1, 1] (numpy or torch, same type out)."""
    return (l - L_SHIFT) / L_SCALE


def norm_to_l(l_norm: ArrayOrTensor) -> ArrayOrTensor:
    """Network scale ``l_norm`` in [-1, 1] -> Lab lightness L in [0, 100]."""
    return l_norm * L_SCALE + L_SHIFT


def ab_to_norm(ab: ArrayOrTensor) -> ArrayOrTensor:
    """Lab ab (about +-110) -> network scale ``ab_norm`` (about [-1, 1])."""
    return ab / AB_SCALE


def norm_to_ab(ab_norm: ArrayOrTensor) -> ArrayOrTensor:
    """Network scale ``ab_norm`` -> Lab ab units."""
    return ab_norm * AB_SCALE


# ---------------------------------------------------------------------------------------------------------------
# sRGB <-> Lab
# ---------------------------------------------------------------------------------------------------------------


def _derive_rgb_to_xyz(primaries_xy: np.ndarray, white_xyz: np.ndarray) -> np.ndarray:
    """RGB -> XYZ matrix whose columns are the primaries' XYZ, scaled so that RGB (1, 1, 1) maps onto ``white_xyz``."""
    x, y = primaries_xy[:, 0], primaries_xy[:, 1]
    # Columns: XYZ of each primary at Y = 1.
    unscaled = np.stack([x / y, np.ones(3), (1.0 - x - y) / y], axis=0)
    scale = np.linalg.solve(unscaled, white_xyz)
    return unscaled * scale[None, :]


#: D65 white (2-degree observer), X and Z relative to Y = 1.
WHITE_D65: np.ndarray = np.array([0.95047, 1.0, 1.08883])
#: Linear sRGB -> XYZ (rows X, Y, Z); ``RGB_TO_XYZ @ (1, 1, 1) == WHITE_D65``.
RGB_TO_XYZ: np.ndarray = _derive_rgb_to_xyz(np.array([[0.64, 0.33], [0.30, 0.60], [0.15, 0.06]]), WHITE_D65)
XYZ_TO_RGB: np.ndarray = np.linalg.inv(RGB_TO_XYZ)

for _const in (WHITE_D65, RGB_TO_XYZ, XYZ_TO_RGB):
    _const.flags.writeable = False
# Float64 torch copies, cast to the working dtype and device per call.
_WHITE_T = torch.tensor(WHITE_D65.tolist(), dtype=torch.float64).view(3, 1, 1)
_RGB_TO_XYZ_T = torch.tensor(RGB_TO_XYZ.tolist(), dtype=torch.float64)
_XYZ_TO_RGB_T = torch.tensor(XYZ_TO_RGB.tolist(), dtype=torch.float64)

# sRGB transfer function (IEC 61966-2-1).
_SRGB_KNEE = 0.04045
_LINEAR_KNEE = _SRGB_KNEE / 12.92
# CIE Lab non-linearity: f(t) = cbrt(t) above EPS, linear below; both pieces meet at t = EPS.
_DELTA = 6.0 / 29.0
_EPS = _DELTA**3
_LINEAR_SLOPE = 1.0 / (3.0 * _DELTA**2)


def _check_image_tensor(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (*, 3, H, W), got {type(x).__name__}")
    if x.ndim < 3 or x.shape[-3] != 3:
        raise ValueError(f"{name} must have shape (*, 3, H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor (float32 or float64), got {x.dtype}")


def _compute_dtype(x: Tensor) -> torch.dtype:
    # Half precision loses too much in the cube roots; compute in float32 and cast back.
    return x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32


def _apply_matrix(matrix: Tensor, x: Tensor) -> Tensor:
    """Multiply the channel axis (-3) of ``x`` (*, 3, H, W) by a 3x3 matrix."""
    return torch.einsum("ij,...jhw->...ihw", matrix.to(dtype=x.dtype, device=x.device), x)


def _srgb_to_linear(rgb: Tensor) -> Tensor:
    # The clamp keeps the unused branch of torch.where finite (pow of a negative base gives NaN gradients).
    curved = ((rgb.clamp(min=_SRGB_KNEE) + 0.055) / 1.055) ** 2.4
    return torch.where(rgb > _SRGB_KNEE, curved, rgb / 12.92)


def _linear_to_srgb(linear: Tensor) -> Tensor:
    curved = 1.055 * linear.clamp(min=_LINEAR_KNEE) ** (1.0 / 2.4) - 0.055
    return torch.where(linear > _LINEAR_KNEE, curved, linear * 12.92)


def _lab_f(t: Tensor) -> Tensor:
    # The clamp keeps the cube root (infinite slope at 0) out of the linear branch's gradient.
    return torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), t * _LINEAR_SLOPE + 4.0 / 29.0)


def _lab_f_inv(f: Tensor) -> Tensor:
    return torch.where(f > _DELTA, f**3, (f - 4.0 / 29.0) / _LINEAR_SLOPE)


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB -> CIE Lab (D65), batched and differentiable.

    Args:
        rgb: ``(*, 3, H, W)`` float tensor, sRGB-encoded in [0, 1] (values outside are extrapolated, not clipped).

    Returns:
        ``(*, 3, H, W)`` Lab, same dtype and device: L in [0, 100], a and b within about +-110.
    """
    _check_image_tensor(rgb, "rgb")
    out_dtype = rgb.dtype
    rgb = rgb.to(_compute_dtype(rgb))
    xyz = _apply_matrix(_RGB_TO_XYZ_T, _srgb_to_linear(rgb))
    f = _lab_f(xyz / _WHITE_T.to(dtype=rgb.dtype, device=rgb.device))
    fx, fy, fz = f.unbind(dim=-3)
    lab = torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)
    return lab.to(out_dtype)


def lab_to_rgb(lab: Tensor, clip: bool = True) -> Tensor:
    """CIE Lab (D65) -> sRGB, batched and differentiable.

    Args:
        lab: ``(*, 3, H, W)`` float tensor in Lab units (L 0-100, ab about +-110).
        clip: clamp the result to [0, 1]. Out-of-gamut Lab colours give values outside [0, 1] otherwise.

    Returns:
        ``(*, 3, H, W)`` sRGB-encoded float, same dtype and device.
    """
    _check_image_tensor(lab, "lab")
    out_dtype = lab.dtype
    lab = lab.to(_compute_dtype(lab))
    l, a, b = lab.unbind(dim=-3)  # noqa: E741
    fy = (l + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-3)
    xyz = _lab_f_inv(f) * _WHITE_T.to(dtype=lab.dtype, device=lab.device)
    rgb = _linear_to_srgb(_apply_matrix(_XYZ_TO_RGB_T, xyz))
    if clip:
        rgb = rgb.clamp(0.0, 1.0)
    return rgb.to(out_dtype)


@functools.lru_cache(maxsize=1)
def max_chroma_table(n_l: int = 101, n_hue: int = 360) -> torch.Tensor:
    """(n_l, n_hue) float32: the largest in-sRGB chroma at each L (0..100) and hue angle (0..2π), by bisection."""
    l = torch.linspace(0, 100, n_l, dtype=torch.float64)[:, None].expand(n_l, n_hue)
    hue = torch.arange(n_hue, dtype=torch.float64)[None, :].expand(n_l, n_hue) * (2 * math.pi / n_hue)
    lo = torch.zeros(n_l, n_hue, dtype=torch.float64)
    hi = torch.full((n_l, n_hue), 200.0, dtype=torch.float64)
    for _ in range(24):
        mid = (lo + hi) / 2
        rgb = lab_to_rgb(torch.stack([l, mid * torch.cos(hue), mid * torch.sin(hue)]), clip=False)
        ok = ((rgb >= 0) & (rgb <= 1)).all(0)
        lo = torch.where(ok, mid, lo)
        hi = torch.where(ok, hi, mid)
    return lo.float()


def rgb_u8_to_lab_np(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 RGB picture ``(H, W, 3)`` -> float32 Lab ``(H, W, 3)`` (for data loaders, hints and baselines)."""
    if not isinstance(rgb_u8, np.ndarray) or rgb_u8.ndim != 3 or rgb_u8.shape[-1] != 3 or rgb_u8.dtype != np.uint8:
        raise ValueError(f"rgb_u8 must be a uint8 array of shape (H, W, 3), got {_describe_array(rgb_u8)}")
    rgb = torch.from_numpy(np.require(rgb_u8, requirements=["C", "W"])).permute(2, 0, 1).to(torch.float32) / 255.0
    return rgb_to_lab(rgb).permute(1, 2, 0).numpy()


def lab_to_rgb_u8_np(lab: np.ndarray) -> np.ndarray:
    """Lab picture ``(H, W, 3)`` (any float dtype) -> uint8 RGB ``(H, W, 3)``, out-of-gamut colours clipped."""
    if not isinstance(lab, np.ndarray) or lab.ndim != 3 or lab.shape[-1] != 3:
        raise ValueError(f"lab must be an array of shape (H, W, 3), got {_describe_array(lab)}")
    lab_t = torch.from_numpy(np.ascontiguousarray(lab, dtype=np.float32)).permute(2, 0, 1)
    rgb = lab_to_rgb(lab_t, clip=True).permute(1, 2, 0).numpy()
    return np.rint(rgb * 255.0).astype(np.uint8)


def _describe_array(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"{x.dtype} array of shape {x.shape}"
    return type(x).__name__


# ---------------------------------------------------------------------------------------------------------------
# ab bins
# ---------------------------------------------------------------------------------------------------------------

_FACE_SAMPLES = 513


def _rgb_cube_faces(samples_per_side: int) -> Tensor:
    """Points on the six faces of the RGB cube, ``(3, N, 1)`` float64 (an image tensor of width 1)."""
    t = torch.linspace(0.0, 1.0, samples_per_side, dtype=torch.float64)
    u, v = torch.meshgrid(t, t, indexing="ij")
    u, v = u.reshape(-1), v.reshape(-1)
    faces = []
    for axis in range(3):
        others = [i for i in range(3) if i != axis]
        for value in (0.0, 1.0):
            face = torch.empty(3, u.numel(), dtype=torch.float64)
            face[axis] = value
            face[others[0]] = u
            face[others[1]] = v
            faces.append(face)
    return torch.cat(faces, dim=1).unsqueeze(-1)


def _gamut_cells(grid: float, ab_max: float, samples_per_side: int) -> np.ndarray:
    """Integer cell indices ``(Q, 2)`` (a-major order) of the cells reached by sRGB, see the module docstring."""
    ab = rgb_to_lab(_rgb_cube_faces(samples_per_side))[1:, :, 0].T  # (N, 2)
    # Cell c covers [c - grid/2, c + grid/2): floor((ab + grid/2) / grid).
    cells = torch.floor((ab + grid / 2.0) / grid).to(torch.int64)
    n_max = int(np.floor(ab_max / grid + 1e-9))
    cells = cells[(cells.abs() <= n_max).all(dim=1)] + n_max  # now in [0, 2 n_max]
    # One integer key per cell: a 1-D unique is far faster than unique(dim=0), and sorted keys are a-major.
    side = 2 * n_max + 1
    keys = torch.unique(cells[:, 0] * side + cells[:, 1])
    return torch.stack([keys // side, keys % side], dim=1).numpy() - n_max


@functools.lru_cache(maxsize=8)
def _ab_bins_cached(grid: float, ab_max: float) -> np.ndarray:
    centres = (_gamut_cells(grid, ab_max, _FACE_SAMPLES) * grid).astype(np.float32)
    centres.flags.writeable = False
    return centres


def ab_bins(grid: int = 10, ab_max: float = 110.0) -> Tensor:
    """The in-gamut ab bin centres (see the module docstring for the definition; Q = 262 for the defaults).

    Args:
        grid: cell side in ab units.
        ab_max: centres lie on the multiples of ``grid`` within [-ab_max, ab_max].

    Returns:
        ``(Q, 2)`` float32 ab centres in Lab units, a-major order (a fresh tensor: callers may modify it).
    """
    if not grid > 0 or not ab_max > 0:
        raise ValueError(f"ab_bins needs grid > 0 and ab_max > 0, got grid={grid}, ab_max={ab_max}")
    return torch.from_numpy(_ab_bins_cached(float(grid), float(ab_max)).copy())


def _check_bins(bins: Tensor) -> None:
    if not isinstance(bins, Tensor) or bins.ndim != 2 or bins.shape[1] != 2 or bins.shape[0] == 0:
        shape = tuple(bins.shape) if isinstance(bins, Tensor) else type(bins).__name__
        raise ValueError(f"bins must be a (Q, 2) tensor of ab centres (see ab_bins()), got {shape}")


def _check_ab(ab: Tensor, name: str = "ab") -> None:
    if not isinstance(ab, Tensor) or ab.ndim != 4 or ab.shape[1] != 2:
        shape = tuple(ab.shape) if isinstance(ab, Tensor) else type(ab).__name__
        raise ValueError(f"{name} must be a (B, 2, H, W) tensor of Lab ab, got {shape}")


# Pixels processed at once in the nearest-bin searches: the (chunk, Q) distance matrix stays around 32 MB.
_CHUNK_PIXELS = 32768
# The matmul form of cdist loses about 1e-3 in squared distances of ~1e4; the direct form is exact and as fast here.
_EXACT_CDIST = "donot_use_mm_for_euclid_dist"


def _nearest_k(ab_flat: Tensor, bins: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Squared distances and indices ``(N, k)`` of the k nearest bins for ``ab_flat`` ``(N, 2)``."""
    d2 = torch.cdist(ab_flat, bins, compute_mode=_EXACT_CDIST).square_()
    return torch.topk(d2, k, dim=1, largest=False)


def nearest_bin(ab: Tensor, bins: Tensor) -> Tensor:
    """Index of the nearest bin for every pixel.

    Args:
        ab: ``(B, 2, H, W)`` Lab ab.
        bins: ``(Q, 2)`` bin centres.

    Returns:
        ``(B, H, W)`` int64 indices into ``bins``.
    """
    _check_ab(ab)
    _check_bins(bins)
    bsz, _, h, w = ab.shape
    bins = bins.to(device=ab.device, dtype=torch.float32)
    flat = ab.detach().to(torch.float32).permute(0, 2, 3, 1).reshape(-1, 2)
    out = torch.empty(flat.shape[0], dtype=torch.int64, device=ab.device)
    for start in range(0, flat.shape[0], _CHUNK_PIXELS):
        chunk = flat[start : start + _CHUNK_PIXELS]
        out[start : start + chunk.shape[0]] = torch.cdist(chunk, bins, compute_mode=_EXACT_CDIST).argmin(dim=1)
    return out.view(bsz, h, w)


def soft_encode(ab: Tensor, bins: Tensor, k: int = 5, sigma: float = 5.0) -> Tensor:
    """Soft-encode ab targets over the bins (Zhang et al. 2016): Gaussian weights on the k nearest bins.

    Args:
        ab: ``(B, 2, H, W)`` Lab ab targets.
        bins: ``(Q, 2)`` bin centres (``ab_bins()``).
        k: number of nearest bins that receive weight.
        sigma: Gaussian width in ab units.

    Returns:
        ``(B, Q, H, W)`` float32, non-negative, summing to 1 over Q at every pixel; no gradient.
        Memory: the output itself plus one ``(32768, Q)`` distance chunk at a time.
    """
    _check_ab(ab)
    _check_bins(bins)
    q = bins.shape[0]
    if not 1 <= k <= q:
        raise ValueError(f"soft_encode needs 1 <= k <= Q={q}, got k={k}")
    if not sigma > 0:
        raise ValueError(f"soft_encode needs sigma > 0, got {sigma}")
    bsz, _, h, w = ab.shape
    bins = bins.to(device=ab.device, dtype=torch.float32)
    out = torch.zeros(bsz, q, h * w, dtype=torch.float32, device=ab.device)
    with torch.no_grad():
        flat = ab.to(torch.float32).reshape(bsz, 2, h * w)
        for b in range(bsz):
            for start in range(0, h * w, _CHUNK_PIXELS):
                chunk = flat[b, :, start : start + _CHUNK_PIXELS].T  # (n, 2)
                d2, idx = _nearest_k(chunk, bins, k)
                # Subtracting the nearest distance keeps exp() from underflowing to 0/0 far from every bin.
                weights = torch.exp(-(d2 - d2[:, :1]) / (2.0 * sigma**2))
                weights = weights / weights.sum(dim=1, keepdim=True)
                out[b, :, start : start + chunk.shape[0]].scatter_(0, idx.T, weights.T)
    return out.view(bsz, q, h, w)


def _smooth_over_bins(prior: Tensor, bins: Tensor, sigma: float) -> Tensor:
    """Spread each bin's mass over the bins with a Gaussian of width ``sigma`` (ab units); mass is conserved."""
    kernel = torch.exp(-torch.cdist(bins, bins).square() / (2.0 * sigma**2))  # (Q target, Q source)
    kernel = kernel / kernel.sum(dim=0, keepdim=True)
    return kernel @ prior


def ab_prior(
    ab_batches: Iterable[Tensor],
    bins: Tensor,
    *,
    smooth_sigma: float | None = 5.0,
    masks: Iterable[Tensor] | None = None,
) -> Tensor:
    """Empirical distribution of the ab bins over a dataset (Zhang et al. 2016, section 2.2).

    Every pixel counts once for its nearest bin; the histogram is then optionally smoothed over the bins with a
    Gaussian of width ``smooth_sigma`` ab units (Zhang smooths with sigma = 5), which gives rare colours next to
    common ones a little mass.

    Args:
        ab_batches: iterable of ``(B, 2, H, W)`` Lab ab tensors (sizes may differ between batches).
        bins: ``(Q, 2)`` bin centres.
        smooth_sigma: Gaussian width in ab units, or None for the raw histogram.
        masks: optional iterable, parallel to ``ab_batches``, of ``(B, 1, H, W)`` or ``(B, H, W)`` bool tensors;
            only pixels where the mask is true are counted (e.g. to leave out the white page).

    Returns:
        ``(Q,)`` float64 probabilities summing to 1.
    """
    _check_bins(bins)
    if smooth_sigma is not None and not smooth_sigma > 0:
        raise ValueError(f"ab_prior needs smooth_sigma > 0 or None, got {smooth_sigma}")
    bins64 = bins.to(torch.float64).cpu()
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    mask_iter = iter(masks) if masks is not None else None
    for ab in ab_batches:
        idx = nearest_bin(ab, bins)
        if mask_iter is not None:
            mask = next(mask_iter, None)
            if mask is None:
                raise ValueError("ab_prior: masks ran out before ab_batches")
            idx = idx[mask.reshape(idx.shape).to(torch.bool)]
        counts += torch.bincount(idx.reshape(-1).cpu(), minlength=bins.shape[0]).to(torch.float64)
    total = counts.sum()
    if total == 0:
        raise DataError("ab_prior got no pixels: ab_batches was empty or every mask was false")
    prior = counts / total
    if smooth_sigma is not None:
        prior = _smooth_over_bins(prior, bins64, smooth_sigma)
        prior = prior / prior.sum()
    return prior


def rebalance_weights(prior: Tensor, lam: float = 0.5) -> Tensor:
    """Class-rebalancing weights ``w ~ ((1 - lam) p + lam / Q)^-1`` normalized so that ``sum(p * w) == 1``.

    Args:
        prior: ``(Q,)`` bin probabilities (non-negative, summing to 1), e.g. from :func:`ab_prior`.
        lam: mixing weight of the uniform distribution, in [0, 1] (Zhang uses 0.5). ``lam = 0`` needs a prior
            without zeros.

    Returns:
        ``(Q,)`` positive weights, same dtype as ``prior``; the prior-weighted mean weight is 1, so a rebalanced
        loss keeps the scale of the plain one.
    """
    if not isinstance(prior, Tensor) or prior.ndim != 1 or prior.numel() == 0:
        raise ValueError(f"prior must be a non-empty (Q,) tensor, got {getattr(prior, 'shape', type(prior))}")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if (prior < 0).any() or not torch.isfinite(prior).all() or abs(float(prior.sum()) - 1.0) > 1e-4:
        raise ValueError(f"prior must be non-negative and sum to 1, sums to {float(prior.sum()):.6g}")
    q = prior.numel()
    mixed = (1.0 - lam) * prior + lam / q
    if (mixed <= 0).any():
        raise ValueError("lam = 0 needs a prior without zero entries (weights would be infinite)")
    weights = 1.0 / mixed
    return weights / (prior * weights).sum()


def annealed_mean(logits: Tensor, bins: Tensor, temperature: float = DEFAULT_TEMPERATURE) -> Tensor:
    """Decode bin logits to ab by the annealed mean: ``sum_q softmax(logits / T)_q * bins_q``.

    ``T = 1`` gives the mean of the predicted distribution, ``T -> 0`` its mode; Zhang's 0.38
    (:data:`DEFAULT_TEMPERATURE`) trades the mean's desaturation against the mode's speckle. Equivalent to
    ``softmax(log p / T)`` (module docstring).

    Args:
        logits: ``(B, Q, H, W)`` unnormalized bin scores.
        bins: ``(Q, 2)`` bin centres.
        temperature: T > 0.

    Returns:
        ``(B, 2, H, W)`` ab in Lab units, dtype of ``logits``, differentiable.
    """
    _check_bins(bins)
    if not isinstance(logits, Tensor) or logits.ndim != 4 or logits.shape[1] != bins.shape[0]:
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must have shape (B, Q={bins.shape[0]}, H, W), got {shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    probs = torch.softmax(logits / temperature, dim=1)
    centres = bins.to(device=logits.device, dtype=logits.dtype)
    return torch.einsum("bqhw,qc->bchw", probs, centres)


def topk_colors(
    logits: Tensor,
    l: float,  # noqa: E741
    bins: Tensor,
    k: int = 5,
    *,
    xy: tuple[int, int] | None = None,
    temperature: float = 1.0,
) -> list[tuple[tuple[int, int, int], float]]:
    """The k most probable bin colours at one pixel, as displayable RGB (for colour suggestions in the UI).

    Args:
        logits: the bin logits of one pixel: ``(Q,)`` or ``(1, Q, 1, 1)``; or a ``(1, Q, H, W)`` map together with
            ``xy=(x, y)`` naming the pixel.
        l: the pixel's lightness L in [0, 100] (clamped), combined with each bin's ab.
        bins: ``(Q, 2)`` bin centres.
        k: number of suggestions (at most Q).
        xy: pixel column and row when ``logits`` is a map.
        temperature: softmax temperature for the reported probabilities (1 = the net's distribution).

    Returns:
        ``k`` pairs ``((r, g, b), probability)`` sorted by decreasing probability; RGB are ints 0-255 (out-of-gamut
        Lab clipped), probabilities are floats of the (tempered) softmax over all Q bins.
    """
    _check_bins(bins)
    q = bins.shape[0]
    if not isinstance(logits, Tensor):
        raise ValueError(f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if logits.ndim == 4 and logits.shape[0] == 1 and logits.shape[1] == q:
        if xy is not None:
            x, y = xy
            if not (0 <= y < logits.shape[2] and 0 <= x < logits.shape[3]):
                raise ValueError(f"xy={xy} lies outside the {logits.shape[3]}x{logits.shape[2]} logit map")
            vector = logits[0, :, y, x]
        elif logits.shape[2] == logits.shape[3] == 1:
            vector = logits[0, :, 0, 0]
        else:
            raise ValueError("topk_colors got a (1, Q, H, W) logit map: pass xy=(x, y) to pick the pixel")
    elif logits.ndim == 1 and logits.shape[0] == q:
        vector = logits
    else:
        raise ValueError(f"logits must have shape (Q={q},), (1, Q, 1, 1) or (1, Q, H, W), got {tuple(logits.shape)}")
    if not 1 <= k <= q:
        raise ValueError(f"k must be in [1, {q}], got {k}")
    if not np.isfinite(l):
        raise ValueError(f"l must be a finite lightness in [0, 100], got {l}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    probs = torch.softmax(vector.detach().to(torch.float64).cpu() / temperature, dim=0)
    top_p, top_idx = torch.topk(probs, k)
    ab = bins.detach().to(torch.float64).cpu()[top_idx]  # (k, 2)
    lab = torch.cat([torch.full((k, 1), float(min(max(l, 0.0), 100.0)), dtype=torch.float64), ab], dim=1)
    rgb = lab_to_rgb(lab.T.unsqueeze(-1), clip=True)[:, :, 0].T  # (k, 3)
    rgb_u8 = torch.round(rgb * 255.0).to(torch.int64).tolist()
    return [((r, g, b), float(p)) for (r, g, b), p in zip(rgb_u8, top_p.tolist(), strict=True)]
