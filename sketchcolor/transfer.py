"""Color from a reference picture: match a drawing's regions to a colored picture's, or follow its colors' mood.

Two regimes, one reference:

- **match** (the reference is a colored drawing of the same subject: another pose, another page, the previous
  frame). The reference is cut into color segments (:func:`color_segments`); the drawing is laid on the reference
  by a similarity transform with an optional mirror (:func:`align`: its lines against the reference's color edges,
  searched, since a character may face the other way); every region of the drawing then takes the color of the segment that a
  capacity-limited Hungarian assignment over region descriptors gives it (:func:`match_regions`: how much of the
  region lands on the segment, how far apart their centres are, their lightness, their size, and how likely the
  color net finds the segment's color there).
- **global** (any colored picture): the reference's ab histogram over the color net's bins reweights every
  region's predicted distribution (:func:`global_weights`), so the picture's colors follow the reference's mood
  while each region keeps colors the net finds plausible for it.

``auto`` picks match when the alignment explains the drawing (:data:`MATCH_MIN_SCORE`), else global; regions the
match leaves out (cost above :data:`MATCH_MAX_COST`) take the global regime's colors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from scipy import ndimage, signal
from scipy.optimize import linear_sum_assignment

from sketchcolor.color import rgb_u8_to_lab_np
from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.image_io import load_image
from sketchcolor.palette import weighted_kmeans
from sketchcolor.regions import any_blocks, border_values, on_border, region_means, repeat_blocks

__all__ = [
    "REFERENCE_MODES",
    "Alignment",
    "Reference",
    "align",
    "check_reference_mode",
    "color_segments",
    "edge_map",
    "global_weights",
    "lightness_cost",
    "line_edges",
    "load_reference",
    "match_regions",
    "page_on_reference",
    "reference_histogram",
    "reference_share",
    "shapes_on_reference",
    "silhouette_hull",
]

REFERENCE_MODES = ("auto", "match", "global")
# The reference is read at this long side at most: segments and a histogram need no more.
REFERENCE_SIDE = 384
# Below this a picture holds no segments to match and no distribution worth following.
MIN_REFERENCE_SIDE = 8
# A segment needs this share of the reference's content: smaller ones are antialiasing and line fringes.
MIN_SEGMENT_SHARE = 0.0005
# A segment must reach this far (pixels at the reference's size) from its border somewhere: thinner is a fringe.
MIN_SEGMENT_DEPTH = 2.0
# Segment colors: k-means clusters in Lab at most (a flat drawing has fewer; a photo is summarized).
SEGMENT_CLUSTERS = 24
# Page white: lighter than this L and grayer than this chroma, reaching the border; a backdrop: this near (ΔE76)
# the border's dominant color.
PAGE_L, PAGE_CHROMA = 92.0, 6.0
PAGE_DELTA_E = 6.0
# The alignment's search: mirror or not, rotations within this many degrees in these steps, these factors of
# the silhouettes' scale (then refined), on a grid of this many points a side.
ALIGN_MAX_DEGREES, ALIGN_STEP_DEGREES = 30.0, 5.0
ALIGN_SCALES = tuple(np.geomspace(0.7, 1.4, 7))
ALIGN_GRID = 64
# Edges are blurred by this share of the long side before they are compared.
EDGE_BLUR = 0.01
# Match when the aligned edges' normalized correlation plus the silhouettes' IoU (each 0-1) reaches this.
MATCH_MIN_SCORE = 1.1
# An open shape of a drawing's page becomes a region when this share of it lands on the reference's drawing.
POCKET_SHARE = 0.6
# Line art's open shapes: trapped-ball pockets, and parts of the page the estimate shades below this L (as the
# palette lock's and the variations' open shapes).
SHADED_SHAPE_L = 85.0
# With an alignment this good, the drawing's page that lands on the reference's drawing is filled too (shapes the
# drawing leaves open where the reference has color), when wider than twice this share of the drawing's size.
PAGE_FILL_SCORE = 1.5
PAGE_FILL_WIDTH = 0.02
# A region whose assigned segment costs more than this keeps the net's (global regime's) color.
MATCH_MAX_COST = 6.0
# Descriptor scales of the matching cost (Lab L units; share of the content's size; log area ratio).
SIGMA_L_SKETCH, SIGMA_L_GRAY = 20.0, 8.0
SIGMA_POSITION, SIGMA_LOG_AREA = 0.25, 1.5
# Weight of the color net's opinion of a segment's color in a region (negative log of its reach).
NET_WEIGHT = 0.3
# Each further region one segment takes costs this much more than the last: prefer distinct matches.
SHARE_COST = 0.15
# Reach of a reference color over the color bins (Lab ab units), as the palette lock reads an entry.
HISTOGRAM_SIGMA_AB = 8.0
# How strongly the global regime pulls the net toward the reference's colors (1: the drawing's overall reading
# becomes the reference's histogram where the regions allow it).
GLOBAL_STRENGTH = 1.0


@dataclass
class Reference:
    """A reference picture read for coloring: ``lab`` (h, w, 3) float64 CIE Lab at most :data:`REFERENCE_SIDE`
    long; ``segments`` (h, w) int, 0 the page and specks; ``colors`` (S, 3) each segment's mean Lab (row 0 the
    page's); ``areas`` (S,) their pixel counts; ``edges`` (h, w) where its colors change (:func:`edge_map`)."""

    lab: np.ndarray
    segments: np.ndarray
    colors: np.ndarray
    areas: np.ndarray
    edges: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.edges is None:
            self.edges = edge_map(self.lab)

    @property
    def content(self) -> np.ndarray:
        return self.segments > 0


