"""Closed regions of line art and flat regions of grayscale pictures, hint propagation over them, flat cleanup.

Everything here is plain numpy/scipy on (H, W) pictures and runs in a few milliseconds at 256x256, because the
data loaders call :func:`label_regions` / :func:`gray_regions` and :func:`propagate_values` once per sample.

Label maps are ``int32 (H, W)``: ``0`` marks pixels that belong to no region (lines, edges, tiny specks) and
``1..K`` number the regions. Rules:

- line art (:func:`label_regions`): a pixel with value ``<= threshold`` (:data:`LINE_THRESHOLD`) is a line; the
  rest split into 4-connected components (4-connectivity so that a diagonal one-pixel gap in a line does not leak a
  fill).
- grayscale (:func:`gray_regions`): a pixel whose largest absolute difference to its 4 neighbours exceeds
  ``edge_threshold`` gray levels is an edge (label 0), so a step between two flat areas becomes a boundary while
  gentle shading stays inside one region; optionally pixels are also split by quantized gray level
  (``level_step``); 4-connected components smaller than ``min_size`` pixels become 0.
- gaps (:func:`close_gaps`): a region that leaks through a narrow gap in the lines is split where the lines,
  thickened by a radius, would close it.
- line art as colored (:func:`segment_line_art`): gaps closed, specks merged into the lines, and the page — the
  paper connected to the picture's border through gaps wider than the closing size. Every border of a region
  follows a line or runs across a closed gap.
- the page of a grayscale picture (:func:`background_mask`): regions touching the picture border that are
  mostly page white (:data:`PAGE_WHITE`).
- propagation (:func:`propagate_values`): every region holding at least one hint pixel takes, at each of its
  pixels, the value (hint colors, any channels) of the nearest (Euclidean) hint pixel inside the same region;
  regions without hints and label 0 stay 0 with mask 0.
- lines (:func:`nearest_region_index`): every label-0 pixel points at the nearest (Euclidean) labelled pixel, so
  the colors of the regions on either side of a line can be carried under it.
- flat regions (:func:`region_mean`): every region takes the mean of its values (one color, one tone);
  label 0 is left untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import ndimage

from sketchcolor.errors import ImageError

# Gaps in the lines up to about twice this fraction of the picture's long side are closed when coloring (chosen on
# the val split; the model card has the measurements).
GAP_CLOSING = 0.012
# Line art at or below this 8-bit gray level is a line: regions, region fills, hint sampling and training all agree.
LINE_THRESHOLD = 128
# A pixel with every channel at least this light is page white (the white-page rule; the evaluation's foreground).
PAGE_WHITE = 245

# 4-connectivity: pixels touching only at a corner are separate.
_FOUR_CONNECTED = ndimage.generate_binary_structure(2, 1)


def _check_plane(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"{name} must be a non-empty (H, W) array, got shape {array.shape}")
    return array


def _relabel_consecutive(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Map the labels with ``keep[label]`` True to 1..K in order and every other label to 0.

    ``labels`` int (H, W) with values in [0, len(keep)); ``keep`` bool (len,), ``keep[0]`` is ignored.
    """
    keep = keep.copy()
    keep[0] = False
    lookup = np.zeros(keep.shape[0], dtype=np.int32)
    lookup[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lookup[labels]


ALL_SIDES = (True, True, True, True)


def border_values(plane: np.ndarray, sides: tuple[bool, bool, bool, bool] = ALL_SIDES) -> np.ndarray:
    """The values of ``plane`` (H, W, ...) on its border, one row after another: the top, bottom, left and right
    edges where ``sides`` says so (a crop whose other sides lie inside a picture)."""
    edges = (plane[0], plane[-1], plane[:, 0], plane[:, -1])
    return np.concatenate([edge for edge, side in zip(edges, sides) if side] or [plane[:0, 0]])


def on_border(labels: np.ndarray, sides: tuple[bool, bool, bool, bool] = ALL_SIDES) -> np.ndarray:
    """bool (K + 1,): True for every label > 0 with a pixel on the picture's border (labels int (H, W), 0..K); only
    on the ``sides`` (top, bottom, left, right) that say so."""
    touches = np.zeros(int(labels.max()) + 1, dtype=bool)
    touches[border_values(labels, sides)] = True
    touches[0] = False
    return touches


# A closed region holding less than this share of the picture's border (a side's worth) is a shape the frame cuts (a
# bust's chest, a tree's trunk, a path running out of the picture), not the paper around the drawing.
FRAME_SHARE = 0.25


def frame_page(labels: np.ndarray, share: float) -> np.ndarray:
    """bool (K + 1,): the labels > 0 of ``labels`` (H, W) that can be page: those on the picture's border, except
    that with ``share`` > 0 one holding less than ``share`` of the border's pixels is a shape cut by the frame,
    unless no region holds more (the paper then is the region that holds the most)."""
    touches = on_border(labels)
    if share <= 0 or not touches.any():
        return touches
    border = border_values(labels)
    held = np.bincount(border, minlength=touches.size)
    held[0] = 0
    wide = held >= share * border.size
    return wide if wide.any() else held == held.max()


def take_pockets(labels: np.ndarray, page: np.ndarray, pockets: np.ndarray,
                 chosen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, page)`` with each pocket in ``chosen`` (ids of ``pockets``, int (H, W), 0 = none) a region of its
    own, numbered after the existing ones, and no longer page."""
    chosen = np.asarray(chosen)
    if chosen.size == 0:
        return labels, page
    lookup = np.zeros(int(pockets.max()) + 1, np.int32)
    lookup[chosen] = int(labels.max()) + 1 + np.arange(chosen.size, dtype=np.int32)
    new = lookup[pockets]
    return np.where(new > 0, new, labels), page & (new == 0)


def label_regions(line_u8: np.ndarray, threshold: int = LINE_THRESHOLD) -> np.ndarray:
    """Closed regions between the lines of a line drawing.

    Args:
        line_u8: (H, W) uint8 (or any real dtype on the 0-255 scale), black lines on white paper.
        threshold: pixels with value ``<= threshold`` are lines.

    Returns:
        int32 (H, W): 0 on lines, 1..K for the 4-connected components of the rest (in scan order).
    """
    line_u8 = _check_plane(line_u8, "line art")
    labels, _ = ndimage.label(line_u8 > threshold, structure=_FOUR_CONNECTED)
    return labels.astype(np.int32, copy=False)


def any_blocks(mask: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """``(coarse, factor)``: ``mask`` (H, W) bool on a grid at most ``max_side`` long, a block True when any of its
    ``factor`` × ``factor`` pixels is (thin lines survive); :func:`repeat_blocks` brings a plane back."""
    factor = max(1, -(-max(mask.shape) // max_side))
    if factor == 1:
        return mask, 1
    height, width = mask.shape
    padded = np.zeros((-(-height // factor) * factor, -(-width // factor) * factor), dtype=bool)
    padded[:height, :width] = mask
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).any(axis=(1, 3)), factor


def repeat_blocks(plane: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """``plane`` worked out on a coarse grid back at full size ``shape`` (H, W): each cell repeated ``factor`` times
    both ways, cropped."""
    if factor == 1:
        return plane
    return np.repeat(np.repeat(plane, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]


def _gap_cores(lines: np.ndarray, radius: float, max_side: int, *, reach: bool = False):
    """The cores of the regions that thickening the lines by ``radius`` leaves, and which of them touch the border.

    Returns ``(nearest, on_border)``: int32 (H, W) the core nearest to every pixel (1..K), bool (K + 1,) True for
    cores reaching the picture's border; with ``reach`` also bool (H, W), True within ``radius`` of a core (where
    a ball of that radius rolling inside the lines reaches). None when no core is left.
    """
    # Large pictures are closed on a coarser grid (a block is line when any of its pixels is): the gaps are
    # many pixels wide there, and two distance transforms at full size would cost seconds at 4096².
    coarse, factor = any_blocks(lines, max_side)
    thick = ndimage.distance_transform_edt(~coarse) <= radius / factor
    cores, count = ndimage.label(~thick, structure=_FOUR_CONNECTED)
    # A crevice that thickening pinches off (between an ear and a head) is no region of its own: cores smaller
    # than a disk of the radius go back to the band, else their cells reach out of the crevice as thin spikes.
    sizes = np.bincount(cores.ravel(), minlength=count + 1)
    cores = _relabel_consecutive(cores, sizes >= max(4.0, np.pi * (radius / factor) ** 2))
    count = int(cores.max())
    if count == 0:
        return None
    core_on_border = on_border(cores)
    nearest = cores.ravel()[nearest_region_index(cores)].reshape(cores.shape)
    within = ndimage.distance_transform_edt(cores == 0) <= radius / factor + 1 if reach else None
    full = repeat_blocks(nearest, factor, lines.shape).astype(np.int32, copy=False)
    if reach:
        return full, core_on_border, repeat_blocks(within, factor, lines.shape)
    return full, core_on_border


def _split(labels: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Regions of ``labels`` (0 stays 0) split by the labels ``by``: int32 1..K in order of (label, by)."""
    count = int(by.max()) + 1
    key = labels.astype(np.int64) * count + by
    key[labels == 0] = 0
    size = (int(labels.max()) + 1) * count
    if size <= 4 * key.size:  # dense table: linear time
        return _relabel_consecutive(key, np.bincount(key.ravel(), minlength=size) > 0)
    values, inverse = np.unique(key, return_inverse=True)
    out = inverse.reshape(labels.shape).astype(np.int32)
    return out if values[0] == 0 else out + 1


