"""User colour hints: the Hint type, reading hints (CLI strings, JSON files, painted stroke layers), checking them,
rasterizing them to the colour net's ab planes + mask, and simulating hints for training (Zhang et al. 2017).

Coordinates: ``x`` to the right, ``y`` down, in pixels of the picture the hints were given for; pixel ``(x, y)``
covers ``[x, x + 1) x [y, y + 1)``, so a hint is in bounds when ``0 <= x < width`` and ``0 <= y < height``.
Hint planes are ``ab`` in Lab units ``(2, H, W)`` and a mask ``(1, H, W)`` in {0, 1}; zero ab and zero mask mean
"no hint here", the same convention as the colour net's input.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

from sketchcolor.color import rgb_u8_to_lab_np
from sketchcolor.errors import ConfigError, HintError

__all__ = [
    "Hint",
    "HintSimConfig",
    "color_hex",
    "hints_from_layer",
    "load_hints_json",
    "parse_color",
    "parse_hint",
    "rasterize_hints",
    "simulate_hints",
    "validate_hints",
]

_HEX_COLOR = re.compile(r"#?([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})", re.IGNORECASE)
# CSS rgb()/rgba(): decimal channels; the alpha (a number or a percentage) is matched but not used.
_CHANNEL = r"\s*(\d+(?:\.\d*)?|\.\d+)\s*"
_RGB_FUNCTION = re.compile(rf"rgba?\({_CHANNEL},{_CHANNEL},{_CHANNEL}(?:,\s*[\d.]+%?\s*)?\)", re.IGNORECASE)
_COLOR_FORMS = (
    "'#rrggbb', 'rrggbb', '#rgb', '#rrggbbaa', 'rgb(r, g, b)', 'rgba(r, g, b, a)' or an (r, g, b) tuple of ints 0-255"
)


def parse_color(color: Any) -> tuple[int, int, int]:
    """A colour in any form a user or the page gives one -> ``(r, g, b)`` ints 0-255.

    Accepted: hex strings ``"#rrggbb"``, ``"rrggbb"``, ``"#rgb"``, ``"rgb"`` and ``"#rrggbbaa"`` (any case); CSS
    ``"rgb(r, g, b)"`` and ``"rgba(r, g, b, a)"`` with channels 0-255, decimals rounded (as Gradio's colour picker
    sends them); an ``(r, g, b)`` tuple, list or array of ints 0-255. Surrounding spaces are ignored. An alpha is
    dropped: a hint is a colour, not a blend.

    Raises:
        HintError: for anything else, naming the value and what was expected.
    """
    if isinstance(color, str):
        text = color.strip()
        match = _RGB_FUNCTION.fullmatch(text)
        if match:
            return _in_range(color, [round(float(v)) for v in match.groups()])
        match = _HEX_COLOR.fullmatch(text)
        if match:
            digits = match.group(1)
            if len(digits) == 3:
                digits = "".join(c * 2 for c in digits)
            return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)
    elif isinstance(color, (tuple, list, np.ndarray)) and len(color) == 3:
        if all(_is_int(c) for c in color):
            return _in_range(color, [int(c) for c in color])
        raise HintError(f"bad color {color!r}: channels must be ints 0-255")
    raise HintError(f"bad color {color!r}: expected {_COLOR_FORMS}")


def _in_range(color: Any, channels: list[int]) -> tuple[int, int, int]:
    if not all(0 <= c <= 255 for c in channels):
        raise HintError(f"bad color {color!r}: channels must be 0-255")
    return channels[0], channels[1], channels[2]


def color_hex(color: tuple[int, int, int]) -> str:
    """``(r, g, b)`` ints 0-255 -> ``"#rrggbb"`` (lower case), the form the page and hint strings show."""
    return "#{:02x}{:02x}{:02x}".format(*color)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Hint:
    """One colour hint: paint ``color`` at pixel ``(x, y)`` of the input picture, over a disc of ``radius`` pixels.

    Attributes:
        x: column in pixels (right), finite, float.
        y: row in pixels (down), finite, float.
        color: ``(r, g, b)`` ints 0-255; the constructor also takes any form :func:`parse_color` accepts.
        radius: disc radius in input pixels, >= 0; 0 marks a single pixel.

    Raises:
        HintError: non-numeric or non-finite coordinates, a negative radius, or a bad colour.
    """

    x: float
    y: float
    color: tuple[int, int, int]
    radius: float = 0.0

    def __post_init__(self) -> None:
        for name in ("x", "y", "radius"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value):
                raise HintError(f"hint {name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.radius < 0:
            raise HintError(f"hint radius must be >= 0 pixels, got {self.radius:g}")
        object.__setattr__(self, "color", parse_color(self.color))

    def __str__(self) -> str:
        radius = f",{self.radius:g}" if self.radius else ""
        return f"{self.x:g},{self.y:g},{color_hex(self.color)}{radius}"


# ---------------------------------------------------------------------------------------------------------------
# Reading hints
# ---------------------------------------------------------------------------------------------------------------

_HINT_SYNTAX = "expected X,Y,#RRGGBB or X,Y,#RRGGBB,R (e.g. 120,80,#e03020)"


def parse_hint(text: str) -> Hint:
    """Parse a command-line hint ``"X,Y,#RRGGBB"`` or ``"X,Y,#RRGGBB,R"`` (R = radius in pixels).

    Raises:
        HintError: naming the text and the expected syntax.
    """
    if not isinstance(text, str):
        raise HintError(f"bad hint {text!r}: {_HINT_SYNTAX}")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise HintError(f"bad hint {text!r}: {_HINT_SYNTAX}")
    numbers = []
    for name, part in zip(("x", "y", "radius"), parts[:2] + parts[3:]):
        try:
            numbers.append(float(part))
        except ValueError:
            raise HintError(f"bad hint {text!r}: {name} {part!r} is not a number; {_HINT_SYNTAX}") from None
    try:
        return Hint(numbers[0], numbers[1], parts[2], numbers[2] if len(numbers) == 3 else 0.0)
    except HintError as err:
        raise HintError(f"bad hint {text!r}: {err}") from None


_JSON_KEYS = ("x", "y", "color", "radius")
_JSON_FORM = '{"hints": [{"x": 1, "y": 2, "color": "#rrggbb", "radius": 3}]}'


def load_hints_json(path: str | os.PathLike) -> list[Hint]:
    """Read hints from a JSON file ``{"hints": [{"x": 1, "y": 2, "color": "#rrggbb", "radius": 3}, ...]}``.

    ``radius`` is optional (default 0); other keys are refused so typos do not pass silently.

    Raises:
        HintError: naming the file, and the entry index for a bad entry.
    """
    name = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise HintError(f"{name}: hints file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise HintError(f"{name}: cannot read hints file ({err})") from None
    except json.JSONDecodeError as err:
        raise HintError(f"{name}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None
    if not isinstance(data, dict) or "hints" not in data:
        raise HintError(f"{name}: expected an object with a 'hints' list, like {_JSON_FORM}")
    entries = data["hints"]
    if not isinstance(entries, list):
        raise HintError(f"{name}: 'hints' must be a list, got {type(entries).__name__}")
    return [_hint_from_entry(entry, i, name) for i, entry in enumerate(entries)]


def _hint_from_entry(entry: Any, index: int, name: str) -> Hint:
    where = f"{name}: hint #{index}"
    if not isinstance(entry, dict):
        raise HintError(f"{where}: expected an object like {{\"x\": 1, \"y\": 2, \"color\": \"#rrggbb\"}}")
    unknown = sorted(set(entry) - set(_JSON_KEYS))
    if unknown:
        raise HintError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (allowed: x, y, color, radius)")
    missing = [key for key in ("x", "y", "color") if key not in entry]
    if missing:
        raise HintError(f"{where}: missing key(s) {', '.join(map(repr, missing))} (required: x, y, color)")
    try:
        return Hint(entry["x"], entry["y"], entry["color"], entry.get("radius", 0.0))
    except HintError as err:
        raise HintError(f"{where}: {err}") from None


def hints_from_layer(
    rgba_u8: np.ndarray,
    *,
    alpha_threshold: int = 128,
    max_hints: int = 64,
    spacing: int | None = None,
) -> list[Hint]:
    """Turn a painted RGBA layer (e.g. brush strokes from the demo's editor) into point hints.

    Painted pixels are those with alpha > ``alpha_threshold``. Strokes are sub-sampled: the picture is cut into
    square tiles of ``spacing`` pixels, and each connected stroke (8-connected) gets one hint per tile it crosses,
    at the stroke's deepest pixel within the tile (nearest to its centroid among equals); so every stroke, however
    small, gets at least one hint, and long strokes get several along their length. The hint colour is the painted
    RGB at that pixel and its radius the stroke's half-width there (distance to the nearest unpainted pixel, minus
    one).
    If more than ``max_hints`` come out, the tiles are doubled in size until they fit; if the strokes alone are
    too many, the largest strokes win.

    Args:
        rgba_u8: ``(H, W, 4)`` uint8 layer; RGB are straight (not premultiplied) colours.
        alpha_threshold: alpha above this counts as painted (0-254).
        max_hints: upper bound on the number of hints (>= 1).
        spacing: tile side in pixels; default ``max(4, long side // 32)``.

    Returns:
        Hints in the layer's pixel coordinates, ordered by stroke and then top-left to bottom-right; empty when
        nothing is painted.
    """
    if not isinstance(rgba_u8, np.ndarray) or rgba_u8.ndim != 3 or rgba_u8.shape[2] != 4 or rgba_u8.dtype != np.uint8:
        got = f"{rgba_u8.dtype} array of shape {rgba_u8.shape}" if isinstance(rgba_u8, np.ndarray) else type(rgba_u8)
        raise HintError(f"stroke layer must be a uint8 RGBA array of shape (H, W, 4), got {got}")
    if not 0 <= alpha_threshold < 255:
        raise HintError(f"alpha_threshold must be in [0, 254], got {alpha_threshold}")
    if max_hints < 1:
        raise HintError(f"max_hints must be >= 1, got {max_hints}")
    height, width = rgba_u8.shape[:2]
    if spacing is None:
        spacing = max(4, max(height, width) // 32)
    if spacing < 1:
        raise HintError(f"spacing must be >= 1 pixel, got {spacing}")

    painted = rgba_u8[:, :, 3] > alpha_threshold
    strokes, n_strokes = ndimage.label(painted, structure=np.ones((3, 3), dtype=bool))
    if n_strokes == 0:
        return []
    ys, xs = np.nonzero(painted)
    stroke_ids = strokes[ys, xs]
    # Distance to the nearest unpainted pixel: 1 on a stroke's edge, its half-width on its centre line.
    depth = ndimage.distance_transform_edt(painted)[ys, xs]

    picks = _pick_per_tile(xs, ys, depth, stroke_ids, spacing)
    while len(picks) > max_hints and spacing < max(height, width):
        spacing *= 2
        picks = _pick_per_tile(xs, ys, depth, stroke_ids, spacing)
    if len(picks) > max_hints:
        # One tile now covers the picture, one pick per stroke, still too many: keep the largest strokes.
        sizes = np.bincount(stroke_ids)
        by_size = sorted(range(len(picks)), key=lambda i: (-sizes[stroke_ids[picks[i]]], i))
        picks = [picks[i] for i in sorted(by_size[:max_hints])]

    hints = []
    for p in picks:
        x, y = int(xs[p]), int(ys[p])
        color = tuple(int(c) for c in rgba_u8[y, x, :3])
        hints.append(Hint(float(x), float(y), color, max(0.0, float(depth[p]) - 1.0)))
    return hints


def _pick_per_tile(
    xs: np.ndarray, ys: np.ndarray, depth: np.ndarray, stroke_ids: np.ndarray, spacing: int
) -> list[int]:
    """Index (into xs/ys) of one painted pixel per (stroke, tile) group, groups in (stroke, row, column) order.

    The pick is the group's deepest pixel (farthest from the stroke's edge, where the colour is cleanest and the
    stroke width can be read), the one nearest the group's centroid among those.
    """
    tiles_x = xs // spacing
    tiles_y = ys // spacing
    n_tiles_x = int(tiles_x.max()) + 1
    group_key = (stroke_ids.astype(np.int64) * (int(tiles_y.max()) + 1) + tiles_y) * n_tiles_x + tiles_x
    groups, inverse = np.unique(group_key, return_inverse=True)
    counts = np.bincount(inverse)
    centroid_x = np.bincount(inverse, weights=xs) / counts
    centroid_y = np.bincount(inverse, weights=ys) / counts
    dist = (xs - centroid_x[inverse]) ** 2 + (ys - centroid_y[inverse]) ** 2
    # np.lexsort sorts by its last key first: group, then depth (deepest first), distance, raster order.
    order = np.lexsort((np.arange(len(xs)), dist, -depth, inverse))
    first = np.ones(len(order), dtype=bool)
    first[1:] = inverse[order][1:] != inverse[order][:-1]
    picks = order[first]
    assert len(picks) == len(groups)
    return picks.tolist()


# ---------------------------------------------------------------------------------------------------------------
# Checking and rasterizing
# ---------------------------------------------------------------------------------------------------------------


def _check_size(size: Any, name: str) -> tuple[int, int]:
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(_is_int(v) and v > 0 for v in size)
    ):
        raise HintError(f"{name} must be (width, height) positive integers, got {size!r}")
    return int(size[0]), int(size[1])


def validate_hints(hints: Iterable[Hint], width: int, height: int) -> None:
    """Check that every hint is a :class:`Hint` inside a ``width`` x ``height`` picture.

    Raises:
        HintError: naming the first bad hint (index and value) and the picture size.
    """
    width, height = _check_size((width, height), "picture size")
    for i, hint in enumerate(hints):
        if not isinstance(hint, Hint):
            raise HintError(f"hint #{i} must be a Hint, got {type(hint).__name__}")
        if not (0 <= hint.x < width and 0 <= hint.y < height):
            raise HintError(
                f"hint #{i} ({hint}) lies outside the {width}x{height} picture "
                f"(x must be in [0, {width}), y in [0, {height}))"
            )


def rasterize_hints(
    hints: Sequence[Hint], src_size: tuple[int, int], dst_size: tuple[int, int]
) -> tuple[Tensor, Tensor]:
    """Paint hints given for a ``src_size`` picture onto ab planes + mask at the working size ``dst_size``.

    Pixel centres map onto pixel centres (``x_dst = (x + 0.5) * w / W - 0.5``, rounded), so the last source pixel
    lands on the last target pixel. A hint marks the target pixels within its radius scaled to the target (an
    ellipse when the two axes scale differently), always at least its own pixel. Its ab is the Lab ab of its RGB
    colour; where hints overlap, the later one wins.

    Args:
        hints: hints in source pixel coordinates.
        src_size: ``(W, H)`` of the picture the hints were given for.
        dst_size: ``(w, h)`` of the planes to produce.

    Returns:
        ``ab`` ``(2, h, w)`` float32 Lab units (0 where unhinted) and ``mask`` ``(1, h, w)`` float32 in {0, 1}.

    Raises:
        HintError: for a hint outside the source picture or bad sizes.
    """
    src_w, src_h = _check_size(src_size, "src_size")
    dst_w, dst_h = _check_size(dst_size, "dst_size")
    hints = list(hints)
    validate_hints(hints, src_w, src_h)
    ab = np.zeros((2, dst_h, dst_w), dtype=np.float32)
    mask = np.zeros((1, dst_h, dst_w), dtype=np.float32)
    if hints:
        colors = np.array([h.color for h in hints], dtype=np.uint8).reshape(len(hints), 1, 3)
        hint_ab = rgb_u8_to_lab_np(colors)[:, 0, 1:]  # (N, 2)
        scale_x, scale_y = dst_w / src_w, dst_h / src_h
        for hint, hab in zip(hints, hint_ab):
            cx = (hint.x + 0.5) * scale_x - 0.5
            cy = (hint.y + 0.5) * scale_y - 0.5
            region = _disc(cx, cy, hint.radius * scale_x, hint.radius * scale_y, dst_w, dst_h)
            rows, cols = region
            ab[0][rows, cols] = hab[0]
            ab[1][rows, cols] = hab[1]
            mask[0][rows, cols] = 1.0
    return torch.from_numpy(ab), torch.from_numpy(mask)


def _disc(cx: float, cy: float, rx: float, ry: float, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the pixels whose centres lie in the ellipse, plus the centre's own pixel."""
    px = min(max(int(round(cx)), 0), width - 1)
    py = min(max(int(round(cy)), 0), height - 1)
    x0, x1 = max(int(math.floor(cx - rx)), 0), min(int(math.ceil(cx + rx)), width - 1)
    y0, y1 = max(int(math.floor(cy - ry)), 0), min(int(math.ceil(cy + ry)), height - 1)
    yy, xx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    # Degenerate radii (< half a pixel) still work: the inequality then holds for no pixel but the forced one.
    inside = ((xx - cx) / max(rx, 1e-6)) ** 2 + ((yy - cy) / max(ry, 1e-6)) ** 2 <= 1.0
    inside |= (xx == px) & (yy == py)
    return yy[inside], xx[inside]


