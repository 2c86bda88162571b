"""Palette lock: reading a palette (the API's list, the command line's hexes or file) and choosing each region's
palette entry from the color net's pooled distribution.

A palette is a (K, 3) uint8 array of distinct sRGB colors in the order given (duplicates collapsed), 1 to
:data:`MAX_PALETTE` of them. :class:`~sketchcolor.pipeline.Colorizer` gives every flat region one entry; the
white page is not a region and stays white, so white need not be in the palette (flat line art's open shapes that
the estimate shades are regions under a lock, ``PipelineConfig.palette_shapes_l``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from sketchcolor.color import rgb_u8_to_lab_np
from sketchcolor.errors import HintError
from sketchcolor.hints import Hint, color_hex, parse_color

__all__ = [
    "MAX_PALETTE",
    "PALETTE_PRIOR_WEIGHT",
    "PALETTE_READINGS_SKETCH",
    "PALETTE_SHAPE_LINE_SHARE",
    "PALETTE_SIGMA_AB",
    "PALETTE_SIGMA_L_GRAY",
    "PALETTE_SIGMA_L_SKETCH",
    "choose_entries",
    "describe",
    "nearest_entries",
    "palette_lab",
    "parse_palette",
    "read_palette",
    "snap_hints",
    "weighted_kmeans",
]

# Beyond this a palette hardly locks anything, and the choice's cost grows with it.
MAX_PALETTE = 64
# An entry's ab reach (Lab units), just under the bins' 10-unit spacing: an entry between bins reads the bins beside it.
PALETTE_SIGMA_AB = 8.0
# Share of the whole picture's reading taken off: what the net reads everywhere (skin, page gray) tells no one region.
PALETTE_PRIOR_WEIGHT = 0.9
# Line art's L is the inversion net's soft estimate: wide, so it parts light from dark entries without overruling hue.
PALETTE_SIGMA_L_SKETCH = 26.5
# Line art reads an entry at three reaches, each (σ_ab, the region's weight, the picture's weight off), fitted on
# OpenMoji train pictures (model card): the wide reading counts against an entry, so a concentrated peak of the
# region's distribution beats a broad shoulder that only reaches toward it.
PALETTE_READINGS_SKETCH = ((5.0, 1.0, 0.37), (10.0, 0.29, 0.40), (20.0, -0.58, 0.0))
# Line art's open shapes a lock colors (PipelineConfig.palette_shapes_l) run this share of their outline along the
# lines, more than the variations ask: the single result must not fill the page around a drawing in ragged blobs.
PALETTE_SHAPE_LINE_SHARE = 0.75
# A grayscale picture's L is its own, exact: narrow, so lightness decides and the net's ab breaks ties.
PALETTE_SIGMA_L_GRAY = 6.0
_FORMS = "'#rrggbb', '#rgb' or an (r, g, b) tuple of ints 0-255"


def parse_palette(colors: Any) -> np.ndarray:
    """A palette as the API takes it -> (K, 3) uint8, distinct colors in their first order.

    colors: a list (tuple, or (K, 3) array) of colors in any form a hint's color takes (:func:`parse_color`:
    ``"#rrggbb"``, ``"#rgb"``, an ``(r, g, b)`` tuple of ints 0-255, ...). Duplicates are collapsed.

    Raises:
        HintError: not a list, an empty list, a bad entry (named by its index and value), or more than
            :data:`MAX_PALETTE` distinct colors.
    """
    if isinstance(colors, (str, bytes)) or not isinstance(colors, (Sequence, np.ndarray)):
        raise HintError(f"a palette must be a list of colors ({_FORMS}), like ['#e03020', '#3060c0'], "
                        f"not {type(colors).__name__}")
    if len(colors) == 0:
        raise HintError(f"the palette is empty: give at least one color ({_FORMS})")
    parsed: dict[tuple[int, int, int], None] = {}
    for index, color in enumerate(colors):
        try:
            parsed[parse_color(color)] = None
        except HintError as err:
            raise HintError(f"palette entry #{index}: {err}") from None
    if len(parsed) > MAX_PALETTE:
        raise HintError(f"the palette has {len(parsed)} distinct colors; at most {MAX_PALETTE} are allowed")
    return np.array(list(parsed), np.uint8).reshape(-1, 3)


def read_palette(spec: str | os.PathLike) -> np.ndarray:
    """The command line's ``--palette``: a file (one color per line, blank lines skipped, or a JSON list) when
    ``spec`` names one, else comma-separated colors (``"#e03020,#3060c0"``). Returns :func:`parse_palette`'s array.

    Raises:
        HintError: an unreadable file, bad JSON, a name that is neither a file nor colors, or a bad palette.
    """
    name = os.fspath(spec)
    if os.path.isfile(name):
        try:
            with open(name, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as err:
            raise HintError(f"{name}: cannot read the palette file ({err})") from None
        if text.lstrip().startswith("["):
            try:
                entries = json.loads(text)
            except json.JSONDecodeError as err:
                raise HintError(f"{name}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
        else:
            entries = [line.strip() for line in text.splitlines() if line.strip()]
        try:
            return parse_palette(entries)
        except HintError as err:
            raise HintError(f"{name}: {err}") from None
    if "," not in name and name.strip():
        try:
            parse_color(name)
        except HintError:
            raise HintError(f"--palette {name!r} is neither a file nor a comma-separated list of colors like "
                            "'#e03020,#3060c0'") from None
    return parse_palette([item.strip() for item in name.split(",") if item.strip()])


def palette_lab(palette_u8: np.ndarray) -> np.ndarray:
    """(K, 3) uint8 sRGB -> (K, 3) float64 CIE Lab."""
    return rgb_u8_to_lab_np(np.ascontiguousarray(palette_u8, np.uint8)[None])[0].astype(np.float64)


def nearest_entries(lab: np.ndarray, entries_lab: np.ndarray) -> np.ndarray:
    """(N,) int64: for each of ``lab`` (N, 3) the index of the nearest of ``entries_lab`` (K, 3) by ΔE2000."""
    from skimage.color import deltaE_ciede2000

    lab = np.asarray(lab, np.float64).reshape(-1, 3)
    if lab.shape[0] == 0:
        return np.zeros(0, np.int64)
    distance = deltaE_ciede2000(lab[:, None, :], np.asarray(entries_lab, np.float64)[None, :, :])
    return distance.argmin(axis=1).astype(np.int64)


def choose_entries(probs: np.ndarray, bins: np.ndarray, region_ab: np.ndarray, region_l: np.ndarray,
                   entries_lab: np.ndarray, *, sigma_l: float, sigma_ab: float = PALETTE_SIGMA_AB,
                   prior_weight: float = PALETTE_PRIOR_WEIGHT, prior_rows: np.ndarray | None = None,
                   readings: Sequence[tuple[float, float, float]] | None = None) -> np.ndarray:
    """Each region's palette entry: (R,) int64 indices into ``entries_lab`` (K, 3).

    Region r takes the entry k maximizing

        Σ_s u_s log reach_r,s(k) - w_s log reach_s(k) - (L_r - L_k)² / 2σ_L²,
        reach_r,s(k) = Σ_q p_r(q) exp(-|ab_q - ab_k|² / 2σ_s²)

    over the ``readings`` (σ_s, u_s, w_s) (default one: ``sigma_ab``, 1, ``prior_weight``), where p_r is the
    region's distribution normalized to 1 and reach_s(k) the same reading of the drawing's distribution (the rows
    ``prior_rows`` of ``probs`` together, default all, each cell counted once; the page is left out by the
    pipeline, or its white would count against every white entry): the net's probability mass near the entry's
    ab, relative to how much of it the net puts there anywhere in the picture, less a penalty for the entry's
    lightness off the region's.

    probs: (R, Q) float, each row the summed distributions of the region's logits cells over ``bins`` (Q, 2) ab;
    every region of the picture, the page and the lines too, so the rows together are the picture. A row of zeros
    (a region no cell fell in) reads as all its mass at ``region_ab`` (R, 2). region_l: (R,) CIE L of each region.
    sigma_l: how far the regions' L may be trusted (:data:`PALETTE_SIGMA_L_SKETCH`, :data:`PALETTE_SIGMA_L_GRAY`).
    """
    probs = np.asarray(probs, np.float64)
    entries_lab = np.asarray(entries_lab, np.float64)
    readings = ((sigma_ab, 1.0, prior_weight),) if readings is None else tuple(readings)
    totals = probs.sum(axis=1, keepdims=True)
    point = totals[:, 0] <= 0
    kept = probs if prior_rows is None else probs[np.asarray(prior_rows, bool)]
    mass = kept.sum(axis=0) if kept.sum() > 0 else probs.sum(axis=0)
    bin_to_entry = np.square(np.asarray(bins, np.float64)[:, None, :] - entries_lab[None, :, 1:]).sum(-1)
    offset = np.square(np.asarray(region_ab, np.float64)[point, None, :] - entries_lab[None, :, 1:]).sum(-1)
    score = np.zeros((probs.shape[0], entries_lab.shape[0]))
    for sigma, region_weight, picture_weight in readings:
        # float64 keeps exp(-d²/2σ²) above underflow over the whole ab range (d < 300 at σ = 8: exp(-703) > 1e-308).
        kernel = np.exp(-bin_to_entry / (2 * sigma**2))  # (Q, K)
        reach = np.log(np.maximum((probs / np.maximum(totals, 1e-300)) @ kernel, 1e-300))  # (R, K)
        reach[point] = -offset / (2 * sigma**2)
        score += region_weight * reach
        if picture_weight and mass.sum() > 0:
            score -= picture_weight * np.log(np.maximum((mass / mass.sum()) @ kernel, 1e-300))[None, :]
    score -= np.square(np.asarray(region_l, np.float64)[:, None] - entries_lab[None, :, 0]) / (2 * sigma_l**2)
    return score.argmax(axis=1).astype(np.int64)


def snap_hints(hints: Sequence[Hint], palette_u8: np.ndarray) -> list[Hint]:
    """The hints with each color replaced by its nearest palette entry (ΔE2000), so the nets and the hint fill see
    only palette colors."""
    if not hints:
        return []
    lab = rgb_u8_to_lab_np(np.array([[h.color for h in hints]], np.uint8))[0]
    nearest = nearest_entries(lab, palette_lab(palette_u8))
    return [Hint(h.x, h.y, tuple(int(c) for c in palette_u8[k]), h.radius) for h, k in zip(hints, nearest)]


def describe(palette_u8: np.ndarray) -> str:
    """The palette as comma-separated ``#rrggbb``."""
    return ",".join(color_hex(tuple(int(c) for c in rgb)) for rgb in palette_u8)


def weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, seed: int, *, iterations: int,
                    atol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """k-means of ``points`` (N, D) (colors in Lab) each counted ``weights`` (N,) times: ``(centres (≤k, D),
    member (N,))``. Seeded k-means++ start (each next centre drawn with probability proportional to weight x
    squared distance; fewer than k when every point is already a centre), then at most ``iterations`` Lloyd steps,
    stopping when no centre moves more than ``atol`` (plus numpy's default relative tolerance)."""
    points = np.asarray(points, np.float64)
    weights = np.asarray(weights, np.float64)
    rng = np.random.default_rng(seed)
    centres = [points[rng.choice(len(points), p=weights / weights.sum())]]
    nearest = np.square(points - centres[0]).sum(1)
    for _ in range(1, k):
        chance = weights * nearest
        if chance.sum() <= 0:
            break
        centres.append(points[rng.choice(len(points), p=chance / chance.sum())])
        nearest = np.minimum(nearest, np.square(points - centres[-1]).sum(1))
    centres = np.array(centres)
    for _ in range(iterations):
        member = np.square(points[:, None, :] - centres[None]).sum(-1).argmin(1)
        mass = np.bincount(member, weights=weights, minlength=len(centres))
        moved = centres.copy()
        for axis in range(points.shape[1]):
            sums = np.bincount(member, weights=weights * points[:, axis], minlength=len(centres))
            moved[mass > 0, axis] = sums[mass > 0] / mass[mass > 0]
        if np.allclose(moved, centres, atol=atol):
            break
        centres = moved
    return centres, np.square(points[:, None, :] - centres[None]).sum(-1).argmin(1)
