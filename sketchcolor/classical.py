"""Classical colorization methods, which need no trained weights: ``Colorizer(method="regionfill" | "levin")``
uses them, and the evaluation runs them as baselines (:mod:`sketchcolor.baselines`).

- :func:`regionfill_colorize` (line art; :func:`regionfill` without the lines): each closed region between the lines (line art <= 128 is a line,
  4-connected components of the rest) takes the RGB color of the nearest hint inside it; regions without a hint
  stay white; the line art is multiplied back.
- :func:`levin_colorize` (grayscale): Levin, Lischinski & Weiss 2004, "Colorization using Optimization". L is
  kept; ab is the solution of a sparse linear system in which every un-hinted pixel's ab equals the weighted mean
  of its 3x3 neighbours' ab, with weights ``exp(-(Y_r - Y_s)^2 / (2 sigma_r^2))`` on Y = L / 100, and
  ``sigma_r^2 = 0.6 * var(Y in the 3x3 window around r)`` (population variance, window clipped at the border,
  floor 2e-6); hint pixels (each hint widened to a 3x3 patch) are fixed to the hint's ab. Solved directly
  (SuperLU) at up to ``max_side`` pixels on the long side; larger pictures are solved at that size and the ab
  is upsampled and recombined with the full-resolution L.

Hints are :class:`sketchcolor.hints.Hint`-like objects (``x``, ``y``, ``color`` (r, g, b), ``radius``) in
pixel coordinates of the input, with the footprint of :func:`sketchcolor.hints.rasterize_hints`: the rounded
pixel ``(round(y), round(x))`` (clipped to the picture) and every pixel within ``radius`` of ``(x, y)``.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from PIL import Image
from scipy import ndimage
from skimage.color import lab2rgb, rgb2lab

from sketchcolor.errors import HintError, ImageError
from sketchcolor.regions import LINE_THRESHOLD, label_regions, propagate_values

log = logging.getLogger(__name__)

LEVIN_MAX_SIDE = 512
_SIGMA2_FLOOR = 2e-6
_SIGMA2_SCALE = 0.6

# CIE L of the gray RGB picture (v, v, v) for every 8-bit v: a gray input's L without a full conversion.
_GRAY_TO_L = rgb2lab(np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2))[:, 0, 0]

HintPlanes = tuple[np.ndarray, np.ndarray]


def picture_array(image: Any) -> np.ndarray:
    """PIL image or numpy array -> (H, W) or (H, W, 3) uint8 array."""
    if isinstance(image, Image.Image):
        image = image.convert("L") if image.mode in ("L", "1", "LA", "I", "I;16", "F") else image.convert("RGB")
    array = np.asarray(image)
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ImageError(f"expected an (H, W) or (H, W, 3) uint8 picture, got {array.dtype} {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"the picture is empty: shape {array.shape}")
    return array


def _to_gray(array: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) uint8 -> (H, W) uint8 (PIL's "L" conversion for RGB)."""
    return array if array.ndim == 2 else np.asarray(Image.fromarray(array, "RGB").convert("L"))


def _lightness(array: np.ndarray) -> np.ndarray:
    """CIE L (H, W) float64 of a gray (H, W) or RGB (H, W, 3) uint8 picture."""
    return _GRAY_TO_L[array] if array.ndim == 2 else rgb2lab(array)[:, :, 0]


def _lab_to_rgb_u8(l: np.ndarray, ab: np.ndarray, steps: int = 8) -> np.ndarray:
    """L (H, W) + ab (2, H, W) -> (H, W, 3) uint8, keeping L and hue.

    A color outside sRGB has its chroma scaled down (bisection, ``steps`` halvings) until it fits, rather than
    its RGB clipped, which would change its lightness.
    """
    lab = np.concatenate([l[None], ab], axis=0).transpose(1, 2, 0).astype(np.float64)
    with warnings.catch_warnings():
        # skimage warns about negative Z of strongly saturated colors; those are the pixels refitted below.
        warnings.simplefilter("ignore", UserWarning)
        rgb = lab2rgb(lab)
        # lab2rgb clips: a color was outside the gamut exactly when the clipped RGB no longer maps back to it.
        bad = np.abs(rgb2lab(rgb) - lab).max(axis=2) > 0.5
        if bad.any():
            lab_bad = lab[bad][:, None, :]
            low = np.zeros((lab_bad.shape[0], 1, 1))
            high = np.ones_like(low)
            for _ in range(steps):
                mid = (low + high) / 2
                trial = lab_bad * np.concatenate([np.ones_like(mid), mid, mid], axis=2)
                fits = np.abs(rgb2lab(lab2rgb(trial)) - trial).max(axis=2, keepdims=True) <= 0.5
                low = np.where(fits, mid, low)
                high = np.where(fits, high, mid)
            rgb[bad] = lab2rgb(lab_bad * np.concatenate([np.ones_like(low), low, low], axis=2))[:, 0, :]
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