def close_gaps(labels: np.ndarray, radius: float, *, max_side: int = 1024) -> np.ndarray:
    """Split regions of line art that leak through gaps in the lines no wider than about ``2 * radius`` pixels.

    Line art is rarely closed: a hair stroke that stops short of the face outline joins the face to the page,
    and a region fill (or the white page) then floods both. Here the lines are thickened by ``radius`` (a
    Euclidean disk), the thickened picture is labelled, and every pixel of an original region takes, besides its
    own label, the label of the nearest thickened region. Regions are only ever split, never merged: two pixels
    share a label afterwards only if they shared one before. The cut between two parts runs across the gap, from
    line end to line end.

    Args:
        labels: int (H, W) labels from :func:`label_regions` (0 = line).
        radius: thickening in pixels; ``<= 0`` returns ``labels`` unchanged.
        max_side: pictures with a longer side are closed on a grid of blocks that brings it to at most this.

    Returns:
        int32 (H, W): 0 on the lines, 1..K for the split regions.
    """
    labels = _check_plane(labels, "labels")
    lines = labels == 0
    if radius <= 0 or not lines.any() or lines.all():
        return labels.astype(np.int32, copy=False)
    cores = _gap_cores(lines, radius, max_side)
    if cores is None:
        return labels.astype(np.int32, copy=False)
    return _split(labels, cores[0])


