"""Real-drawing line styles: redraw clean line art the way drawings reach the tool (thin, broken, sketchy, pencil,
toned and textured paper, uneven light, colored construction lines, JPEG).

One seeded function, :func:`realistic_lines`, serves training augmentation and the ``sketch-real`` evaluation task,
so both see the same kinds of drawings. The model is physical enough to look right and cheap enough for a data
loader: ink coverage (0 paper, 1 full stroke) is redrawn, then printed on the paper by multiplying reflectances,
then lit, then compressed. The main strokes stay where they were (thin strokes are redrawn on the old centre line;
only the faint extra strokes wander, ``sketch_shift_px`` / ``construction_shift_px`` past a stroke's edge), so hints
and targets drawn from the clean line art stay valid.

Lengths are in pixels of the picture itself (real strokes are 1-3 px whatever the scan size); the smooth random
fields (pressure, lighting, wobble) vary over a few tens of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import lru_cache

import cv2
import numpy as np
from skimage.morphology import skeletonize

from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.regions import LINE_THRESHOLD

STYLES = ("thin", "broken", "sketchy", "pencil", "paper", "lighting", "construction", "jpeg")
PAPER_TINTS = ("gray", "cream", "blue")

# Share of red, green, blue light a colored pencil line absorbs at full coverage (a light blue, a light red).
_CONSTRUCTION_ABSORB = {"blue": np.array([0.6, 0.3, 0.05], np.float32), "red": np.array([0.05, 0.55, 0.5], np.float32)}
# Scales of the random fields (px): paper tooth, hand pressure along a stroke, a stroke's drift.
_TOOTH_SIGMA_PX = 0.7
_PRESSURE_CELL_PX = 24.0
_WOBBLE_CELL_PX = 72.0
# Blur (px) standing in for a pen path's sub-pixel position when strokes are redrawn on whole-pixel centre lines.
_STROKE_SOFTNESS_PX = 0.5

_RANGES = ("thin_px", "gap_every_px", "gap_px", "sketch_shift_px", "sketch_alpha", "pencil_darkness",
           "pencil_grain", "paper_level", "paper_grain", "lighting", "construction_shift_px", "construction_alpha",
           "construction_keep", "jpeg_quality", "ink_darkness")


@dataclass(frozen=True)
class LineStyleConfig:
    """Probability (``p_*``, in [0, 1]) and (low, high) ranges of each real-drawing style; validated on creation.

    ``thin``: strokes redrawn ``thin_px`` wide (anti-aliased, width varying along the stroke by
    ``pressure``, a fraction). ``broken``: a gap ``gap_px`` long every ``gap_every_px`` of stroke. ``sketchy``: one
    or two extra thin, lighter (``sketch_alpha``) strokes over part of the drawing, wandering ``sketch_shift_px``
    past the stroke's edge.
    ``pencil``: graphite absorbing ``pencil_darkness`` of the light at full coverage, uneven along the stroke,
    broken up by the paper's tooth (``pencil_grain``); otherwise ink absorbs ``ink_darkness``. ``paper``: a gray,
    cream or bluish paper of level ``paper_level`` (0-255) with a fine texture of ``paper_grain`` levels (std).
    ``lighting``: a smooth gradient and vignette darkening the page by up to ``lighting`` (a fraction).
    ``construction``: ``construction_keep`` of the strokes also drawn as faint (``construction_alpha``) thin blue or
    red lines, wandering ``construction_shift_px`` past the stroke's edge, under the others. ``jpeg``: compressed at
    ``jpeg_quality``.
    """

    p_thin: float = 0.6
    thin_px: tuple[float, float] = (1.0, 3.0)
    pressure: float = 0.3
    p_broken: float = 0.35
    gap_every_px: tuple[float, float] = (25.0, 90.0)
    gap_px: tuple[float, float] = (2.0, 5.0)
    p_sketchy: float = 0.35
    sketch_shift_px: tuple[float, float] = (0.5, 2.5)
    sketch_alpha: tuple[float, float] = (0.3, 0.7)
    p_pencil: float = 0.4
    pencil_darkness: tuple[float, float] = (0.35, 0.8)
    pencil_grain: tuple[float, float] = (0.15, 0.5)
    ink_darkness: tuple[float, float] = (0.85, 1.0)
    p_paper: float = 0.6
    paper_level: tuple[float, float] = (150.0, 250.0)
    paper_grain: tuple[float, float] = (1.0, 6.0)
    p_lighting: float = 0.4
    lighting: tuple[float, float] = (0.05, 0.25)
    p_construction: float = 0.15
    construction_shift_px: tuple[float, float] = (1.5, 4.0)
    construction_alpha: tuple[float, float] = (0.35, 0.8)
    construction_keep: tuple[float, float] = (0.3, 0.8)
    p_jpeg: float = 0.4
    jpeg_quality: tuple[int, int] = (40, 90)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ConfigError(f"LineStyleConfig.{f.name} must be a probability in [0, 1], got {value!r}")
            if f.name in _RANGES and not (
                isinstance(value, (tuple, list)) and len(value) == 2 and 0 <= value[0] <= value[1]
            ):
                raise ConfigError(f"LineStyleConfig.{f.name} must be a (low, high) pair with 0 <= low <= high, "
                                  f"got {value!r}")
        fractions = ("sketch_alpha", "pencil_darkness", "pencil_grain", "ink_darkness", "lighting",
                     "construction_alpha", "construction_keep")
        checks = [(name, getattr(self, name)[1] <= 1, "fractions in [0, 1]") for name in fractions] + [
            ("thin_px", self.thin_px[0] >= 0.5, "widths >= 0.5 px"),
            ("pressure", 0 <= self.pressure < 1, "a fraction in [0, 1)"),
            ("gap_every_px", self.gap_every_px[0] >= 1, "lengths >= 1 px"),
            ("paper_level", self.paper_level[1] <= 255, "levels in [0, 255]"),
            ("jpeg_quality", 1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100, "qualities in [1, 100]"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError(f"LineStyleConfig.{name} must be {expected}, got {getattr(self, name)!r}")


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _grid_noise(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """float32 (gh, gw) standard normal values on a grid with one node every ``cell_px`` pixels of (H, W)."""
    height, width = shape
    size = (max(2, math.ceil(height / cell_px) + 1), max(2, math.ceil(width / cell_px) + 1))
    return rng.standard_normal(size).astype(np.float32)


def _upsample(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A coarse grid, bicubically stretched to (H, W[, channels]): a smooth field."""
    return cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """float32 (H, W) smooth random field of roughly unit scale, varying over ``cell_px`` pixels."""
    return _upsample(_grid_noise(rng, shape, cell_px), shape)