def hint_index_plane(hints: Sequence[Any], height: int, width: int, scale: float = 1.0) -> np.ndarray:
    """int32 (height, width): the index of the hint covering each pixel, -1 where none (later hints win).

    Same footprint as :func:`sketchcolor.hints.rasterize_hints`: pixel centres map onto pixel centres
    (``x_plane = (x + 0.5) * scale - 0.5``); a hint covers its rounded pixel and every pixel within its radius
    (times ``scale``). ``scale`` maps hint coordinates to this plane, for solving at a lower resolution.
    """
    plane = np.full((height, width), -1, dtype=np.int32)
    for index, hint in enumerate(hints):
        x = (float(hint.x) + 0.5) * scale - 0.5
        y = (float(hint.y) + 0.5) * scale - 0.5
        radius = float(getattr(hint, "radius", 0.0) or 0.0) * scale
        if not (math.isfinite(x) and math.isfinite(y)):
            raise HintError(f"hint {index} has a non-finite position ({hint.x}, {hint.y})")
        col = min(max(int(round(x)), 0), width - 1)
        row = min(max(int(round(y)), 0), height - 1)
        plane[row, col] = index
        if radius > 0:
            r0, r1 = max(0, int(math.floor(y - radius))), min(height, int(math.ceil(y + radius)) + 1)
            c0, c1 = max(0, int(math.floor(x - radius))), min(width, int(math.ceil(x + radius)) + 1)
            rows, cols = np.mgrid[r0:r1, c0:c1]
            disk = (rows - y) ** 2 + (cols - x) ** 2 <= radius**2
            plane[r0:r1, c0:c1][disk] = index
    return plane


def _hint_colors(hints: Sequence[Any]) -> np.ndarray:
    """(K, 3) uint8 RGB colors of the hints."""
    colors = np.array([tuple(hint.color) for hint in hints], dtype=np.int64).reshape(-1, 3)
    if colors.size and (colors.min() < 0 or colors.max() > 255):
        raise HintError("hint colors must be (r, g, b) with 0-255 components")
    return colors.astype(np.uint8)