def check_reference_mode(mode: Any) -> str:
    """``mode`` when it is one of :data:`REFERENCE_MODES` (ConfigError else)."""
    if mode not in REFERENCE_MODES:
        raise ConfigError(f"unknown reference mode {mode!r}; allowed: {', '.join(REFERENCE_MODES)}")
    return mode


def load_reference(image: Any, *, max_pixels: int | None) -> Reference:
    """Read a reference (a path, bytes, PIL image or array, as :func:`~sketchcolor.image_io.load_image` takes).

    Raises:
        ImageError: not a picture, too large (``max_pixels``) or smaller than :data:`MIN_REFERENCE_SIDE` on a side;
            each message starts "reference:". A gray reference is a reference too (black, white and grays).
    """
    try:
        rgb = load_image(image, max_pixels=max_pixels)
    except ImageError as err:
        raise ImageError(f"reference: {err}") from None
    width, height = rgb.size
    if min(width, height) < MIN_REFERENCE_SIDE:
        raise ImageError(f"reference: the picture is {width}×{height} pixels; a reference needs at least "
                         f"{MIN_REFERENCE_SIDE} pixels on each side to hold colored shapes")
    scale = REFERENCE_SIDE / max(width, height)
    if scale < 1:
        rgb = rgb.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.BOX)
    lab = rgb_u8_to_lab_np(np.array(rgb)).astype(np.float64)
    segments = color_segments(lab)
    areas = np.bincount(segments.ravel()).astype(np.float64)
    return Reference(lab, segments, region_means(lab.transpose(2, 0, 1), segments).T, areas)


def edge_map(lab: np.ndarray) -> np.ndarray:
    """(h, w) float: how sharply a picture's Lab (h, w, 3) changes at each pixel, ink counted as edge too (a
    drawing's lines sit on its reference's color boundaries and outlines), blurred so near misses still meet."""
    change = sum(np.hypot(ndimage.sobel(lab[..., c], 0), ndimage.sobel(lab[..., c], 1)) for c in range(3))
    edges = np.minimum(change / 80.0, 1.0) + np.clip((50.0 - lab[..., 0]) / 50.0, 0.0, 1.0)
    return ndimage.gaussian_filter(edges, EDGE_BLUR * max(lab.shape[:2]))