@dataclass
class Segmentation:
    """The regions of a line drawing that coloring works with (:func:`segment_line_art`).

    labels: int32 (H, W), 0 on lines and on specks too small to color; 1..K the regions, each colored as one:
        closed regions split where a gap in the lines is closed. A hint fills its region and stops there.
    page: bool (H, W), the paper: the regions connected to the picture's border through gaps wider than the
        closing size. It stays white unless a hint lands on it.
    """

    labels: np.ndarray
    page: np.ndarray


def segment_line_art(
    line_u8: np.ndarray,
    *,
    gap_radius: float | None = None,
    threshold: int = LINE_THRESHOLD,
    speck: float | None = None,
    max_side: int = 1024,
    frame_share: float | None = None,
) -> Segmentation:
    """Segment a line drawing (black lines on white; see :mod:`sketchcolor.paper` for real paper) for coloring.

    - Lines are pixels at or below ``threshold``; the rest splits into 4-connected closed regions.
    - Gaps up to about ``2 * gap_radius`` pixels are closed (:func:`close_gaps`); ``None`` means
      :data:`GAP_CLOSING` of the long side, ``<= 0`` closes none.
    - The page is every part of a closed region that touches the border whose nearest core (the region left when
      the lines are thickened by ``gap_radius``) touches the border too: a shape open through a narrow gap is not
      page, the paper around the drawing is, and nothing else is (no hull or shape rule). A region that holds
      less than ``frame_share`` (default :data:`FRAME_SHARE`) of the border's pixels is a shape the picture's edge
      cuts, not page (:func:`frame_page`; 0: any region on the border can be page).
    - Regions smaller than ``speck`` pixels (default: ``(0.01 * long side)²``, at least 4) — gaps of hatching,
      screentone dots, specks between strands — become 0, so they take the color beside them like the lines.
    """
    fine = label_regions(line_u8, threshold)
    lines = fine == 0
    height, width = fine.shape
    if gap_radius is None:
        gap_radius = GAP_CLOSING * max(height, width)
    if speck is None:
        speck = max(4.0, (0.01 * max(height, width)) ** 2)
    # Closed regions that reach the border: only these can be page.
    border = frame_page(fine, FRAME_SHARE if frame_share is None else frame_share)
    cores = None if gap_radius <= 0 or not lines.any() or lines.all() else _gap_cores(lines, gap_radius, max_side)
    if cores is None:
        labels = fine
        page = border[fine]
    else:
        nearest, core_on_border = cores
        labels = _split(fine, nearest)
        page = border[fine] & core_on_border[nearest]
        del nearest
    sizes = np.bincount(labels.ravel(), minlength=int(labels.max()) + 1)
    keep = sizes >= speck
    labels = _relabel_consecutive(labels, keep)
    page &= labels > 0
    return Segmentation(labels=labels, page=page)