def regionfill(line_u8: Any, hints: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The region fill of line art without its lines: ``(fill_u8 (H, W, 3), filled (H, W) bool, labels)``.

    Each closed region between the lines (4-connected, line art ``<= LINE_THRESHOLD`` is a line) that holds a hint
    takes the RGB color of the nearest hint pixel inside it; other regions, and the lines, stay white. ``labels``
    (int32, 0 on lines) are the regions. Arguments as for :func:`regionfill_colorize`.
    """
    line = _to_gray(picture_array(line_u8))
    height, width = line.shape
    labels = label_regions(line, threshold=LINE_THRESHOLD)
    fill = np.full((3, height, width), 255.0, dtype=np.float32)
    filled_mask = np.zeros((height, width), np.float32)
    if hints:
        index = hint_index_plane(hints, height, width)
        colors = _hint_colors(hints)
        values = colors[np.maximum(index, 0)].transpose(2, 0, 1).astype(np.float32)
        filled, filled_mask = propagate_values(labels, values, index >= 0)
        fill = np.where(filled_mask[None] > 0, filled, fill)
    return fill.round().astype(np.uint8).transpose(1, 2, 0), filled_mask > 0, labels


def regionfill_colorize(line_u8: Any, hints: Sequence[Any]) -> np.ndarray:
    """Fill the closed regions of line art with their hints' colors.

    Args:
        line_u8: (H, W) uint8 line art (black lines on white), an RGB array or a PIL image (converted to gray).
        hints: Hint-like objects in pixel coordinates.

    Returns:
        (H, W, 3) uint8: each region holding a hint takes the RGB color of the nearest hint pixel inside it,
        other regions stay white, then the line art (as a 0-1 factor) is multiplied back.
    """
    line = _to_gray(picture_array(line_u8))
    return multiply_lines(regionfill(line, hints)[0], line)


def multiply_lines(rgb_u8: np.ndarray, line_u8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colors with the (H, W) uint8 line art multiplied back (as a 0-1 factor) -> (H, W, 3) uint8."""
    rgb = rgb_u8.astype(np.float32) * (line_u8.astype(np.float32) / 255.0)[:, :, None]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _resize_plane(plane: np.ndarray, height: int, width: int, resample: int) -> np.ndarray:
    """float (H, W) -> float32 (height, width) with a PIL filter (BOX to shrink, BILINEAR to enlarge)."""
    return np.asarray(Image.fromarray(plane.astype(np.float32), "F").resize((width, height), resample))


def levin_affinity_system(y: np.ndarray, fixed: np.ndarray) -> scipy.sparse.csc_matrix:
    """The Levin et al. 2004 system matrix A (N x N, N = H*W, row-major pixels).

    Args:
        y: (H, W) float luminance in [0, 1].
        fixed: (H, W) bool, pixels whose value is given (their row is the identity).

    Returns:
        A with ``A[r, r] = 1`` and, for a free pixel r, ``A[r, s] = -w_rs / sum_s w_rs`` over its 3x3 neighbours.
    """
    height, width = y.shape
    n = height * width
    y = y.astype(np.float64)
    padded = np.pad(y, 1)
    inside = np.pad(np.ones_like(y), 1)
    total = np.zeros_like(y)
    total_sq = np.zeros_like(y)
    count = np.zeros_like(y)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    for dy, dx in offsets:
        window = (slice(1 + dy, 1 + dy + height), slice(1 + dx, 1 + dx + width))
        total += padded[window]
        total_sq += padded[window] ** 2
        count += inside[window]
    mean = total / count
    variance = np.maximum(total_sq / count - mean**2, 0.0)
    sigma2 = np.maximum(_SIGMA2_SCALE * variance, _SIGMA2_FLOOR)

    pixel = np.arange(n, dtype=np.int64).reshape(height, width)
    padded_pixel = np.pad(pixel, 1, constant_values=-1)
    rows, cols, weights = [], [], []
    for dy, dx in offsets:
        if dy == 0 and dx == 0:
            continue
        window = (slice(1 + dy, 1 + dy + height), slice(1 + dx, 1 + dx + width))
        neighbour = padded_pixel[window]
        use = (neighbour >= 0) & ~fixed
        weight = np.exp(-((y - padded[window]) ** 2) / (2.0 * sigma2))
        rows.append(pixel[use])
        cols.append(neighbour[use])
        weights.append(weight[use])
    rows_all = np.concatenate(rows)
    cols_all = np.concatenate(cols)
    weights_all = np.concatenate(weights)
    # sigma2 >= 0.6 var bounds every exponent by 36 var / (1.2 var) = 30, so row sums never underflow to 0.
    row_sum = np.bincount(rows_all, weights=weights_all, minlength=n)
    diagonal = pixel.ravel()
    matrix = scipy.sparse.csc_matrix(
        (
            np.concatenate([-weights_all / row_sum[rows_all], np.ones(n)]),
            (np.concatenate([rows_all, diagonal]), np.concatenate([cols_all, diagonal])),
        ),
        shape=(n, n),
    )
    return matrix


def levin_solve(l: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
    """Propagate hint ab over the luminance affinities of ``l``.

    Args:
        l: (H, W) CIE L in [0, 100].
        hint_ab: (2, H, W) Lab units, read where ``hint_mask``.
        hint_mask: (H, W) bool, the fixed pixels (already widened to patches).

    Returns:
        (2, H, W) float64 ab; zeros when there are no hints.
    """
    height, width = l.shape
    if not hint_mask.any():
        return np.zeros((2, height, width))
    matrix = levin_affinity_system(l / 100.0, hint_mask)
    rhs = np.where(hint_mask[None], hint_ab, 0.0).reshape(2, -1).T
    # The matrix is structurally symmetric: minimum degree on A^T + A in symmetric mode gives about half the
    # fill-in of the default COLAMD (4x faster at 512²). Rows are diagonally dominant (unit diagonal,
    # off-diagonals summing to -1, fixed rows strictly), so elimination needs no pivoting.
    factor = scipy.sparse.linalg.splu(
        matrix, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
    )
    solution = factor.solve(rhs)
    return solution.T.reshape(2, height, width)


def _widen_hints(index: np.ndarray, patch: int) -> np.ndarray:
    """Grow every hint footprint to a ``patch`` x ``patch`` square; overlaps take the nearest hint's index."""
    mask = index >= 0
    if patch <= 1 or not mask.any():
        return index
    grown = ndimage.binary_dilation(mask, structure=np.ones((patch, patch), bool))
    _, (rows, cols) = ndimage.distance_transform_edt(~mask, return_indices=True)
    return np.where(grown, index[rows, cols], -1)


def _planes_from_hints(hints: Sequence[Any], height: int, width: int, scale: float, patch: int) -> HintPlanes:
    """Hint-like objects -> (hint_ab (2, height, width) Lab units, hint_mask (height, width) bool)."""
    if not hints:
        return np.zeros((2, height, width)), np.zeros((height, width), bool)
    index = _widen_hints(hint_index_plane(hints, height, width, scale), patch)
    # A hint's ab is that of its RGB color; its L is not used (the picture's L is kept).
    ab_per_hint = rgb2lab(_hint_colors(hints)[:, None, :])[:, 0, 1:]
    return ab_per_hint[np.maximum(index, 0)].transpose(2, 0, 1), index >= 0


def levin_colorize(
    image: Any,
    hints: Sequence[Any] | HintPlanes,
    *,
    max_side: int = LEVIN_MAX_SIDE,
    patch: int = 3,
) -> np.ndarray:
    """Colorize a grayscale (or color) picture from hints with Levin et al. 2004.

    Args:
        image: (H, W) uint8 gray, (H, W, 3) uint8 RGB or a PIL image; its CIE L is kept.
        hints: Hint-like objects in pixel coordinates, or planes ``(hint_ab (2, H, W) Lab units, hint_mask
            (H, W) bool)`` at the input's resolution.
        max_side: the system is solved with the long side at most this many pixels (512²: about 2 s on one
            CPU core); larger pictures are solved smaller and the ab upsampled.
        patch: every hint pixel is widened to a ``patch`` x ``patch`` square of fixed pixels.

    Returns:
        (H, W, 3) uint8 RGB with the input's L and the propagated ab; the input as gray RGB when there are no
        hints.
    """
    array = picture_array(image)
    height, width = array.shape[:2]
    l_full = _lightness(array)
    scale = min(1.0, max_side / max(height, width))
    h_small, w_small = max(1, round(height * scale)), max(1, round(width * scale))

    if isinstance(hints, tuple) and len(hints) == 2 and isinstance(hints[0], np.ndarray):
        hint_ab, hint_mask = np.asarray(hints[0], dtype=np.float64), np.asarray(hints[1]).astype(bool)
        if hint_ab.shape != (2, height, width) or hint_mask.shape != (height, width):
            raise HintError(
                f"hint planes must be ab (2, {height}, {width}) and mask ({height}, {width}), "
                f"got {hint_ab.shape} and {hint_mask.shape}"
            )
        if scale < 1.0:
            # Area-weighted means of the hinted ab; a small pixel is hinted when any full pixel under it is.
            coverage = _resize_plane(hint_mask.astype(np.float32), h_small, w_small, Image.BOX)
            hint_ab = np.stack(
                [_resize_plane(c * hint_mask, h_small, w_small, Image.BOX) for c in hint_ab]
            ) / np.maximum(coverage, 1e-12)
            hint_mask = coverage > 0
        if patch > 1 and hint_mask.any():
            index = np.where(hint_mask, np.arange(hint_mask.size).reshape(hint_mask.shape), -1)
            widened = _widen_hints(index, patch)
            hint_ab = hint_ab.reshape(2, -1)[:, np.maximum(widened, 0)].reshape(2, *widened.shape)
            hint_mask = widened >= 0
    else:
        hint_ab, hint_mask = _planes_from_hints(list(hints), h_small, w_small, scale, patch)

    if not hint_mask.any():
        # No color to propagate: ab = 0 everywhere, i.e. the gray picture itself.
        if array.ndim == 2:
            return np.repeat(array[:, :, None], 3, axis=2)
        return _lab_to_rgb_u8(l_full, np.zeros((2, height, width)))
    if scale < 1.0:
        log.debug("levin: solving at %dx%d for a %dx%d picture", w_small, h_small, width, height)
    l_small = l_full if scale == 1.0 else _resize_plane(l_full, h_small, w_small, Image.BOX)
    ab_small = levin_solve(l_small, hint_ab, hint_mask)
    if scale < 1.0:
        ab_full = np.stack([_resize_plane(c, height, width, Image.BILINEAR) for c in ab_small])
    else:
        ab_full = ab_small
    return _lab_to_rgb_u8(l_full, ab_full)