def line_edges(gray_u8: np.ndarray, size: int = REFERENCE_SIDE) -> np.ndarray:
    """(H, W) float: a drawing's or grayscale picture's edges as :func:`edge_map` reads a reference's, for
    :func:`align` (computed at most ``size`` long and scaled back up by pixel repetition)."""
    height, width = gray_u8.shape
    step = max(1, int(np.ceil(max(height, width) / size)))
    small = np.asarray(Image.fromarray(gray_u8).resize((-(-width // step), -(-height // step)), Image.BOX),
                       np.float64) / 2.55
    lab = np.zeros(small.shape + (3,))
    lab[..., 0] = small
    edges = edge_map(lab)
    return repeat_blocks(edges, step, (height, width))


def _page(lab: np.ndarray) -> np.ndarray:
    """The reference's page: the pixels near the border's dominant color (within :data:`PAGE_DELTA_E`, when it
    holds at least half the border: white paper, or a flat backdrop like a flatting layer's gray) that connect to
    the border; near-white pixels reaching the border otherwise."""
    border = border_values(lab)
    colors, counts = np.unique(np.round(border / 4.0), axis=0, return_counts=True)
    backdrop = colors[counts.argmax()] * 4.0
    near = np.linalg.norm(border - backdrop, axis=1) < PAGE_DELTA_E
    if near.mean() >= 0.5:
        candidate = np.linalg.norm(lab - np.median(border[near], axis=0), axis=2) < PAGE_DELTA_E
    else:
        candidate = (lab[..., 0] > PAGE_L) & (np.hypot(lab[..., 1], lab[..., 2]) < PAGE_CHROMA)
    components, _ = ndimage.label(candidate)
    return on_border(components)[components]


def color_segments(lab: np.ndarray, *, clusters: int = SEGMENT_CLUSTERS, seed: int = 0) -> np.ndarray:
    """(h, w) int32 segments of a colored picture ``lab`` (h, w, 3): connected runs of one k-means color
    (at most ``clusters``, in Lab); 0 is the page (:func:`_page`) and specks under :data:`MIN_SEGMENT_SHARE`
    of the content, numbered 1.. in reading order."""
    page = _page(lab)
    content = ~page
    out = np.zeros(lab.shape[:2], np.int32)
    if not content.any():
        return out
    pixels = lab[content]
    quantized = np.round(pixels / 2.0).astype(np.int32)
    colors, inverse, weights = np.unique(quantized, axis=0, return_inverse=True, return_counts=True)
    centres, member = weighted_kmeans(colors * 2.0, weights, min(clusters, len(colors)), seed, iterations=20,
                                      atol=0.05)
    cluster = np.full(lab.shape[:2], -1, np.int32)
    cluster[content] = member[inverse.ravel()]
    minimum = max(4, int(MIN_SEGMENT_SHARE * content.sum()))
    next_label = 1
    for c in range(len(centres)):
        components, n = ndimage.label(cluster == c)
        if n == 0:
            continue
        sizes = np.bincount(components.ravel(), minlength=n + 1)
        keep = np.flatnonzero(sizes >= minimum)
        keep = keep[keep > 0]
        table = np.zeros(n + 1, np.int32)
        table[keep] = np.arange(next_label, next_label + keep.size)
        inside = components > 0
        out[inside] = table[components[inside]]
        next_label += keep.size
    # A segment no thicker than a fringe is the antialiasing between two others, not a color of the picture.
    boundary = np.zeros(out.shape, bool)
    boundary[:-1] |= out[:-1] != out[1:]
    boundary[1:] |= out[:-1] != out[1:]
    boundary[:, :-1] |= out[:, :-1] != out[:, 1:]
    boundary[:, 1:] |= out[:, :-1] != out[:, 1:]
    depth = ndimage.distance_transform_edt(~boundary)
    thickness = ndimage.maximum(depth, out, np.arange(next_label)) if next_label > 1 else np.zeros(1)
    thick = np.asarray(thickness) >= MIN_SEGMENT_DEPTH
    thick[0] = False
    kept = np.where(thick[out], out, 0)
    # Numbered in reading order (by each segment's first pixel), whatever the clusters' order.
    numbers, first = np.unique(kept.ravel(), return_index=True)
    first, numbers = first[numbers > 0], numbers[numbers > 0]
    table = np.zeros(next_label, np.int32)
    table[numbers[np.argsort(first, kind="stable")]] = np.arange(1, numbers.size + 1)
    return table[kept]


@dataclass
class Alignment:
    """Where the drawing lies on the reference: a drawing pixel (y, x) maps to reference pixel
    ``centre_ref + scale * R(angle) * M * ((y, x) + offset - centre_drawing)``, M mirroring x when ``mirror``.
    score: the aligned edges' normalized correlation plus the silhouettes' IoU (:data:`MATCH_MIN_SCORE`)."""

    mirror: bool
    angle: float
    scale: float
    centre_drawing: np.ndarray
    centre_ref: np.ndarray
    score: float
    offset: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def to_reference(self, yx: np.ndarray) -> np.ndarray:
        """(N, 2) drawing (y, x) -> (N, 2) reference (y, x), float."""
        d = np.asarray(yx, np.float64) + self.offset - self.centre_drawing
        if self.mirror:
            d = d * np.array([1.0, -1.0])
        theta = np.deg2rad(self.angle)
        c, s = np.cos(theta), np.sin(theta)
        rotated = np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], 1)
        return self.centre_ref + self.scale * rotated


def _centre_and_size(mask: np.ndarray) -> tuple[np.ndarray, float]:
    ys, xs = np.nonzero(mask)
    return np.array([ys.mean(), xs.mean()]), float(np.sqrt(mask.sum()))


def _sample(plane: np.ndarray, yx: np.ndarray, fill: float) -> np.ndarray:
    """``plane`` at the nearest pixel of each (y, x), ``fill`` outside."""
    y, x = np.round(yx[:, 0]).astype(np.int64), np.round(yx[:, 1]).astype(np.int64)
    inside = (y >= 0) & (y < plane.shape[0]) & (x >= 0) & (x < plane.shape[1])
    out = np.full(len(yx), fill, dtype=np.float64)
    out[inside] = plane[y[inside], x[inside]]
    return out


def _window_sums(plane: np.ndarray, size: int) -> np.ndarray:
    """The sums of ``plane`` over every ``size`` x ``size`` window inside it (an integral image)."""
    total = np.zeros((plane.shape[0] + 1, plane.shape[1] + 1))
    total[1:, 1:] = plane.cumsum(0).cumsum(1)
    return total[size:, size:] - total[:-size, size:] - total[size:, :-size] + total[:-size, :-size]


def align(content: np.ndarray, edges: np.ndarray, reference: Reference, *, grid: int = ALIGN_GRID) -> Alignment:
    """The mirror, rotation, scale and shift that lay the drawing (``content`` (H, W) bool, its silhouette;
    ``edges`` (H, W) its :func:`line_edges`) best on the reference.

    Centres and a first scale come from the silhouettes' moments; then every mirror x rotation (within
    ±:data:`ALIGN_MAX_DEGREES`) x scale (:data:`ALIGN_SCALES` of the first) samples the reference's edges on a
    ``grid``² grid over the drawing (a quarter wider on each side) and takes the shift where they correlate best
    with the drawing's (FFT); the best candidate is refined at finer steps."""
    ref_content = reference.content
    if not content.any() or not ref_content.any():
        zero = np.zeros(2)
        return Alignment(False, 0.0, 1.0, zero, zero, 0.0)
    centre_d, size_d = _centre_and_size(content)
    centre_r, size_r = _centre_and_size(ref_content)
    ys, xs = np.nonzero(content)
    extent = 1.2 * max(np.ptp(ys) + 1, np.ptp(xs) + 1)
    step = extent / grid
    margin = grid // 4
    axis = (np.arange(-margin, grid + margin) - (grid - 1) / 2) * step
    outer = np.stack(np.meshgrid(centre_d[0] + axis, centre_d[1] + axis, indexing="ij"), -1).reshape(-1, 2)
    side = grid + 2 * margin
    inner = outer.reshape(side, side, 2)[margin:margin + grid, margin:margin + grid].reshape(-1, 2)
    drawing = _sample(edges, inner, 0.0).reshape(grid, grid)
    drawing -= drawing.mean()
    norm_d = np.sqrt(np.square(drawing).sum())
    inside_d = _sample(content.astype(np.float64), inner, 0.0) > 0.5

    def best_shift(mirror: bool, angle: float, scale: float) -> tuple[float, np.ndarray]:
        alignment = Alignment(mirror, angle, scale, centre_d, centre_r, 0.0)
        ref = _sample(reference.edges, alignment.to_reference(outer), 0.0).reshape(side, side)
        product = signal.correlate(ref, drawing, mode="valid", method="fft")
        local = _window_sums(ref, grid)
        energy = _window_sums(np.square(ref), grid) - local**2 / grid**2
        ncc = product / np.maximum(np.sqrt(np.maximum(energy, 0.0)) * norm_d, 1e-9)
        i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
        return float(ncc[i, j]), np.array([(i - margin) * step, (j - margin) * step])

    base = size_r / size_d
    candidates = [(*best_shift(m, a, base * f), m, a, base * f) for m in (False, True)
                  for a in np.arange(-ALIGN_MAX_DEGREES, ALIGN_MAX_DEGREES + 1e-9, ALIGN_STEP_DEGREES)
                  for f in ALIGN_SCALES]
    score, offset, mirror, angle, scale = max(candidates, key=lambda c: c[0])
    for angle_step, scale_step in ((ALIGN_STEP_DEGREES / 3, 1.03), (ALIGN_STEP_DEGREES / 9, 1.01)):
        steps = ((angle - angle_step, 1.0), (angle + angle_step, 1.0), (angle, scale_step), (angle, 1 / scale_step))
        for a, f in steps:
            s, o = best_shift(mirror, a, scale * f)
            if s > score:
                score, offset, angle, scale = s, o, a, scale * f
    alignment = Alignment(mirror, float(angle), float(scale), centre_d, centre_r, 0.0, offset)
    inside_r = _sample(ref_content.astype(np.float64), alignment.to_reference(inner), 0.0) > 0.5
    union = (inside_d | inside_r).sum()
    alignment.score = float(max(score, 0.0) + ((inside_d & inside_r).sum() / union if union else 0.0))
    return alignment


def silhouette_hull(content: np.ndarray, max_side: int = 256) -> np.ndarray:
    """(H, W) bool: the convex hull of ``content`` (H, W) bool, worked out on a grid at most ``max_side`` long.

    A drawing whose shapes run off the picture's edge (a bust, a hand cut at the wrist) leaves them open to the
    page, so its silhouette is little more than its lines; the hull is the outline the reference's filled shapes
    have, to align against when that silhouette fails (:func:`align`)."""
    from skimage.morphology import convex_hull_image

    small, step = any_blocks(np.asarray(content, bool), max_side)
    if not small.any():
        return np.zeros(content.shape, bool)
    return repeat_blocks(convex_hull_image(small), step, content.shape)


def _shrink(plane: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """``(small, step)``: every ``step``-th pixel of ``plane`` (H, W) each way from ``step // 2``, so that ``small``
    is at most ``max_side`` long."""
    step = max(1, int(np.ceil(max(plane.shape) / max_side)))
    return plane[step // 2::step, step // 2::step], step


def _landing(ys: np.ndarray, xs: np.ndarray, step: int, alignment: Alignment) -> np.ndarray:
    """(N, 2): where the pixels (ys, xs) of a :func:`_shrink` grid of ``step`` land on the reference."""
    return alignment.to_reference(np.stack([ys * step + step // 2, xs * step + step // 2], 1).astype(np.float64))


def reference_share(labels: np.ndarray, alignment: Alignment, reference: Reference,
                    max_side: int = 384) -> np.ndarray:
    """(R,) for each label of ``labels`` (H, W) int, the share of its pixels that land on the reference's drawing
    (a segment, not its page) under ``alignment``; computed on ``labels`` shrunk to ``max_side``."""
    count = int(labels.max()) + 1
    small, step = _shrink(labels, max_side)
    yy, xx = np.nonzero(small > 0)
    if yy.size == 0:
        return np.zeros(count)
    on = _sample(reference.content.astype(np.float64), _landing(yy, xx, step, alignment), 0.0)
    flat = small[yy, xx]
    return np.bincount(flat, weights=on, minlength=count) / np.maximum(np.bincount(flat, minlength=count), 1)


def shapes_on_reference(shapes: np.ndarray, alignment: Alignment, reference: Reference) -> np.ndarray:
    """(N,) int64: the ids > 0 of ``shapes`` (H, W) int (open shapes of a drawing's page, 0 = none) of which at least
    :data:`POCKET_SHARE` lands on the reference's drawing under ``alignment`` (:func:`reference_share`): the
    reference shows them filled."""
    chosen = np.flatnonzero(reference_share(shapes, alignment, reference) >= POCKET_SHARE)
    return chosen[chosen > 0]


def page_on_reference(paper: np.ndarray, alignment: Alignment, reference: Reference,
                      max_side: int = 512) -> np.ndarray:
    """bool (H, W): the drawing's ``paper`` that lands on the reference's drawing under ``alignment``, less strips
    narrower than twice :data:`PAGE_FILL_WIDTH` of the drawing's size (an opening: a slightly larger reference
    silhouette leaves a thin ring around the drawing, not a shape). Worked out at most ``max_side`` long and
    brought back to full size smoothly; the paper's own edges (the lines) stay exact."""
    height, width = paper.shape
    small, step = _shrink(paper, max_side)
    ys, xs = np.nonzero(small)
    on = np.zeros(small.shape, bool)
    if ys.size == 0:
        return np.zeros(paper.shape, bool)
    on[ys, xs] = _sample(reference.content.astype(np.float64), _landing(ys, xs, step, alignment), 0.0) > 0.5
    radius = PAGE_FILL_WIDTH * np.sqrt((~small).sum())
    core = ndimage.distance_transform_edt(on) > radius
    opened = on & (ndimage.distance_transform_edt(~core) <= radius + 1)
    if step == 1:
        return opened
    full = Image.fromarray(opened.astype(np.uint8) * 255).resize((width, height), Image.BILINEAR)
    return (np.asarray(full) >= 128) & paper


def _reach(probs: np.ndarray, bins: np.ndarray, ab: np.ndarray, sigma: float = HISTOGRAM_SIGMA_AB) -> np.ndarray:
    """(R, S): each region's share of predicted mass within ``sigma`` of each color ``ab`` (S, 2)."""
    kernel = np.exp(-np.square(bins[:, None, :] - ab[None, :, :]).sum(-1) / (2 * sigma**2))  # (Q, S)
    totals = probs.sum(1, keepdims=True)
    return (probs / np.maximum(totals, 1e-300)) @ kernel


def lightness_cost(difference: np.ndarray, sketch: bool) -> np.ndarray:
    """The matching cost of a region's L ``difference`` from a segment's: ``d²/2σ²`` for a grayscale picture (its L
    is exact); for line art, whose L is the inversion net's guess (a thin band between two lines reads almost black),
    ``log(1 + d²/2σ²)``: the same near a match, but a guess far off cannot outweigh where the region lands."""
    scaled = np.square(difference) / (2 * (SIGMA_L_SKETCH if sketch else SIGMA_L_GRAY) ** 2)
    return np.log1p(scaled) if sketch else scaled


def match_regions(labels: np.ndarray, regions: np.ndarray, region_l: np.ndarray, alignment: Alignment,
                  reference: Reference, *, sketch: bool, probs: np.ndarray | None = None,
                  bins: np.ndarray | None = None, max_side: int = 384) -> tuple[np.ndarray, np.ndarray]:
    """Each of the drawing's ``regions`` (bool (R,) over the label numbers of ``labels`` (H, W)) matched to a
    reference segment. Returns ``(segment, cost)``: (R,) int64 segment numbers (0: none) and (R,) float costs.

    The cost of region r taking segment s, each term in units of its scale:
    ``-log(overlap + 0.02)`` (the share of r that lands on s under ``alignment``) ``+ d²/2σ_pos²`` (their centres,
    in the drawing's size) ``+`` :func:`lightness_cost` of ``L_r - L_s`` (``region_l`` (R,), estimated for line art:
    ``sketch``)
    ``+ (log area ratio)²/2σ_area² + NET_WEIGHT * -log reach`` (the net's mass near s's color in r: ``probs``
    (R, Q) over ``bins`` (Q, 2), optional). The assignment is Hungarian with every segment offered many times,
    each further copy :data:`SHARE_COST` dearer, so two regions share a segment only when it pays, and "none" offered
    to every region at :data:`MATCH_MAX_COST`, so a region that matches nothing does not take a copy another needs.
    The work runs on ``labels`` shrunk to ``max_side``; a region it loses is not matched.
    """
    count = int(labels.max()) + 1
    small, step = _shrink(labels, max_side)
    yy, xx = np.nonzero(small >= 0)
    flat = small.ravel()
    keep = regions[flat]
    if not keep.any() or reference.colors.shape[0] <= 1:
        return np.zeros(count, np.int64), np.full(count, np.inf)
    r_of = flat[keep]
    mapped = _landing(yy[keep], xx[keep], step, alignment)
    seg = _sample(reference.segments.astype(np.float64), mapped, 0.0).astype(np.int64)
    n_seg = reference.colors.shape[0]
    votes = np.bincount(r_of * n_seg + seg, minlength=count * n_seg).reshape(count, n_seg)
    area_d = votes.sum(1).astype(np.float64)
    present = np.flatnonzero(area_d > 0)
    segments = np.arange(1, n_seg)
    overlap = votes[np.ix_(present, segments)] / area_d[present, None]
    # Centres: the drawing's regions in the reference's frame, both over the drawing's size.
    centre_d = np.stack([np.bincount(r_of, weights=mapped[:, i], minlength=count) for i in (0, 1)], 1)
    centre_d = centre_d[present] / area_d[present, None]
    sy, sx = np.nonzero(reference.segments > 0)
    sid = reference.segments[sy, sx]
    centre_s = np.stack([np.bincount(sid, weights=v, minlength=n_seg) for v in (sy, sx)], 1)[1:]
    centre_s = centre_s / np.maximum(reference.areas[1:, None], 1)
    size = np.sqrt(reference.content.sum())
    distance2 = np.square(centre_d[:, None, :] - centre_s[None]).sum(-1) / size**2
    share_d = area_d[present] / area_d.sum()
    share_s = reference.areas[1:] / reference.areas[1:].sum()
    cost = (-np.log(overlap + 0.02)
            + distance2 / (2 * SIGMA_POSITION**2)
            + lightness_cost(region_l[present, None] - reference.colors[None, 1:, 0], sketch)
            + np.square(np.log(share_d[:, None] / share_s[None])) / (2 * SIGMA_LOG_AREA**2))
    if probs is not None and bins is not None and NET_WEIGHT:
        reach = _reach(probs[present], bins, reference.colors[1:, 1:])
        has = probs[present].sum(1) > 0
        cost[has] -= NET_WEIGHT * np.log(np.maximum(reach[has], 1e-6))
    # Twice the even share of copies, and a way out for every region: a region that matches nothing takes "none"
    # (at MATCH_MAX_COST) rather than a copy a region that does match needs.
    copies = 2 * int(np.ceil(len(present) / len(segments))) + 1
    wide = np.concatenate([cost + SHARE_COST * j for j in range(copies)]
                          + [np.full((len(present), len(present)), MATCH_MAX_COST)], 1)
    rows, cols = linear_sum_assignment(wide)
    taken = cols < copies * len(segments)
    rows, cols = rows[taken], cols[taken]
    segment = np.zeros(count, np.int64)
    best = np.full(count, np.inf)
    segment[present[rows]] = segments[cols % len(segments)]
    best[present[rows]] = cost[rows, cols % len(segments)]
    return segment, best


def reference_histogram(reference: Reference, bins: np.ndarray, sigma: float = HISTOGRAM_SIGMA_AB) -> np.ndarray:
    """(Q,) the reference's content colors spread over the color ``bins`` (Q, 2), summing to 1."""
    lab = reference.lab[reference.content] if reference.content.any() else reference.lab.reshape(-1, 3)
    ab = np.round(lab[:, 1:] / 2.0) * 2.0
    colors, weights = np.unique(ab, axis=0, return_counts=True)
    kernel = np.exp(-np.square(colors[:, None, :] - bins[None]).sum(-1) / (2 * sigma**2))  # (C, Q)
    kernel /= np.maximum(kernel.sum(1, keepdims=True), 1e-300)
    hist = weights @ kernel
    return hist / hist.sum()


def global_weights(hist: np.ndarray, reading: np.ndarray, strength: float = GLOBAL_STRENGTH,
                   floor: float = 1e-3) -> np.ndarray:
    """(Q,) weights for every region's distribution over the bins: ``((hist + ε) / (reading + ε))^strength``,
    the reference's histogram ``hist`` over the drawing's overall reading ``reading`` (the regions'
    distributions summed), both normalized, ε = ``floor`` / Q: a color the reference has gains where the net
    put little of it, one it lacks loses, and a region the net is sure of keeps its color."""
    hist = np.asarray(hist, np.float64)
    reading = np.asarray(reading, np.float64)
    eps = floor / len(hist)
    ratio = (hist / hist.sum() + eps) / (reading / max(reading.sum(), 1e-300) + eps)
    weights = ratio**strength
    return weights / weights.max()