# Scales (× the gap radius) at which the page is searched for an open shape around a hint on it, largest first.
POCKET_SCALES = (8, 4, 2)


def page_pockets(labels: np.ndarray, page: np.ndarray, gap_radius: float, *,
                 scales: Sequence[float] = POCKET_SCALES, max_side: int = 256) -> np.ndarray:
    """The open shapes of the page: int32 (H, W), 1..K for each pocket, 0 elsewhere.

    A shape whose outline leaves a gap wider than the closing size (a face open at the chin) is page. At each scale
    in ``scales`` (largest first) the lines are thickened by ``scale * gap_radius``; a core of the page that then
    does not reach the picture's border lies in an open shape, and the pocket is what a ball of that radius rolling
    in the core reaches of its page region (a trapped-ball fill: its border follows the lines, and across the
    shape's mouth the ball's edge; no straight cut). Pockets of a larger scale come first; the paper around the
    drawing is in none. labels int (H, W) (0 = line); page bool (H, W).
    """
    pockets = np.zeros(labels.shape, np.int32)
    if gap_radius <= 0 or not page.any():
        return pockets
    lines = labels == 0
    free = page.copy()
    count = 0
    for scale in scales:
        cores = _gap_cores(lines, scale * gap_radius, max_side, reach=True)
        if cores is None:
            continue
        nearest, core_on_border, reach = cores
        candidate = free & reach & ~core_on_border[nearest]
        if not candidate.any():
            continue
        # One pocket per (core, page region) pair.
        key = nearest.astype(np.int64) * (int(labels.max()) + 1) + labels
        values, inverse = np.unique(key[candidate], return_inverse=True)
        pockets[candidate] = count + 1 + inverse.astype(np.int32)
        count += len(values)
        free &= ~candidate
    return pockets


# Half of a shaded shape's outline must run along the lines: a shape open on one side, not a blob on the paper.
SHADED_LINE_SHARE = 0.5


