"""``python -m sketchcolor.evaluate``: the evaluation protocol of EVALUATION.md, for a model and the baselines.

For every picture of a manifest split (fitted on a white ``size`` x ``size`` page), every task ("sketch": line
art in; "sketch-real": the line art redrawn as a real drawing by :func:`sketchcolor.linestyles.realistic_lines`,
seeded from the picture id and the run seed, RGB in; "gray": the color picture's grayscale in; the target is
always the color picture) and every hint count N, N hints are drawn once (seeded from the picture id and N by a
stable hash, from the clean line art and the target) and given to every method:

- ``identity`` (every task), ``regionfill`` (both sketch tasks; on sketch-real it fills the styled input read as
  gray, as a bucket fill would), ``levin`` (gray): the classical baselines;
- ``net`` and ``net+cleanup`` (the model through :class:`sketchcolor.pipeline.Colorizer`, without and with
  flat-region cleanup), when a checkpoint is given;
- ``net+palette`` (with ``--palette-k K``): the model locked to the target's K dominant colors
  (:func:`target_palette`); its records also carry the share of flat pixels off the page that are exactly a
  palette color;
- ``net best-of-K`` (with ``--variations K``): K automatic colorings
  (:meth:`~sketchcolor.pipeline.Colorizer.colorize_variations`, seeded per picture), scored by the one nearest
  the target (least ΔE2000): an oracle pick, the best an artist choosing among them could get. Its records carry
  which variation was picked and every variation's ΔE2000.

Hint pixels are drawn uniformly among pixels that are foreground (target not page white), not on a line (line
art > 128), at least 3 px from the border and at the centre of a flat 5x5 patch of the target (largest CIE76
Delta E to the centre < 3); the hint's color is the target's pixel color. The sketch task also scores the
inversion stage: the model's L estimate against the target's L, next to the line art itself read as L. Both
sketch tasks also score ``page_leak``: how much of the target's paper the output tints.

Outputs in ``--out``: results.json (config, per-picture numbers, means), results.md (tables), plot.png
(de2000 and psnr against N) and contact.png (input with hints, each method, target, for the first pictures).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage
from skimage.color import rgb2lab

from sketchcolor import baselines, metrics
from sketchcolor.atomic import write_text_atomic
from sketchcolor.errors import ConfigError, DataError, SketchcolorError
from sketchcolor.hints import color_hex
from sketchcolor.models.configs import parse_overrides
from sketchcolor.palette import MAX_PALETTE, describe, weighted_kmeans
from sketchcolor.variations import check_count
from sketchcolor.regions import LINE_THRESHOLD

log = logging.getLogger(__name__)

TASKS = ("sketch", "gray", "sketch-real")
# What runs when no task is named: the numbers the README and the model card quote.
DEFAULT_TASKS = ("sketch", "gray")
# Tasks whose input is a drawing: the model runs with mode="sketch" and page_leak is scored.
SKETCH_TASKS = ("sketch", "sketch-real")
BASELINES = {"sketch": ("identity", "regionfill"), "sketch-real": ("identity", "regionfill"),
             "gray": ("identity", "levin")}
MODEL_METHODS = ("net", "net+cleanup")
# The model as users get it by default: the mode detected, not given.
AUTO_METHOD = "net (auto)"
# The model locked to the target's own dominant colors (EVALUATION.md, "Reference, palette and variations").
PALETTE_METHOD = "net+palette"
# The model following a reference: the target itself mirrored, turned and rescaled (the same drawing in another
# pose, matched), and the target's own pixels shuffled (only its colors' distribution: the global regime).
REFERENCE_METHODS = ("net+reference", "net+reference-global")
# The warp of the posed reference: mirrored, turned up to this many degrees, rescaled within this range.
REFERENCE_MAX_DEGREES = 15.0
REFERENCE_SCALES = (0.85, 1.15)
# The sequence measurement: frames at most, and each frame's warp of the drawing (degrees, scale, shift as a share
# of the side).
SEQUENCE_MAX_FRAMES = 16
SEQUENCE_DEGREES, SEQUENCE_SCALES, SEQUENCE_SHIFT = 5.0, (0.95, 1.05), 0.03
# A segment counts in the sequence measurement when it keeps this many pixels in both frames (eroded by one).
SEQUENCE_MIN_PIXELS = 12
# The model's K automatic colorings, scored by the best of them: variations_method(K).
VARIATIONS_PREFIX = "net best-of-"
# Iterations of the target palette's k-means at most (it settles in a handful on flat cartoons).
_KMEANS_ITERATIONS = 30
DEFAULT_HINT_COUNTS = (0, 1, 2, 5, 10, 20)
METRIC_NAMES = ("psnr", "de2000", "auc", "ssim_l", "colorfulness", "colorfulness_target")
# Scored on the sketch tasks only (it needs the clean line art).
SKETCH_METRIC_NAMES = ("page_leak",)

# Hint sampling rules (EVALUATION.md).
HINT_BORDER_PX = 3
FLAT_PATCH = 5
FLAT_MAX_DELTA_E = 3.0


@dataclass
class EvalConfig:
    """What to evaluate and where to write it.

    data: the JSONL manifest; split: "train" | "val" | "test"; checkpoint: a checkpoint folder, or None for the
    baselines only; tasks: subset of ("sketch", "gray", "sketch-real"); hints: the hint counts N; limit: evaluate
    only the first ``limit`` pictures of the split (manifest order); sample: evaluate only a seeded sample of
    ``sample`` pictures of the split (:func:`sample_order`; not with ``limit``); size: the square page side in
    pixels; seed: mixed into every picture's hint seed, real-drawing seed and sample; device: for the model;
    contact_count: pictures on the contact sheet; contact_hints: the N shown there (None: 5 if evaluated, else
    the largest N); pipeline: overrides of the model's pipeline settings
    (:class:`sketchcolor.pipeline.PipelineConfig`, ``--set KEY=VALUE``); auto_mode: also run the model with
    ``mode="auto"`` (what users get by default) as the method ``net (auto)``; palette_k: also run the model locked
    to each target's ``palette_k`` dominant colors as the method ``net+palette`` (None: not run); variations: also
    run the model's ``variations`` automatic colorings, scored by the best of them, as the method
    ``net best-of-K`` (None: not run); reference: also run the model with each target as its own reference, posed
    (``net+reference``) and shuffled (``net+reference-global``); sequence: also color each line art as a sequence
    of ``sequence`` small warps of it, with and without ``consistent`` (:func:`sequence_agreement`; None: not run).
    """

    data: Path
    out: Path
    split: str = "test"
    checkpoint: Path | None = None
    tasks: tuple[str, ...] = DEFAULT_TASKS
    hints: tuple[int, ...] = DEFAULT_HINT_COUNTS
    limit: int | None = None
    sample: int | None = None
    size: int = 256
    seed: int = 0
    device: str = "cpu"
    contact_count: int = 4
    contact_hints: int | None = None
    pipeline: dict[str, Any] = field(default_factory=dict)
    auto_mode: bool = False
    methods: tuple[str, ...] | None = None
    palette_k: int | None = None
    variations: int | None = None
    reference: bool = False
    sequence: int | None = None

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.out = Path(self.out)
        self.checkpoint = Path(self.checkpoint) if self.checkpoint is not None else None
        self.tasks = tuple(self.tasks)
        self.hints = tuple(int(n) for n in self.hints)
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise ConfigError(f"unknown task(s) {unknown or '(none given)'}; allowed: {', '.join(TASKS)}")
        if not self.hints or any(n < 0 for n in self.hints):
            raise ConfigError(f"hint counts must be integers >= 0, got {list(self.hints)}")
        if self.split not in ("train", "val", "test"):
            raise ConfigError(f"unknown split {self.split!r}; allowed: train, val, test")
        if not 16 <= self.size <= 4096:
            raise ConfigError(f"size must be between 16 and 4096 pixels, got {self.size}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be a positive number of pictures, got {self.limit}")
        if self.sample is not None and self.sample < 1:
            raise ConfigError(f"sample must be a positive number of pictures, got {self.sample}")
        if self.limit is not None and self.sample is not None:
            raise ConfigError("pass limit or sample, not both (--limit takes the split's first pictures, --sample "
                              "a seeded sample of it)")
        if self.contact_count < 0:
            raise ConfigError(f"contact_count must be >= 0, got {self.contact_count}")
        if self.palette_k is not None and (isinstance(self.palette_k, bool) or not isinstance(self.palette_k, int)
                                           or not 1 <= self.palette_k <= MAX_PALETTE):
            raise ConfigError(f"palette_k must be a whole number from 1 to {MAX_PALETTE}, got {self.palette_k!r}")
        if self.variations is not None:
            try:
                self.variations = check_count(self.variations)
            except ConfigError as err:
                raise ConfigError(f"variations: {err}") from None
        if self.methods is not None:
            self.methods = tuple(self.methods)
            known = sorted({m for task in TASKS for m in methods_for(task, True, True, True, self.variations, True)})
            unknown = [m for m in self.methods if m not in known]
            if unknown or not self.methods:
                raise ConfigError(f"unknown method(s) {unknown or '(none given)'}; allowed: {', '.join(known)}")
        if self.sequence is not None and (isinstance(self.sequence, bool) or not isinstance(self.sequence, int)
                                          or not 2 <= self.sequence <= SEQUENCE_MAX_FRAMES):
            raise ConfigError(f"sequence must be a whole number of frames from 2 to {SEQUENCE_MAX_FRAMES}, "
                              f"got {self.sequence!r}")
        if self.contact_hints is not None and self.contact_hints not in self.hints:
            raise ConfigError(f"contact_hints {self.contact_hints} is not among the hint counts {list(self.hints)}")

    @property
    def shown_hints(self) -> int:
        """The hint count shown on the contact sheet."""
        if self.contact_hints is not None:
            return self.contact_hints
        return 5 if 5 in self.hints else max(self.hints)


@dataclass
class Picture:
    """One evaluation picture on its square page: line_u8 (S, S) uint8, color_u8 (S, S, 3) uint8, gray_u8 (S, S);
    real_u8 (S, S, 3) uint8, the line art as a real drawing (sketch-real task; set by :func:`add_real_lines`)."""

    id: str
    line_u8: np.ndarray
    color_u8: np.ndarray
    real_u8: np.ndarray | None = None
    source: str = ""
    gray_u8: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.gray_u8 = np.asarray(Image.fromarray(self.color_u8, "RGB").convert("L"))

    def task_input(self, task: str) -> np.ndarray:
        if task == "sketch-real":
            assert self.real_u8 is not None, "add_real_lines must run before the sketch-real task"
            return self.real_u8
        return self.line_u8 if task == "sketch" else self.gray_u8

    def task_gray(self, task: str) -> np.ndarray:
        """The task's input as (S, S) uint8 gray (PIL "L" of the styled drawing for sketch-real)."""
        array = self.task_input(task)
        return array if array.ndim == 2 else np.asarray(Image.fromarray(array, "RGB").convert("L"))


