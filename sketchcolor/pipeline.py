"""The one inference path: picture (+ hints) -> colored picture at full resolution, with its layers.

The CLI, the Gradio page, the evaluation and the benchmark all call :class:`Colorizer`. The nets run at a working
size (long side ``working_size``, 256 by default); their ab (and, for sketches, the L estimate) are upsampled and
recombined with full-resolution information:

- **sketch**: line art -> inversion net -> L estimate; L + hint planes + region-filled hints -> color net -> ab;
  the full-resolution line art is multiplied back so strokes stay crisp at any size;
- **gray**: the input's own L (exactly, at full resolution) + predicted ab; chroma is reduced where a color falls
  outside sRGB instead of clipping, so the output's L is the input's L.

Background regions (near-white, connected to the border) stay white unless a hint lands in them. With a palette
(``colorize(..., palette=...)``) every flat region takes exactly one palette color (:mod:`sketchcolor.palette`);
``colorize_variations(..., k)`` gives k different automatic colorings to pick from (:mod:`sketchcolor.variations`).
"""

from __future__ import annotations

import logging
import math
import os
import time
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from torch import nn

from sketchcolor import color as C
from sketchcolor.errors import CheckpointError, ConfigError, HintError
from sketchcolor.hints import Hint, color_hex, parse_hint, rasterize_hints, validate_hints
from sketchcolor.image_io import DEFAULT_MAX_PIXELS, load_image
from sketchcolor.models.interface import ColorModel, InversionModel
from sketchcolor.palette import (PALETTE_READINGS_SKETCH, PALETTE_SHAPE_LINE_SHARE, PALETTE_SIGMA_AB,
                                 PALETTE_SIGMA_L_GRAY, PALETTE_SIGMA_L_SKETCH, choose_entries, nearest_entries,
                                 palette_lab, parse_palette, snap_hints)
from sketchcolor.regions import GAP_CLOSING, border_values, on_border, region_mean, region_means
from sketchcolor.tones import check_tones, typical_l
from sketchcolor.variations import check_count, check_seed, draw_region_ab

log = logging.getLogger(__name__)

MODES = ("auto", "sketch", "gray")
METHODS = ("net", "levin", "regionfill")
DEFAULT_WORKING_SIZE = 256
REGION_DECODES = ("pixel", "mean", "risk", "mode")
# "mode" decoding: the pooled distribution is smoothed over ab with this sigma (Lab units) before its peak is taken.
_MODE_SIGMA = 15.0
# The nets' memory grows with the square of the working size; above this it outgrows a laptop (they ship at 128).
_MAX_WORKING_SIZE = 2048


@dataclass
class PipelineConfig:
    """The pipeline's settings, one per rule around the nets; each rule's "why" is one line here, its measurement
    is in the model card. ``Colorizer(config=...)``, ``--set KEY=VALUE`` (CLI, evaluation) and a checkpoint's
    ``config.json`` (``"pipeline"``) set them.

    working_size: long side (px) the nets run at.
    gap_closing: gaps in the lines up to about twice this fraction of the long side are closed (0: none), so a
        fill stops at a broken outline and the page at an open one.
    temperature_sketch / temperature_gray: decoding temperature per mode (lower is more vivid); grayscale pictures
        decode more vividly, or they wash out.
    decode_sketch / decode_gray: how a region without hints gets its color: "pixel" (each pixel's own annealed
        mean; speckles), "mean" (the annealed mean of the region's pooled distribution: one color per region) or
        "risk" (the color of least expected ΔE2000 under it, a Bayes decision for the metric; washes gray out) or
        "mode" (the region's most likely color: the mean of the probability mass around the smoothed peak; vivid).
    hint_fill: a region holding a hint takes the hint's color flat (the net drifts from it in large regions).
    carry_lines: line and edge pixels take the color beside them (else the multiplied line darkens twice).
    white_page: the page stays white unless a hint lands on it.
    pocket_l: an open shape of the page (a pocket a ball of 2-8x the gap radius cannot leave,
        :func:`~sketchcolor.regions.page_pockets`) is colored as a shape when the estimate's mean L over it is
        below this; 0 keeps every open shape paper.
    shaded_l: the parts of the page where the estimate's L is below this, at least half of their outline along the
        lines, are colored as shapes (:func:`~sketchcolor.regions.shaded_shapes`): OpenMoji's open shapes, but
        beside real drawings the estimate shades paper too, so 0 (off) by default.
    shading: line art keeps the estimate's shading inside each region (default: one tone, the estimate's soft,
        blotchy shading at working size averaged out).
    temperature_draw: the temperature that sharpens a region's distribution before a variation draws its color
        from it (:meth:`Colorizer.colorize_variations`): sharper than line art's decoding, so a draw lands on one of
        the net's likely colors, not on the muddy mixture between them.
    variation_shapes_l: line art's variations 1, 3, ... (the second, the fourth; the first is 0) also color the
        open shapes of the page where the estimate is below this L (:func:`~sketchcolor.regions.shaded_shapes`), the
        others leave them paper: whether an open outline holds a shape is a guess, best left to the artist's pick;
        0: no variation colors them.
    palette_shapes_l: under a palette lock, line art's open shapes of the page where the estimate is below this L
        (three quarters of their outline along the lines, :data:`~sketchcolor.palette.PALETTE_SHAPE_LINE_SHARE`)
        are colored too, each with a palette entry (the artist named the drawing's colors; without a palette a
        shape's guessed color may be worse than paper); 0: they stay paper.
    hint_reach: where hints of several colors share a line-art region (or a hint competes with the paper), a
        color's Lab distance grows by this per 1% of the long side from its nearest hint: the nets' color alone lets
        a far hint's color take blobs across the region; 0 splits by the nets' color only.
    """

    working_size: int = DEFAULT_WORKING_SIZE
    gap_closing: float = GAP_CLOSING
    temperature_sketch: float = C.DEFAULT_TEMPERATURE
    temperature_gray: float = 0.22
    decode_sketch: str = "risk"
    decode_gray: str = "mean"
    hint_fill: bool = True
    carry_lines: bool = True
    white_page: bool = True
    pocket_l: float = 0.0
    shaded_l: float = 0.0
    shading: bool = False
    temperature_draw: float = 0.2
    variation_shapes_l: float = 85.0
    palette_shapes_l: float = 85.0
    hint_reach: float = 1.0

    def __post_init__(self) -> None:
        for name, kind in (("working_size", int), ("hint_fill", bool), ("carry_lines", bool), ("white_page", bool),
                           ("shading", bool)):
            value = getattr(self, name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(f"{name} must be {'true or false' if kind is bool else 'an integer'}, got {value!r}")
        for name in ("gap_closing", "temperature_sketch", "temperature_gray", "pocket_l", "shaded_l",
                     "temperature_draw", "variation_shapes_l", "palette_shapes_l", "hint_reach"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"{name} must be a finite number, got {value!r}")
            setattr(self, name, float(value))
        if not 32 <= self.working_size <= _MAX_WORKING_SIZE:
            raise ConfigError(f"working_size must be between 32 and {_MAX_WORKING_SIZE} pixels, got {self.working_size}")
        _check_gap_closing(self.gap_closing)
        if self.hint_reach < 0:
            raise ConfigError(f"hint_reach must be 0 or more (Lab units per 1% of the long side), got {self.hint_reach}")
        for name in ("pocket_l", "shaded_l", "variation_shapes_l", "palette_shapes_l"):
            if not 0 <= getattr(self, name) <= 100:
                raise ConfigError(f"{name} must be between 0 and 100 (CIE L), got {getattr(self, name)}")
        for name in ("temperature_sketch", "temperature_gray", "temperature_draw"):
            _check_temperature(getattr(self, name), name)
        for name in ("decode_sketch", "decode_gray"):
            if getattr(self, name) not in REGION_DECODES:
                raise ConfigError(f"{name} {getattr(self, name)!r} is unknown; allowed: {', '.join(REGION_DECODES)}")

    def with_overrides(self, overrides: dict[str, Any]) -> "PipelineConfig":
        """A copy with ``overrides`` (``{"gap_closing": 0, ...}``, e.g. from ``--set``) applied; unknown keys and bad
        values raise :class:`ConfigError` naming what is allowed."""
        from sketchcolor.models.configs import apply_overrides, from_dict, to_dict

        return from_dict(PipelineConfig, apply_overrides(to_dict(self), overrides, PipelineConfig))

    def temperature(self, mode: str) -> float:
        return self.temperature_sketch if mode == "sketch" else self.temperature_gray

    def decode(self, mode: str) -> str:
        return self.decode_sketch if mode == "sketch" else self.decode_gray


def _check_gap_closing(gap: Any) -> None:
    """A gap closing size is a fraction of the long side in [0, 0.1] (ConfigError otherwise)."""
    if isinstance(gap, bool) or not isinstance(gap, (int, float)) or not math.isfinite(gap) or not 0 <= gap <= 0.1:
        raise ConfigError(f"gap_closing must be a number between 0 and 0.1 (a fraction of the long side), got {gap!r}")


def _check_temperature(temperature: Any, name: str = "temperature") -> None:
    """A decoding temperature is a number in (0, 10] (ConfigError otherwise; None means "the default")."""
    if temperature is None:
        return
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise ConfigError(f"{name} must be a number in (0, 10], got {temperature!r}")
    if not (0 < temperature <= 10) or not math.isfinite(temperature):
        raise ConfigError(f"{name} must be in (0, 10], got {temperature}")


@dataclass
class _Prepared:
    """A loaded picture: ``gray`` is what the regions and nets see (line art: the paper removed, ink stretched,
    :func:`~sketchcolor.paper.clean_page`; gray: the input's gray), ``lines`` the artist's lines on white (line art
    only) for the line layer and the output."""

    rgb: Image.Image
    gray: np.ndarray
    lines: np.ndarray | None
    hints: list[Hint]
    mode: str


BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "default"
# Pixels at least this light (8-bit gray) count as paper when telling line art from a grayscale picture.
_MODE_PAPER_LEVEL = 230
# Line art: 75th percentile of the distance from a non-paper pixel to paper, at 256 px, at most this.
_STROKE_DEPTH_PX = 6.0
# Paper with a channel below this (8-bit) is tinted or gray: mode detection reads the cleaned page then.
_WHITE_PAPER = 240
# A page whose border's median (8-bit gray) is below this is lit unevenly or toned: mode detection reads it cleaned.
_WHITE_BORDER = 245
# Line art seen by the nets at working size: a stroke is at least this share of its darkest pixel's ink.
_THIN_LINE_INK = 0.75
# A hint on the paper takes a pixel when the nets' color there is nearer to the hint's than this times to white
# (chosen on val between page leak and ΔE2000; the model card has the measurements).
_PAPER_BIAS = 1.25
# Hints of several colors in a region: their distances and the pieces of each color on a grid of at most this many
# cells a side (a cell's error in the distance is a fraction of a Lab unit).
_HINT_GRID = 256
_EIGHT_CONNECTED = np.ones((3, 3), bool)
# A region's tone is the estimate's mean over its pixels farther than this from a line at working size (when any).
_LINE_BLUR_PX = 1.5
# Rows of the full-resolution picture converted at once: bounds the memory of recombination (4096² inputs).
_STRIP_ROWS = 512


@dataclass
class ColorizeResult:
    """A colored picture and the layers an artist may want.

    image: the colored picture, PIL RGB, the input's size.
    mode: the resolved mode, "sketch" or "gray".
    l_estimate: the lightness used (sketch: the inversion net's estimate, hinted regions at their hint's L and
        line pixels at the L of the region beside them, so the lines are not in it; gray: the input's L), PIL "L"
        holding CIE L × 2.55 (so 255 is L = 100; not sRGB gray).
    flat: flat colors, one color per closed region, no lines or shading, PIL RGB.
    lines: the line layer (sketch: the input's lines, black on white; gray: all white), PIL "L".
    hints: the hints that were applied, in input pixel coordinates.
    seconds: wall time of the call.
    colors: the colored picture before the lines are multiplied back (``image`` = colors × lines), PIL RGB.
    shading: the lightness relative to the flats' (255 × min(1, L / flat L)), a multiply layer, PIL "L"; None
        for the classical methods.
    page: bool (H, W), the white page that no color reached (with the line pixels beside it); None when nothing
        was told apart.
    labels: int32 (H, W), the regions the flats follow (0 on lines and edges); None for Levin et al.
    reference: what a reference did (``colorize(..., reference=...)``), else None: ``{"regime": "match" or
        "global", "score": the alignment's score (None when not aligned), "matched": regions that took a
        segment's color, "regions": regions that could}``.
    """

    image: Image.Image
    mode: str
    l_estimate: Image.Image
    flat: Image.Image
    lines: Image.Image
    hints: list[Hint] = field(default_factory=list)
    seconds: float = 0.0
    colors: Image.Image | None = None
    shading: Image.Image | None = None
    page: np.ndarray | None = None
    labels: np.ndarray | None = None
    reference: dict[str, Any] | None = None

    def save_layers(self, path: str | os.PathLike, *, by_color: bool = False) -> Path:
        """Write the layers an artist keeps working on as OpenRaster (``.ora``) or Photoshop (``.psd``), chosen by
        the suffix; ``by_color`` adds a hidden group with one layer per flat color. See :mod:`sketchcolor.layers`."""
        from sketchcolor.layers import save_layers

        return save_layers(self, path, by_color=by_color)


def detect_mode(gray_u8: np.ndarray) -> str:
    """Tell line art ("sketch") from a grayscale picture ("gray") by how thick its non-paper areas are.

    gray_u8: (H, W) uint8. At a ~256 px scale, 3 in 4 non-paper pixels of line art lie within a few pixels of the
    paper (strokes; measured on OpenMoji's line art: 75th percentile of the distance to paper 3-4 px), while
    shaded or filled pictures have wide dark areas (8 px and more). Line art with large solid fills reads as
    gray: pass the mode explicitly for those.
    """
    from scipy import ndimage

    h, w = gray_u8.shape
    scale = 256 / max(h, w)
    small = gray_u8
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(Image.fromarray(gray_u8).resize(size, Image.BOX))
    dark = small < _MODE_PAPER_LEVEL
    if not dark.any():
        return "sketch"  # a blank page: nothing to shade, treat it as an empty drawing
    depth = ndimage.distance_transform_edt(dark)[dark]
    return "sketch" if np.percentile(depth, 75) <= _STROKE_DEPTH_PX else "gray"


def _shaded_pockets(labels: np.ndarray, paper: np.ndarray, pockets: np.ndarray, l_estimate: np.ndarray,
                    below: float) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, paper)`` with every pocket still on the paper whose mean estimated L is below ``below`` made a
    region of its own (:func:`~sketchcolor.regions.page_pockets`; the estimate tells a shape from the paper)."""
    from sketchcolor.regions import take_pockets

    open_shapes = np.where(paper, pockets, 0)
    count = int(open_shapes.max()) + 1
    sizes = np.bincount(open_shapes.ravel(), minlength=count)
    mean_l = np.bincount(open_shapes.ravel(), weights=l_estimate.ravel(), minlength=count) / np.maximum(sizes, 1)
    shaded = (sizes > 0) & (mean_l < below)
    shaded[0] = False
    return take_pockets(labels, paper, open_shapes, np.flatnonzero(shaded))


def _hint_points(hint_list: list[Hint], height: int, width: int) -> list[tuple[int, int]]:
    """Each hint's pixel (y, x) in an (H, W) picture."""
    return [(min(height - 1, int(h.y)), min(width - 1, int(h.x))) for h in hint_list]


