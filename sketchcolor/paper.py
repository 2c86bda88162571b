"""Paper and lines of a real drawing: the paper mapped to white, the lines told from it.

Artists bring pencil on cream or gray paper, photos of sketches with uneven light, textured paper and colored
construction lines. Everything after this step (mode detection, regions, the nets) assumes black lines on white
paper, so :func:`clean_page` estimates the paper and removes it:

- **paper**: on a coarse grid of blocks (about :data:`_GRID` across the long side), each block's light level is a
  high percentile of its pixels (lines are thin, so that is paper); blocks much darker than their neighbourhood or
  than the page's paper are a fill or a shadowless dark area, not paper, and take their neighbours' level; the grid
  is smoothed and divided out per channel, so tinted paper, a photo's light falloff and shadows become white;
- **texture**: what is left of the paper's grain (within a few of its spreads of white, and specks of a few pixels
  fainter than a line) becomes white;
- **lines**: a pixel's ink is its darkest channel (a blue or red construction line is a line), stretched so that
  the drawing's darkest strokes are dark — faint pencil then meets the same line threshold as a pen drawing.

A picture without paper (a photo, an all-black page) is only converted to gray. Everything runs on (H, W[, 3]) uint8 and
costs a few tens of milliseconds at 2048², in strips to bound memory at 4096².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from sketchcolor.errors import ImageError

# Blocks across the long side for the paper estimate: a block must be wider than a stroke, narrower than a shadow.
_GRID = 32
# Percentile of a block taken as its paper level (lines and grain cover far less than the rest).
_PAPER_PERCENTILE = 90
# A block below this fraction of the brightest level near it is no paper (a fill, a dark area).
_NEIGHBOUR_RATIO = 0.8
# A page whose paper is darker than this (8-bit) has none to remove: a dark photo, an all-black picture.
_MIN_PAPER = 60
# Paper covers at least this share of the blocks, and its level changes from block to block by at most this share
# of it (median): a photo's light areas are neither (measured on scikit-image's sample photos and ../shared/realworld).
_MIN_PAPER_SHARE = 0.85
_MAX_ROUGHNESS = 0.03
# Paper texture within this many robust spreads of white is snapped to white, between these many levels; the
# spread is read from the pixels at least _PAPER_FLOOR light (not the lines or fills).
_TEXTURE_SPREADS = 4.0
_MIN_SNAP = 3
_MAX_SNAP = 12
_PAPER_FLOOR = 160
# The darkest strokes (this percentile of the ink) are stretched to at least this dark; at most by _MAX_STRETCH.
_INK_PERCENTILE = 5
_INK_TARGET = 64
_MAX_STRETCH = 4.0
# Specks of ink at most this many pixels whose darkest pixel is lighter than _GRAIN_DARKEST are the paper's grain.
_GRAIN_PX = 6
_GRAIN_DARKEST = 100
# Rows processed at once at full resolution.
_STRIP_ROWS = 512


@dataclass
class CleanPage:
    """A drawing with its paper removed.

    gray: (H, W) uint8, what the regions and the nets see: paper 255, each pixel's darkest channel, stretched so
        the darkest strokes are dark (pens stay as they are).
    lines: (H, W) uint8, the artist's own lines on white (the luminance with the paper divided out, not
        stretched): the line layer and what is multiplied over the colors.
    paper: the paper's mean color (R, G, B) before it was removed.
    stretch: the factor ink was stretched by (1: none).
    found: False when no paper was found and the picture was only converted to gray.
    """

    gray: np.ndarray
    lines: np.ndarray
    paper: tuple[int, int, int]
    stretch: float
    found: bool


def _as_rgb(image_u8: np.ndarray) -> np.ndarray:
    image_u8 = np.asarray(image_u8)
    if image_u8.dtype != np.uint8:
        raise ImageError(f"a page must be uint8, got {image_u8.dtype}")
    if image_u8.ndim == 2:
        image_u8 = image_u8[:, :, None]
    if image_u8.ndim != 3 or image_u8.shape[2] not in (1, 3) or 0 in image_u8.shape[:2]:
        raise ImageError(f"a page must be (H, W) or (H, W, 3) uint8, got shape {image_u8.shape}")
    if image_u8.shape[2] == 3 and np.array_equal(image_u8[:, :, 0], image_u8[:, :, 1]) and np.array_equal(
            image_u8[:, :, 1], image_u8[:, :, 2]):
        return image_u8[:, :, :1]  # a gray picture in RGB: one channel is a third of the work
    return image_u8


def paper_level(image_u8: np.ndarray) -> np.ndarray | None:
    """The paper's light level per channel on a coarse grid, (gh, gw, C) float32 on the 0-255 scale, or None when
    the picture shows no paper: its light areas darker than ``_MIN_PAPER``, or too few of them, or too uneven (a
    photo)."""
    rgb = _as_rgb(image_u8)
    height, width, channels = rgb.shape
    # Area-average by 2 first on large pages: the percentile then reads a quarter of the pixels, grain averaged.
    small = rgb
    if max(height, width) >= 16 * _GRID:
        small = np.asarray(Image.fromarray(rgb if channels == 3 else rgb[:, :, 0]).reduce(2))
        small = small.reshape(small.shape[0], small.shape[1], channels)
    block = max(1, -(-max(small.shape[:2]) // _GRID))
    gh, gw = -(-small.shape[0] // block), -(-small.shape[1] // block)
    padded = np.pad(small, ((0, gh * block - small.shape[0]), (0, gw * block - small.shape[1]), (0, 0)), mode="edge")
    tiles = padded[: gh * block, : gw * block].reshape(gh, block, gw, block, channels).transpose(0, 2, 4, 1, 3)
    levels = np.percentile(tiles.reshape(gh, gw, channels, -1), _PAPER_PERCENTILE, axis=3).astype(np.float32)
    light = levels.max(axis=2)
    page = float(np.percentile(light, 75))
    if page < _MIN_PAPER:
        return None
    # Paper: not much darker than the brightest block around it, nor than the page's paper.
    near = ndimage.maximum_filter(light, size=5, mode="nearest")
    paper = (light >= _NEIGHBOUR_RATIO * near) & (light >= _NEIGHBOUR_RATIO * page)
    roughness = float(np.median(np.abs(np.diff(light, axis=1)))) / page if gw > 1 else 0.0
    if paper.mean() < _MIN_PAPER_SHARE or roughness > _MAX_ROUGHNESS:
        return None
    if not paper.all():
        _, (iy, ix) = ndimage.distance_transform_edt(~paper, return_indices=True)
        levels = levels[iy, ix]
    for c in range(channels):
        levels[:, :, c] = ndimage.gaussian_filter(levels[:, :, c], sigma=1.0, mode="nearest")
    return np.maximum(levels, 1.0)


def _gain_rows(grid: np.ndarray, height: int, width: int):
    """The paper's gain (255 / level), bilinear from the (gh, gw, C) grid: returns ``rows(y0, y1) -> (y1 - y0, width,
    C) float32``; the horizontal pass is done once, the vertical one per strip."""
    gh, gw, _ = grid.shape
    gain = 255.0 / grid

    def axis(n_out: int, n_in: int, start: int, stop: int):
        pos = np.clip((np.arange(start, stop, dtype=np.float32) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.minimum(pos.astype(np.int32), n_in - 1)
        return lo, np.minimum(lo + 1, n_in - 1), (pos - lo).astype(np.float32)

    x_lo, x_hi, fx = axis(width, gw, 0, width)
    across = gain[:, x_lo] * (1 - fx)[None, :, None] + gain[:, x_hi] * fx[None, :, None]  # (gh, width, C)

    def rows(y0: int, y1: int) -> np.ndarray:
        y_lo, y_hi, fy = axis(height, gh, y0, y1)
        return across[y_lo] * (1 - fy)[:, None, None] + across[y_hi] * fy[:, None, None]

    return rows


def clean_page(image_u8: np.ndarray) -> CleanPage:
    """Remove the paper of a drawing (see the module's docstring). ``image_u8``: (H, W) or (H, W, 3) uint8."""
    rgb = _as_rgb(image_u8)
    height, width, channels = rgb.shape
    grid = paper_level(rgb)
    if grid is None:
        gray = rgb[:, :, 0].copy() if channels == 1 else np.asarray(Image.fromarray(rgb).convert("L"))
        return CleanPage(gray=gray, lines=gray.copy(), paper=(0, 0, 0), stretch=1.0, found=False)
    paper = tuple(int(round(float(v))) for v in np.broadcast_to(grid.mean(axis=(0, 1)), (3,)))
    luma = np.array([0.299, 0.587, 0.114], np.float32)

    # Pass 1, full resolution in strips: paper divided out; ink (darkest channel) and line (luminance) planes.
    ink = np.empty((height, width), np.uint8)
    lines = ink if channels == 1 else np.empty((height, width), np.uint8)
    gain_rows = _gain_rows(grid, height, width)
    for y0 in range(0, height, _STRIP_ROWS):
        y1 = min(height, y0 + _STRIP_ROWS)
        flat = gain_rows(y0, y1)
        flat *= rgb[y0:y1]
        np.clip(flat, 0, 255, out=flat)
        if channels == 1:
            np.rint(flat[:, :, 0], out=flat[:, :, 0])
            ink[y0:y1] = flat[:, :, 0]
        else:
            red, green, blue = flat[:, :, 0], flat[:, :, 1], flat[:, :, 2]
            ink[y0:y1] = np.rint(np.minimum(np.minimum(red, green), blue))
            lines[y0:y1] = np.rint(red * luma[0] + green * luma[1] + blue * luma[2])
        del flat

    # The paper's grain: its spread from the median down to the quartile of the light pixels (above the median the
    # paper is clipped at white). A sample keeps this cheap at 4096².
    step = max(1, int(np.sqrt(height * width / 250_000)))
    sample = ink[::step, ::step].ravel()
    light = sample[sample >= _PAPER_FLOOR]
    quartile, median = np.percentile(light, [25, 50]) if light.size else (255.0, 255.0)
    spread = float(median - quartile) / 0.674
    snap = 255 - int(np.clip(np.ceil(_TEXTURE_SPREADS * spread), _MIN_SNAP, _MAX_SNAP))
    dark = sample[sample < snap]
    ink_level = float(np.percentile(dark, _INK_PERCENTILE)) if dark.size >= 16 else 0.0
    stretch = 1.0
    if dark.size >= 16:
        stretch = float(np.clip((255.0 - _INK_TARGET) / max(snap - ink_level, 1.0), 1.0, _MAX_STRETCH))

    # Pass 2: grain snapped to white, ink stretched from the snap level down (lookup tables, exact and cheap).
    levels = np.arange(256, dtype=np.float32)
    ink_lut = np.where(levels >= snap, 255, 255 - (snap - levels) * stretch).clip(0, 255).round().astype(np.uint8)
    line_lut = np.where(levels >= snap, 255, levels).astype(np.uint8)
    gray, lines = ink_lut[ink], line_lut[lines]
    # Grain the snap left: specks of a few pixels, fainter than a line, are paper (a pen's dot is darker).
    specks, count = ndimage.label(gray < 255, structure=np.ones((3, 3), bool))
    if count:
        flat = specks.ravel()
        small = np.bincount(flat, minlength=count + 1) <= _GRAIN_PX
        small[0] = False
        where = np.flatnonzero(small[flat])
        darkest = np.full(count + 1, 255, np.uint8)
        np.minimum.at(darkest, flat[where], gray.ravel()[where])
        grain = small & (darkest > _GRAIN_DARKEST)
        where = where[grain[flat[where]]]
        gray.ravel()[where] = 255
        lines.ravel()[where] = 255
    return CleanPage(gray=gray, lines=lines, paper=paper, stretch=stretch, found=True)


__all__ = ["CleanPage", "clean_page", "paper_level"]