def _fine_noise(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """float32 (H, W) grain of unit std, correlated over ``sigma_px`` pixels (blurred uniform noise: cheaper)."""
    noise = cv2.GaussianBlur(rng.random(shape, dtype=np.float32), (0, 0), sigma_px)
    noise -= np.float32(noise.mean())
    return noise * np.float32(1.0 / max(float(noise.std()), 1e-6))


@lru_cache(maxsize=2)
def _pixel_grid(height: int, width: int) -> np.ndarray:
    """float32 (H, W, 2) read-only (x, y) of every pixel, the identity map of ``cv2.remap``."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    grid = np.stack([xs, ys], axis=2)
    grid.setflags(write=False)
    return grid


def _wobble(ink: np.ndarray, rng: np.random.Generator, shift_px: float) -> np.ndarray:
    """``ink`` moved by a smooth displacement field: a wandering direction, 60-100% of ``shift_px`` pixels long."""
    angle = np.float32(math.pi) * _grid_noise(rng, ink.shape, _WOBBLE_CELL_PX)
    spread = np.tanh(_grid_noise(rng, ink.shape, _WOBBLE_CELL_PX))
    length = np.float32(shift_px) * (np.float32(0.8) + np.float32(0.2) * spread)
    # The displacement is built on the coarse grid and stretched once: cheap at any size.
    shift = _upsample(np.stack([length * np.cos(angle), length * np.sin(angle)], axis=2), ink.shape)
    return cv2.remap(ink, _pixel_grid(*ink.shape) + shift, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                     borderValue=0.0)


def _patchy(rng: np.random.Generator, shape: tuple[int, int], keep: float) -> np.ndarray:
    """float32 (H, W) soft mask in [0, 1] covering about ``keep`` of the picture in smooth patches."""
    field = _smooth_noise(rng, shape, 2 * _WOBBLE_CELL_PX)
    # A standard normal field is above this level on a ``keep`` share of pixels (Φ⁻¹ by a logistic fit).
    level = -math.log(keep / (1 - keep)) / 1.7 if 0 < keep < 1 else (-9.0 if keep >= 1 else 9.0)
    return np.clip((field - level) * 2.0 + 0.5, 0.0, 1.0)


def _draw_strokes(skeleton_dist: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """Anti-aliased coverage of strokes ``width`` px wide around the skeleton (distance to it in px).

    The centre line is whole pixels, so a 1 px stroke would be a hard staircase; a slight blur stands in for the
    sub-pixel position a pen's path has.
    """
    coverage = np.clip(np.float32(0.5) * width + np.float32(0.5) - skeleton_dist, 0.0, 1.0)
    return cv2.GaussianBlur(coverage, (0, 0), _STROKE_SOFTNESS_PX)


def _lighting_field(rng: np.random.Generator, shape: tuple[int, int], strength: float) -> np.ndarray:
    """float32 (H, W) light in [1 - strength, 1]: a gradient in a random direction mixed with an off-centre vignette.

    Computed on a grid of at most 65 x 65 nodes and stretched (the field is smooth), so it costs little at any size.
    """
    height, width = shape
    ys = np.linspace(0.0, 1.0, min(height, 65), dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, min(width, 65), dtype=np.float32)[None, :]
    angle = rng.uniform(0, 2 * math.pi)
    gradient = np.cos(angle) * xs + np.sin(angle) * ys
    gradient = (gradient - gradient.min()) / max(float(gradient.max() - gradient.min()), 1e-6)
    cy, cx = rng.uniform(0.3, 0.7, size=2)
    vignette = (xs - cx) ** 2 + (ys - cy) ** 2
    vignette = vignette / float(vignette.max())
    mix = float(rng.uniform(0, 1))
    light = (1.0 - strength * (mix * gradient + (1 - mix) * vignette)).astype(np.float32)
    return np.clip(cv2.resize(light, (width, height), interpolation=cv2.INTER_LINEAR), 1.0 - strength, 1.0)


def _paper(rng: np.random.Generator, shape: tuple[int, int], cfg: LineStyleConfig,
           tooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Paper reflectance as (texture (H, W) float32 around 1, color (3,) float32): a tinted level, fine grain,
    faint mottling. Kept apart so the (H, W, 3) product is formed once."""
    level = _uniform(rng, cfg.paper_level)
    tint = PAPER_TINTS[int(rng.integers(len(PAPER_TINTS)))]
    # Channel offsets in levels: cream loses blue (and a little green), bluish paper loses red.
    if tint == "cream":
        offset = np.array([0.0, -rng.uniform(3, 12), -rng.uniform(12, 32)], np.float32)
    elif tint == "blue":
        offset = np.array([-rng.uniform(6, 16), -rng.uniform(1, 6), 0.0], np.float32)
    else:
        offset = np.zeros(3, np.float32)
    grain = _uniform(rng, cfg.paper_grain)
    mottle = _smooth_noise(rng, shape, 6.0)
    texture = np.float32(1.0) + np.float32(grain / level) * (tooth + np.float32(0.5) * mottle)
    return texture, ((np.float32(level) + offset) / np.float32(255.0)).astype(np.float32)


def _check_line(line_u8: np.ndarray) -> None:
    if not isinstance(line_u8, np.ndarray) or line_u8.dtype != np.uint8 or line_u8.ndim != 2 or 0 in line_u8.shape:
        got = f"{line_u8.dtype} {line_u8.shape}" if isinstance(line_u8, np.ndarray) else type(line_u8).__name__
        raise ImageError(f"expected line art as a non-empty uint8 (H, W) array, got {got}")


def _pick_styles(rng: np.random.Generator, cfg: LineStyleConfig, styles: Iterable[str] | None) -> frozenset[str]:
    if styles is None:
        # One draw per style in a fixed order, so a picture's styles are a function of the generator's state.
        return frozenset(s for s in STYLES if rng.random() < getattr(cfg, f"p_{s}"))
    chosen = frozenset(styles)
    unknown = sorted(chosen - set(STYLES))
    if unknown:
        raise ConfigError(f"unknown line style(s) {unknown}; allowed: {', '.join(STYLES)}")
    return chosen


def realistic_lines(
    line_u8: np.ndarray,
    rng: np.random.Generator,
    *,
    styles: Iterable[str] | None = None,
    config: LineStyleConfig | None = None,
) -> np.ndarray:
    """Redraw black-on-white line art as a real drawing; returns (H, W, 3) uint8 RGB.

    Args:
        line_u8: (H, W) uint8 line art, black (0) lines on white (255), anti-aliased or not.
        rng: every random choice comes from it, so the output is a function of the input and its state.
        styles: the styles to apply (a subset of :data:`STYLES`, each with random settings); None draws each
            style with its probability in ``config``. An empty set gives the input back as RGB.
        config: probabilities and ranges (:class:`LineStyleConfig`); None for the defaults.
    """
    _check_line(line_u8)
    cfg = config if config is not None else LineStyleConfig()
    chosen = _pick_styles(rng, cfg, styles)
    shape = line_u8.shape
    # Ink coverage: 0 on paper, 1 on a full-strength stroke (anti-aliasing kept as partial coverage).
    ink = np.float32(1.0) - line_u8.astype(np.float32) * np.float32(1.0 / 255.0)

    skeleton_dist = None
    half_width = 0.5
    if chosen & {"thin", "broken", "sketchy", "construction"}:
        strokes = (line_u8 <= LINE_THRESHOLD).astype(np.uint8)
        if strokes.any():
            skeleton = skeletonize(strokes.astype(bool))
            # Distance (px) of every pixel to the nearest centre-line pixel, and which one that is (for gaps).
            off_centre = (~skeleton).astype(np.uint8)
            if "broken" in chosen:
                skeleton_dist, nearest = cv2.distanceTransformWithLabels(off_centre, cv2.DIST_L2, 5,
                                                                         labelType=cv2.DIST_LABEL_PIXEL)
            else:
                skeleton_dist = cv2.distanceTransform(off_centre, cv2.DIST_L2, 5)
            # The depth of a centre-line pixel inside its stroke is about half the stroke's width.
            depth = cv2.distanceTransform(strokes, cv2.DIST_L2, 5)
            half_width = max(0.5, float(np.median(depth[skeleton])) - 0.5)
    if "thin" in chosen and skeleton_dist is not None:
        pressure = np.float32(1.0) + np.float32(cfg.pressure) * np.tanh(_smooth_noise(rng, shape, _PRESSURE_CELL_PX))
        width = _uniform(rng, cfg.thin_px)
        ink = _draw_strokes(skeleton_dist, width * pressure)
        half_width = 0.5 * width

    if "broken" in chosen and skeleton_dist is not None:
        ink = _break(ink, rng, cfg, skeleton, skeleton_dist, nearest, half_width)

    if "sketchy" in chosen and skeleton_dist is not None:
        # Extra strokes are drawn whole and thin, wandering up to ``sketch_shift_px`` past the stroke's edge.
        for _ in range(int(rng.integers(1, 3))):
            extra = _draw_strokes(skeleton_dist, float(rng.uniform(1.0, 2.0)))
            extra = _wobble(extra, rng, half_width + _uniform(rng, cfg.sketch_shift_px))
            extra *= _uniform(rng, cfg.sketch_alpha) * _patchy(rng, shape, float(rng.uniform(0.4, 1.0)))
            ink = np.float32(1.0) - (np.float32(1.0) - ink) * (np.float32(1.0) - extra)

    tooth = _fine_noise(rng, shape, _TOOTH_SIGMA_PX) if chosen & {"pencil", "paper"} else None
    if "pencil" in chosen:
        darkness = _uniform(rng, cfg.pencil_darkness)
        # Uneven pressure along the stroke, and graphite only on the paper's tooth.
        along = np.clip(np.float32(1.0) + np.float32(0.3) * _smooth_noise(rng, shape, _PRESSURE_CELL_PX), 0.3, 1.3)
        grain = np.clip(np.float32(1.0) - np.float32(_uniform(rng, cfg.pencil_grain)) * (tooth + 1.0) * 0.5, 0.0, 1.0)
        ink = cv2.GaussianBlur(ink, (0, 0), 0.5) * grain
        absorbed = np.clip(np.float32(darkness) * along * ink, 0.0, 1.0)
    else:
        darkness = _uniform(rng, cfg.ink_darkness) if chosen else 1.0
        absorbed = np.float32(darkness) * ink
    # Reflectance = stroke x light x paper x construction lines.
    gray = np.float32(1.0) - absorbed
    if "lighting" in chosen:
        gray *= _lighting_field(rng, shape, _uniform(rng, cfg.lighting))
    color = np.ones(3, np.float32)
    if "paper" in chosen:
        texture, color = _paper(rng, shape, cfg, tooth)
        gray *= texture
    reflect = gray[:, :, None] * color
    if "construction" in chosen and skeleton_dist is not None:
        hue = "blue" if rng.random() < 0.5 else "red"
        faint = _draw_strokes(skeleton_dist, float(rng.uniform(1.0, 2.5)))
        faint = _wobble(faint, rng, half_width + _uniform(rng, cfg.construction_shift_px))
        faint *= _uniform(rng, cfg.construction_alpha) * _patchy(rng, shape, _uniform(rng, cfg.construction_keep))
        reflect *= np.float32(1.0) - faint[:, :, None] * _CONSTRUCTION_ABSORB[hue]
    # Paper grain can lift a pixel a little above 1.
    rgb_u8 = np.clip(reflect * np.float32(255.0) + np.float32(0.5), 0.0, 255.0).astype(np.uint8)
    if "jpeg" in chosen:
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok, "OpenCV failed to encode a JPEG"
        rgb_u8 = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return rgb_u8


def _break(ink: np.ndarray, rng: np.random.Generator, cfg: LineStyleConfig, skeleton: np.ndarray,
           skeleton_dist: np.ndarray, nearest: np.ndarray, half_width: float) -> np.ndarray:
    """Cut gaps across the strokes: one every ``gap_every_px`` of centre line on average, each ``gap_px`` long.

    ``nearest`` labels every pixel with its nearest centre-line pixel (``cv2.DIST_LABEL_PIXEL``).
    """
    centre_ys, centre_xs = np.nonzero(skeleton)
    count = int(rng.poisson(len(centre_ys) / _uniform(rng, cfg.gap_every_px)))
    if count == 0:
        return ink
    picks = rng.integers(len(centre_ys), size=count)
    gaps = rng.uniform(cfg.gap_px[0], cfg.gap_px[1], size=count)
    # A gap removes the pixels whose nearest centre lies on the cut piece of centre line, so the stroke ends
    # square across its whole width.
    label_of_centre = nearest[centre_ys, centre_xs]
    cut = np.zeros(int(nearest.max()) + 1, bool)
    for i, gap in zip(picks, gaps):
        near = (centre_ys - centre_ys[i]) ** 2 + (centre_xs - centre_xs[i]) ** 2 <= (0.5 * gap) ** 2
        cut[label_of_centre[near]] = True
    holes = cut[nearest] & (skeleton_dist <= half_width + 2.0)
    return np.where(holes, np.float32(0.0), ink)