def _hint_lab(hint_list: list[Hint]) -> np.ndarray:
    """(N, 3) float32 Lab of the hints' colors."""
    return C.rgb_u8_to_lab_np(np.array([[h.color for h in hint_list]], np.uint8))[0]


def _paper_shapes(labels: np.ndarray, paper: np.ndarray, hint_yx: list[tuple[int, int]], l_estimate: np.ndarray,
                  radius: float, config: PipelineConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, paper)`` with the open shapes of the paper that become regions: the one a hint lands in
    (:func:`~sketchcolor.regions.split_page_at_hints`) and, with ``pocket_l`` or ``shaded_l``, those the estimate
    shades. The open shapes are only searched for when a hint is on the paper or a setting asks for them."""
    from sketchcolor.regions import page_pockets, split_page_at_hints

    pockets = page_pockets(labels, paper, radius) if config.pocket_l > 0 else None
    if config.hint_fill and hint_yx:
        seeds = np.zeros(labels.shape, bool)
        seeds[tuple(np.array(hint_yx).T)] = True
        labels, paper = split_page_at_hints(labels, paper, seeds, radius, pockets=pockets)
    if pockets is not None:
        labels, paper = _shaded_pockets(labels, paper, pockets, l_estimate, config.pocket_l)
    if config.shaded_l > 0:
        labels, paper = _shaded_regions(labels, paper, l_estimate, config.shaded_l, radius)
    return labels, paper


def _shaded_regions(labels: np.ndarray, paper: np.ndarray, l_estimate: np.ndarray, below: float,
                    radius: float, line_share: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, paper)`` with each open shape of the paper the estimate shades below L ``below``
    (:func:`~sketchcolor.regions.shaded_shapes`, at least ``line_share`` of its outline along the lines) a region of
    its own, numbered after the existing ones."""
    from sketchcolor.regions import shaded_shapes, take_pockets

    shapes = shaded_shapes(labels, paper, l_estimate, below, radius, line_share=line_share)
    return take_pockets(labels, paper, shapes, np.arange(1, int(shapes.max()) + 1))


def _hinted_regions(labels: np.ndarray, hint_yx: list[tuple[int, int]], hint_lab: np.ndarray, lab: np.ndarray,
                    paper: np.ndarray, reach: float) -> tuple[np.ndarray, dict[int, np.ndarray], np.ndarray]:
    """The regions hints color, and their colors: ``(labels, {region: Lab}, paper)``.

    A region holding hints of one color takes it. A region holding hints of several colors (a flag's stripes drawn
    without lines between them) is split between them (:func:`_split_between_hints`): by the nets' own color,
    which follows the hints, and by nearness to each color's hints, each part in one piece around its hints, so the
    border between two colors is where the nets put it, not a straight cut halfway between the hints. A hint on the
    paper (outside any open shape) competes with the paper the same way: the paper stays where the nets see white,
    in pieces that reach the picture's border. labels int (H, W); hint_yx the hints' pixels; hint_lab (N, 3);
    lab (3, H, W) the L estimate and the color net's ab; paper bool (H, W); reach: :attr:`PipelineConfig.hint_reach`.
    """
    regions = np.array([labels[y, x] for y, x in hint_yx])
    on_paper = np.array([paper[y, x] for y, x in hint_yx], bool)
    colors: dict[int, np.ndarray] = {}
    next_label = int(labels.max()) + 1
    copied = False
    for region in np.unique(regions[regions > 0]):
        held = regions == region
        found, which = np.unique(hint_lab[held], axis=0, return_inverse=True)
        is_paper = bool(on_paper[held].any())
        if len(found) == 1 and not is_paper:
            colors[int(region)] = found[0]
            continue
        if not copied:
            # Each region's bounding box; splitting one only gives its own pixels new labels, so the others' hold.
            boxes = ndimage.find_objects(labels)
            labels, paper, copied = labels.copy(), paper.copy(), True
        box = boxes[region - 1]
        inside = labels[box] == region
        points = [(y - box[0].start, x - box[1].start) for (y, x), h in zip(hint_yx, held) if h]
        border = _border_sides(box, labels.shape) if is_paper else None
        nearest = _split_between_hints(inside, lab[:, box[0], box[1]], found, points, which.ravel(), border,
                                       reach * 100.0 / max(labels.shape))
        parts = np.where(nearest == 0, region, next_label + nearest - 1).astype(labels.dtype)
        labels[box][inside] = parts
        parts_colors: list[np.ndarray | None] = list(found)
        if is_paper:
            paper[box][inside] = nearest == len(found)  # the share nearest to white stays paper
            parts_colors.append(None)
        for k, color in enumerate(parts_colors):
            if color is not None and (nearest == k).any():  # a hint color the nets put nowhere gets no region
                colors[int(region) if k == 0 else next_label + k - 1] = color
        next_label += len(parts_colors) - 1
    return labels, colors, paper


def _border_sides(box: tuple[slice, slice], shape: tuple[int, ...]) -> tuple[bool, bool, bool, bool]:
    """Which sides of ``box`` (top, bottom, left, right) lie on the picture's border."""
    return box[0].start == 0, box[0].stop == shape[0], box[1].start == 0, box[1].stop == shape[1]


