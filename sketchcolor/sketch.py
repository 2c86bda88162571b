"""Synthetic line art from color pictures (XDoG, Canny edges, flat-region boundaries) and line cleanup helpers.

Every extractor takes an RGB uint8 picture (H, W, 3) and returns uint8 (H, W) black lines (0) on white (255).
Given a ``np.random.Generator`` it draws its own threshold and line thickness from ranges that look like drawn
line art, so training sees a spread of styles; without one it uses the middle of each range (deterministic).
All work is OpenCV on uint8/float32 so extractors are cheap enough to run inside data loaders (about a
millisecond at 256²).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from sketchcolor.errors import ImageError
from sketchcolor.regions import LINE_THRESHOLD

WHITE = 255


def _check_rgb(rgb_u8: np.ndarray) -> None:
    if not isinstance(rgb_u8, np.ndarray) or rgb_u8.dtype != np.uint8 or rgb_u8.ndim != 3 or rgb_u8.shape[2] != 3:
        got = f"{rgb_u8.dtype} {rgb_u8.shape}" if isinstance(rgb_u8, np.ndarray) else type(rgb_u8).__name__
        raise ImageError(f"expected an RGB uint8 array (H, W, 3), got {got}")


def _check_line(line_u8: np.ndarray) -> None:
    if not isinstance(line_u8, np.ndarray) or line_u8.dtype != np.uint8 or line_u8.ndim != 2:
        got = f"{line_u8.dtype} {line_u8.shape}" if isinstance(line_u8, np.ndarray) else type(line_u8).__name__
        raise ImageError(f"expected line art as uint8 (H, W), got {got}")


def _draw(rng: np.random.Generator | None, low: float, high: float) -> float:
    """A uniform draw in [low, high], or the middle of the range without a generator."""
    return (low + high) / 2 if rng is None else float(rng.uniform(low, high))


def _draw_int(rng: np.random.Generator | None, low: int, high: int) -> int:
    """An integer draw in [low, high] (inclusive), or the lower middle without a generator."""
    return (low + high) // 2 if rng is None else int(rng.integers(low, high + 1))


# --- cleanup helpers -------------------------------------------------------------------------------------------


def binarize(line_u8: np.ndarray, threshold: int = LINE_THRESHOLD) -> np.ndarray:
    """Pure black (0) where line_u8 <= threshold, white (255) elsewhere; uint8 (H, W)."""
    _check_line(line_u8)
    return np.where(line_u8 <= threshold, np.uint8(0), np.uint8(WHITE))


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def thicken(line_u8: np.ndarray, px: int = 1) -> np.ndarray:
    """Grow dark lines by ``px`` pixels on each side (gray-level erosion of the white paper)."""
    _check_line(line_u8)
    if px <= 0:
        return line_u8.copy()
    return cv2.erode(line_u8, _disk(px))


def thin(line_u8: np.ndarray, px: int = 1) -> np.ndarray:
    """Shrink dark lines by ``px`` pixels on each side (gray-level dilation of the white paper)."""
    _check_line(line_u8)
    if px <= 0:
        return line_u8.copy()
    return cv2.dilate(line_u8, _disk(px))


def remove_specks(line_u8: np.ndarray, min_pixels: int = 4, threshold: int = LINE_THRESHOLD) -> np.ndarray:
    """Paint white every 8-connected dark component smaller than ``min_pixels`` (noise, stray dots)."""
    _check_line(line_u8)
    dark = (line_u8 <= threshold).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < min_pixels
    small[0] = False  # label 0 is the paper
    if n <= 1 or not small.any():
        return line_u8.copy()
    out = line_u8.copy()
    out[small[labels]] = WHITE
    return out


def _stroke(edges: np.ndarray, width: int) -> np.ndarray:
    """Bool edge map → uint8 black lines on white, ``width`` pixels wide (1 = as found)."""
    line = np.where(edges, np.uint8(0), np.uint8(WHITE))
    if width > 1:
        line = cv2.erode(line, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
    return line


# --- extractors ------------------------------------------------------------------------------------------------


def xdog(
    rgb_u8: np.ndarray,
    rng: np.random.Generator | None = None,
    *,
    sigma: float | None = None,
    k: float = 1.6,
    tau: float | None = None,
    epsilon: float | None = None,
    width: int | None = None,
) -> np.ndarray:
    """Thresholded eXtended Difference of Gaussians (Winnemöller et al. 2012) → uint8 (H, W) lines on white.

    D = G_sigma - tau * G_{k sigma} on the darkest channel in [0, 1] (so saturated colors count as dark and a
    yellow shape on white gets an outline, which plain gray would miss); pixels with D < epsilon are line.
    sigma (pixels) sets the line scale, tau < 1 keeps flat areas white, epsilon is the threshold, width the final
    stroke width.
    """
    _check_rgb(rgb_u8)
    sigma = _draw(rng, 0.6, 1.4) if sigma is None else sigma
    tau = _draw(rng, 0.95, 0.99) if tau is None else tau
    epsilon = _draw(rng, -0.02, 0.0) if epsilon is None else epsilon
    width = _draw_int(rng, 1, 2) if width is None else width
    gray = rgb_u8.min(axis=2).astype(np.float32) * np.float32(1.0 / 255.0)
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    # Dark side of every edge goes negative; flat areas stay at (1 - tau) * value >= 0.
    return _stroke(g1 - tau * g2 < epsilon, width)


def canny(
    rgb_u8: np.ndarray,
    rng: np.random.Generator | None = None,
    *,
    low: float | None = None,
    ratio: float | None = None,
    blur_sigma: float | None = None,
    width: int | None = None,
) -> np.ndarray:
    """Canny edges of each RGB channel, combined → uint8 (H, W) lines on white.

    Per channel, so edges between colors of equal brightness are found too. low: hysteresis low threshold on
    0-255 gradients, ratio: high / low, blur_sigma: pre-smoothing in pixels.
    """
    _check_rgb(rgb_u8)
    low = _draw(rng, 20.0, 80.0) if low is None else low
    ratio = _draw(rng, 2.0, 3.0) if ratio is None else ratio
    blur_sigma = _draw(rng, 0.5, 1.5) if blur_sigma is None else blur_sigma
    width = _draw_int(rng, 1, 3) if width is None else width
    smooth = cv2.GaussianBlur(rgb_u8, (0, 0), blur_sigma)
    edges = np.zeros(rgb_u8.shape[:2], dtype=bool)
    for c in range(3):
        edges |= cv2.Canny(np.ascontiguousarray(smooth[..., c]), low, low * ratio, L2gradient=True) > 0
    return _stroke(edges, width)


def region_boundaries(
    rgb_u8: np.ndarray,
    rng: np.random.Generator | None = None,
    *,
    levels: int | None = None,
    min_pixels: int | None = None,
    width: int | None = None,
) -> np.ndarray:
    """Boundaries between flat color regions → uint8 (H, W) lines on white.

    Colors are median-filtered (removes anti-aliasing fringes) and quantized to ``levels`` steps per channel;
    a pixel is a boundary where its quantized color differs from its right or lower neighbour. Stray boundary
    specks under ``min_pixels`` are removed.
    """
    _check_rgb(rgb_u8)
    levels = _draw_int(rng, 3, 6) if levels is None else levels
    min_pixels = _draw_int(rng, 4, 12) if min_pixels is None else min_pixels
    width = _draw_int(rng, 1, 2) if width is None else width
    if levels < 2:
        raise ValueError(f"levels must be at least 2, got {levels}")
    smooth = cv2.medianBlur(rgb_u8, 3)
    # One int32 code per quantized color; uint8 * levels fits easily.
    q = (smooth.astype(np.int32) * levels) >> 8
    code = (q[..., 0] * levels + q[..., 1]) * levels + q[..., 2]
    edge = np.zeros(code.shape, dtype=bool)
    edge[:, :-1] |= code[:, :-1] != code[:, 1:]
    edge[:-1, :] |= code[:-1, :] != code[1:, :]
    return remove_specks(_stroke(edge, width), min_pixels)


Extractor = Callable[..., np.ndarray]
EXTRACTORS: dict[str, Extractor] = {"xdog": xdog, "canny": canny, "regions": region_boundaries}


def extract_lines(rgb_u8: np.ndarray, method: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """Run the extractor ``method`` (one of EXTRACTORS) → uint8 (H, W) black lines on white."""
    try:
        extractor = EXTRACTORS[method]
    except KeyError:
        raise ValueError(f"unknown line extractor {method!r}; expected one of {sorted(EXTRACTORS)}") from None
    return extractor(rgb_u8, rng)


def random_lines(
    rgb_u8: np.ndarray, rng: np.random.Generator, methods: tuple[str, ...] = tuple(EXTRACTORS)
) -> tuple[str, np.ndarray]:
    """Pick one of ``methods`` with ``rng`` and run it with random settings; returns (method, line_u8)."""
    method = methods[int(rng.integers(len(methods)))]
    return method, extract_lines(rgb_u8, method, rng)