# --------------------------------------------------------------------------------------------- pictures


def fit_on_page(image: Image.Image, size: int) -> Image.Image:
    """Scale an RGB picture so its long side is ``size`` and center it on a white ``size`` x ``size`` page."""
    width, height = image.size
    scale = size / max(width, height)
    new_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if new_size != image.size:
        # Area averaging when shrinking keeps flat colors exact and thin lines as gray, without ringing.
        image = image.resize(new_size, Image.BOX if scale < 1 else Image.BILINEAR)
    page = Image.new("RGB", (size, size), (255, 255, 255))
    page.paste(image, ((size - new_size[0]) // 2, (size - new_size[1]) // 2))
    return page


def sample_key(picture_id: str, seed: int = 0) -> bytes:
    """A picture's place in the seeded sample order (SHA-256 of the run seed and the id)."""
    return hashlib.sha256(f"sample:{seed}:{picture_id}".encode()).digest()


def sample_order(entries: Sequence[Any], seed: int = 0) -> list[Any]:
    """Manifest entries in seeded sample order: the first N are the sample of N.

    Each entry's place depends on its id and the seed alone, so a sample spreads over every source and a growing
    manifest only lets new pictures in where their keys fall, never reshuffles the rest.
    """
    return sorted(entries, key=lambda entry: sample_key(entry.id, seed))


def load_pictures(cfg: EvalConfig) -> tuple[list[Picture], list[dict[str, str]]]:
    """The split's pictures (manifest order, at most ``cfg.limit``; or the seeded sample of ``cfg.sample``, in
    sample order) and the entries skipped, with reasons."""
    from sketchcolor.data.manifest import read_manifest
    from sketchcolor.image_io import load_image

    entries, malformed = read_manifest(cfg.data, split=cfg.split)
    if not entries:
        raise DataError(f"manifest {cfg.data} has no pictures in split {cfg.split!r} ({malformed} malformed lines)")
    if cfg.sample is not None:
        entries = sample_order(entries, cfg.seed)
    wanted = cfg.sample if cfg.sample is not None else cfg.limit
    root = cfg.data.parent
    pictures: list[Picture] = []
    skipped: list[dict[str, str]] = []
    for entry in entries:
        if wanted is not None and len(pictures) >= wanted:
            break
        try:
            line = fit_on_page(load_image(root / entry.line), cfg.size).convert("L")
            color = fit_on_page(load_image(root / entry.color), cfg.size)
        except SketchcolorError as exc:
            log.warning("skipping %s: %s", entry.id, exc)
            skipped.append({"id": entry.id, "reason": str(exc)})
            continue
        pictures.append(Picture(entry.id, np.asarray(line), np.asarray(color), source=entry.source))
    if not pictures:
        raise DataError(f"no readable pictures in split {cfg.split!r} of {cfg.data} ({len(skipped)} skipped)")
    return pictures, skipped


def _picture_seed(kind: str, picture_id: str, seed: int) -> int:
    """A 64-bit seed for one use (``kind``) of a picture: the first 8 bytes of SHA-256 of the kind, the run seed and
    the id, so every use draws apart and the same picture draws the same in every run."""
    digest = hashlib.sha256(f"sketchcolor-eval-{kind}:{seed}:{picture_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def style_seed(picture_id: str, seed: int = 0) -> int:
    """A 64-bit seed for a picture's real-drawing style (SHA-256 of the id and the run seed, like :func:`hint_seed`)."""
    return _picture_seed("style", picture_id, seed)


def add_real_lines(pictures: Sequence[Picture], seed: int = 0) -> None:
    """Set every picture's ``real_u8``: its line art redrawn by ``realistic_lines`` (default styles), seeded from
    its id and ``seed``, so every run sees the same drawings."""
    from sketchcolor.linestyles import realistic_lines

    for picture in pictures:
        picture.real_u8 = realistic_lines(picture.line_u8, np.random.default_rng(style_seed(picture.id, seed)))


# --------------------------------------------------------------------------------------------- hints


def hint_seed(picture_id: str, n_hints: int, seed: int = 0) -> int:
    """A 64-bit seed from the picture id, N and the run seed (SHA-256, stable across processes and versions)."""
    digest = hashlib.sha256(f"sketchcolor-eval:{seed}:{picture_id}:{n_hints}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def hint_candidates(target_u8: np.ndarray, line_u8: np.ndarray) -> np.ndarray:
    """bool (H, W): pixels where the protocol may place a hint.

    Foreground (any target channel < 245), not on a line (line art > 128), at least 3 px from every border,
    and the centre of a 5x5 patch whose pixels all lie within CIE76 Delta E < 3 of the centre.
    """
    height, width = line_u8.shape
    allowed = metrics.foreground_mask(target_u8) & (line_u8 > LINE_THRESHOLD)
    border = np.zeros((height, width), bool)
    border[HINT_BORDER_PX:height - HINT_BORDER_PX, HINT_BORDER_PX:width - HINT_BORDER_PX] = True
    allowed &= border
    lab = rgb2lab(target_u8)
    half = FLAT_PATCH // 2
    padded = np.pad(lab, ((half, half), (half, half), (0, 0)), mode="edge")
    largest = np.zeros((height, width))
    for dy in range(FLAT_PATCH):
        for dx in range(FLAT_PATCH):
            shifted = padded[dy:dy + height, dx:dx + width]
            np.maximum(largest, np.linalg.norm(shifted - lab, axis=2), out=largest)
    return allowed & (largest < FLAT_MAX_DELTA_E)


def sample_hints(target_u8: np.ndarray, line_u8: np.ndarray, n_hints: int, seed: int,
                 candidates: np.ndarray | None = None) -> list[Any]:
    """Draw up to ``n_hints`` distinct candidate pixels uniformly; each becomes a Hint of the target's color.

    Returns fewer hints when the picture has fewer candidates. ``candidates`` may be passed to reuse
    :func:`hint_candidates` across N.
    """
    from sketchcolor.hints import Hint

    if candidates is None:
        candidates = hint_candidates(target_u8, line_u8)
    flat_index = np.flatnonzero(candidates)
    count = min(n_hints, flat_index.size)
    if count == 0:
        return []
    rng = np.random.default_rng(seed)
    chosen = rng.choice(flat_index, size=count, replace=False)
    width = line_u8.shape[1]
    hints = []
    for index in chosen:
        row, col = divmod(int(index), width)
        hints.append(Hint(x=float(col), y=float(row), color=tuple(int(c) for c in target_u8[row, col])))
    return hints


# --------------------------------------------------------------------------------------------- methods


def off_lines(pred_u8: np.ndarray, picture: Picture) -> tuple[np.ndarray, np.ndarray]:
    """``(pred, target)`` with the clean line art's lines (grown by 1 px) white in both, so sketch-real scores the
    colors: the drawing redraws the lines thinner or lighter, and the target's thick outlines cannot come back."""
    on_line = ndimage.binary_dilation(picture.line_u8 <= LINE_THRESHOLD, structure=np.ones((3, 3), bool))
    pred, target = pred_u8.copy(), picture.color_u8.copy()
    pred[on_line] = 255
    target[on_line] = 255
    return pred, target


def variations_method(k: int) -> str:
    """The method name of the model's ``k`` variations scored by the best of them."""
    return f"{VARIATIONS_PREFIX}{k}"


def methods_for(task: str, with_model: bool, auto_mode: bool = False, palette: bool = False,
                variations: int | None = None, reference: bool = False) -> tuple[str, ...]:
    """The method names evaluated on ``task``."""
    model = MODEL_METHODS + ((AUTO_METHOD,) if auto_mode else ()) + ((PALETTE_METHOD,) if palette else ())
    model += (variations_method(variations),) if variations is not None else ()
    model += REFERENCE_METHODS if reference else ()
    return BASELINES[task] + (model if with_model else ())


def reference_seed(picture_id: str, seed: int = 0) -> int:
    """A 64-bit seed for a target's reference warp and shuffle (SHA-256 of the id and the run seed)."""
    return _picture_seed("reference", picture_id, seed)


def posed_reference(color_u8: np.ndarray, seed: int) -> np.ndarray:
    """The target in another pose, (S, S, 3) uint8 on white: mirrored left to right, turned by a seeded angle
    within ±:data:`REFERENCE_MAX_DEGREES` and rescaled by a seeded factor in :data:`REFERENCE_SCALES` about the
    page's centre (bicubic)."""
    rng = np.random.default_rng(seed)
    angle = float(rng.uniform(-REFERENCE_MAX_DEGREES, REFERENCE_MAX_DEGREES))
    scale = float(rng.uniform(*REFERENCE_SCALES))
    picture = Image.fromarray(np.ascontiguousarray(color_u8[:, ::-1]), "RGB")
    size = picture.size
    scaled = picture.resize((max(1, round(size[0] * scale)), max(1, round(size[1] * scale))), Image.BICUBIC)
    page = Image.new("RGB", size, (255, 255, 255))
    page.paste(scaled, ((size[0] - scaled.size[0]) // 2, (size[1] - scaled.size[1]) // 2))
    return np.asarray(page.rotate(angle, Image.BICUBIC, fillcolor=(255, 255, 255)))


def shuffled_reference(color_u8: np.ndarray, seed: int) -> np.ndarray:
    """The target's foreground pixels in a seeded random order on its page (its colors' distribution kept, no
    shape left): a reference only the global regime can use."""
    out = color_u8.copy()
    foreground = metrics.foreground_mask(color_u8)
    pixels = out[foreground]
    out[foreground] = pixels[np.random.default_rng(seed).permutation(len(pixels))]
    return out


def frame_warp(size: int, seed: int) -> tuple[float, ...]:
    """A seeded small warp of an (S, S) page as :meth:`PIL.Image.Image.transform`'s AFFINE data (output pixel to
    input pixel): turned within ±:data:`SEQUENCE_DEGREES`, scaled within :data:`SEQUENCE_SCALES` about the centre
    and shifted by up to :data:`SEQUENCE_SHIFT` of the side."""
    rng = np.random.default_rng(seed)
    theta = np.deg2rad(rng.uniform(-SEQUENCE_DEGREES, SEQUENCE_DEGREES))
    scale = rng.uniform(*SEQUENCE_SCALES)
    shift = rng.uniform(-SEQUENCE_SHIFT, SEQUENCE_SHIFT, 2) * size
    centre = (size - 1) / 2
    # input = centre + R(-θ) (output - centre - shift) / scale
    c, s = np.cos(theta) / scale, np.sin(theta) / scale
    ox, oy = centre + shift[0], centre + shift[1]
    return (c, s, centre - c * ox - s * oy, -s, c, centre + s * ox - c * oy)


def sequence_agreement(colorizer: Any, picture: Picture, frames: int, seed: int,
                       consistent: bool) -> tuple[float, int]:
    """``(mean ΔE2000, pairs)``: the line art colored as a sequence of ``frames`` drawings (the first as it is,
    each other under its own :func:`frame_warp`) by :meth:`~sketchcolor.pipeline.Colorizer.colorize_sequence`
    with ``consistent``; each segment of the drawing (its regions off the page, warped with its frame) read in
    every frame's flats (the median color of its pixels, one pixel in from its edge), and ΔE2000 taken between
    its colors on consecutive frames. ``pairs``: the (segment, frame pair) counted, those with at least
    :data:`SEQUENCE_MIN_PIXELS` pixels in both frames; the mean is NaN without any."""
    from skimage.color import deltaE_ciede2000

    from sketchcolor.regions import segment_line_art

    size = picture.line_u8.shape[0]
    segmentation = segment_line_art(picture.line_u8, gap_radius=colorizer.gap_closing * size)
    base = np.where(segmentation.page, 0, segmentation.labels).astype(np.int32)
    warps = [None] + [frame_warp(size, reference_seed(f"{picture.id}#frame{t}", seed)) for t in range(1, frames)]
    drawings, labels = [], []
    for warp in warps:
        line = Image.fromarray(picture.line_u8)
        plane = Image.fromarray(base)
        if warp is not None:
            line = line.transform(line.size, Image.AFFINE, warp, Image.BICUBIC, fillcolor=255)
            plane = plane.transform(plane.size, Image.AFFINE, warp, Image.NEAREST, fillcolor=0)
        drawings.append(line)
        warped = np.asarray(plane)
        # One pixel in from every segment's edge: its border's pixels belong to the lines in the flats.
        labels.append(np.where((ndimage.minimum_filter(warped, 3) == warped)
                               & (ndimage.maximum_filter(warped, 3) == warped), warped, 0))
    results = list(colorizer.colorize_sequence(drawings, mode="sketch", consistent=consistent))
    count = int(base.max()) + 1
    colors = []
    for result, label in zip(results, labels):
        flat = rgb2lab(np.asarray(result.flat.convert("RGB")))
        sizes = np.bincount(label.ravel(), minlength=count)
        lab = np.full((count, 3), np.nan)
        for region in np.flatnonzero(sizes >= SEQUENCE_MIN_PIXELS):
            if region:
                lab[region] = np.median(flat[label == region], axis=0)
        colors.append(lab)
    distances = []
    for before, after in zip(colors, colors[1:]):
        both = ~np.isnan(before[:, 0]) & ~np.isnan(after[:, 0])
        distances += list(deltaE_ciede2000(before[both], after[both]))
    return (float(np.mean(distances)) if distances else math.nan), len(distances)


def variations_seed(picture_id: str, seed: int = 0) -> int:
    """A 63-bit seed for a picture's variations (SHA-256 of the id and the run seed, like :func:`hint_seed`)."""
    return _picture_seed("variations", picture_id, seed) >> 1


def palette_seed(picture_id: str, seed: int = 0) -> int:
    """A 64-bit seed for a target's palette k-means (SHA-256 of the id and the run seed, like :func:`hint_seed`)."""
    return _picture_seed("palette", picture_id, seed)


def target_palette(target_u8: np.ndarray, k: int, seed: int) -> np.ndarray:
    """The target's ``k`` dominant colors, (K, 3) uint8, the largest cluster first (K < k when the target has
    fewer distinct colors, or a cluster ends empty).

    k-means in CIE Lab over the target's foreground pixels (any channel < 245; every pixel when there are none),
    seeded k-means++ start (``seed``), each pixel one vote; each entry is the member color nearest its cluster's
    centre, a color the target has, so a flat region's own color is in the palette exactly.
    """
    foreground = metrics.foreground_mask(target_u8)
    pixels = target_u8[foreground] if foreground.any() else target_u8.reshape(-1, 3)
    colors, weights = np.unique(pixels, axis=0, return_counts=True)
    order = np.argsort(-weights, kind="stable")
    colors, weights = colors[order], weights[order].astype(np.float64)
    if len(colors) <= k:
        return colors.astype(np.uint8)
    points = rgb2lab(colors[None])[0]
    centres, member = weighted_kmeans(points, weights, k, seed, iterations=_KMEANS_ITERATIONS)
    mass = np.bincount(member, weights=weights, minlength=len(centres))
    entries = []
    for cluster in np.argsort(-mass, kind="stable"):
        inside = np.flatnonzero(member == cluster)
        if inside.size:
            entries.append(colors[inside[np.square(points[inside] - centres[cluster]).sum(1).argmin()]])
    return np.array(entries, np.uint8)


def palette_exact_counts(flat_u8: np.ndarray, page: np.ndarray | None, palette_u8: np.ndarray) -> tuple[int, int]:
    """``(exact, flat)``: of the flats' pixels off the page (``page`` (H, W) bool, None: none), how many are
    exactly a palette color, and how many there are."""
    pixels = flat_u8.reshape(-1, 3) if page is None else flat_u8[~page]
    exact = (pixels[:, None, :] == palette_u8[None, :, :]).all(-1).any(-1)
    return int(exact.sum()), int(pixels.shape[0])


def run_method(method: str, task: str, picture: Picture, hints: list[Any], colorizer: Any = None,
               palette: np.ndarray | None = None, seed: int = 0,
               run_seed: int = 0) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Run one method; returns (rgb_u8 (S, S, 3), L estimate (S, S) float CIE L or None, extra numbers for the
    record: ``net+palette``'s palette and exact-color counts, ``net best-of-K``'s picked variation and every
    variation's ΔE2000, else none). ``palette`` (K, 3) uint8: the palette of ``net+palette``; seed: the
    variations' seed of ``net best-of-K``; run_seed: the run's seed, mixed into the references' warps and shuffles
    (:func:`reference_seed`)."""
    if method == "identity":
        return baselines.identity(picture.task_input(task)), None, {}
    if method == "regionfill":
        # On a real drawing, a plain bucket fill over what the user gave (read as gray).
        return baselines.regionfill_colorize(picture.task_gray(task), hints), None, {}
    if method == "levin":
        return baselines.levin_colorize(picture.gray_u8, hints), None, {}
    if method in MODEL_METHODS or method in (AUTO_METHOD, PALETTE_METHOD):
        mode = "auto" if method == AUTO_METHOD else ("sketch" if task in SKETCH_TASKS else task)
        locked = palette if method == PALETTE_METHOD else None
        result = colorizer.colorize(Image.fromarray(picture.task_input(task)), hints=hints, mode=mode,
                                    cleanup=method == "net+cleanup", palette=locked)
        extra: dict[str, Any] = {}
        if locked is not None:
            exact, flat = palette_exact_counts(np.asarray(result.flat.convert("RGB")), result.page, locked)
            extra = {"palette": describe(locked), "palette_exact_px": exact, "palette_flat_px": flat,
                     "palette_exact": exact / flat if flat else math.nan}
        # The pipeline's l_estimate layer stores CIE L scaled by 2.55 into 0-255.
        l_estimate = np.asarray(result.l_estimate, dtype=np.float64) / 2.55
        return np.asarray(result.image.convert("RGB")), l_estimate, extra
    if method in REFERENCE_METHODS:
        mode = "sketch" if task in SKETCH_TASKS else task
        ref_seed = reference_seed(picture.id, run_seed)
        posed = method == "net+reference"
        reference = (posed_reference if posed else shuffled_reference)(picture.color_u8, ref_seed)
        result = colorizer.colorize(Image.fromarray(picture.task_input(task)), hints=hints, mode=mode,
                                    reference=reference, reference_mode="auto" if posed else "global")
        info = result.reference or {}
        extra = {"reference_regime": info.get("regime"), "reference_score": info.get("score"),
                 "reference_matched": info.get("matched"), "reference_regions": info.get("regions")}
        l_estimate = np.asarray(result.l_estimate, dtype=np.float64) / 2.55
        return np.asarray(result.image.convert("RGB")), l_estimate, extra
    if method.startswith(VARIATIONS_PREFIX) and method[len(VARIATIONS_PREFIX):].isdigit():
        mode = "sketch" if task in SKETCH_TASKS else task
        results = colorizer.colorize_variations(Image.fromarray(picture.task_input(task)),
                                                int(method[len(VARIATIONS_PREFIX):]), hints=hints, mode=mode,
                                                seed=seed)
        pictures = [np.asarray(result.image.convert("RGB")) for result in results]
        scores = [metrics.de2000(*(off_lines(rgb_u8, picture) if task == "sketch-real" else (rgb_u8, picture.color_u8)))
                  for rgb_u8 in pictures]
        # The oracle pick: the variation nearest the target (NaN, an all-page target, picks the first).
        best = int(np.nanargmin(scores)) if not all(math.isnan(v) for v in scores) else 0
        l_estimate = np.asarray(results[best].l_estimate, dtype=np.float64) / 2.55
        return pictures[best], l_estimate, {"variation": best, "variations_de2000": scores}
    allowed = ", ".join(("identity", "regionfill", "levin", *MODEL_METHODS, AUTO_METHOD, PALETTE_METHOD,
                         f"{VARIATIONS_PREFIX}K", *REFERENCE_METHODS))
    raise ConfigError(f"unknown method {method!r}; allowed: {allowed}")


# --------------------------------------------------------------------------------------------- summary


def _mean(values: Sequence[float]) -> float:
    """Mean ignoring NaN (undefined metrics, e.g. de2000 of an all-page target); inf stays inf."""
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


def _psnr_of_mean_mse(values: list[float]) -> float:
    """PSNR (8-bit) of the mean of the per-picture MSEs given as PSNRs in dB (inf = MSE 0)."""
    mse = [255.0**2 / 10 ** (v / 10) if math.isfinite(v) else 0.0 for v in values if not math.isnan(v)]
    if not mse:
        return math.nan
    mean = sum(mse) / len(mse)
    return math.inf if mean == 0 else 10 * math.log10(255.0**2 / mean)


def summarize(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """Means over pictures: summary[task][str(N)][method] = {metric: mean, "sec_per_img": mean, "pictures": k}.

    ``page_leak`` is pooled: tinted paper pixels over paper pixels of all the group's pictures; NaN for tasks whose
    records do not carry it (gray). ``palette_exact`` is pooled the same way over flat pixels off the page; NaN
    for methods without a palette.
    """
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault((record["task"], record["n_hints"], record["method"]), []).append(record)
    summary: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for (task, n_hints, method), group in groups.items():
        row = {name: _mean([r[name] for r in group]) for name in METRIC_NAMES}
        row.update({name: _mean([r.get(name, math.nan) for r in group]) for name in SKETCH_METRIC_NAMES})
        # Page leak over all the pictures' paper pixels together: a picture with a few paper pixels weighs little.
        paper = sum(r.get("page_px", 0) for r in group)
        row["page_leak"] = sum(r.get("page_tinted", 0) for r in group) / paper if paper else math.nan
        # Palette lock: exactly-palette flat pixels over all the group's flat pixels (NaN without a palette).
        flat = sum(r.get("palette_flat_px", 0) for r in group)
        row["palette_exact"] = sum(r.get("palette_exact_px", 0) for r in group) / flat if flat else math.nan
        # A picture colored exactly (e.g. a black-and-white target) has infinite PSNR and would make the mean
        # infinite; the mean PSNR is therefore taken from the mean squared error over pictures.
        row["psnr"] = _psnr_of_mean_mse([r["psnr"] for r in group])
        row["sec_per_img"] = _mean([r["sec"] for r in group])
        row["hints_used"] = _mean([r["hints_used"] for r in group])
        row["pictures"] = len(group)
        summary.setdefault(task, {}).setdefault(str(n_hints), {})[method] = row
    return summary


def summarize_by_source(records: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, dict]]]]:
    """by_source[task][str(N)][method][source] = {"de2000", "colorfulness", "colorfulness_target", "pictures"};
    empty when the pictures come from one source."""
    if len({r.get("source", "") for r in records}) < 2:
        return {}
    groups: dict[tuple[str, int, str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["task"], r["n_hints"], r["method"], r.get("source", "")), []).append(r)
    out: dict[str, dict[str, dict[str, dict[str, dict]]]] = {}
    for (task, n_hints, method, source), group in sorted(groups.items()):
        row = {name: _mean([r[name] for r in group]) for name in ("de2000", "colorfulness", "colorfulness_target")}
        row["pictures"] = len(group)
        out.setdefault(task, {}).setdefault(str(n_hints), {}).setdefault(method, {})[source] = row
    return out


def _json_safe(value: Any) -> Any:
    """inf -> "inf", -inf -> "-inf", NaN -> None, so the file is strict JSON."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _fmt(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:.{digits}f}"


def _subset_note(cfg: dict[str, Any]) -> str:
    """How the pictures were chosen when not the whole split, for the report's header."""
    if cfg.get("sample") is not None:
        return f" (a seeded sample of {cfg['sample']}, seed {cfg['seed']})"
    if cfg.get("limit") is not None:
        return f" (the split's first {cfg['limit']})"
    return ""


def _rows_with(summary: dict[str, Any], method: str | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(task, N, {method: row}) of every summary cell that ran ``method``, N ascending within each task."""
    return [(task, n_hints, by_method) for task, by_n in summary.items()
            for n_hints, by_method in sorted(by_n.items(), key=lambda item: int(item[0])) if method in by_method]


def _source_cell(row: dict[str, float] | None) -> str:
    if row is None:
        return "–"
    return f"{_fmt(row['de2000'], 2)} ({_fmt(row['colorfulness'], 1)} / {_fmt(row['colorfulness_target'], 1)})"


def markdown_report(results: dict[str, Any]) -> str:
    """The Markdown tables: tasks x N x methods (means over pictures), then the inversion stage."""
    cfg = results["config"]
    lines = [
        f"# sketchcolor evaluation: split `{cfg['split']}` of `{cfg['data']}`",
        "",
        f"{results['n_pictures']} pictures{_subset_note(cfg)} at {cfg['size']}x{cfg['size']}, hint seed "
        f"{cfg['seed']}, protocol: EVALUATION.md. {results['note']}",
        "PSNR is that of the mean squared error over pictures (exactly colored pictures have infinite PSNR); "
        "the other columns are means over pictures. Page leak (sketch tasks): the share of the target's paper, "
        "off the lines, that the output tints (Lab chroma > 6 or L < 90). sketch-real: the line art redrawn as a "
        "real drawing (thin, broken, sketchy, pencil, toned paper, light, JPEG; seeded per picture).",
        "",
        "| task | N | method | PSNR (dB) ↑ | ΔE2000 ↓ | AuC ↑ | SSIM-L ↑ | colorfulness (pred / target) | page leak ↓ "
        "| s/img |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for task, by_n in results["summary"].items():
        for n_hints, by_method in sorted(by_n.items(), key=lambda item: int(item[0])):
            for method, row in by_method.items():
                lines.append(
                    f"| {task} | {n_hints} | {method} | {_fmt(row['psnr'], 2)} | {_fmt(row['de2000'], 2)} | "
                    f"{_fmt(row['auc'], 4)} | {_fmt(row['ssim_l'], 4)} | {_fmt(row['colorfulness'], 1)} / "
                    f"{_fmt(row['colorfulness_target'], 1)} | {_fmt(row.get('page_leak'), 3)} | "
                    f"{_fmt(row['sec_per_img'], 3)} |"
                )
    detection = results.get("mode_detection") or {}
    by_source = results.get("by_source") or {}
    if by_source:
        sources = sorted({src for t in by_source.values() for n in t.values() for m in n.values() for src in m})
        counts = {src: len({r["id"] for r in results["pictures"] if r.get("source") == src}) for src in sources}
        lines += ["", "By source: ΔE2000 (colorfulness pred / target); pictures: "
                  + ", ".join(f"{src} {counts[src]}" for src in sources) + ".", "",
                  "| task | N | method | " + " | ".join(sources) + " |", "|---|---:|---|" + "---:|" * len(sources)]
        for task, per_n in by_source.items():
            for n_hints, per_method in sorted(per_n.items(), key=lambda kv: int(kv[0])):
                for method, per_src in per_method.items():
                    cells = [_source_cell(per_src.get(src)) for src in sources]
                    lines.append(f"| {task} | {n_hints} | {method} | " + " | ".join(cells) + " |")
    palette_rows = _rows_with(results["summary"], PALETTE_METHOD)
    if palette_rows:
        lines += ["", f"Palette lock: the model locked to each target's {cfg.get('palette_k')} dominant colors "
                  "(k-means over its foreground, `--palette-k`). Ratio: ΔE2000 of net+palette over net's; exact: "
                  "the share of flat pixels off the page that are exactly a palette color.", "",
                  "| task | N | ΔE2000 net | ΔE2000 net+palette | ratio | exact |", "|---|---:|---:|---:|---:|---:|"]
        for task, n_hints, by_method in palette_rows:
            locked, free = by_method[PALETTE_METHOD]["de2000"], by_method.get("net", {}).get("de2000", math.nan)
            ratio = locked / free if free and not math.isnan(free) else math.nan
            lines.append(f"| {task} | {n_hints} | {_fmt(free, 2)} | {_fmt(locked, 2)} | {_fmt(ratio, 3)} | "
                         f"{_fmt(by_method[PALETTE_METHOD]['palette_exact'], 4)} |")
    best_of = variations_method(cfg["variations"]) if cfg.get("variations") is not None else None
    variation_rows = _rows_with(results["summary"], best_of)
    if variation_rows:
        lines += ["", f"Variations: {cfg['variations']} automatic colorings per picture "
                  "(`Colorizer.colorize_variations`, `--variations`, seeded per picture), each picture scored by the "
                  "variation nearest its target: an oracle pick (the target chooses), the best an artist picking "
                  f"among them could get, not what one picture gets unseen. Ratio: ΔE2000 of {best_of} over net's "
                  "(EVALUATION.md's target: ≤ 0.85 at K = 4); drawn picked: the share of pictures whose best is a "
                  "drawn variation, not the normal result.", "",
                  f"| task | N | ΔE2000 net | ΔE2000 {best_of} | ratio | drawn picked |", "|---|---:|---:|---:|---:|---:|"]
        for task, n_hints, by_method in variation_rows:
            best, single = by_method[best_of]["de2000"], by_method.get("net", {}).get("de2000", math.nan)
            ratio = best / single if single and not math.isnan(single) else math.nan
            picks = [r["variation"] for r in results["pictures"]
                     if r["method"] == best_of and r["task"] == task and str(r["n_hints"]) == n_hints]
            drawn = sum(v > 0 for v in picks) / len(picks) if picks else math.nan
            lines.append(f"| {task} | {n_hints} | {_fmt(single, 2)} | {_fmt(best, 2)} | {_fmt(ratio, 3)} | "
                         f"{_fmt(drawn, 2)} |")
    reference_rows = _rows_with(results["summary"], REFERENCE_METHODS[0]) + [
        row for row in _rows_with(results["summary"], REFERENCE_METHODS[1])
        if REFERENCE_METHODS[0] not in row[2]]
    if reference_rows:
        lines += ["", "Reference: `net+reference` takes each target itself as the reference, mirrored, turned within "
                  f"±{REFERENCE_MAX_DEGREES:g}° and rescaled by {REFERENCE_SCALES[0]}–{REFERENCE_SCALES[1]} "
                  "(seeded; the same drawing in another pose, `reference_mode=\"auto\"`); "
                  "`net+reference-global` takes the target's pixels shuffled (its colors, no shapes; "
                  "`reference_mode=\"global\"`). Ratio: ΔE2000 over net's (EVALUATION.md's target for the posed "
                  "reference on line art without hints: ≤ 0.5); matched: the share of pictures the posed reference "
                  "was matched on (else followed globally).", "",
                  "| task | N | ΔE2000 net | ΔE2000 net+reference | ratio | matched | ΔE2000 net+reference-global "
                  "| ratio |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for task, n_hints, by_method in reference_rows:
            single = by_method.get("net", {}).get("de2000", math.nan)
            cells = []
            for method in REFERENCE_METHODS:
                value = by_method.get(method, {}).get("de2000", math.nan)
                ratio = value / single if single and not math.isnan(single) else math.nan
                cells.append((value, ratio))
            regimes = [r.get("reference_regime") for r in results["pictures"] if r["method"] == REFERENCE_METHODS[0]
                       and r["task"] == task and str(r["n_hints"]) == n_hints]
            matched = sum(v == "match" for v in regimes) / len(regimes) if regimes else math.nan
            lines.append(f"| {task} | {n_hints} | {_fmt(single, 2)} | {_fmt(cells[0][0], 2)} | {_fmt(cells[0][1], 3)} "
                         f"| {_fmt(matched, 2)} | {_fmt(cells[1][0], 2)} | {_fmt(cells[1][1], 3)} |")
    sequence = results.get("sequence")
    if sequence:
        lines += ["", f"Sequence: each line art colored as {sequence['frames']} frames (itself, then small seeded "
                  f"warps: ±{SEQUENCE_DEGREES:g}°, scale {SEQUENCE_SCALES[0]}–{SEQUENCE_SCALES[1]}, shift "
                  f"±{SEQUENCE_SHIFT:g} of the side; `Colorizer.colorize_sequence`, `--sequence`). Mean ΔE2000 "
                  "between a segment's flat colors on consecutive frames (EVALUATION.md's target with consistent "
                  "colors: ≤ 2).", "", "| colored | mean ΔE2000 ↓ | segment pairs |", "|---|---:|---:|",
                  f"| consistent | {_fmt(sequence['consistent'], 2)} | {sequence['consistent_pairs']} |",
                  f"| each on its own | {_fmt(sequence['independent'], 2)} | {sequence['independent_pairs']} |"]
    if detection:
        lines += ["", "Mode detection (`mode=\"auto\"`): " + ", ".join(
            f"{task} inputs told as {'sketch' if task in SKETCH_TASKS else task} {row['correct']}/{row['pictures']}"
            for task, row in detection.items())
            + "."]
    if results["inversion"]:
        lines += [
            "",
            "Inversion stage (sketch task, no hints): L against the target's CIE L (PSNR-L of the mean squared "
            "error over pictures). `net`: the inversion net's own estimate, upsampled to full size "
            "(`Colorizer.estimate_lightness`); `model`: the pipeline's L layer (that estimate after the pipeline's "
            "rules: one tone per region, the white page, line pixels at the L beside them, so no lines); "
            "`output`: the L of the colored picture (the L layer with the lines multiplied back); `identity`: the "
            "line art read as L.",
            "",
            "| L from | PSNR-L (dB) ↑ | SSIM-L ↑ |",
            "|---|---:|---:|",
        ]
        for name, row in results["inversion"].items():
            lines.append(f"| {name} | {_fmt(row['psnr_l'], 2)} | {_fmt(row['ssim_l'], 4)} |")
    if results["skipped"]:
        lines += ["", f"Skipped {len(results['skipped'])} unreadable entries (listed in results.json)."]
    return "\n".join(lines) + "\n"


_LINESTYLES = {"sketch": "-", "sketch-real": ":", "gray": "--"}


def save_plot(summary: dict[str, Any], path: Path) -> None:
    """de2000 and psnr against N, one line per (task, method)."""
    # The Figure API renders without pyplot's global backend state (safe in servers and tests).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    for axis, metric, label in ((axes[0], "de2000", "mean CIEDE2000 ↓"), (axes[1], "psnr", "PSNR (dB) ↑")):
        for task, by_n in summary.items():
            counts = sorted(int(n) for n in by_n)
            methods = dict.fromkeys(m for n in counts for m in by_n[str(n)])
            for method in methods:
                xs = [n for n in counts if method in by_n[str(n)]]
                ys = [by_n[str(n)][method][metric] for n in xs]
                # inf PSNR (a perfect picture) cannot be drawn; leave a gap.
                ys = [y if math.isfinite(y) else math.nan for y in ys]
                axis.plot(xs, ys, marker="o", linestyle=_LINESTYLES.get(task, "-"), label=f"{task}: {method}")
        axis.set_xlabel("number of hints N")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes[1].legend(fontsize=8, loc="best")
    figure.tight_layout()
    figure.savefig(path)


def _mark_hints(image_u8: np.ndarray, hints: list[Any]) -> Image.Image:
    """RGB copy of a picture with every hint drawn as a dot of its color ringed in black and white."""
    image = Image.fromarray(image_u8).convert("RGB")
    draw = ImageDraw.Draw(image)
    for hint in hints:
        x, y = hint.x, hint.y
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(255, 255, 255))
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=tuple(hint.color), outline=(0, 0, 0))
    return image


def save_contact_sheet(rows: list[tuple[str, list[tuple[str, np.ndarray]]]], size: int, path: Path) -> None:
    """One row per (picture, task): labelled tiles (input with hints, each method, target)."""
    label_px = 14
    columns = max(len(tiles) for _, tiles in rows)
    sheet = Image.new("RGB", (columns * size, len(rows) * (size + label_px)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for r, (row_name, tiles) in enumerate(rows):
        top = r * (size + label_px)
        for c, (name, tile) in enumerate(tiles):
            sheet.paste(Image.fromarray(np.asarray(tile)).convert("RGB"), (c * size, top + label_px))
            draw.text((c * size + 2, top + 1), f"{row_name} | {name}" if c == 0 else name, fill=(0, 0, 0))
    sheet.save(path)


# --------------------------------------------------------------------------------------------- the run


def _detected_mode(picture: Picture, task: str) -> str:
    """The mode ``mode="auto"`` picks for the task's input, as the pipeline decides it."""
    from sketchcolor.paper import clean_page
    from sketchcolor.pipeline import detect_page_mode

    return detect_page_mode(picture.task_gray(task), clean_page(picture.task_input(task)))


def _line_style_settings() -> dict[str, Any]:
    from sketchcolor.linestyles import LineStyleConfig

    from sketchcolor.models.configs import to_dict

    return to_dict(LineStyleConfig())


def _load_colorizer(cfg: EvalConfig):
    from sketchcolor.pipeline import Colorizer

    return Colorizer.from_pretrained(cfg.checkpoint, device=cfg.device, config=dict(cfg.pipeline))


def run_evaluation(cfg: EvalConfig) -> dict[str, Any]:
    """Evaluate every method on every (picture, task, N); write the outputs to ``cfg.out`` and return results.

    The returned dict is what results.json holds (with inf/NaN as Python floats): "config", "note",
    "n_pictures", "skipped", "methods" (per task), "summary" (see :func:`summarize`), "inversion" (means, or
    None without a model), "pictures" (one record per picture x task x N x method, with its hints) and
    "outputs" (file paths).
    """
    pictures, skipped = load_pictures(cfg)
    if "sketch-real" in cfg.tasks:
        add_real_lines(pictures, cfg.seed)
    colorizer = _load_colorizer(cfg) if cfg.checkpoint is not None else None
    note = "Model and baselines." if colorizer else "No --checkpoint given: only the baselines ran."
    methods = {}
    for task in cfg.tasks:
        with_model = colorizer is not None
        if with_model and colorizer.color is None:
            note += f" The checkpoint has no color net, so the model was not run on the {task} task."
            with_model = False
        elif with_model and task in SKETCH_TASKS and colorizer.inversion is None:
            note += f" The checkpoint has no inversion net, so the model was not run on the {task} task."
            with_model = False
        methods[task] = tuple(m for m in methods_for(task, with_model, cfg.auto_mode, cfg.palette_k is not None,
                                                     cfg.variations, cfg.reference)
                              if cfg.methods is None or m in cfg.methods)
    log.info("evaluating %d pictures, tasks %s, N %s: %s", len(pictures), cfg.tasks, cfg.hints, note)

    # One untimed call per method first, so one-time costs (lazy imports, allocator warm-up) stay out of
    # sec_per_img.
    def palette_of(picture: Picture) -> np.ndarray | None:
        if cfg.palette_k is None:
            return None
        return target_palette(picture.color_u8, cfg.palette_k, palette_seed(picture.id, cfg.seed))

    for task in cfg.tasks:
        for method in methods[task]:
            run_method(method, task, pictures[0], [], colorizer, palette_of(pictures[0]),
                       variations_seed(pictures[0].id, cfg.seed), cfg.seed)

    records: list[dict[str, Any]] = []
    inversion_records: list[dict[str, float]] = []
    detected: dict[str, list[bool]] = {task: [] for task in cfg.tasks}
    contact_ids = {p.id for p in pictures[: cfg.contact_count]}
    contact_rows: list[tuple[str, list[tuple[str, np.ndarray]]]] = []
    for number, picture in enumerate(pictures, start=1):
        started = time.perf_counter()
        candidates = hint_candidates(picture.color_u8, picture.line_u8)
        target_l = metrics.lightness(picture.color_u8)
        hints_by_n = {n: sample_hints(picture.color_u8, picture.line_u8, n, hint_seed(picture.id, n, cfg.seed),
                                      candidates) for n in cfg.hints}
        palette = palette_of(picture)
        for task in cfg.tasks:
            detected[task].append(_detected_mode(picture, task) == ("sketch" if task in SKETCH_TASKS else task))
            for n_hints, hints in hints_by_n.items():
                shown = picture.id in contact_ids and n_hints == cfg.shown_hints
                tiles = [("input", np.asarray(_mark_hints(picture.task_input(task), hints)))] if shown else []
                for method in methods[task]:
                    t0 = time.perf_counter()
                    rgb_u8, l_estimate, extra = run_method(method, task, picture, hints, colorizer, palette,
                                                           variations_seed(picture.id, cfg.seed), cfg.seed)
                    seconds = time.perf_counter() - t0
                    scored = off_lines(rgb_u8, picture) if task == "sketch-real" else (rgb_u8, picture.color_u8)
                    record = {"id": picture.id, "source": picture.source, "task": task, "n_hints": n_hints, "hints_used": len(hints),
                              "method": method, **metrics.all_metrics(*scored), "sec": seconds,
                              "hints": [[h.x, h.y, color_hex(h.color)] for h in hints], **extra}
                    if task in SKETCH_TASKS:
                        tinted, paper = metrics.page_leak_counts(rgb_u8, picture.color_u8, picture.line_u8)
                        record.update(page_leak=tinted / paper if paper else math.nan, page_tinted=tinted,
                                      page_px=paper)
                    records.append(record)
                    if shown and method != "identity":
                        tiles.append((method, rgb_u8))
                    # The inversion net sees no hints: score its L estimate once per picture.
                    if task == "sketch" and method == "net" and n_hints == cfg.hints[0]:
                        line_as_l = picture.line_u8.astype(np.float64) / 255.0 * 100.0
                        net_l = np.asarray(colorizer.estimate_lightness(Image.fromarray(picture.line_u8)),
                                           dtype=np.float64) / 2.55
                        inversion_records.append({
                            "id": picture.id,
                            "net_psnr_l": metrics.l_psnr(net_l, target_l),
                            "net_ssim_l": metrics.l_ssim(net_l, target_l),
                            "model_psnr_l": metrics.l_psnr(l_estimate, target_l),
                            "model_ssim_l": metrics.l_ssim(l_estimate, target_l),
                            "output_psnr_l": metrics.l_psnr(metrics.lightness(rgb_u8), target_l),
                            "output_ssim_l": metrics.l_ssim(metrics.lightness(rgb_u8), target_l),
                            "identity_psnr_l": metrics.l_psnr(line_as_l, target_l),
                            "identity_ssim_l": metrics.l_ssim(line_as_l, target_l),
                        })
                if shown:
                    tiles.append(("target", picture.color_u8))
                    contact_rows.append((f"{picture.id} {task} N={n_hints}", tiles))
        log.info("picture %d/%d (%s) in %.2f s", number, len(pictures), picture.id, time.perf_counter() - started)

    sequence = None
    if cfg.sequence is not None and colorizer is not None and colorizer.inversion is not None:
        sequence = {"frames": cfg.sequence, "pictures": len(pictures)}
        for consistent in (True, False):
            scores = [sequence_agreement(colorizer, picture, cfg.sequence, cfg.seed, consistent)
                      for picture in pictures]
            key = "consistent" if consistent else "independent"
            sequence[key] = _mean([v for v, _ in scores])
            sequence[f"{key}_pairs"] = int(sum(n for _, n in scores))
        log.info("sequence agreement: %s", sequence)
    inversion = None
    if inversion_records:
        # PSNR-L from the mean squared error over pictures, as in the main table (an exact L gives inf).
        inversion = {
            source: {"psnr_l": _psnr_of_mean_mse([r[f"{source}_psnr_l"] for r in inversion_records]),
                     "ssim_l": _mean([r[f"{source}_ssim_l"] for r in inversion_records])}
            for source in ("net", "model", "output", "identity")
        }
    cfg.out.mkdir(parents=True, exist_ok=True)
    names = ("results.json", "results.md", "plot.png") + (("contact.png",) if contact_rows else ())
    outputs = {name: str(cfg.out / name) for name in names}
    results = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "note": note,
        # The real-drawing styles' probabilities and ranges, so a sketch-real number names its drawings.
        "line_styles": _line_style_settings() if "sketch-real" in cfg.tasks else None,
        "n_pictures": len(pictures),
        "skipped": skipped,
        "methods": {task: list(names) for task, names in methods.items()},
        "summary": summarize(records),
        "by_source": summarize_by_source(records),
        "mode_detection": {task: {"correct": int(sum(hits)), "pictures": len(hits)} for task, hits in detected.items()},
        "sequence": sequence,
        "inversion": inversion,
        "inversion_pictures": inversion_records,
        "pictures": records,
        "outputs": outputs,
    }
    write_text_atomic(cfg.out / "results.json", json.dumps(_json_safe(results), indent=1, allow_nan=False))
    write_text_atomic(cfg.out / "results.md", markdown_report(results))
    save_plot(results["summary"], cfg.out / "plot.png")
    if contact_rows:
        save_contact_sheet(contact_rows, cfg.size, cfg.out / "contact.png")
    return results


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sketchcolor.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="JSONL manifest (paths relative to its folder)")
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint folder; omit for baselines only")
    parser.add_argument("--tasks", default=",".join(DEFAULT_TASKS),
                        help=f"comma-separated subset of {','.join(TASKS)} (sketch-real: the line art redrawn as "
                             "a real drawing)")
    parser.add_argument("--hints", default=",".join(map(str, DEFAULT_HINT_COUNTS)), help="comma-separated N")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pictures of the split")
    parser.add_argument("--sample", type=int, default=None,
                        help="only a seeded sample of N pictures of the split, spread over its sources (the same "
                             "N for the same --seed; not with --limit)")
    parser.add_argument("--size", type=int, default=256, help="square page side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="mixed into every picture's hint seed (and --sample)")
    parser.add_argument("--device", default="cpu", help="device for the model (cpu, cuda)")
    parser.add_argument("--contact-count", type=int, default=4, help="pictures on the contact sheet")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                        help="override a pipeline setting of the model, e.g. --set white_page=false (repeatable; keys: "
                             "sketchcolor.pipeline.PipelineConfig)")
    parser.add_argument("--auto-mode", action="store_true",
                        help="also run the model with mode auto (the mode detected, as users get it by default)")
    parser.add_argument("--methods", default=None,
                        help="only these methods (comma-separated, e.g. net: the baselines do not depend on the model "
                             "and cost most of a run; ratios against them come from a run of the same pictures)")
    parser.add_argument("--palette-k", type=int, default=None, metavar="K",
                        help="also run the model locked to each target's K dominant colors (net+palette; seeded "
                             "k-means over its foreground; EVALUATION.md's measurement takes K = 8)")
    parser.add_argument("--variations", type=int, default=None, metavar="K",
                        help="also run the model's K automatic colorings, scored by the one nearest the target "
                             "(net best-of-K, an oracle pick; EVALUATION.md's measurement takes K = 4)")
    parser.add_argument("--reference", action="store_true",
                        help="also run the model with each target as its own reference: posed (mirrored, turned, "
                             "rescaled: net+reference) and shuffled (its colors only: net+reference-global)")
    parser.add_argument("--sequence", type=int, default=None, metavar="FRAMES",
                        help="also color each line art as FRAMES small warps of it, consistent and not, and report "
                             "how far a segment's color moves between frames (EVALUATION.md's batch measurement)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    return parser


def _split_list(text: str, name: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise ConfigError(f"--{name} needs a comma-separated list, got {text!r}")
    return items


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        try:
            hint_counts = tuple(int(n) for n in _split_list(args.hints, "hints"))
        except ValueError:
            raise ConfigError(f"--hints must be comma-separated integers, got {args.hints!r}") from None
        cfg = EvalConfig(data=args.data, out=args.out, split=args.split, checkpoint=args.checkpoint,
                         tasks=tuple(_split_list(args.tasks, "tasks")), hints=hint_counts, limit=args.limit,
                         sample=args.sample, size=args.size, seed=args.seed, device=args.device,
                         contact_count=args.contact_count, pipeline=parse_overrides(args.overrides),
                         auto_mode=args.auto_mode, palette_k=args.palette_k, variations=args.variations,
                         reference=args.reference, sequence=args.sequence,
                         methods=tuple(_split_list(args.methods, "methods")) if args.methods else None)
        results = run_evaluation(cfg)
    except SketchcolorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown_report(results), end="")
    print(f"wrote {', '.join(results['outputs'].values())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