def _split_between_hints(inside: np.ndarray, lab: np.ndarray, found: np.ndarray, points: list[tuple[int, int]],
                         which: np.ndarray, border: tuple[bool, bool, bool, bool] | None,
                         reach: float) -> np.ndarray:
    """(n,) int: for each pixel of ``inside`` (bool (h, w), the region in its bounding box) the hint color it takes,
    an index into ``found`` (K, 3) Lab, or K for the paper when ``border`` (the box's sides on the picture's border)
    is given.

    Each pixel first takes the color nearest to the nets' Lab there (``lab`` (3, h, w)), white counted
    :data:`_PAPER_BIAS` times farther, plus ``reach`` Lab units per pixel from that color's nearest hint
    (``points``, with ``which`` their index into ``found``). Then only the pieces holding a hint of their color and
    each color's largest piece (the paper: those on the picture's border) stay; the pixels of the other pieces, the
    nets' stray blobs and holes, take the color of the nearest piece that stayed.
    """
    candidates = np.concatenate([found, [[100.0, 0.0, 0.0]]]) if border is not None else found
    # The hints' distances and the pieces are worked out on a grid of at most _HINT_GRID cells a side: the distance
    # is smooth, and the nets' color is at that scale; each pixel keeps its own nearest color where it borders a
    # cell that kept it, so the borders stay those of the full-size choice.
    step = max(1, -(-max(inside.shape) // _HINT_GRID))
    grid = (-(-inside.shape[0] // step), -(-inside.shape[1] // step))
    cell_of_row = (np.arange(inside.shape[0], dtype=np.int32) // step) * np.int32(grid[1])
    cell_of_col = np.arange(inside.shape[1], dtype=np.int32) // step
    cell = (cell_of_row[:, None] + cell_of_col[None, :])[inside]
    pixel_lab = lab[:, inside].astype(np.float32, copy=False)  # (3, n)
    distance = np.empty((len(candidates), cell.size), np.float32)  # squared
    for k, color in enumerate(candidates.astype(np.float32)):
        np.square(pixel_lab[0] - color[0], out=distance[k])
        distance[k] += np.square(pixel_lab[1] - color[1])
        distance[k] += np.square(pixel_lab[2] - color[2])
        if k == len(found):
            distance[k] *= _PAPER_BIAS ** 2
            continue
        away = np.ones(grid, bool)
        for (y, x), index in zip(points, which):
            if index == k:
                away[y // step, x // step] = False
        far = ndimage.distance_transform_edt(away).astype(np.float32).ravel() * np.float32(step * reach)
        distance[k] += np.square(far[cell])
    own = distance.argmin(axis=0).astype(np.int32)
    del distance, pixel_lab
    # Each cell's color: the one most of its pixels chose; -1 off the region.
    votes = np.bincount(cell * len(candidates) + own, minlength=grid[0] * grid[1] * len(candidates))
    votes = votes.reshape(grid[0] * grid[1], len(candidates))
    cells = np.where(votes.any(axis=1), votes.argmax(axis=1), -1).reshape(grid).astype(np.int32)
    kept = np.full(grid, -1, np.int32)
    hint_cells = [(y // step, x // step) for y, x in points]
    for k in range(len(candidates)):
        pieces, count = ndimage.label(cells == k, structure=_EIGHT_CONNECTED)
        if count == 0:
            continue
        keep = np.zeros(count + 1, bool)
        if k < len(found):
            keep[[pieces[c] for c, index in zip(hint_cells, which) if index == k]] = True
            # The largest piece stays too: a hint put where the nets see another color still gets the nets' area.
            keep[1 + int(np.argmax(np.bincount(pieces.ravel(), minlength=count + 1)[1:]))] = True
        else:
            keep = on_border(pieces, border)
            if not keep[1:].any():
                keep[:] = True  # a page that reaches no border (not found so): every white piece stays
        keep[0] = False
        kept[keep[pieces]] = k
    if not (kept >= 0).any():
        return own
    if (kept < 0).any():  # every other cell (the lost pieces', the lines') takes the nearest piece that stayed
        _, (near_rows, near_cols) = ndimage.distance_transform_edt(kept < 0, return_indices=True)
        kept = kept[near_rows, near_cols]
    chosen = kept.ravel()[cell]
    for k in range(len(candidates)):
        beside = ndimage.binary_dilation(kept == k, structure=_EIGHT_CONNECTED).ravel()[cell]
        chosen[(own == k) & beside] = k
    return chosen


def detect_page_mode(gray_u8: np.ndarray, clean: Any) -> str:
    """:func:`detect_mode` of a picture with its cleaned page (:func:`~sketchcolor.paper.clean_page`): on the cleaned
    page when the paper was tinted or gray, or darkens toward the picture's border (a page lit unevenly; on the raw
    picture either would be one wide dark area), else on the picture itself (cleaning takes a grayscale picture's
    light fills for uneven paper, and such a picture's border is white). gray_u8 (H, W) uint8."""
    uneven = float(np.median(border_values(gray_u8))) < _WHITE_BORDER
    tinted = clean.found and (min(clean.paper) < _WHITE_PAPER or uneven)
    return detect_mode(clean.gray if tinted else gray_u8)


def _working_shape(height: int, width: int, working_size: int, multiple: int) -> tuple[int, int, int, int]:
    """(h, w) of the picture at working size and (h_pad, w_pad) rounded up to the nets' size multiple."""
    scale = working_size / max(height, width)
    h = max(1, round(height * scale))
    w = max(1, round(width * scale))
    h_pad = -(-h // multiple) * multiple
    w_pad = -(-w // multiple) * multiple
    return h, w, h_pad, w_pad


def fit_to_gamut(l: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Lab -> sRGB in [0, 1], keeping L and hue and reducing chroma where the color falls outside sRGB.

    l: (H, W) L in [0, 100]; ab: (2, H, W) Lab units. Returns rgb (3, H, W). Clipping RGB would change the
    lightness; instead the chroma is capped at the largest in-gamut chroma for the pixel's L and hue, read from a
    table (the smallest of the four surrounding entries, so the cap errs on the safe side; a final clip only
    trims float error).
    """
    table = C.max_chroma_table()
    n_l, n_hue = table.shape
    chroma = torch.hypot(ab[0], ab[1])
    hue = torch.atan2(ab[1], ab[0]).remainder(2 * math.pi) * (n_hue / (2 * math.pi))
    li = (l.clamp(0, 100) * ((n_l - 1) / 100)).floor().long().clamp_(0, n_l - 2)
    hj = hue.floor().long().remainder_(n_hue)
    hj1 = (hj + 1).remainder_(n_hue)
    cap = torch.minimum(torch.minimum(table[li, hj], table[li, hj1]),
                        torch.minimum(table[li + 1, hj], table[li + 1, hj1]))
    scale = (cap / chroma.clamp_min(1e-6)).clamp_(max=1.0)
    lab = torch.cat([l[None], ab * scale[None]], 0)
    return C.lab_to_rgb(lab, clip=True)


def _to_u8(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) float in [0, 1] -> (H, W, 3) uint8."""
    return (rgb.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy())


def _regions_holding(flat_labels: np.ndarray, mask: np.ndarray, count: int) -> np.ndarray:
    """(count,) bool: the labels of ``flat_labels`` (raveled labels) that hold a pixel of ``mask`` (same shape)."""
    held = np.zeros(count, bool)
    held[flat_labels[mask.ravel()]] = True
    return held


def _multiply_lines(colors_u8: np.ndarray, lines_u8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colors × (H, W) uint8 line art / 255, rounded, in strips (bounds the uint16 product)."""
    out = np.empty_like(colors_u8)
    for y0 in range(0, colors_u8.shape[0], _STRIP_ROWS):
        sl = slice(y0, y0 + _STRIP_ROWS)
        product = colors_u8[sl].astype(np.uint16) * lines_u8[sl, :, None]
        out[sl] = ((product + 127) // 255).astype(np.uint8)
    return out


def _l_to_u8(l: torch.Tensor) -> Image.Image:
    """(H, W) CIE L in [0, 100] -> PIL "L" picture holding L × 2.55 (the scale of ColorizeResult.l_estimate)."""
    return Image.fromarray(l.mul(2.55).round().clamp(0, 255).to(torch.uint8).numpy(), "L")


def _coerce_hints(hints: Sequence[Hint | str | dict] | None) -> list[Hint]:
    out: list[Hint] = []
    for hint in hints or []:
        if isinstance(hint, Hint):
            out.append(hint)
        elif isinstance(hint, str):
            out.append(parse_hint(hint))
        elif isinstance(hint, dict):
            try:
                out.append(Hint(**hint))
            except TypeError as exc:
                raise HintError(f"bad hint {hint!r}: {exc}") from None
        else:
            raise HintError(f"a hint must be a Hint, 'X,Y,#RRGGBB' or a dict, not {type(hint).__name__}")
    return out


def _resolve_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:N', not {type(device).__name__}")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unsupported device {str(device)!r}; allowed: cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA device is available; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"unsupported device {str(device)!r}; allowed: cpu, cuda")
    return dev


class Colorizer:
    """Colors line art and grayscale pictures with the two nets (or a classical method).

    inversion: the net of the ``inversion`` role (line art -> L) or None; color: the net of the ``color`` role or
    None (any registered architecture; the Colorizer uses only the roles' declared interfaces,
    :mod:`sketchcolor.models.interface`). Either may be missing: a checkpoint with only the color net colors
    grayscale pictures; classical methods need neither. config: the pipeline's settings (:class:`PipelineConfig`,
    or a dict of overrides); ``working_size`` and ``gap_closing`` set those two settings directly, ``temperature``
    sets both modes' temperature. max_pixels: larger pictures are refused (None: no limit). tones: (Q,) the typical
    CIE L of each of the color net's ab bins (:mod:`sketchcolor.tones`; a checkpoint's ``"tones"``), the tone line
    art's drawn variations take; None keeps the estimate's tone.
    """

    def __init__(
        self,
        inversion: InversionModel | nn.Module | None = None,
        color: ColorModel | nn.Module | None = None,
        *,
        device: str | torch.device | None = None,
        working_size: int | None = None,
        temperature: float | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        gap_closing: float | None = None,
        source: str | None = None,
        config: PipelineConfig | dict[str, Any] | None = None,
        tones: np.ndarray | None = None,
    ) -> None:
        if isinstance(config, dict):
            config = PipelineConfig().with_overrides(config)
        elif config is not None and not isinstance(config, PipelineConfig):
            raise ConfigError(f"config must be a PipelineConfig or a dict, not {type(config).__name__}")
        direct = {k: v for k, v in (("working_size", working_size), ("gap_closing", gap_closing)) if v is not None}
        self.config = dataclasses.replace(config or PipelineConfig(), **direct)
        _check_temperature(temperature)
        if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, int)
                                       or max_pixels < 1):
            raise ConfigError(f"max_pixels must be a positive integer or None, got {max_pixels!r}")
        self.device = _resolve_device(device)
        self.inversion = inversion.to(self.device).eval() if inversion is not None else None
        self.color = color.to(self.device).eval() if color is not None else None
        self.temperature = None if temperature is None else float(temperature)
        self.max_pixels = max_pixels
        self.source = source
        if tones is not None:
            tones = np.asarray(tones, np.float64)
            if self.color is None or tones.shape != (int(self.color.bins.shape[0]),) or not np.isfinite(tones).all():
                raise ConfigError("tones must be one finite CIE L per ab bin of the color net "
                                  f"({0 if self.color is None else int(self.color.bins.shape[0])}), got shape "
                                  f"{tones.shape}")
        self.tones = tones
        self._risk_cache: torch.Tensor | None = None

    @property
    def working_size(self) -> int:
        return self.config.working_size

    @property
    def gap_closing(self) -> float:
        return self.config.gap_closing

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        *,
        device: str | torch.device | None = None,
        **kwargs: Any,
    ) -> "Colorizer":
        """Load a checkpoint folder (or its model.safetensors file); ``None`` means the bundled default weights.

        The checkpoint's ``working_size`` and ``pipeline`` settings (config.json) start the :class:`PipelineConfig`;
        ``config`` (a dict of overrides or a whole PipelineConfig) and the other keyword arguments go on top."""
        from sketchcolor.checkpoint import load_checkpoint

        if path is None:
            if not (BUNDLED_WEIGHTS / "model.safetensors").is_file():
                raise CheckpointError(
                    "no bundled weights are installed with this sketchcolor yet; pass a checkpoint folder "
                    "(e.g. Colorizer.from_pretrained('runs/NAME') or --checkpoint runs/NAME)"
                )
            path = BUNDLED_WEIGHTS
        folder = Path(path)
        if folder.is_file() and folder.name.endswith(".safetensors"):
            folder = folder.parent
        dev = _resolve_device(device)
        loaded = load_checkpoint(folder, device=dev)
        saved = dict(loaded.config.get("pipeline") or {})
        saved.setdefault("working_size", loaded.config.get("working_size", DEFAULT_WORKING_SIZE))
        try:
            base = PipelineConfig().with_overrides(saved)
        except ConfigError as exc:
            raise CheckpointError(f"{folder}: bad pipeline settings in config.json: {exc}") from None
        config = kwargs.pop("config", None)
        kwargs["config"] = config if isinstance(config, PipelineConfig) else base.with_overrides(config or {})
        color = loaded.models.get("color")
        if color is not None:
            kwargs.setdefault("tones", check_tones(loaded.config.get("tones"), int(color.bins.shape[0]), str(folder)))
        return cls(
            loaded.models.get("inversion"),
            loaded.models.get("color"),
            device=dev,
            source=str(folder),
            **kwargs,
        )

    # ------------------------------------------------------------------ helpers
    def _check_args(self, mode: str, method: str, temperature: float | None) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; allowed: {', '.join(MODES)}")
        if method not in METHODS:
            raise ConfigError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
        _check_temperature(temperature)

    def _temperature(self, given: float | None, mode: str) -> float:
        """The call's temperature, else the Colorizer's, else the resolved mode's setting."""
        if given is not None:
            return float(given)
        return self.temperature if self.temperature is not None else self.config.temperature(mode)

    def _require_color_net(self) -> None:
        if self.color is None:
            raise CheckpointError("this checkpoint has no color net; load a checkpoint that holds one")

    def _multiple(self) -> int:
        nets = [m for m in (self.inversion, self.color) if m is not None]
        return int(np.lcm.reduce([int(m.size_multiple) for m in nets])) if nets else 1

    def _regions(self, picture_u8: np.ndarray, mode: str, gap_closing: float) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, page)`` of a line drawing (:func:`~sketchcolor.regions.segment_line_art`, gaps up to
        ``2 * gap_closing`` of the long side closed) or of a grayscale picture (flat regions)."""
        from sketchcolor.regions import background_mask, gray_regions, segment_line_art

        if mode == "sketch":
            segmentation = segment_line_art(picture_u8, gap_radius=gap_closing * max(picture_u8.shape))
            return segmentation.labels, segmentation.page
        labels = gray_regions(picture_u8)
        return labels, background_mask(labels, picture_u8)

    def _resize_small(self, gray_full: np.ndarray, h: int, w: int) -> np.ndarray:
        """(H, W) uint8 -> (h, w) uint8 with area averaging (thin lines turn gray rather than vanish)."""
        resample = Image.BOX if h < gray_full.shape[0] else Image.BILINEAR
        return np.array(Image.fromarray(gray_full).resize((w, h), resample))

    def _prepare(self, image: Any, hints: Sequence[Hint | str | dict] | None, mode: str) -> "_Prepared":
        from sketchcolor.paper import clean_page

        rgb_img = load_image(image, max_pixels=self.max_pixels)
        width, height = rgb_img.size
        hint_list = _coerce_hints(hints)
        validate_hints(hint_list, width, height)
        clean = clean_page(np.asarray(rgb_img)) if mode != "gray" else None
        gray = np.array(rgb_img.convert("L")) if mode != "sketch" else None
        resolved = detect_page_mode(gray, clean) if mode == "auto" else mode
        if resolved == "gray":
            return _Prepared(rgb_img, gray, None, hint_list, resolved)
        return _Prepared(rgb_img, clean.gray, clean.lines, hint_list, resolved)

    @torch.inference_mode()
    def _net_small(self, gray_full: np.ndarray, lab_l_full: torch.Tensor | None, hint_list: list[Hint], mode: str,
                   temperature: float, gap_closing: float, want_logits: bool = False, want_cells: bool = False,
                   color_hist: np.ndarray | None = None):
        """Run the nets at working size. Returns a dict of small-resolution arrays (unpadded); ``want_cells`` adds
        "cells", the color distribution (Q, ch, cw) of every logits cell whose centre lies in the picture.
        color_hist (Q,): a reference's colors over the bins; the pooled regions' colors follow it
        (:func:`~sketchcolor.transfer.global_weights`)."""
        from sketchcolor.regions import propagate_values, split_page_at_hints

        self._require_color_net()
        height, width = gray_full.shape
        h, w, h_pad, w_pad = _working_shape(height, width, self.working_size, self._multiple())
        gray_small = self._resize_small(gray_full, h, w)
        dev = self.device
        if mode == "sketch":
            if self.inversion is None:
                raise CheckpointError("this checkpoint has no inversion net, so it cannot color line art; use mode 'gray'")
            line_min = gray_small
            if h < height:
                # Regions come from a darkest-pixel reduction so thin strokes stay closed boundaries at working size,
                # and the nets see thin strokes at least as dark as _THIN_LINE_INK of it (area averaging fades them).
                darkness = torch.from_numpy(255 - gray_full).float()[None, None]
                line_min = 255 - F.adaptive_max_pool2d(darkness, (h, w))[0, 0].round().to(torch.uint8).numpy()
                faded = (255 - _THIN_LINE_INK * (255 - line_min.astype(np.float32))).round().astype(np.uint8)
                gray_small = np.minimum(gray_small, faded)
            l_small = self._estimate_small(gray_small, h_pad, w_pad)
            labels, paper = self._regions(line_min, mode, gap_closing)
            # Pixels clear of the lines: the estimate beside a line is a blur of the line, dark in thin regions.
            clear = ndimage.distance_transform_edt(labels > 0) > _LINE_BLUR_PX
        else:
            # The input's own L at working size (area-averaged L, not L of averaged gray).
            l_small = F.interpolate(lab_l_full[None, None], size=(h, w), mode="area")[0, 0]
            labels, _ = self._regions(gray_small, mode, gap_closing)
        hint_ab, hint_mask = rasterize_hints(hint_list, (width, height), (w, h))
        seeds = hint_mask.numpy()[0] > 0
        if mode == "sketch":
            labels, paper = split_page_at_hints(labels, paper, seeds, gap_closing * max(h, w))
            # A hint on the paper outside any open shape fills nothing: the nets place its color themselves, pixel
            # by pixel (that paper is not pooled into one color either).
            fill_labels = np.where(paper, 0, labels)
            per_pixel = np.isin(labels, np.unique(labels[seeds & paper])) & paper
        else:
            fill_labels, per_pixel = labels, np.zeros(labels.shape, bool)
        fill_ab, fill_mask = propagate_values(fill_labels, hint_ab.numpy(), seeds)

        def pad(t: torch.Tensor, value: float = 0.0) -> torch.Tensor:
            return F.pad(t, (0, w_pad - w, 0, h_pad - h), value=value)

        x = self.color.make_input(
            pad(C.l_to_norm(l_small)[None, None].to(dev), 1.0),
            pad(C.ab_to_norm(hint_ab)[None].to(dev)),
            pad(hint_mask[None].to(dev)),
            pad(C.ab_to_norm(torch.from_numpy(fill_ab))[None].to(dev)),
            pad(torch.from_numpy(fill_mask)[None, None].to(dev)),
        )
        heads = self.color(x)  # one forward serves both the decoded color and the suggestions' logits
        ab_norm = self.color.decode(heads, x, temperature=temperature)[..., :h, :w]
        ab_small = C.norm_to_ab(ab_norm[0].float())
        if self.config.decode(mode) != "pixel":
            ab_small = self._pooled_region_ab(heads.logits[0], labels, (fill_mask > 0) | per_pixel, ab_small,
                                              temperature, l_small=l_small, decode=self.config.decode(mode),
                                              color_hist=color_hist)
        out = {"l_small": l_small, "ab_small": ab_small}
        if mode == "sketch":
            out["clear"] = clear
        if want_logits:
            logits = F.interpolate(heads.logits, size=(h_pad, w_pad), mode="bilinear", align_corners=False)
            out["logits"] = logits[0, :, :h, :w].float()
        if want_cells:
            stride = self.color.logits_stride
            rows = int((np.arange(heads.logits.shape[-2]) * stride + stride // 2 < h).sum())
            cols = int((np.arange(heads.logits.shape[-1]) * stride + stride // 2 < w).sum())
            out["cells"] = torch.softmax(heads.logits[0, :, :rows, :cols].float(), dim=0).cpu()
        return out

    def _risk_table(self) -> torch.Tensor:
        """(21, Q, Q) ΔE2000 between the color bins at L = 0, 5, .., 100, computed once per Colorizer."""
        if self._risk_cache is None:
            from skimage.color import deltaE_ciede2000

            ab = self.color.bins.cpu().double().numpy()
            q = ab.shape[0]
            table = np.empty((21, q, q), np.float32)
            for i, l in enumerate(np.linspace(0, 100, 21)):
                lab = np.concatenate([np.full((q, 1), l), ab], 1)
                table[i] = deltaE_ciede2000(lab[:, None, :], lab[None, :, :])
            self._risk_cache = torch.from_numpy(table)
        return self._risk_cache

    def _pooled_region_ab(self, logits: torch.Tensor, labels: np.ndarray, fill_mask: np.ndarray,
                          ab_small: torch.Tensor, temperature: float, *, l_small: torch.Tensor | None = None,
                          decode: str = "mean", color_hist: np.ndarray | None = None) -> torch.Tensor:
        """One color per region without hints, decoded from the region's pooled color distribution.

        Decoding each pixel on its own lets neighbours of one flat region pick different modes (speckle) and
        averages the modes of an uncertain region into gray-brown; pooling the predicted distributions over the
        closed (sketch) or flat (gray) region first, then decoding, gives the region one consistent color. The
        logits (Q, h/s, w/s) are pooled at their own resolution, each cell counted for the region at its centre;
        regions that hold no cell centre, hinted regions and label 0 keep the per-pixel color. ``decode``: "mean"
        (annealed mean), "risk" (least expected ΔE2000 at the region's mean L of ``l_small`` (h, w)) or "mode"
        (:meth:`_mode_ab`). color_hist (Q,): a reference's colors, reweighting every pooled distribution
        (:func:`~sketchcolor.transfer.global_weights`) before it is decoded.
        labels (h, w) int; fill_mask (h, w) 1 where a hint filled the region; ab_small (2, h, w) Lab units.
        """
        stride = self.color.logits_stride
        height, width = labels.shape
        ys = np.arange(logits.shape[-2]) * stride + stride // 2
        xs = np.arange(logits.shape[-1]) * stride + stride // 2
        ys, xs = ys[ys < height], xs[xs < width]  # cells over the padding have no region
        pooled_labels = labels.copy()
        pooled_labels[fill_mask > 0] = 0  # hinted regions follow their hints
        count = int(pooled_labels.max()) + 1
        if count <= 1:
            return ab_small
        cell_labels = torch.from_numpy(pooled_labels[np.ix_(ys, xs)].astype(np.int64)).reshape(-1)
        cells = logits[:, :ys.size, :xs.size].float().reshape(logits.shape[0], -1)
        probs = torch.softmax(cells, dim=0).T.cpu()  # (cells, Q)
        sums = torch.zeros(count, probs.shape[1]).index_add_(0, cell_labels, probs)
        has_cells = torch.bincount(cell_labels, minlength=count) > 0
        has_cells[0] = False
        if color_hist is not None and has_cells.any():
            from sketchcolor.transfer import global_weights

            weights = global_weights(color_hist, sums[has_cells].sum(0).double().numpy())
            sums = sums * torch.from_numpy(weights).float()[None]
        bins = self.color.bins.cpu().float()
        if decode == "risk":
            # Minimum expected ΔE2000 (a Bayes decision for the metric) at the region's mean L, over the pooled
            # distribution sharpened by 2 * DEFAULT_TEMPERATURE / T so that the temperature still sets how vivid
            # colors are.
            label_flat = torch.from_numpy(pooled_labels.astype(np.int64)).reshape(-1)
            l_mean = torch.zeros(count).index_add_(0, label_flat, l_small.reshape(-1).float().cpu())
            l_mean /= torch.bincount(label_flat, minlength=count).clamp_min(1)
            table = self._risk_table()
            level = (l_mean / 100 * (table.shape[0] - 1)).round().long().clamp(0, table.shape[0] - 1)
            sharp = torch.softmax(sums.clamp_min(1e-12).log() * (2 * C.DEFAULT_TEMPERATURE / temperature), dim=1)
            best = torch.einsum("rq,rcq->rc", sharp, table[level]).argmin(1)
            region_ab = bins[best].T  # (2, count)
        elif decode == "mode":
            region_ab = self._mode_ab(sums, bins)
        else:
            region_ab = C.annealed_mean(sums.clamp_min(1e-12).log().T[None, :, :, None], bins,
                                        temperature=temperature)[0, :, :, 0]  # (2, count)
        label_t = torch.from_numpy(pooled_labels.astype(np.int64))
        return torch.where(has_cells[label_t][None], region_ab[:, label_t], ab_small)

    @staticmethod
    def _mode_ab(sums: torch.Tensor, bins: torch.Tensor) -> torch.Tensor:
        """(2, R) the most likely color of each region's pooled distribution ``sums`` (R, Q) over ``bins`` (Q, 2).

        Averaging all modes of an uncertain region gives gray-brown; taking one bin's peak follows noise. The
        distribution is smoothed over ab (:data:`_MODE_SIGMA`), its peak found, and the probability-weighted mean
        of the bins within the same reach of that peak returned: the dominant color, as vivid as the net saw it.
        """
        dist2 = torch.cdist(bins, bins).square()
        kernel = torch.exp(-dist2 / (2 * _MODE_SIGMA**2))
        peak = (sums @ kernel).argmax(1)  # (R,)
        near = kernel[peak] * sums  # (R, Q): mass around each region's peak
        return ((near @ bins) / near.sum(1, keepdim=True).clamp_min(1e-12)).T

    def _region_distributions(self, cells: torch.Tensor, small_hw: tuple[int, int], labels: np.ndarray) -> np.ndarray:
        """(R, Q) float64: the sum of the color distributions of the logits cells (``cells`` (Q, ch, cw), from
        :meth:`_net_small` at working size ``small_hw``) whose centres fall in each region of the full-resolution
        ``labels`` (H, W), R = labels.max() + 1; a region no centre falls in has a row of zeros."""
        stride = self.color.logits_stride
        (h, w), (height, width) = small_hw, labels.shape
        centre_y = np.arange(cells.shape[1]) * stride + stride // 2 + 0.5  # working-size pixel centres
        centre_x = np.arange(cells.shape[2]) * stride + stride // 2 + 0.5
        rows = np.minimum((centre_y * height / h).astype(np.int64), height - 1)
        cols = np.minimum((centre_x * width / w).astype(np.int64), width - 1)
        cell_labels = torch.from_numpy(labels[np.ix_(rows, cols)].astype(np.int64)).reshape(-1)
        probs = cells.reshape(cells.shape[0], -1).T.double()  # (cells, Q)
        sums = torch.zeros(int(labels.max()) + 1, probs.shape[1], dtype=torch.float64)
        return sums.index_add_(0, cell_labels, probs).numpy()

    def _palette_entries(self, cells: torch.Tensor, small_hw: tuple[int, int], labels: np.ndarray,
                         region_lab: np.ndarray, hinted: np.ndarray, entries_lab: np.ndarray,
                         sketch: bool, page_rows: np.ndarray | None) -> np.ndarray:
        """(R,) int64: every region's palette entry (:func:`~sketchcolor.palette.choose_entries` over its pooled
        distribution at full resolution, :meth:`_region_distributions`; a region no cell centre falls in reads its
        mean ab; line art's L is an estimate, a grayscale picture's its own, hence each its σ_L), a hinted region's
        the entry nearest its color by ΔE2000.
        region_lab (3, R) each region's CIE Lab (hinted: its hint's); hinted (R,) bool; entries_lab (K, 3);
        page_rows (R,) bool: the page's regions, left out of the drawing's overall reading with the edges (row 0);
        None counts the whole picture (line art: on val, leaving its page out cost 1.9 ΔE2000; gray gained 0.26)."""
        probs = self._region_distributions(cells, small_hw, labels)
        drawing = None
        if page_rows is not None:
            drawing = ~np.asarray(page_rows, bool)
            drawing[0] = False
        entry = choose_entries(probs, self.color.bins.cpu().double().numpy(), region_lab[1:].T, region_lab[0],
                               entries_lab, sigma_l=PALETTE_SIGMA_L_SKETCH if sketch else PALETTE_SIGMA_L_GRAY,
                               sigma_ab=PALETTE_SIGMA_AB, prior_rows=drawing,
                               readings=PALETTE_READINGS_SKETCH if sketch else None)
        entry[hinted] = nearest_entries(region_lab[:, hinted].T, entries_lab)
        return entry

    def _align_reference(self, reference: Any, reference_mode: str, labels: np.ndarray, paper: np.ndarray,
                         gray: np.ndarray, radius: float, l_estimate: np.ndarray | None = None,
                         ) -> tuple[Any, dict[str, Any], np.ndarray, np.ndarray, int]:
        """``(alignment, info, labels, paper, opened)``: the drawing (its silhouette off the ``paper`` and the edges of
        ``gray`` (H, W) uint8, its lines or the grayscale picture) aligned with the reference
        (:func:`~sketchcolor.transfer.align`), None when the regime is global ("global", or "auto" and the
        alignment does not explain the drawing); ``info`` starts :attr:`ColorizeResult.reference`. When the
        silhouette does not explain the drawing, its convex hull (:func:`~sketchcolor.transfer.silhouette_hull`) is
        tried too, and the better alignment kept.

        With an alignment, line art's open shapes (trapped-ball pockets of the page within ``radius``-sized gaps;
        with ``l_estimate`` (H, W), the flat path's L estimate, also the parts of the page it shades,
        :func:`~sketchcolor.regions.shaded_shapes`) that land mostly on the reference's drawing, not its page,
        become regions: the reference shows them filled (:func:`~sketchcolor.transfer.shapes_on_reference`); with
        a close alignment, so does any wide part of the page that lands on the reference's drawing
        (:func:`~sketchcolor.transfer.page_on_reference`). Regions numbered from ``opened`` on came from the page:
        one the match leaves without a color goes back to it."""
        from sketchcolor.regions import page_pockets, shaded_shapes, take_pockets
        from sketchcolor.transfer import (MATCH_MIN_SCORE, PAGE_FILL_SCORE, SHADED_SHAPE_L, align, line_edges,
                                          page_on_reference, shapes_on_reference, silhouette_hull)

        info: dict[str, Any] = {"regime": "global", "score": None, "matched": 0, "regions": 0}
        opened = int(labels.max()) + 1
        if reference_mode == "global" or not (~paper).any():
            return None, info, labels, paper, opened
        edges = line_edges(gray)
        alignment = align(~paper, edges, reference)
        if alignment.score < MATCH_MIN_SCORE:
            # Shapes cut by the picture's edge are page, the drawing's silhouette little more than its lines: its
            # hull is closer to the reference's filled one.
            retry = align(silhouette_hull(~paper), edges, reference)
            alignment = retry if retry.score > alignment.score else alignment
        info.update(score=round(alignment.score, 3), mirror=alignment.mirror, angle=round(alignment.angle, 1))
        if reference_mode == "auto" and alignment.score < MATCH_MIN_SCORE:
            return None, info, labels, paper, opened
        info["regime"] = "match"
        if paper.any() and radius > 0:
            pockets = np.where(paper, page_pockets(labels, paper, radius), 0)
            labels, paper = take_pockets(labels, paper, pockets, shapes_on_reference(pockets, alignment, reference))
            if l_estimate is not None and paper.any():
                shapes = shaded_shapes(labels, paper, l_estimate, SHADED_SHAPE_L, radius)
                labels, paper = take_pockets(labels, paper, shapes, shapes_on_reference(shapes, alignment, reference))
        if paper.any() and alignment.score >= PAGE_FILL_SCORE:
            # Shapes the drawing leaves open (a strap open at its end) where the reference has color.
            shapes, count = ndimage.label(page_on_reference(paper, alignment, reference))
            if count:
                labels = np.where(shapes > 0, shapes + labels.max(), labels).astype(labels.dtype)
                paper = paper & (shapes == 0)
        return alignment, info, labels, paper, opened

    def _match_reference(self, reference: Any, alignment: Any, info: dict[str, Any], labels: np.ndarray,
                         regions: np.ndarray, region_l: np.ndarray, sketch: bool, small: dict) -> np.ndarray:
        """(R,) int64: the reference segment each of the ``regions`` ((R,) bool over the label numbers of
        ``labels`` (H, W)) takes under ``alignment`` (:func:`~sketchcolor.transfer.match_regions`; region_l (R,)
        their L), 0 for none (a region whose best match costs too much); counts go into ``info``."""
        from sketchcolor.transfer import MATCH_MAX_COST, match_regions

        segment = np.zeros(regions.shape[0], np.int64)
        info["regions"] = int(regions.sum())
        if alignment is None or not regions.any():
            return segment
        probs = self._region_distributions(small["cells"], small["l_small"].shape, labels)
        segment, cost = match_regions(labels, regions, region_l, alignment, reference, sketch=sketch, probs=probs,
                                      bins=self.color.bins.cpu().double().numpy())
        segment[~(cost <= MATCH_MAX_COST) | ~regions] = 0
        info["matched"] = int((segment > 0).sum())
        return segment

    # ------------------------------------------------------------------ public API
    @torch.inference_mode()
    def colorize(
        self,
        image: Any,
        hints: Sequence[Hint | str | dict] | None = None,
        mode: str = "auto",
        *,
        temperature: float | None = None,
        cleanup: bool = False,
        method: str = "net",
        shading: bool | None = None,
        gap_closing: float | None = None,
        palette: Sequence[str | Sequence[int]] | np.ndarray | None = None,
        reference: Any = None,
        reference_mode: str = "auto",
    ) -> ColorizeResult:
        """Color ``image`` (PIL image, path, bytes or numpy array; any size), following ``hints``.

        hints: :class:`Hint` objects (or "X,Y,#RRGGBB" strings / dicts) in the input's pixel coordinates.
        mode: "auto" (detect line art vs grayscale; color input is converted to gray), "sketch" or "gray".
        temperature: temperature of the color decoding, lower = more vivid (default: the Colorizer's, else 0.38 for
            line art and 0.22 for grayscale pictures).
        cleanup: make colors uniform within each closed region (flat-region cleanup).
        method: "net" (the learned model), "levin" (Levin et al. 2004, grayscale + hints) or "regionfill"
        (each closed region of line art takes its hint's color).
        shading: line art: keep the lightness estimate's shading inside each region (default: the config's, one
        tone per region, the estimate's mean over it).
        gap_closing: close gaps in the lines up to about twice this fraction of the long side (0 to 0.1; default:
        the config's).
        palette: lock the colors to these (1 to 64 of "#rrggbb", "#rgb" or (r, g, b) ints 0-255; duplicates
        collapsed; method "net" only). Every flat region takes exactly one entry, the one the net's distribution
        over the region favours (:func:`~sketchcolor.palette.choose_entries`); a hint takes the entry nearest its
        color (ΔE2000; ``result.hints`` are the hints so snapped). The flats layer holds only palette colors, and
        line art's picture is the flats with the lines multiplied back (with ``shading``, the entry's hue and the
        estimate's shading around the entry's L); a grayscale picture keeps its own L with the entries' ab. The
        page stays white (with the config's ``white_page``, the default), so white need not be in the palette;
        flat line art's open shapes that the estimate shades (the config's ``palette_shapes_l``) are not page but
        regions, and take an entry too.
        reference: a colored picture (any form ``image`` takes, or a :class:`~sketchcolor.transfer.Reference`
        read once for many calls) whose colors to follow (method "net" only; not with a palette).
        reference_mode: "match" takes each region's color from the reference segment matched to it (a colored
        drawing of the same subject: another pose, page or frame); "global" lets the reference's color
        distribution reweight the net's (any colored picture: its mood); "auto" (default) matches when the
        reference aligns with the drawing, else goes global, and unmatched regions follow the reference globally
        too (:mod:`sketchcolor.transfer`). Hints win over the reference. ``result.reference`` says what happened.

        Raises:
            ImageError: a bad picture or reference (not an image, too large, a reference under 8 pixels on a
                side); HintError: bad hints or palette; ConfigError: bad options.
        """
        start = time.perf_counter()
        self._check_args(mode, method, temperature)
        palette_u8 = None if palette is None else parse_palette(palette)
        if palette_u8 is not None and method != "net":
            raise ConfigError(f"a palette works with method 'net', not {method!r}")
        ref = self._check_reference(reference, reference_mode, method, palette_u8)
        gap = self._check_options(cleanup, shading, gap_closing)
        page = self._prepare(image, hints, mode)
        if palette_u8 is not None:
            page.hints = snap_hints(page.hints, palette_u8)  # the nets and the hint fill see palette colors only
        if method == "net":
            result = self._colorize_net(page, self._temperature(temperature, page.mode), cleanup,
                                        self.config.shading if shading is None else bool(shading), gap, palette_u8,
                                        reference=ref, reference_mode=reference_mode)[0]
        else:
            result = self._colorize_classical(page, method)
        result.seconds = time.perf_counter() - start
        return result

    @torch.inference_mode()
    def colorize_variations(
        self,
        image: Any,
        k: int = 4,
        hints: Sequence[Hint | str | dict] | None = None,
        mode: str = "auto",
        *,
        seed: int = 0,
        temperature: float | None = None,
        cleanup: bool = False,
        method: str = "net",
        shading: bool | None = None,
        gap_closing: float | None = None,
    ) -> list[ColorizeResult]:
        """``k`` different plausible automatic colorings of ``image``, to pick from: a list of ``k`` results.

        The first is exactly :meth:`colorize`'s result for the same arguments. In every other one each region
        without a hint and off the page takes one color drawn from the net's distribution pooled over the region,
        sharpened by the config's ``temperature_draw``, with the mass near the colors the earlier variations gave
        that region down-weighted, so the variations differ (:func:`~sketchcolor.variations.draw_region_ab`); the
        lines, hinted regions (their hints' colors) and the white page are those of the first, and so are the
        tones, except that flat line art's drawn regions take the typical tone of their drawn color when the
        checkpoint has a tone table (:mod:`sketchcolor.tones`). Regions too small to hold a cell of the net's
        output keep the first's color. ``temperature`` decodes the first. In flat line art (no ``shading``) the
        odd-numbered variations (the second, the fourth, ...) also color the open shapes of the page the estimate
        shades (the config's ``variation_shapes_l``): a body or a head whose outline is open to the page, which the
        first leaves paper; the others leave them paper too.

        k: 1 to 16 (``k=1`` gives ``[colorize(...)]``). seed: a whole number >= 0; the same call with the same seed
        gives the same variations. method: "net" only (the classical methods have no distribution to draw from).
        The other arguments are :meth:`colorize`'s; every result's ``seconds`` is the whole call's.

        Raises:
            ConfigError: a bad ``k``, ``seed`` or method, or any of :meth:`colorize`'s bad options.
        """
        start = time.perf_counter()
        k, seed = check_count(k), check_seed(seed)
        self._check_args(mode, method, temperature)
        if method != "net":
            raise ConfigError(f"variations work with method 'net', not {method!r}")
        gap = self._check_options(cleanup, shading, gap_closing)
        page = self._prepare(image, hints, mode)
        results = self._colorize_net(page, self._temperature(temperature, page.mode), cleanup,
                                     self.config.shading if shading is None else bool(shading), gap,
                                     variations=k, seed=seed)
        seconds = time.perf_counter() - start
        for result in results:
            result.seconds = seconds
        return results

    def colorize_sequence(
        self,
        images: Sequence[Any],
        hints: Sequence[Sequence[Hint | str | dict] | None] | None = None,
        mode: str = "auto",
        *,
        reference: Any = None,
        consistent: bool = True,
        **options: Any,
    ) -> "Iterator[ColorizeResult]":
        """Color a sequence of drawings (pages of a chapter, frames of an animation), one result per picture, in
        order, each yielded as soon as it is made.

        consistent: each picture after the first follows the previous one's colors as a reference (its flats,
        ``reference_mode="auto"``: matched where the drawings align, its colors' mood elsewhere), so a character
        keeps its colors page after page; False colors each picture on its own. reference: the first picture's
        reference (then every picture's, without ``consistent``). hints: one list per picture (None: none).
        options: :meth:`colorize`'s keyword arguments (not ``palette``, ``reference_mode``).

        Raises:
            ConfigError: hints not one list per picture, or a bad option (checked before the first picture).
        """
        if hints is not None and len(hints) != len(images):
            raise ConfigError(f"hints must be one list per picture: {len(images)} pictures, {len(hints)} lists")
        for name in ("palette", "reference_mode"):
            if name in options:
                raise ConfigError(f"colorize_sequence takes no {name!r}: the sequence's references set the colors")
        return self._sequence(images, hints, mode, reference, bool(consistent), options)

    def _sequence(self, images: Sequence[Any], hints: Any, mode: str, reference: Any, consistent: bool,
                  options: dict[str, Any]) -> "Iterator[ColorizeResult]":
        previous = reference
        for index, image in enumerate(images):
            result = self.colorize(image, None if hints is None else hints[index], mode, reference=previous,
                                   **options)
            if consistent:
                previous = result.flat
            yield result

    def _check_reference(self, reference: Any, reference_mode: str, method: str,
                         palette_u8: np.ndarray | None) -> Any:
        """The call's reference read (:func:`~sketchcolor.transfer.load_reference`), or None; refuses a bad
        reference mode, a reference with a method other than "net", or with a palette."""
        from sketchcolor.transfer import Reference, check_reference_mode, load_reference

        check_reference_mode(reference_mode)
        if reference is None:
            return None
        if method != "net":
            raise ConfigError(f"a reference works with method 'net', not {method!r}")
        if palette_u8 is not None:
            raise ConfigError("a reference and a palette do not combine: the palette fixes the colors to choose "
                              "from; give one of them")
        return reference if isinstance(reference, Reference) else load_reference(reference, max_pixels=self.max_pixels)

    def _check_options(self, cleanup: Any, shading: Any, gap_closing: Any) -> float:
        """Refuse a bad ``cleanup``, ``shading`` or ``gap_closing`` (ConfigError); returns the call's gap closing."""
        for name, flag in (("cleanup", cleanup), ("shading", shading)):
            if flag is not None and not isinstance(flag, (bool, np.bool_)):
                raise ConfigError(f"{name} must be true or false, got {flag!r}")
        if gap_closing is not None:
            _check_gap_closing(gap_closing)
        return self.config.gap_closing if gap_closing is None else float(gap_closing)

    def _colorize_classical(self, page: "_Prepared", method: str) -> ColorizeResult:
        from sketchcolor.classical import levin_colorize, multiply_lines, regionfill

        gray_full, hint_list, mode = page.gray, page.hints, page.mode
        paper = labels = None
        if method == "levin":
            if mode != "gray":
                raise ConfigError("method 'levin' colors grayscale pictures; use mode 'gray' or method 'regionfill' for line art")
            rgb_u8 = levin_colorize(gray_full, hint_list)
            colors = Image.fromarray(rgb_u8, "RGB")
            lines = Image.new("L", (gray_full.shape[1], gray_full.shape[0]), 255)
        else:
            if mode != "sketch":
                raise ConfigError("method 'regionfill' colors line art; use mode 'sketch' or method 'levin' for grayscale")
            fill_u8, filled, labels = regionfill(gray_full, hint_list)
            rgb_u8 = multiply_lines(fill_u8, page.lines)
            colors, paper = Image.fromarray(fill_u8, "RGB"), (labels > 0) & ~filled
            lines = Image.fromarray(page.lines)
        image = Image.fromarray(rgb_u8, "RGB")
        l_full = self._l_full(Image.fromarray(gray_full).convert("RGB"))
        return ColorizeResult(image=image, mode=mode, l_estimate=_l_to_u8(l_full), flat=colors.copy(),
                              lines=lines, hints=hint_list, colors=colors, page=paper, labels=labels)

    def _colorize_net(self, page: "_Prepared", temperature: float, cleanup: bool, shading: bool,
                      gap_closing: float, palette: np.ndarray | None = None, variations: int = 1,
                      seed: int = 0, reference: Any = None, reference_mode: str = "auto") -> list[ColorizeResult]:
        """The pipeline's steps in order; each rule's setting is in :class:`PipelineConfig`, its measurement in the
        model card. ``palette`` (K, 3) uint8: the palette lock (:meth:`colorize`). Returns ``variations`` results
        (:meth:`colorize_variations`). reference: a :class:`~sketchcolor.transfer.Reference` to follow."""
        from sketchcolor.regions import nearest_region_index

        gray_full, hint_list, mode, cfg = page.gray, page.hints, page.mode, self.config
        sketch = mode == "sketch"
        if sketch and not shading and cfg.carry_lines:
            return self._colorize_flat_sketch(page, temperature, gap_closing, palette, variations, seed, reference,
                                              reference_mode)
        height, width = gray_full.shape
        # 1. Lightness: line art's from the inversion net; a grayscale picture keeps its own L, exactly.
        lab_l_full = None if sketch else self._l_full(page.rgb)
        # 2. The nets at working size: the estimate, and color for the regions without hints.
        small = self._net_small(gray_full, lab_l_full, hint_list, mode, temperature, gap_closing,
                                want_cells=palette is not None or variations > 1 or reference is not None,
                                color_hist=self._color_hist(reference))
        l_full = self._upsample(small["l_small"].cpu()[None], height, width)[0] if sketch else lab_l_full
        ab_full = self._upsample(small["ab_small"].cpu(), height, width)
        # 3. Regions at full resolution: crisp flats, and the page found on the real picture, not a shrunken one; a
        # hint on the page colors the open shape it is in.
        labels, paper = self._regions(gray_full, mode, gap_closing)
        if sketch:
            labels, paper = _paper_shapes(labels, paper, _hint_points(hint_list, height, width), l_full.numpy(),
                                          gap_closing * max(height, width), cfg)
        alignment = reference_info = None
        if reference is not None:
            alignment, reference_info, labels, paper, opened = self._align_reference(
                reference, reference_mode, labels, paper, gray_full, gap_closing * max(height, width) if sketch else 0)
        l_detail = l_full  # the lightness before one tone per region: what the shading layer shows
        if sketch and not shading:
            # 4. One tone per region, the estimate's mean over it: its shading at working size is soft and blotchy.
            l_full = torch.from_numpy(region_mean(l_full.numpy()[None], labels)[0])
        hinted_t = torch.zeros((height, width), dtype=torch.bool)
        if cfg.hint_fill:
            # 5. A hinted region takes its hint's color flat (sketch: its L too, which the estimate cannot know).
            l_full, ab_full, hinted_t, labels, paper = self._follow_hint_colors(l_full, ab_full, labels, paper,
                                                                                hint_list, with_l=sketch)
        paper &= ~hinted_t.numpy()
        if reference is not None:
            l_full, ab_full, paper = self._follow_reference(reference, alignment, reference_info, labels, paper,
                                                            hinted_t.numpy(), l_full, ab_full, sketch, small, opened)
        if cfg.white_page:
            # 6. The paper stays white unless a hint lands on it.
            paper_t = torch.from_numpy(paper)
            ab_full[:, paper_t] = 0.0
            if sketch:
                l_full[paper_t] = 100.0
        if cfg.carry_lines:
            # 7. Lines (sketch) and edges (gray) take the color beside them, else a multiplied line darkens twice.
            l_full, ab_full, paper = self._carry_under_lines(l_full, ab_full, paper, labels, with_l=sketch)
        if palette is None:
            colorings = self._variation_ab(small, labels, paper, hinted_t.numpy(), ab_full, variations, seed)
            del ab_full  # each coloring is freed once its picture is made: the peak at 4096² holds one
            results = []
            while colorings:
                results.append(self._flats_and_picture(colorings.pop(0), l_full, l_detail, hinted_t, labels, paper,
                                                       page, cleanup))
                results[-1].reference = reference_info
            return results
        # 8-9 under a palette lock: one entry per region, the flats exactly its sRGB (the picture: colorize's doc).
        entry_map, region_l = self._palette_map(small, labels, l_full, ab_full, hinted_t.numpy(), hint_list,
                                                palette, sketch, paper)
        white = paper if cfg.white_page else np.zeros_like(paper)
        index = nearest_region_index(labels)
        if index is not None:  # line and edge pixels take the entry (and the page) beside them
            entry_map, region_l, white = (plane.ravel()[index].reshape(labels.shape)
                                          for plane in (entry_map, region_l, white))
        pixel_lab = torch.from_numpy(palette_lab(palette).astype(np.float32))[torch.from_numpy(entry_map)]
        pixel_lab = pixel_lab.permute(2, 0, 1).contiguous()  # (3, H, W)
        pixel_lab[:, torch.from_numpy(white)] = torch.tensor([[100.0], [0.0], [0.0]])
        flat_u8 = palette[entry_map]
        flat_u8[white] = 255
        flat_l = pixel_lab[0]
        if sketch and not shading:
            l_full, colors_u8, rgb_u8 = flat_l, flat_u8, _multiply_lines(flat_u8, page.lines)
        else:
            if sketch:
                l_full = (l_full + flat_l - torch.from_numpy(region_l)).clamp_(0, 100)
            rgb_u8, colors_u8 = self._recombine(l_full, pixel_lab[1:], page.lines if sketch else None)
        return [self._result(page, rgb_u8, colors_u8, flat_u8, l_full, flat_l, l_detail, paper, labels)]

    def _color_hist(self, reference: Any) -> np.ndarray | None:
        """The reference's colors over the color net's bins (:func:`~sketchcolor.transfer.reference_histogram`)."""
        if reference is None:
            return None
        from sketchcolor.transfer import reference_histogram

        return reference_histogram(reference, self.color.bins.cpu().double().numpy())

    def _follow_reference(self, reference: Any, alignment: Any, info: dict[str, Any], labels: np.ndarray,
                          paper: np.ndarray, hinted: np.ndarray, l_full: torch.Tensor, ab_full: torch.Tensor,
                          sketch: bool, small: dict, opened: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """:meth:`_colorize_net`'s step 5b: regions matched to a reference segment take its ab (line art: its L
        too, the estimate's shading kept around it); hinted regions and the page take none, and regions from
        ``opened`` on (taken from the page) that none matched go back to the ``paper``. Returns ``(l, ab, paper)``."""
        count = int(labels.max()) + 1
        flat_labels = labels.ravel()
        region_l = region_means([l_full.numpy()], labels, count)[0]
        regions = ~_regions_holding(flat_labels, hinted | paper, count)
        regions[0] = False
        segment = self._match_reference(reference, alignment, info, labels, regions, region_l, sketch, small)
        matched = segment > 0
        if matched.any():
            label_t = torch.from_numpy(labels.astype(np.int64))
            inside = torch.from_numpy(matched)[label_t]
            table = torch.from_numpy(reference.colors[segment].astype(np.float32))  # (count, 3)
            ab_full = torch.where(inside[None], table[:, 1:].T[:, label_t], ab_full)
            if sketch:
                shift = torch.from_numpy((reference.colors[segment, 0] - region_l).astype(np.float32))
                l_full = torch.where(inside, (l_full + shift[label_t]).clamp(0, 100), l_full)
        reopened = (np.arange(count) >= opened) & ~matched & ~_regions_holding(flat_labels, hinted, count)
        return l_full, ab_full, paper | reopened[labels]

    def _flats_and_picture(self, ab_full: torch.Tensor, l_full: torch.Tensor, l_detail: torch.Tensor,
                           hinted_t: torch.Tensor, labels: np.ndarray, paper: np.ndarray, page: "_Prepared",
                           cleanup: bool) -> ColorizeResult:
        """Steps 8-9 of :meth:`_colorize_net` without a palette, for one coloring ``ab_full`` (2, H, W)."""
        sketch = page.mode == "sketch"
        # 8. Flats: one color per region (hinted regions already follow their hints).
        flat_ab = torch.where(hinted_t[None], ab_full, torch.from_numpy(region_mean(ab_full.numpy(), labels)))
        if cleanup:
            ab_full = flat_ab
        # 9. Recombine at full resolution, the artist's own lines multiplied back.
        rgb_u8, colors_u8 = self._recombine(l_full, ab_full, page.lines if sketch else None)
        del ab_full
        flat_l = torch.where(hinted_t, l_full, torch.from_numpy(region_mean(l_full.numpy()[None], labels)[0]))
        flat_u8, _ = self._recombine(flat_l, flat_ab, None)
        return self._result(page, rgb_u8, colors_u8, flat_u8, l_full, flat_l, l_detail, paper, labels)

    @staticmethod
    def _result(page: "_Prepared", rgb_u8: np.ndarray, colors_u8: np.ndarray, flat_u8: np.ndarray,
                l_full: torch.Tensor, flat_l: torch.Tensor, l_detail: torch.Tensor, paper: np.ndarray,
                labels: np.ndarray) -> ColorizeResult:
        """The :class:`ColorizeResult` of :meth:`_colorize_net`'s arrays (all full resolution)."""
        height, width = page.gray.shape
        shading_u8 = l_detail.div(flat_l.clamp_min(1.0)).clamp_(0, 1).mul_(255).round_().to(torch.uint8).numpy()
        lines = Image.fromarray(page.lines) if page.mode == "sketch" else Image.new("L", (width, height), 255)
        return ColorizeResult(
            image=Image.fromarray(rgb_u8, "RGB"),
            mode=page.mode,
            l_estimate=_l_to_u8(l_full),
            flat=Image.fromarray(flat_u8, "RGB"),
            lines=lines,
            hints=list(page.hints),
            colors=Image.fromarray(colors_u8, "RGB"),
            shading=Image.fromarray(shading_u8, "L"),
            page=paper,
            labels=labels,
        )

    def _variation_ab(self, small: dict, labels: np.ndarray, paper: np.ndarray, hinted: np.ndarray,
                      ab_full: torch.Tensor, variations: int, seed: int) -> list[torch.Tensor]:
        """``variations`` colorings (2, H, W) for :meth:`_colorize_net`: ``ab_full`` itself, then each with every
        unhinted region off the page flat in its drawn ab (:func:`~sketchcolor.variations.draw_region_ab`); line
        and edge pixels (label 0) take the region's whose color they carry. labels, paper, hinted (H, W)."""
        from sketchcolor.regions import nearest_region_index

        if variations == 1:
            return [ab_full]
        count = int(labels.max()) + 1
        probs = self._region_distributions(small["cells"], small["l_small"].shape, labels)
        drawable = probs.sum(1) > 0
        drawable[labels[hinted | paper]] = False
        drawable[0] = False
        first = region_means(ab_full.numpy(), labels, count).T  # (count, 2) each region's mean ab
        drawn = draw_region_ab(probs[drawable], self.color.bins.cpu().double().numpy(), first[drawable], variations,
                               self.config.temperature_draw, seed)
        index = nearest_region_index(labels)
        carried = torch.from_numpy((labels.ravel()[index].reshape(labels.shape) if index is not None
                                    else labels).astype(np.int64))
        drawable_t = torch.from_numpy(drawable)[carried]
        out = [ab_full]
        for ab in drawn[1:]:
            table = torch.zeros(count, 2)
            table[torch.from_numpy(drawable)] = torch.from_numpy(ab).float()
            out.append(torch.where(drawable_t[None], table[carried].permute(2, 0, 1), ab_full))
        return out

    def _colorize_flat_sketch(self, page: "_Prepared", temperature: float, gap_closing: float,
                              palette: np.ndarray | None = None, variations: int = 1,
                              seed: int = 0, reference: Any = None,
                              reference_mode: str = "auto") -> list[ColorizeResult]:
        """Line art in flat colors, the default: the same steps as :meth:`_colorize_net`, computed once per region
        rather than per pixel (every region takes one color and one tone, so the full-resolution work is labelling
        and indexing, not color conversion). ``palette`` (K, 3) uint8: every region not on the page takes one entry,
        exactly (:meth:`_palette_entries`). Returns ``variations`` results (:meth:`colorize_variations`)."""
        from sketchcolor.regions import nearest_region_index

        gray_full, hint_list, cfg = page.gray, page.hints, self.config
        height, width = gray_full.shape
        small = self._net_small(gray_full, None, hint_list, "sketch", temperature, gap_closing,
                                want_cells=palette is not None or variations > 1 or reference is not None,
                                color_hist=self._color_hist(reference))
        l_detail = self._upsample(small["l_small"].cpu()[None], height, width)[0]
        ab_full = self._upsample(small["ab_small"].cpu(), height, width)
        labels, paper = self._regions(gray_full, "sketch", gap_closing)
        index = nearest_region_index(labels)
        # A hint on a line counts for the region beside it; one on the page colors the open shape it is in.
        hint_yx = _hint_points(hint_list, height, width)
        if index is not None:
            hint_yx = [divmod(int(index[y, x]), width) for y, x in hint_yx]
        labels, paper = _paper_shapes(labels, paper, hint_yx, l_detail.numpy(), gap_closing * max(height, width), cfg)
        alignment = reference_info = None
        if reference is not None:
            alignment, reference_info, labels, paper, opened = self._align_reference(
                reference, reference_mode, labels, paper, gray_full, gap_closing * max(height, width),
                l_detail.numpy())
        hint_colors: dict[int, np.ndarray] = {}
        if cfg.hint_fill and hint_list:
            net_lab = torch.cat([l_detail[None], ab_full]).numpy()
            labels, hint_colors, paper = _hinted_regions(labels, hint_yx, _hint_lab(hint_list), net_lab, paper,
                                                         cfg.hint_reach)
        if palette is not None and cfg.white_page and cfg.palette_shapes_l > 0:
            # Open shapes a palette colors: the artist named the drawing's colors, so a shape takes one of them.
            labels, paper = _shaded_regions(labels, paper, l_detail.numpy(), cfg.palette_shapes_l,
                                            gap_closing * max(height, width), PALETTE_SHAPE_LINE_SHARE)
        first_labels, first_count = labels, int(labels.max()) + 1
        if palette is None and variations > 1 and reference is None and cfg.white_page and cfg.variation_shapes_l > 0:
            # Open shapes the odd variations color: regions of their own, paper in the others.
            labels, paper = _shaded_regions(labels, paper, l_detail.numpy(), cfg.variation_shapes_l,
                                            gap_closing * max(height, width))
        count = int(labels.max()) + 1
        flat_labels = labels.ravel()
        # One tone and one color per region: the means of the estimate and of the net's color over it, the tone
        # over the region's pixels clear of the lines where it has any.
        region_lab = region_means((l_detail.numpy(), ab_full[0].numpy(), ab_full[1].numpy()), labels, count)
        del ab_full
        clear_small = small["clear"]
        rows = np.minimum(np.arange(height) * clear_small.shape[0] // height, clear_small.shape[0] - 1)
        cols = np.minimum(np.arange(width) * clear_small.shape[1] // width, clear_small.shape[1] - 1)
        clear = clear_small[np.ix_(rows, cols)].ravel()
        clear_sizes = np.bincount(flat_labels[clear], minlength=count)
        clear_l = np.bincount(flat_labels[clear], weights=l_detail.numpy().ravel()[clear], minlength=count)
        has_clear = clear_sizes > 0
        region_lab[0, has_clear] = clear_l[has_clear] / clear_sizes[has_clear]
        del clear
        # A region thinner than the blur has no such pixel: its lightest pixel is the farthest from the lines' blur.
        thin = np.flatnonzero(~has_clear[flat_labels] & (flat_labels > 0))
        if thin.size:
            lightest = np.zeros(count)
            np.maximum.at(lightest, flat_labels[thin], l_detail.numpy().ravel()[thin])
            region_lab[0, ~has_clear] = lightest[~has_clear]
        region_paper = _regions_holding(flat_labels, paper, count)
        region_paper[0] = False
        carried = flat_labels[index].reshape(labels.shape) if index is not None else labels
        del index
        hinted = np.zeros(count, bool)
        for region, lab in hint_colors.items():
            region_lab[:, region] = lab  # a hinted region takes its hint's color and L, flat
            hinted[region] = True
        region_paper &= ~hinted
        if reference is not None:
            # A reference's matched segments give their regions their color, tone included (the estimate guesses).
            regions = ~hinted & ~region_paper
            regions[0] = False
            segment = self._match_reference(reference, alignment, reference_info, labels, regions, region_lab[0],
                                            True, small)
            matched = segment > 0
            region_lab[:, matched] = reference.colors[segment[matched]].T
            # Page the reference gave no color goes back to the page.
            region_paper |= (np.arange(count) >= opened) & ~matched & ~hinted
        open_shapes = np.arange(count) >= first_count  # the odd variations' open shapes
        region_papers = [region_paper | open_shapes]
        white = np.array([[100.0], [0.0], [0.0]])
        if palette is None:
            if cfg.white_page:
                region_lab[:, region_paper] = white
            variants = [region_lab.copy()]
            variants[0][:, open_shapes] = white
            if variations > 1:
                # Other variations: unhinted regions off the page draw their ab from their pooled distributions.
                probs = self._region_distributions(small["cells"], small["l_small"].shape, labels)
                drawable = ~hinted & ~region_paper & (probs.sum(1) > 0)
                drawable[0] = False
                bins = self.color.bins.cpu().double().numpy()
                drawn = draw_region_ab(probs[drawable], bins, variants[0][1:, drawable].T, variations,
                                       cfg.temperature_draw, seed)
                for number, ab in enumerate(drawn[1:], start=1):
                    variant = region_lab.copy()
                    variant[1:, drawable] = ab.T
                    if self.tones is not None:
                        # A drawn color takes the tone it usually has: the estimate's is a guess, and a yellow on
                        # it comes out olive.
                        variant[0, drawable] = typical_l(self.tones, bins, ab)
                    if number % 2 == 0:
                        variant[:, open_shapes] = white
                    region_papers.append(region_paper | open_shapes if number % 2 == 0 else region_paper)
                    variants.append(variant)
            region_rgbs = []
            for variant in variants:
                region_t = torch.from_numpy(variant).float()
                region_rgbs.append(_to_u8(fit_to_gamut(region_t[0][None], region_t[1:, None]))[0])  # (count, 3)
            region_ls = [variant[0] for variant in variants]
        else:
            # Palette lock: the entries' sRGB values themselves, not a Lab round trip, so the flats are exact.
            entries_lab = palette_lab(palette)
            entry = self._palette_entries(small["cells"], small["l_small"].shape, labels, region_lab, hinted,
                                          entries_lab, sketch=True, page_rows=None)
            region_rgb, region_lab = palette[entry], entries_lab[entry].T
            if cfg.white_page:
                region_rgb[region_paper] = 255
                region_lab[:, region_paper] = white
            region_rgbs, region_ls = [region_rgb], [region_lab[0]]
        lines = page.lines
        carried_t = torch.from_numpy(carried.astype(np.int64))
        results = []
        for number, (region_rgb, region_l) in enumerate(zip(region_rgbs, region_ls)):
            flat_l = torch.from_numpy(region_l.astype(np.float32))[carried_t]
            shading_u8 = l_detail.div(flat_l.clamp_min(1.0)).clamp_(0, 1).mul_(255).round_().to(torch.uint8).numpy()
            colors_u8 = region_rgb[carried]
            results.append(ColorizeResult(
                image=Image.fromarray(_multiply_lines(colors_u8, lines), "RGB"),
                mode="sketch",
                l_estimate=_l_to_u8(flat_l),
                flat=Image.fromarray(colors_u8, "RGB"),
                lines=Image.fromarray(lines),
                hints=list(hint_list),
                colors=Image.fromarray(colors_u8.copy(), "RGB"),
                shading=Image.fromarray(shading_u8, "L"),
                page=region_papers[number][carried],
                labels=labels if number % 2 else first_labels,
                reference=reference_info,
            ))
        return results

    def _palette_map(self, small: dict, labels: np.ndarray, l_full: torch.Tensor, ab_full: torch.Tensor,
                     hinted: np.ndarray, hint_list: list[Hint], palette: np.ndarray,
                     sketch: bool, paper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(entry, region L)``, (H, W) each: every pixel's palette entry (int64, :meth:`_palette_entries`; label 0
        takes region 0's) and its region's mean L (float32).

        Line art's hinted regions hold their hint's Lab throughout (regions with hints of several colors were split),
        so a region's entry is its hint's; a grayscale region with hints of several colors is split between them
        by nearest hint pixel (:func:`~sketchcolor.regions.propagate_values`, as the hint fill did), and so are
        their entries. l_full (H, W) CIE L; ab_full (2, H, W); hinted (H, W) bool; palette (K, 3) uint8; paper (H, W)
        bool, the page (left out of the drawing's overall reading).
        """
        from sketchcolor.regions import propagate_values

        height, width = labels.shape
        count = int(labels.max()) + 1
        flat_labels = labels.ravel()
        region_lab = region_means((l_full.numpy(), ab_full[0].numpy(), ab_full[1].numpy()), labels, count)
        entries_lab = palette_lab(palette)
        region_hinted = _regions_holding(flat_labels, hinted, count) if sketch else np.zeros(count, bool)
        page_rows = None if sketch else _regions_holding(flat_labels, paper, count) & ~region_hinted
        entry = self._palette_entries(small["cells"], small["l_small"].shape, labels, region_lab, region_hinted,
                                      entries_lab, sketch, page_rows=page_rows)
        entry_map = entry[labels]
        if not sketch and hinted.any():
            plane = np.zeros((1, height, width), np.float32)
            mask = np.zeros((height, width), bool)
            hint_entry = nearest_entries(_hint_lab(hint_list), entries_lab)
            for (y, x), k in zip(_hint_points(hint_list, height, width), hint_entry):
                plane[0, y, x], mask[y, x] = k, True
            filled, _ = propagate_values(labels, plane, mask)
            entry_map = np.where(hinted, filled[0].round().astype(np.int64), entry_map)
        return entry_map, region_lab[0][labels].astype(np.float32)

    def _follow_hint_colors(self, l_full: torch.Tensor, ab_full: torch.Tensor, labels: np.ndarray, paper: np.ndarray,
                            hint_list: list[Hint], *, with_l: bool):
        """A region holding a hint takes the hint's color, flat: returns (L, ab, hinted, labels, paper) with the
        hinted regions filled (L only ``with_l``, else returned as it came), ``hinted`` (H, W) bool marking them, the
        labels and the paper (line art: regions holding hints of several colors, or hints on the paper, split by
        the nets' color, :func:`_hinted_regions`).

        Sketch mode fills both: the inversion net cannot know that the artist asked for dark blue, and the color
        net only predicts ab, so without the hint's L a hinted region would come out in the hint's hue at the
        estimate's (usually light) L. Gray mode keeps the input's L and fills the ab: the net's ab drifts from the
        hint inside large hinted regions. The net colors the regions without hints.
        l_full (H, W) CIE L; ab_full (2, H, W); labels, paper (H, W).
        """
        from sketchcolor.regions import propagate_values

        height, width = labels.shape
        if not hint_list:
            return l_full, ab_full, torch.zeros((height, width), dtype=torch.bool), labels, paper
        hint_yx, hint_lab = _hint_points(hint_list, height, width), _hint_lab(hint_list)
        if with_l:
            # Line art: one color per region, split by the net's own color where hints of several colors share one.
            labels, colors, paper = _hinted_regions(labels, hint_yx, hint_lab,
                                                    torch.cat([l_full[None], ab_full]).numpy(), paper,
                                                    self.config.hint_reach)
            table = np.zeros((int(labels.max()) + 1, 3), np.float32)
            known = np.zeros(len(table), bool)
            for region, lab in colors.items():
                table[region], known[region] = lab, True
            inside = torch.from_numpy(known[labels])
            fill_t = torch.from_numpy(table[labels]).permute(2, 0, 1)
            l_full = torch.where(inside, fill_t[0], l_full)
            return l_full, torch.where(inside[None], fill_t[1:], ab_full), inside, labels, paper
        plane = np.zeros((2, height, width), np.float32)
        mask = np.zeros((height, width), bool)
        for (y, x), lab in zip(hint_yx, hint_lab):
            plane[:, y, x] = lab[1:]
            mask[y, x] = True
        fill, filled = propagate_values(labels, plane, mask)
        inside = torch.from_numpy(filled > 0)
        return l_full, torch.where(inside[None], torch.from_numpy(fill), ab_full), inside, labels, paper

    @staticmethod
    def _carry_under_lines(l_full: torch.Tensor, ab_full: torch.Tensor, page: np.ndarray, labels: np.ndarray, *,
                           with_l: bool):
        """Line (sketch) or edge (gray) pixels, label 0, take the ab (and ``with_l`` the L) of the nearest region
        pixel, and belong to the page when that pixel does. Returns ``(L, ab, page)``.

        An anti-aliased stroke's edge is a blend of the stroke and the fill beside it; the upsampled estimate there
        is a blur of both sides, which the multiplied line darkens twice, and a gray picture's edges otherwise get
        the blurred ab of both neighbours. l_full (H, W); ab_full (2, H, W); page (H, W) bool.
        """
        from sketchcolor.regions import nearest_region_index

        index = nearest_region_index(labels)
        if index is None:
            return l_full, ab_full, page
        index_t = torch.from_numpy(index.reshape(-1))
        if with_l:
            l_full = l_full.reshape(-1)[index_t].reshape(l_full.shape)
        page = page.ravel()[index].reshape(page.shape)
        return l_full, ab_full.reshape(2, -1)[:, index_t].reshape(ab_full.shape), page

    @staticmethod
    def _l_full(rgb_img: Image.Image) -> torch.Tensor:
        """Lab L of the full-resolution input, (H, W) float32, computed in strips to bound memory."""
        rgb_u8 = np.asarray(rgb_img)
        height = rgb_u8.shape[0]
        out = torch.empty(rgb_u8.shape[:2], dtype=torch.float32)
        for y0 in range(0, height, _STRIP_ROWS):
            strip = torch.from_numpy(rgb_u8[y0:y0 + _STRIP_ROWS].copy()).permute(2, 0, 1).float().div_(255)
            out[y0:y0 + _STRIP_ROWS] = C.rgb_to_lab(strip)[0]
        return out

    @staticmethod
    def _upsample(small: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """(C, h, w) -> (C, H, W) float32, bilinear."""
        if small.shape[-2:] == (height, width):
            return small.float()
        return F.interpolate(small[None].float(), size=(height, width), mode="bilinear", align_corners=False)[0]

    @staticmethod
    def _recombine(l_full: torch.Tensor, ab_full: torch.Tensor,
                   line_full: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Full-resolution L (H, W) + ab (2, H, W) [+ line art (H, W) uint8 multiplied back] -> ``(picture,
        picture without the lines)``, (H, W, 3) uint8 each (one array twice when there are no lines)."""
        height, width = l_full.shape
        out = np.empty((height, width, 3), dtype=np.uint8)
        bare = out if line_full is None else np.empty((height, width, 3), dtype=np.uint8)
        for y0 in range(0, height, _STRIP_ROWS):
            sl = slice(y0, y0 + _STRIP_ROWS)
            rgb = fit_to_gamut(l_full[sl], ab_full[:, sl])
            if line_full is not None:
                bare[sl] = _to_u8(rgb)
                rgb = rgb * torch.from_numpy(line_full[sl]).float().div_(255)[None]
            out[sl] = _to_u8(rgb)
        return out, bare

    @torch.inference_mode()
    def estimate_lightness(self, image: Any) -> Image.Image:
        """The inversion net's own lightness estimate of line art, before any pipeline rule, upsampled to the input's
        size: PIL "L" holding CIE L × 2.55 (the scale of ``ColorizeResult.l_estimate``)."""
        if self.inversion is None:
            raise CheckpointError("this checkpoint has no inversion net, so it cannot estimate the lightness of line art")
        gray_full = self._prepare(image, None, "sketch").gray
        height, width = gray_full.shape
        h, w, h_pad, w_pad = _working_shape(height, width, self.working_size, self._multiple())
        l_small = self._estimate_small(self._resize_small(gray_full, h, w), h_pad, w_pad)
        return _l_to_u8(self._upsample(l_small.cpu()[None], height, width)[0])

    def _estimate_small(self, gray_small: np.ndarray, h_pad: int, w_pad: int) -> torch.Tensor:
        """The inversion net's L estimate (h, w) CIE L of line art at working size (h, w) uint8, padded with paper
        to (h_pad, w_pad) for the net."""
        h, w = gray_small.shape
        line = torch.from_numpy(gray_small).to(self.device, torch.float32).div(255)[None, None]
        line = F.pad(line, (0, w_pad - w, 0, h_pad - h), value=1.0)  # pad with white paper
        return C.norm_to_l(self.inversion(line)[..., :h, :w].clamp(-1, 1))[0, 0]

    @torch.inference_mode()
    def suggest_colors(
        self,
        image: Any,
        x: float,
        y: float,
        mode: str = "auto",
        hints: Sequence[Hint | str | dict] | None = None,
        k: int = 5,
        temperature: float | None = None,
    ) -> list[tuple[str, float]]:
        """The model's ``k`` most probable colors at pixel (x, y) of ``image``, as ("#rrggbb", probability);
        ``k`` from 1 to the number of color classes."""
        self._check_args(mode, "net", temperature)
        self._require_color_net()
        classes = int(self.color.bins.shape[0])
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= classes:
            raise ConfigError(f"k must be a whole number from 1 to {classes} (the color classes), got {k!r}")
        page = self._prepare(image, hints, mode)
        temperature = self._temperature(temperature, page.mode)
        height, width = page.gray.shape
        validate_hints([Hint(x=x, y=y, color=(0, 0, 0))], width, height)
        lab_l_full = self._l_full(page.rgb) if page.mode == "gray" else None
        small = self._net_small(page.gray, lab_l_full, page.hints, page.mode, temperature, self.config.gap_closing,
                                want_logits=True)
        h, w = small["l_small"].shape
        # Pixel centre to pixel centre, the mapping rasterize_hints uses.
        xs = min(w - 1, max(0, round((x + 0.5) * w / width - 0.5)))
        ys = min(h - 1, max(0, round((y + 0.5) * h / height - 0.5)))
        logits = small["logits"][:, ys, xs]
        l_value = float(small["l_small"][ys, xs])
        return [(color_hex(tuple(int(c) for c in rgb)), float(p))
                for rgb, p in C.topk_colors(logits, l_value, self.color.bins.cpu(), k=k)]


__all__ = ["Colorizer", "ColorizeResult", "detect_mode", "detect_page_mode", "fit_to_gamut", "MODES", "METHODS"]