# ---------------------------------------------------------------------------------------------------------------
# Training-time simulation (Zhang et al. 2017)
# ---------------------------------------------------------------------------------------------------------------

_LOCATIONS = ("gaussian", "uniform")


@dataclass(frozen=True)
class HintSimConfig:
    """How :func:`simulate_hints` draws hints for a training sample (defaults follow Zhang et al. 2017).

    Attributes:
        p_no_hints: share of samples that get no hint at all, in [0, 1]. With the default 1/8 together with
            ``geometric_p = 1/8`` the count has exactly Zhang's distribution (geometric on {0, 1, ...}).
        geometric_p: success probability of the geometric number of hints (on {1, 2, ...}), in (0, 1];
            the mean is ``1 / geometric_p``.
        max_hints: cap on the number of hints, >= 1.
        patch_min: smallest square patch side in pixels, >= 1.
        patch_max: largest patch side, >= patch_min; sides are drawn uniformly from [patch_min, patch_max].
        location: "gaussian" (2-D Gaussian around the centre, as Zhang) or "uniform".
        gaussian_sigma: standard deviation of the Gaussian as a fraction of height and width, > 0.
    """

    p_no_hints: float = 0.125
    geometric_p: float = 0.125
    max_hints: int = 64
    patch_min: int = 1
    patch_max: int = 9
    location: str = "gaussian"
    gaussian_sigma: float = 0.25

    def __post_init__(self) -> None:
        if not (_is_number(self.p_no_hints) and 0.0 <= self.p_no_hints <= 1.0):
            raise ConfigError(f"p_no_hints must be in [0, 1], got {self.p_no_hints!r}")
        if not (_is_number(self.geometric_p) and 0.0 < self.geometric_p <= 1.0):
            raise ConfigError(f"geometric_p must be in (0, 1], got {self.geometric_p!r}")
        if not (_is_int(self.max_hints) and self.max_hints >= 1):
            raise ConfigError(f"max_hints must be an integer >= 1, got {self.max_hints!r}")
        if not (_is_int(self.patch_min) and self.patch_min >= 1):
            raise ConfigError(f"patch_min must be an integer >= 1, got {self.patch_min!r}")
        if not (_is_int(self.patch_max) and self.patch_max >= self.patch_min):
            raise ConfigError(f"patch_max must be an integer >= patch_min ({self.patch_min}), got {self.patch_max!r}")
        if self.location not in _LOCATIONS:
            raise ConfigError(f"location must be one of {', '.join(map(repr, _LOCATIONS))}, got {self.location!r}")
        if not (_is_number(self.gaussian_sigma) and self.gaussian_sigma > 0 and math.isfinite(self.gaussian_sigma)):
            raise ConfigError(f"gaussian_sigma must be a finite number > 0, got {self.gaussian_sigma!r}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> HintSimConfig:
        """Build from a JSON-like mapping; unknown keys raise :class:`ConfigError` naming the allowed ones."""
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ConfigError(f"unknown hint simulation key(s) {unknown}; allowed: {', '.join(allowed)}")
        return cls(**values)


def simulate_hints(
    lab: Tensor,
    rng: np.random.Generator,
    cfg: HintSimConfig | None = None,
    allowed: np.ndarray | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw training hints from a target picture, as Zhang et al. 2017 do.

    With probability ``cfg.p_no_hints`` there is none; otherwise their number is geometric (capped at
    ``cfg.max_hints``). Each hint is a square patch of side uniform in [patch_min, patch_max] around a centre pixel
    drawn from a 2-D Gaussian around the picture centre (or uniformly), restricted to ``allowed`` pixels; the
    patch gets the mean ab of the target over its allowed pixels (so a patch touching a line takes the colour of
    the region, not of the black line) and is fully marked in the mask. Later patches overwrite earlier ones.

    Args:
        lab: ``(3, H, W)`` target in Lab units.
        rng: the only source of randomness.
        cfg: simulation settings (default ``HintSimConfig()``).
        allowed: optional ``(H, W)`` bool array of pixels where hint centres may fall (e.g. off the lines);
            no hints are drawn when it has no true pixel.

    Returns:
        ``ab`` ``(2, H, W)`` float32 Lab units and ``mask`` ``(1, H, W)`` float32 in {0, 1}, on the CPU.
    """
    cfg = cfg if cfg is not None else HintSimConfig()
    if not isinstance(lab, Tensor) or lab.ndim != 3 or lab.shape[0] != 3:
        shape = tuple(lab.shape) if isinstance(lab, Tensor) else type(lab).__name__
        raise ValueError(f"lab must be a (3, H, W) tensor in Lab units, got {shape}")
    _, height, width = lab.shape
    if allowed is not None:
        allowed = np.asarray(allowed)
        if allowed.shape != (height, width) or allowed.dtype != np.bool_:
            raise ValueError(
                f"allowed must be a bool array of shape ({height}, {width}), got {allowed.dtype} {allowed.shape}"
            )
    ab_out = np.zeros((2, height, width), dtype=np.float32)
    mask_out = np.zeros((1, height, width), dtype=np.float32)

    n_hints = 0 if rng.random() < cfg.p_no_hints else min(int(rng.geometric(cfg.geometric_p)), cfg.max_hints)
    if n_hints > 0:
        weights = _location_weights(height, width, cfg)
        if allowed is not None:
            weights = weights * allowed
        total = weights.sum()
        if total > 0:
            target_ab = lab[1:].detach().to(torch.float32).cpu().numpy()
            centres = rng.choice(height * width, size=n_hints, p=(weights / total).ravel())
            sides = rng.integers(cfg.patch_min, cfg.patch_max + 1, size=n_hints)
            for centre, side in zip(centres.tolist(), sides.tolist()):
                cy, cx = divmod(centre, width)
                y0, x0 = max(cy - (side - 1) // 2, 0), max(cx - (side - 1) // 2, 0)
                y1, x1 = min(y0 + side, height), min(x0 + side, width)
                patch = target_ab[:, y0:y1, x0:x1]
                if allowed is not None:
                    # The centre is allowed, so the selection is never empty.
                    mean_ab = patch[:, allowed[y0:y1, x0:x1]].mean(axis=1)
                else:
                    mean_ab = patch.reshape(2, -1).mean(axis=1)
                ab_out[:, y0:y1, x0:x1] = mean_ab[:, None, None]
                mask_out[:, y0:y1, x0:x1] = 1.0
    return torch.from_numpy(ab_out), torch.from_numpy(mask_out)


def _location_weights(height: int, width: int, cfg: HintSimConfig) -> np.ndarray:
    """Unnormalized ``(H, W)`` probability of each pixel being a hint centre."""
    if cfg.location == "uniform":
        return np.ones((height, width))
    # Separable Gaussian around the centre, sigma relative to each side; truncated to the picture.
    gy = np.exp(-0.5 * ((np.arange(height) - (height - 1) / 2) / (cfg.gaussian_sigma * height)) ** 2)
    gx = np.exp(-0.5 * ((np.arange(width) - (width - 1) / 2) / (cfg.gaussian_sigma * width)) ** 2)
    return gy[:, None] * gx[None, :]