def shaded_shapes(labels: np.ndarray, page: np.ndarray, l_estimate: np.ndarray, below: float, gap_radius: float,
                  *, max_side: int = 512, line_share: float | None = None) -> np.ndarray:
    """The open shapes of the page that the lightness estimate shades: int32 (H, W), 1..K each, 0 elsewhere.

    Page pixels whose estimate (``l_estimate`` (H, W), CIE L) is below ``below``, opened by a disk of
    ``gap_radius`` (a halo along the lines is no shape), in pieces of at least two disks of twice that radius,
    of which at least ``line_share`` (default :data:`SHADED_LINE_SHARE`) of the outline lies within ``gap_radius``
    of a line. Worked out on a grid of at most ``max_side`` pixels; the pieces keep only page pixels. labels int
    (H, W) (0 = line).
    """
    shapes = np.zeros(labels.shape, np.int32)
    if gap_radius <= 0 or below <= 0 or not page.any():
        return shapes
    height, width = labels.shape
    step = max(1, -(-max(height, width) // max_side))
    dark = (page & (np.asarray(l_estimate) < below))[::step, ::step]
    lines = (labels == 0)[::step, ::step]
    radius = gap_radius / step
    reach = int(np.ceil(radius))
    yy, xx = np.mgrid[-reach:reach + 1, -reach:reach + 1]
    dark = ndimage.binary_opening(dark, np.square(yy) + np.square(xx) <= radius**2)
    pieces, count = ndimage.label(dark)
    if count == 0:
        return shapes
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)
    outline = (pieces > 0) & ~ndimage.binary_erosion(pieces > 0)
    near_line = ndimage.distance_transform_edt(~lines) <= radius + 1.5 if lines.any() else np.zeros_like(lines)
    along = np.bincount(pieces[outline & near_line], minlength=count + 1)
    total = np.bincount(pieces[outline], minlength=count + 1)
    share = SHADED_LINE_SHARE if line_share is None else line_share
    keep = (sizes >= 2 * np.pi * (2 * radius) ** 2) & (along >= share * np.maximum(total, 1))
    pieces = np.where(page, repeat_blocks(pieces, step, (height, width)), 0)
    # Numbered 1..K over the kept pieces the full grid's page still holds.
    return _relabel_consecutive(pieces, keep & (np.bincount(pieces.ravel(), minlength=count + 1) > 0))


def split_page_at_hints(labels: np.ndarray, page: np.ndarray, seeds: np.ndarray, gap_radius: float, *,
                        pockets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Give a hint on the page the open shape it was put in (:func:`page_pockets`), not the whole page: ``(labels,
    page)`` updated, each hinted pocket a region of its own and no longer page. A hint on the paper around the
    drawing leaves the page as it is, so it colors the paper. seeds bool (H, W); ``pockets`` when already known."""
    points = np.argwhere(np.asarray(seeds, bool) & page)
    if points.size == 0 or gap_radius <= 0:
        return labels, page
    if pockets is None:
        pockets = page_pockets(labels, page, gap_radius)
    hinted = np.unique(pockets[points[:, 0], points[:, 1]])
    return take_pockets(labels, page, pockets, hinted[hinted > 0])


def gray_regions(
    gray_u8: np.ndarray,
    *,
    edge_threshold: float = 8.0,
    level_step: int | None = None,
    min_size: int = 16,
) -> np.ndarray:
    """Flat regions of a grayscale picture (the grayscale counterpart of :func:`label_regions`).

    Args:
        gray_u8: (H, W) gray values on the 0-255 scale (uint8 or float).
        edge_threshold: a pixel whose largest absolute difference to a 4-neighbour exceeds this many gray levels
            is an edge pixel (label 0). Steps between flat areas (even anti-aliased ones) exceed it; smooth
            shading of a cartoon (a few levels per pixel) does not, so a shaded area stays one region.
        level_step: if set, pixels are also split by ``gray // level_step`` so that no region spans more than
            about ``level_step`` gray levels, even across a slow gradient.
        min_size: 4-connected components with fewer pixels become 0 (noise, text, texture).

    Returns:
        int32 (H, W): 0 on edges and specks, 1..K for the flat regions.
    """
    gray = _check_plane(gray_u8, "gray picture").astype(np.float32)
    # Largest absolute difference to any 4-neighbour: the same for both pixels of a step, so an edge between
    # two flat areas is two pixels wide and the areas never touch.
    dy = np.abs(np.diff(gray, axis=0))
    dx = np.abs(np.diff(gray, axis=1))
    grad = np.zeros_like(gray)
    np.maximum(grad[1:], dy, out=grad[1:])
    np.maximum(grad[:-1], dy, out=grad[:-1])
    np.maximum(grad[:, 1:], dx, out=grad[:, 1:])
    np.maximum(grad[:, :-1], dx, out=grad[:, :-1])
    flat = grad <= edge_threshold

    if level_step is None:
        labels, count = ndimage.label(flat, structure=_FOUR_CONNECTED)
    else:
        if level_step < 1:
            raise ValueError(f"level_step must be a positive number of gray levels or None, got {level_step}")
        levels = (np.clip(gray, 0, 255) // level_step).astype(np.int32)
        labels = np.zeros(gray.shape, dtype=np.int32)
        count = 0
        # One labelling per occupied level (at most 256 / level_step passes) keeps neighbours of different
        # levels apart without widening the boundaries.
        for level in np.unique(levels[flat]):
            level_labels, level_count = ndimage.label(flat & (levels == level), structure=_FOUR_CONNECTED)
            labels[level_labels > 0] = level_labels[level_labels > 0] + count
            count += level_count

    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    return _relabel_consecutive(labels, sizes >= min_size)


def background_mask(
    labels: np.ndarray, image_u8: np.ndarray, *, white: int = PAGE_WHITE, white_fraction: float = 0.5
) -> np.ndarray:
    """The page: regions that touch the picture border and are mostly page white.

    Args:
        labels: int (H, W) region labels (0 = no region, never background).
        image_u8: (H, W) or (H, W, 3) uint8 picture the labels were computed from.
        white: a pixel is page white when every channel is ``>= white``.
        white_fraction: a border region is the page when more than this fraction of its pixels is page white
            (the fraction, not the mean, so anti-aliased pixels along the lines do not matter).

    Returns:
        bool (H, W), True on background pixels.
    """
    labels = _check_plane(labels, "labels")
    image_u8 = np.asarray(image_u8)
    if image_u8.shape[:2] != labels.shape or image_u8.ndim not in (2, 3):
        raise ImageError(f"picture of shape {image_u8.shape} does not match labels of shape {labels.shape}")
    is_white = image_u8 >= white if image_u8.ndim == 2 else np.all(image_u8 >= white, axis=2)

    count = int(labels.max()) + 1
    sizes = np.bincount(labels.ravel(), minlength=count)
    white_counts = np.bincount(labels.ravel(), weights=is_white.ravel(), minlength=count)
    page = on_border(labels) & (white_counts > white_fraction * np.maximum(sizes, 1))
    return page[labels]


def propagate_values(labels: np.ndarray, values: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill each region with the value of its nearest hint pixel inside the region (any number of channels).

    Args:
        labels: int (H, W) region labels, 0 = no region.
        values: (C, H, W) float values, read only where ``mask`` is True.
        mask: (H, W) bool, the hint pixels. Hint pixels on label 0 are ignored.

    Returns:
        ``(filled (C, H, W) float32, filled_mask (H, W) float32)``: the propagated values (0 outside filled
        regions) and 1 where a region got filled.
    """
    labels = _check_plane(labels, "labels")
    values = np.asarray(values)
    mask = np.asarray(mask, dtype=bool)
    if values.ndim != 3 or values.shape[1:] != labels.shape or mask.shape != labels.shape:
        raise ValueError(
            f"expected values (C, H, W) and mask (H, W) matching labels {labels.shape}, "
            f"got {values.shape} and {mask.shape}"
        )
    channels = values.shape[0]
    filled = np.zeros(values.shape, dtype=np.float32)
    hint_mask = mask & (labels > 0)
    hint_index = np.flatnonzero(hint_mask)
    if hint_index.size == 0:
        return filled, np.zeros(labels.shape, dtype=np.float32)

    count = int(labels.max()) + 1
    hint_labels = labels.ravel()[hint_index]
    hint_values = values.reshape(channels, -1)[:, hint_index].astype(np.float64)
    per_region = np.bincount(hint_labels, minlength=count).astype(np.float64)
    hinted = per_region > 0

    # Fast path: a region whose hint pixels all carry the same value (the usual case: one point, one stroke)
    # takes that value everywhere; per-region min == max is checked with unbuffered ufunc.at, no region loop.
    region_value = np.zeros((channels, count), dtype=np.float64)
    uniform = hinted.copy()
    for c in range(channels):
        lo = np.full(count, np.inf)
        hi = np.full(count, -np.inf)
        np.minimum.at(lo, hint_labels, hint_values[c])
        np.maximum.at(hi, hint_labels, hint_values[c])
        uniform &= ~hinted | (hi - lo <= 1e-6)
        region_value[c, hinted] = lo[hinted]
    region_value[:, 0] = 0.0
    flat_labels = labels.ravel()
    filled.reshape(channels, -1)[:] = region_value[:, flat_labels]

    # Regions with hints of different values: nearest hint pixel by Euclidean distance, inside the region's
    # bounding box only (hints of other regions are masked out), so the cost is proportional to those regions.
    mixed = np.flatnonzero(hinted & ~uniform)
    if mixed.size:
        slices = ndimage.find_objects(labels)
        for region in mixed:
            box = slices[region - 1]
            in_region = labels[box] == region
            not_hint = ~(hint_mask[box] & in_region)
            _, (iy, ix) = ndimage.distance_transform_edt(not_hint, return_indices=True)
            box_values = values[(slice(None), *box)]
            nearest = box_values[:, iy, ix]
            target = filled[(slice(None), *box)]
            target[:, in_region] = nearest[:, in_region]

    filled_mask = hinted[labels].astype(np.float32)
    return filled, filled_mask


def nearest_region_index(labels: np.ndarray) -> np.ndarray | None:
    """For every pixel, the flat index of the nearest pixel with a label > 0 (itself where it has one).

    Args:
        labels: int (H, W) region labels.

    Returns:
        int64 (H, W) flat indices into an (H, W) plane, or ``None`` when no pixel (or every pixel) is labelled.
    """
    labels = _check_plane(labels, "labels")
    lines = labels == 0
    if not lines.any() or lines.all():
        return None
    # int32 feature indices halve the memory of scipy's default at large sizes.
    indices = np.empty((2,) + labels.shape, dtype=np.int32)
    ndimage.distance_transform_edt(lines, return_distances=False, return_indices=True, indices=indices)
    return indices[0].astype(np.int64) * labels.shape[1] + indices[1]


def region_means(planes: Sequence[np.ndarray], labels: np.ndarray, count: int | None = None) -> np.ndarray:
    """(C, R) float64: each of the C ``planes`` (each (H, W), like ``labels``) averaged over every label's pixels
    (float64 sums), R = ``count`` (default labels.max() + 1); a label without pixels reads 0. The planes are read
    one by one, never stacked (a full-size copy at 4096²)."""
    flat_labels = labels.ravel()
    count = int(labels.max()) + 1 if count is None else count
    sizes = np.maximum(np.bincount(flat_labels, minlength=count), 1)
    return np.stack([np.bincount(flat_labels, weights=np.asarray(plane).ravel(), minlength=count) / sizes
                     for plane in planes])


def region_mean(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every labelled region's pixels set to the region's mean (float64 sums), per channel.

    Args:
        values: (C, H, W) float values (e.g. ab, or L as one channel).
        labels: int (H, W) region labels; pixels labelled 0 (lines, edges) keep their values.

    Returns:
        (C, H, W) array of ``values``' dtype, constant over each region.
    """
    n = int(labels.max())
    out = values.copy()
    if n == 0:
        return out
    flat_labels = labels.ravel()
    inside = flat_labels > 0
    for channel, means in zip(out, region_means(out, labels, n + 1)):
        channel.reshape(-1)[inside] = means[flat_labels[inside]]
    return out
