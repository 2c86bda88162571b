"""The Gradio page for artists (`sketchcolor demo`): upload, paint strokes or click points, color, download.

The page is a thin shell over :class:`sketchcolor.pipeline.Colorizer`. Its callbacks are plain module functions
(numpy arrays, dicts and lists in, numpy arrays and file paths out) so they can be tested without a server;
:func:`build_demo` wires them to the components and turns every error into a readable one-line message.
The layered downloads (OpenRaster and Photoshop) are written by :mod:`sketchcolor.layers`.

Under "Colors from…" the artist may give a color reference (a colored picture to follow), a palette (every region
takes one of its colors) or ask for several variations to choose from; hints apply with all of them.

The picture is painted on in the browser: strokes are kept there as vectors (``{"strokes": [{"color", "size",
"points"}]}`` in the picture's pixels) and only they travel to the server, never the picture again; the server
keeps the uploaded picture. One color control drives strokes, points and the suggestions. The page's scripts talk
to each other through ``sketchcolor:*`` DOM events on ``document``.
"""

import argparse
import atexit
import base64
import functools
import inspect
import io
import logging
import math
import os
import re
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from sketchcolor.errors import ConfigError, HintError, ImageError, SketchcolorError
from sketchcolor.hints import Hint, color_hex, hints_from_layer, parse_color
from sketchcolor.image_io import IMAGE_EXTENSIONS, load_image, save_image
from sketchcolor.layers import save_layers
from sketchcolor.palette import parse_palette

log = logging.getLogger(__name__)

DEFAULT_MAX_UPLOAD_MB = 20
# Far below image_io.DEFAULT_MAX_PIXELS on purpose: a shared page must not let one upload take the host's memory.
PAGE_MAX_PIXELS = 16_000_000
# Two CPU cores is the usual host; more parallel runs would only slow each other down.
DEFAULT_CONCURRENCY = 2
DEFAULT_MAX_QUEUE = 64
# Our output files only need to outlive Gradio's copy of them into its own cache.
SCRATCH_MAX_AGE_S = 3600.0
# Gradio's cache of uploads and results: swept every 30 min, files older than an hour removed.
GRADIO_DELETE_CACHE = (1800, 3600)
REPO_EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# The browser shows the picture at most this large (long side, px); strokes are still in the picture's pixels.
DISPLAY_MAX_SIDE = 1600
# The gap slider's range: a fraction of the picture's long side.
GAP_SLIDER_MAX = 0.03
# Bounds on what the browser may send as strokes (a hand-drawn page stays far below them).
MAX_STROKES = 1000
MAX_STROKE_POINTS = 100_000

MODE_CHOICES = [("auto-detect", "auto"), ("line art / sketch", "sketch"), ("grayscale picture", "gray")]
PALETTE = [
    "#e03020", "#f08c00", "#f5d000", "#3aa655", "#2f7fd8", "#7b4fc9",
    "#f2a5b8", "#8b5a2b", "#f1c9a5", "#808080", "#ffffff",
]
POINT_HEADERS = ["x", "y", "color"]
# The variations control's range: colorize_variations takes up to 16, but 8 are plenty to pick from.
MAX_VARIATIONS = 8
PALETTE_PLACEHOLDER = "#e03020, #3060c0, #f0c040"
# colorize_variations draws from the model's own distribution: it takes neither a palette nor a reference.
VARIATIONS_ALONE = ("variations are drawn from the model's own colors, so they work without a palette or a color "
                    "reference: set Variations to 1, or clear the palette and the reference")
API_ONE_COLORING = ("the /colorize API returns one coloring, so its variations must be 1; the page shows variations "
                    "in a gallery, and Python's Colorizer.colorize_variations returns them all")
NO_PICTURE = "there is no picture yet: upload a picture or pick an example first"
GENERIC_ERROR = "Something went wrong while coloring this picture; the details are in the server log."


# ---------------------------------------------------------------------------------------------- pure callbacks
def normalize_color(value: Any) -> str:
    """A color in any form :func:`sketchcolor.hints.parse_color` accepts (the page sends "#rrggbb", "#rgb",
    "#rrggbbaa", "rgb(r, g, b)" or "rgba(r, g, b, a)") -> "#rrggbb". Raises HintError for anything else."""
    return color_hex(parse_color(value))


def check_pixels(width: int, height: int, max_pixels: int | None) -> None:
    """Refuse pictures larger than ``max_pixels`` with a message that says what the page accepts."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"the picture is {width}×{height} ({width * height / 1e6:.1f} megapixels); this page accepts at most "
            f"{max_pixels / 1e6:.1f} megapixels, so scale it down and upload it again"
        )


def load_picture_file(path: str | os.PathLike | None, *, max_pixels: int | None = PAGE_MAX_PIXELS) -> np.ndarray:
    """An uploaded picture file -> (H, W, 3) uint8 (EXIF rotation applied, transparency over white).

    The size is checked from the file's header first, so a huge picture is refused before it is decoded.
    """
    if not path:
        raise ImageError(NO_PICTURE)
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as header:
                size = header.size
    except Exception:  # not a picture Pillow knows: load_image below says why, in its own words
        size = None
    if size is not None:
        check_pixels(size[0], size[1], max_pixels)
    try:
        return np.asarray(load_image(path, max_pixels=max_pixels))
    except ImageError as exc:
        # The upload sits in a cache folder under a hashed name; the artist knows the file by its own name.
        raise ImageError(str(exc).replace(str(path), path.name)) from None


def picture_from_editor(editor: dict | None, *, max_pixels: int | None = PAGE_MAX_PIXELS) -> np.ndarray:
    """The picture of an image-editor value (the ``/colorize`` API's input): (H, W, 3) uint8, any transparency
    composited over white.

    editor: ``{"background", "layers", "composite"}`` with numpy images (RGBA), as ``gr.ImageEditor`` hands it.
    """
    background = None if editor is None else editor.get("background")
    if background is None:
        raise ImageError(NO_PICTURE)
    background = np.asarray(background)
    if background.ndim < 2 or background.size == 0:
        raise ImageError("the uploaded picture is empty; upload a PNG, JPEG or WebP picture")
    check_pixels(background.shape[1], background.shape[0], max_pixels)
    return np.asarray(load_image(background, max_pixels=max_pixels))


def hints_from_editor(editor: dict | None) -> list[Hint]:
    """Color strokes of an image-editor value -> hints, in the background picture's pixel coordinates.

    Each layer is an (h, w, 4) uint8 RGBA array whose alpha marks the painted pixels. A layer of another size than
    the picture is scaled to the picture.
    """
    if editor is None or editor.get("background") is None:
        return []
    height, width = np.asarray(editor["background"]).shape[:2]
    hints: list[Hint] = []
    for layer in editor.get("layers") or []:
        rgba_u8 = np.asarray(layer)
        if rgba_u8.ndim != 3 or rgba_u8.shape[2] != 4:
            raise ImageError(f"a stroke layer has shape {rgba_u8.shape}; expected an RGBA picture (height, width, 4)")
        if rgba_u8.shape[:2] != (height, width):
            layer = Image.fromarray(rgba_u8.astype(np.uint8), "RGBA")
            rgba_u8 = np.asarray(layer.resize((width, height), Image.NEAREST))
        hints.extend(hints_from_layer(rgba_u8.astype(np.uint8)))
    return hints


@dataclass(frozen=True)
class Stroke:
    """One brush stroke painted on the page: a polyline in the picture's pixel coordinates (continuous: pixel
    (i, j) covers [i, i + 1) × [j, j + 1)), ``size`` its width in picture pixels, ``color`` "#rrggbb"."""

    color: str
    size: float
    points: tuple[tuple[float, float], ...]


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_strokes(value: Any) -> list[Stroke]:
    """The picture panel's value ``{"strokes": [{"color", "size", "points": [[x, y], ...]}, ...]}`` -> strokes.

    The value comes from the browser, so everything is checked: HintError names the bad stroke (1-based).
    None or a value without strokes gives [].
    """
    if value is None:
        return []
    if not isinstance(value, dict):
        raise HintError(f"the strokes must be an object with a 'strokes' list, got {type(value).__name__}")
    raw = value.get("strokes") or []
    if not isinstance(raw, list):
        raise HintError("the strokes must be a list")
    if len(raw) > MAX_STROKES:
        raise HintError(f"{len(raw)} strokes is more than this page takes ({MAX_STROKES}); clear some strokes")
    strokes, total = [], 0
    for number, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise HintError(f"stroke {number}: expected an object with color, size and points")
        try:
            color = normalize_color(entry.get("color"))
        except HintError as exc:
            raise HintError(f"stroke {number}: {exc}") from None
        size = entry.get("size")
        if not _finite_number(size) or size <= 0:
            raise HintError(f"stroke {number}: size must be a positive number of pixels, got {size!r}")
        points = entry.get("points")
        if not isinstance(points, list) or not points:
            raise HintError(f"stroke {number}: points must be a non-empty list of [x, y]")
        total += len(points)
        if total > MAX_STROKE_POINTS:
            raise HintError(f"the strokes hold more than {MAX_STROKE_POINTS} points; clear some strokes")
        if not all(isinstance(p, (list, tuple)) and len(p) == 2 and all(_finite_number(c) for c in p) for p in points):
            raise HintError(f"stroke {number}: each point must be [x, y] with finite numbers")
        strokes.append(Stroke(color, float(size), tuple((float(x), float(y)) for x, y in points)))
    return strokes


def stroke_layer(strokes: Sequence[Stroke], width: int, height: int) -> np.ndarray:
    """Paint strokes the way the browser shows them (round caps and joins, later strokes on top) -> (height,
    width, 4) uint8 RGBA, alpha 255 where painted, 0 elsewhere; strokes beyond the picture are clipped."""
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for stroke in strokes:
        rgba = (*parse_color(stroke.color), 255)
        # Pillow puts pixel centres on integers, the browser on half-integers.
        xy = [(x - 0.5, y - 0.5) for x, y in stroke.points]
        r = stroke.size / 2
        if len(xy) > 1:
            draw.line(xy, fill=rgba, width=max(1, round(stroke.size)), joint="curve")
        for x, y in {xy[0], xy[-1]}:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=rgba)
    return np.asarray(layer)


def hints_from_strokes(strokes: Sequence[Stroke], width: int, height: int) -> list[Hint]:
    """Painted strokes -> hints (pixel coordinates of a width×height picture), as for a painted layer."""
    if not strokes:
        return []
    return hints_from_layer(stroke_layer(strokes, width, height))


def _is_blank(cell: Any) -> bool:
    if isinstance(cell, str):
        return not cell.strip()
    return cell is None or (isinstance(cell, float) and math.isnan(cell))


def _table_rows(points: Any) -> list[list[Any]]:
    """The points table's value (list of rows, a pandas DataFrame or Gradio's {"data": ...} dict) -> list of rows."""
    if points is None:
        return []
    if isinstance(points, dict):
        points = points.get("data") or []
    if hasattr(points, "columns") and hasattr(points, "values"):
        points = points.values.tolist()
    return [list(row) for row in points]


def points_to_rows(points: Any) -> list[list[Any]]:
    """Validate the points table -> rows ``[x: int, y: int, "#rrggbb"]``; fully blank rows are dropped.

    Raises HintError naming the bad row (1-based) for non-numeric coordinates or bad colors.
    """
    rows = []
    for number, row in enumerate(_table_rows(points), start=1):
        cells = (row + [None, None, None])[:3]
        if all(_is_blank(cell) for cell in cells):
            continue
        try:
            x, y = float(cells[0]), float(cells[1])
        except (TypeError, ValueError):
            raise HintError(f"point {number}: x and y must be numbers, got {cells[0]!r}, {cells[1]!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise HintError(f"point {number}: x and y must be finite numbers, got {x}, {y}")
        try:
            color = normalize_color(cells[2])
        except HintError as exc:
            raise HintError(f"point {number}: {exc}") from None
        rows.append([round(x), round(y), color])
    return rows


def points_to_hints(points: Any) -> list[Hint]:
    """The points table -> point hints (pixel coordinates of the picture)."""
    return [Hint(x=float(x), y=float(y), color=color) for x, y, color in points_to_rows(points)]


def add_point(points: Any, x: float, y: float, color: Any, *, width: int, height: int) -> list[list[Any]]:
    """Add a point hint at pixel (x, y) of a width×height picture; a point already at (x, y) is replaced."""
    x, y = round(float(x)), round(float(y))
    if not (0 <= x < width and 0 <= y < height):
        raise HintError(f"the point ({x}, {y}) is outside the {width}×{height} picture")
    rows = [row for row in points_to_rows(points) if (row[0], row[1]) != (x, y)]
    return rows + [[x, y, normalize_color(color)]]


def page_hints(picture_u8: np.ndarray | None, strokes_value: Any, points: Any) -> tuple[list[Hint], list[Hint]]:
    """All hints on the page: (hints of the painted strokes, hints of the points table)."""
    if picture_u8 is None:
        raise ImageError(NO_PICTURE)
    height, width = np.asarray(picture_u8).shape[:2]
    return hints_from_strokes(parse_strokes(strokes_value), width, height), points_to_hints(points)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def hint_summary(picture_u8: np.ndarray | None, strokes_value: Any, points: Any) -> str:
    """What "Color it" will send, as one line of Markdown, e.g. "Sends **12 hints**: 9 from 2 strokes, 3 points."
    A bad stroke or point is said instead of raised: this line updates while the artist types."""
    if picture_u8 is None:
        return "Sends **0 hints** (no picture yet)."
    try:
        strokes = parse_strokes(strokes_value)
        stroke_hints, point_hints = page_hints(picture_u8, strokes_value, points)
    except SketchcolorError as exc:
        return f"Cannot send the hints: {exc}"
    total = len(stroke_hints) + len(point_hints)
    return (f"Sends **{_plural(total, 'hint')}**: {len(stroke_hints)} from {_plural(len(strokes), 'stroke')}, "
            f"{_plural(len(point_hints), 'point')}.")


def suggest_at(colorizer: Any, picture_u8: np.ndarray, hints: Sequence[Hint], x: float, y: float,
               mode: str = "auto", *, k: int = 5) -> list[tuple[str, float]]:
    """The model's ``k`` most probable colors at pixel (x, y), given the hints already on the page.

    Returns ``[("#rrggbb", probability), ...]``, most probable first.
    """
    return colorizer.suggest_colors(picture_u8, x, y, mode=mode, hints=list(hints), k=k)


def palette_from_text(text: str | None) -> list[str] | None:
    """The palette field -> its colors as "#rrggbb" (duplicates collapsed, first order kept), or None when the field
    holds no color.

    Colors are separated by commas, spaces or new lines, each a hex code ("#e03020", "e03020", "#e32").
    Raises HintError naming a bad color (1-based) or a palette over :data:`sketchcolor.palette.MAX_PALETTE`.
    """
    entries = [entry for entry in re.split(r"[\s,]+", text or "") if entry]
    if not entries:
        return None
    for number, entry in enumerate(entries, start=1):
        try:
            parse_color(entry)
        except HintError as exc:
            raise HintError(f"palette color {number}: {exc}") from None
    return [color_hex(tuple(int(c) for c in rgb_u8)) for rgb_u8 in parse_palette(entries)]


def load_reference(path: str | os.PathLike | None, *, max_pixels: int | None = PAGE_MAX_PIXELS) -> np.ndarray | None:
    """The color reference upload -> (H, W, 3) uint8, or None without one. The page's limits apply as for the
    picture (:func:`load_picture_file`: a huge reference is refused from its header); ImageError names the
    reference."""
    if not path:
        return None
    try:
        return load_picture_file(path, max_pixels=max_pixels)
    except ImageError as exc:
        raise ImageError(f"the color reference: {exc}") from None


def check_variations(value: Any, palette: Sequence[str] | None = None, reference: np.ndarray | None = None) -> int:
    """The variations control -> k, a whole number from 1 to :data:`MAX_VARIATIONS` (None: 1).

    Raises ConfigError for other values, and for k > 1 with a palette or a color reference
    (``Colorizer.colorize_variations`` takes neither).
    """
    if value is None:
        return 1
    if not _finite_number(value) or value != int(value) or not 1 <= value <= MAX_VARIATIONS:
        raise ConfigError(f"variations must be a whole number from 1 to {MAX_VARIATIONS}, got {value!r}")
    k = int(value)
    if k > 1 and (palette is not None or reference is not None):
        raise ConfigError(VARIATIONS_ALONE)
    return k


def colorize_picture(colorizer: Any, picture_u8: np.ndarray, hints: Sequence[Hint], mode: str = "auto",
                     cleanup: bool = False, shading: bool = False, gap_closing: float | None = None, *,
                     palette: Sequence[str] | None = None, reference: np.ndarray | None = None) -> Any:
    """Color the picture with the page's hints and settings -> the Colorizer's result (image and layers).

    palette: "#rrggbb" colors every region takes one of; reference: an (H, W, 3) uint8 colored picture whose colors
    the drawing follows (the Colorizer refuses the two together, and a reference under 8 pixels on a side). Either
    is passed on only when given, so a colorizer without the option still serves a page that does not use it.
    """
    options = {name: value for name, value in (("palette", palette), ("reference", reference)) if value is not None}
    result = colorizer.colorize(picture_u8, hints=list(hints), mode=mode, cleanup=bool(cleanup),
                                shading=bool(shading), gap_closing=None if gap_closing is None else float(gap_closing),
                                **options)
    log.info("colored a %dx%d picture (%s, %d hints%s) in %.2f s", picture_u8.shape[1], picture_u8.shape[0],
             result.mode, len(hints), "".join(f", {name}" for name in options), result.seconds)
    return result


def colorize_variations(colorizer: Any, picture_u8: np.ndarray, hints: Sequence[Hint], k: int, mode: str = "auto",
                        cleanup: bool = False, shading: bool = False, gap_closing: float | None = None) -> list[Any]:
    """``k`` colorings of the picture to choose from (the first is :func:`colorize_picture`'s) -> k results."""
    results = colorizer.colorize_variations(picture_u8, int(k), hints=list(hints), mode=mode, cleanup=bool(cleanup),
                                            shading=bool(shading),
                                            gap_closing=None if gap_closing is None else float(gap_closing))
    log.info("colored %d variations of a %dx%d picture (%s, %d hints) in %.2f s", len(results), picture_u8.shape[1],
             picture_u8.shape[0], results[0].mode, len(hints), results[0].seconds)
    return list(results)


def colorize_page(colorizer: Any, picture_u8: np.ndarray, hints: Sequence[Hint], mode: str = "auto",
                  cleanup: bool = False, shading: bool = False, gap_closing: float | None = None,
                  palette_text: str | None = "", reference_path: str | os.PathLike | None = None, variations: Any = 1,
                  *, max_pixels: int | None = PAGE_MAX_PIXELS,
                  previous: np.ndarray | None = None) -> tuple[list[Any], str]:
    """One press of "Color it" with the "Colors from…" controls as the page sends them (the palette field's text,
    the reference's upload path, the variations number) -> (results, status line). previous: the flats of the last
    picture colored, when the artist keeps its colors (the page's batch consistency): the reference when none is
    uploaded.

    The first result is the one shown and downloaded; there are more with variations > 1. Bad controls raise
    HintError, ImageError or ConfigError with a message for the artist (:func:`check_variations` says which
    combinations work).
    """
    palette = palette_from_text(palette_text)
    reference_u8 = load_reference(reference_path, max_pixels=max_pixels)
    follows_previous = reference_u8 is None and previous is not None and palette is None
    if follows_previous:
        reference_u8 = np.asarray(previous)
    k = check_variations(variations, palette, reference_u8)
    if k > 1:
        results = colorize_variations(colorizer, picture_u8, hints, k, mode, cleanup, shading, gap_closing)
    else:
        results = [colorize_picture(colorizer, picture_u8, hints, mode, cleanup, shading, gap_closing,
                                    palette=palette, reference=reference_u8)]
    status = status_text(results[0], mode, len(hints), palette_colors=len(palette or []),
                         reference=reference_u8 is not None, variations=k)
    if follows_previous:
        status = status.replace("the color reference", "the last picture's colors")
    return results, status


def variations_gallery(results: Sequence[Any]) -> list[tuple[np.ndarray, str]] | None:
    """The variations gallery's pictures ((H, W, 3) uint8, caption), or None for a single result (no gallery)."""
    if len(results) < 2:
        return None
    return [(np.asarray(result.image.convert("RGB")), f"Variation {number}")
            for number, result in enumerate(results, start=1)]


def save_png(result: Any, out_dir: str | os.PathLike) -> str:
    """Write the colored picture as out_dir/sketchcolor.png -> its path."""
    return str(save_image(result.image, Path(out_dir) / "sketchcolor.png"))


def save_layered(result: Any, out_dir: str | os.PathLike) -> tuple[str, str]:
    """Write the result's layers as out_dir/sketchcolor.ora and .psd -> their paths."""
    out_dir = Path(out_dir)
    return str(save_layers(result, out_dir / "sketchcolor.ora")), str(save_layers(result, out_dir / "sketchcolor.psd"))


def reference_text(info: dict | None) -> str:
    """What a color reference did (the result's ``reference``: its regime and how many regions matched), in words."""
    if not info:
        return "the color reference"
    if info.get("regime") == "match":
        return f"the color reference ({info.get('matched', 0)} of {_plural(info.get('regions', 0), 'region')} matched)"
    return "the color reference (its overall colors)"


def status_text(result: Any, mode: str, hints: int, *, palette_colors: int = 0, reference: bool = False,
                variations: int = 1) -> str:
    """One line about a finished run, e.g. "Colored as line art (auto-detected) in 1.20 s with 5 hints.", or
    "Colored as line art in 1.20 s with 5 hints and the color reference (10 of 12 regions matched)."."""
    kind = "line art" if result.mode == "sketch" else "a grayscale picture"
    sources = [_plural(hints, "hint")]
    if palette_colors:
        sources.append(f"a palette of {_plural(palette_colors, 'color')}")
    if reference:
        sources.append(reference_text(getattr(result, "reference", None)))
    used = sources[0] if len(sources) == 1 else ", ".join(sources[:-1]) + " and " + sources[-1]
    what = f" {variations} variations" if variations > 1 else ""
    text = (f"Colored{what} as {kind}{' (auto-detected)' if mode == 'auto' else ''} in {float(result.seconds):.2f} s "
            f"with {used}.")
    if variations > 1:
        text += " The first is shown and downloadable; all are in the gallery below."
    return text


def picture_data_url(picture_u8: np.ndarray, max_side: int = DISPLAY_MAX_SIDE) -> str:
    """The picture as a data: URL for the browser to show and paint on: at most ``max_side`` pixels long, PNG for a
    gray picture (line art stays crisp), JPEG for a color one (a fraction of the bytes)."""
    picture_u8 = np.asarray(picture_u8)
    gray = bool((picture_u8[..., 0] == picture_u8[..., 1]).all() and (picture_u8[..., 1] == picture_u8[..., 2]).all())
    image = Image.fromarray(picture_u8[..., 0] if gray else picture_u8)
    if max(image.size) > max_side:
        image.thumbnail((max_side, max_side), Image.LANCZOS)
    buffer = io.BytesIO()
    if gray:
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, "JPEG", quality=90)
    mime = "image/png" if gray else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


# ---------------------------------------------------------------------------------------------- page plumbing
class ScratchDir:
    """A per-process folder for result files, one sub-folder per run; old runs are pruned, everything at exit."""

    def __init__(self, max_age_s: float = SCRATCH_MAX_AGE_S) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sketchcolor-demo-"))
        self.max_age_s = max_age_s
        atexit.register(shutil.rmtree, self.root, True)

    def new_run(self) -> Path:
        """A fresh, empty folder for one run (pruning runs older than max_age_s first)."""
        cutoff = time.time() - self.max_age_s
        for child in self.root.iterdir():
            try:
                if child.stat().st_mtime < cutoff:
                    shutil.rmtree(child, ignore_errors=True)
            except FileNotFoundError:  # pruned by a concurrent run
                continue
        return Path(tempfile.mkdtemp(dir=self.root))

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _gradio():
    """The gradio module, or a one-line error saying how to install it (it is an optional dependency)."""
    try:
        import gradio
    except ImportError:
        raise ConfigError("the page needs Gradio: pip install 'sketchcolor[demo]'") from None
    return gradio


def for_people(fn: Callable) -> Callable:
    """Wrap a page callback (a function or a generator function): our errors become their one-line message;
    anything else is logged in full and the page shows a short generic message (no stack traces in the browser)."""
    gr = _gradio()

    def translated(exc: Exception) -> Exception:
        if isinstance(exc, gr.Error):
            return exc
        if isinstance(exc, SketchcolorError):
            return gr.Error(str(exc), print_exception=False)
        log.error("demo callback %s failed", getattr(fn, "__name__", fn), exc_info=exc)
        return gr.Error(GENERIC_ERROR, print_exception=False)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise translated(exc) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise translated(exc) from None

    return wrapper


def find_examples(folder: str | os.PathLike | None) -> list[Path]:
    """Picture files directly in ``folder`` (sorted by name); [] when the folder is None or missing."""
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def default_gap_closing(colorizer: Any) -> float:
    """The gap slider's starting value: the colorizer's own setting (its ``config.gap_closing``)."""
    gap = getattr(getattr(colorizer, "config", None), "gap_closing", None)
    if gap is None:
        from sketchcolor.pipeline import PipelineConfig  # late: torch is only needed once a page is built

        gap = PipelineConfig().gap_closing
    return float(gap)


INTRO = """\
# sketchcolor — color your line art

**1.** Press **New picture** for a line drawing or a grayscale picture (or drop or paste it on the picture panel,
or pick an example). **2.** Choose a color on the right, then paint strokes or place points on the picture, or ask
the model which colors it expects at a spot; under **Colors from…** give a reference picture or a palette to take
the colors from, or ask for several variations to choose from. **3.** Press **Color it** and download the PNG or
the layers (lines, colors, flats, shading, closed gaps, hints) as OpenRaster for Krita, GIMP or MyPaint, or as
Photoshop.
"""

# ---------------------------------------------------------------------------------------------- browser side
# The picture panel: the picture, an overlay canvas for strokes and markers, and its tools. The template is static
# (Gradio re-renders it on every value change; a static one is never touched) and the script draws everything.
CANVAS_HTML = """\
<div class="sc-panel">
  <div class="sc-tools" role="toolbar" aria-label="Picture tools">
    <div class="sc-seg" role="group" aria-label="A press on the picture">
      <button type="button" data-tool="paint" aria-pressed="true">Paint strokes</button>
      <button type="button" data-tool="point" aria-pressed="false">Place points</button>
      <button type="button" data-tool="suggest" aria-pressed="false">Suggest colors</button>
    </div>
    <label class="sc-size-label">Brush <input class="sc-size" type="range" min="2" max="48" step="1" value="10"
      aria-label="Brush size in screen pixels"></label>
    <span class="sc-now" title="Current color" aria-label="Current color"></span>
    <button type="button" class="sc-undo">Undo stroke</button>
    <button type="button" class="sc-clear">Clear strokes</button>
  </div>
  <div class="sc-stage">
    <img class="sc-picture" alt="the picture to color" draggable="false" hidden>
    <canvas class="sc-overlay" aria-label="Paint color strokes here"></canvas>
    <div class="sc-empty">No picture yet: press <b>New picture</b>, drop or paste a picture here, or pick an
      example below.</div>
  </div>
  <div class="sc-count" aria-live="polite"></div>
</div>
"""

CANVAS_CSS = """\
[hidden] { display: none !important; }
.sc-tools { display: flex; flex-wrap: wrap; gap: 6px 10px; align-items: center; margin-bottom: 8px; }
.sc-seg { display: inline-flex; border: 1px solid var(--border-color-primary); border-radius: var(--radius-md);
  overflow: hidden; }
.sc-seg button { padding: 4px 10px; border: 0; background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); cursor: pointer; }
.sc-seg button[aria-pressed="true"] { background: var(--color-accent); color: white; }
.sc-tools > button { padding: 4px 10px; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-md); background: var(--button-secondary-background-fill);
  color: var(--button-secondary-text-color); cursor: pointer; }
.sc-size-label { display: inline-flex; gap: 6px; align-items: center; }
.sc-size { width: 90px; }
.sc-now { display: inline-block; width: 28px; height: 28px; border: 2px solid var(--body-text-color);
  border-radius: 50%; box-shadow: inset 0 0 0 2px white; }
.sc-stage { position: relative; width: fit-content; max-width: 100%; margin: 0 auto; }
.sc-picture { display: block; user-select: none; box-shadow: 0 0 0 1px var(--border-color-primary); }
.sc-overlay { position: absolute; left: 0; top: 0; touch-action: none; cursor: crosshair; }
.sc-empty { min-height: 320px; min-width: 320px; display: flex; align-items: center; justify-content: center;
  text-align: center; padding: 24px; border: 2px dashed var(--border-color-primary); border-radius: var(--radius-lg);
  color: var(--body-text-color-subdued); }
.sc-stage.sc-drop .sc-empty, .sc-stage.sc-drop .sc-picture { outline: 3px solid var(--color-accent); }
.sc-count { margin-top: 6px; color: var(--body-text-color-subdued); }
"""

CANVAS_JS = """\
const shared = (window.sketchcolor = window.sketchcolor || {});
if (!shared.color) shared.color = props.default_color;
const panel = element.querySelector('.sc-panel');
const stage = element.querySelector('.sc-stage');
const img = element.querySelector('.sc-picture');
const overlay = element.querySelector('.sc-overlay');
const empty = element.querySelector('.sc-empty');
const sizeInput = element.querySelector('.sc-size');
const now = element.querySelector('.sc-now');
const count = element.querySelector('.sc-count');
const ctx = overlay.getContext('2d');
let tool = 'paint', strokes = [], points = [], asked = null, drawing = null, pressed = null;

const pictureSize = () => [Number(props.picture_width) || 0, Number(props.picture_height) || 0];
const hasPicture = () => Boolean(props.picture_url) && pictureSize()[0] > 0;
const copy = (s) => ({color: s.color, size: s.size, points: s.points.map((p) => [p[0], p[1]])});
const round1 = (v) => Math.round(v * 10) / 10;

// The picture fills the panel's width (small pictures are scaled up too), at most 620 px high.
function fit() {
  if (hasPicture()) {
    const [w, h] = pictureSize();
    const scale = Math.min(panel.clientWidth / w, 620 / h);
    img.style.width = Math.max(1, Math.floor(w * scale)) + 'px';
    img.style.height = Math.max(1, Math.floor(h * scale)) + 'px';
  }
  const ratio = window.devicePixelRatio || 1;
  overlay.style.width = img.clientWidth + 'px';
  overlay.style.height = img.clientHeight + 'px';
  overlay.width = Math.max(1, Math.round(img.clientWidth * ratio));
  overlay.height = Math.max(1, Math.round(img.clientHeight * ratio));
  redraw();
}
// One CSS pixel in picture pixels, and a pointer event's position in picture pixels (kept inside the picture).
function cssPixel() { return pictureSize()[0] / Math.max(1, overlay.getBoundingClientRect().width); }
function toPicture(event) {
  const rect = overlay.getBoundingClientRect();
  const [w, h] = pictureSize();
  const x = (event.clientX - rect.left) * w / rect.width, y = (event.clientY - rect.top) * h / rect.height;
  return [round1(Math.min(w - 0.05, Math.max(0, x))), round1(Math.min(h - 0.05, Math.max(0, y)))];
}
function pathOf(stroke) {
  const p = stroke.points;
  ctx.strokeStyle = ctx.fillStyle = stroke.color;
  ctx.lineWidth = stroke.size;
  ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath();
  if (p.length === 1) { ctx.arc(p[0][0], p[0][1], stroke.size / 2, 0, 2 * Math.PI); ctx.fill(); return; }
  ctx.moveTo(p[0][0], p[0][1]);
  for (let i = 1; i < p.length; i++) ctx.lineTo(p[i][0], p[i][1]);
  ctx.stroke();
}
function disc(x, y, r, color) { ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fillStyle = color; ctx.fill(); }
function pointMarker(x, y, u, color) {
  disc(x, y, 9 * u, 'white');
  disc(x, y, 7.5 * u, 'black');
  disc(x, y, 6 * u, color);
}
function askedMarker(x, y, u) {
  for (const [color, width] of [['white', 4 * u], ['black', 2 * u]]) {
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.setLineDash([]);
    ctx.beginPath(); ctx.arc(x, y, 11 * u, 0, 2 * Math.PI);
    ctx.moveTo(x - 17 * u, y); ctx.lineTo(x - 5 * u, y); ctx.moveTo(x + 5 * u, y); ctx.lineTo(x + 17 * u, y);
    ctx.moveTo(x, y - 17 * u); ctx.lineTo(x, y - 5 * u); ctx.moveTo(x, y + 5 * u); ctx.lineTo(x, y + 17 * u);
    ctx.stroke();
  }
}
function redraw() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, overlay.width, overlay.height);
  if (!hasPicture()) return;
  const k = overlay.width / pictureSize()[0];
  ctx.setTransform(k, 0, 0, k, 0, 0);
  strokes.forEach(pathOf);
  if (drawing) pathOf(drawing);
  const u = (window.devicePixelRatio || 1) / k;
  points.forEach(([x, y, color]) => pointMarker(x + 0.5, y + 0.5, u, color));
  if (asked) askedMarker(asked[0] + 0.5, asked[1] + 0.5, u);
}
function showCount() {
  count.textContent = hasPicture() ? `${strokes.length} stroke${strokes.length === 1 ? '' : 's'} on the picture` : '';
}
// Strokes live in the value; setting it sends a change event, so "Color it" always reads every finished stroke.
function commit() {
  props.value = Object.assign({}, props.value || {}, {strokes: strokes.map(copy)});
  showCount();
}
function used(color) { document.dispatchEvent(new CustomEvent('sketchcolor:used', {detail: color})); }

overlay.addEventListener('pointerdown', (event) => {
  if (!hasPicture() || event.button !== 0) return;
  event.preventDefault();
  overlay.setPointerCapture(event.pointerId);
  const at = toPicture(event);
  if (tool === 'paint') {
    drawing = {color: shared.color, size: round1(Math.max(0.5, Number(sizeInput.value) * cssPixel())), points: [at]};
    redraw();
  } else {
    pressed = at;
  }
});
overlay.addEventListener('pointermove', (event) => {
  if (!drawing) return;
  const at = toPicture(event), last = drawing.points[drawing.points.length - 1];
  if (Math.hypot(at[0] - last[0], at[1] - last[1]) < cssPixel()) return;
  drawing.points.push(at);
  ctx.strokeStyle = drawing.color; ctx.lineWidth = drawing.size; ctx.lineCap = ctx.lineJoin = 'round';
  ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(at[0], at[1]); ctx.stroke();
});
function release() {
  if (drawing) {
    strokes.push(drawing);
    used(drawing.color);
    drawing = null;
    redraw();
    commit();
  } else if (pressed) {
    const [x, y] = pressed.map(Math.floor);
    pressed = null;
    if (tool === 'point') {
      used(shared.color);
      trigger('point', {x: x, y: y, color: shared.color});
    } else {
      asked = [x, y];
      redraw();
      trigger('suggest', {x: x, y: y});
    }
  }
}
overlay.addEventListener('pointerup', release);
overlay.addEventListener('pointercancel', release);

element.querySelectorAll('[data-tool]').forEach((button) => button.addEventListener('click', () => {
  tool = button.dataset.tool;
  element.querySelectorAll('[data-tool]').forEach((b) => b.setAttribute('aria-pressed', String(b === button)));
  overlay.style.cursor = tool === 'paint' ? 'crosshair' : 'cell';
}));
element.querySelector('.sc-undo').addEventListener('click', () => { strokes.pop(); redraw(); commit(); });
element.querySelector('.sc-clear').addEventListener('click', () => { strokes = []; redraw(); commit(); });

function showPicture() {
  points = []; asked = null; drawing = null; pressed = null;
  if (hasPicture()) {
    img.onload = fit;
    img.src = props.picture_url;
    img.hidden = false;
    empty.hidden = true;
  } else {
    img.hidden = true;
    img.removeAttribute('src');
    empty.hidden = false;
  }
  fit();
  showCount();
}
function readStrokes() {
  const value = props.value || {};
  strokes = Array.isArray(value.strokes) ? value.strokes.map(copy) : [];
  redraw();
  showCount();
}
watch(['picture_url', 'picture_width', 'picture_height'], showPicture);
watch('value', readStrokes);
new ResizeObserver(fit).observe(panel);

// Points come from the points table, the current color and the suggested spot from the other panels.
document.addEventListener('sketchcolor:points', (event) => {
  const rows = Array.isArray(event.detail) ? event.detail : ((event.detail || {}).data || []);
  points = rows.filter((r) => Array.isArray(r) && isFinite(parseFloat(r[0])) && isFinite(parseFloat(r[1])))
    .map((r) => [Math.round(parseFloat(r[0])), Math.round(parseFloat(r[1])), String(r[2] || '').trim()]);
  redraw();
});
document.addEventListener('sketchcolor:asked', (event) => {
  asked = event.detail ? [event.detail.x, event.detail.y] : null;
  redraw();
});
function showColor(color) { now.style.background = color; now.title = 'Current color ' + color; }
document.addEventListener('sketchcolor:color', (event) => showColor(event.detail));

// A dropped or pasted picture goes through the "New picture" button's own upload.
function sendToUpload(file) {
  const input = document.querySelector(props.upload_input);
  if (!input || !file) return;
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event('change', {bubbles: true}));
}
const imageIn = (list) => Array.from(list || []).find((f) => f.type.startsWith('image/'));
stage.addEventListener('dragover', (event) => { event.preventDefault(); stage.classList.add('sc-drop'); });
stage.addEventListener('dragleave', () => stage.classList.remove('sc-drop'));
stage.addEventListener('drop', (event) => {
  event.preventDefault();
  stage.classList.remove('sc-drop');
  sendToUpload(imageIn(event.dataTransfer && event.dataTransfer.files));
});
document.addEventListener('paste', (event) => {
  if (event.target.closest && event.target.closest('input, textarea, [contenteditable]')) return;
  const file = imageIn(event.clipboardData && event.clipboardData.files);
  if (file) { event.preventDefault(); sendToUpload(file); }
});

showColor(shared.color);
showPicture();
readStrokes();
"""

# The one color control: current color, a hex field, any color, the palette and the recently used colors.
COLOR_HTML = """\
<div class="sc-color">
  <div class="sc-title">Current color — for strokes and points</div>
  <div class="sc-line">
    <span class="sc-now" aria-label="Current color"></span>
    <label>Hex <input class="sc-hex" type="text" maxlength="7" spellcheck="false" autocomplete="off"
      aria-label="Current color as a hex code"></label>
    <label class="sc-any">Any color <input class="sc-picker" type="color" aria-label="Choose any color"></label>
  </div>
  <div class="sc-sub">Palette</div>
  <div class="sc-swatches sc-palette"></div>
  <div class="sc-sub">Recently used</div>
  <div class="sc-swatches sc-recent"><span class="sc-none">none yet</span></div>
</div>
"""

SWATCH_CSS = """\
.sc-title { font-weight: 600; margin-bottom: 6px; }
.sc-sub { margin: 8px 0 4px; font-size: var(--text-sm); color: var(--body-text-color-subdued); }
.sc-line { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; }
.sc-line label { display: inline-flex; gap: 6px; align-items: center; }
.sc-hex { width: 6.5em; font-family: var(--font-mono); padding: 3px 6px; border-radius: var(--radius-sm);
  border: 1px solid var(--border-color-primary); background: var(--input-background-fill);
  color: var(--body-text-color); }
.sc-hex.sc-bad { border-color: var(--error-border-color, #d33); outline: 2px solid var(--error-border-color, #d33); }
.sc-picker { width: 36px; height: 28px; padding: 0; border: 0; background: none; cursor: pointer; }
.sc-now { display: inline-block; width: 36px; height: 36px; border: 2px solid var(--body-text-color);
  border-radius: 50%; box-shadow: inset 0 0 0 2px white; }
.sc-swatches { display: flex; flex-wrap: wrap; gap: 6px; min-height: 30px; align-items: flex-start; }
.sc-swatch { width: 28px; height: 28px; padding: 0; border: 1px solid #555; border-radius: 6px; cursor: pointer; }
.sc-swatch[aria-pressed="true"] { outline: 3px solid var(--color-accent); outline-offset: 1px; }
.sc-none { color: var(--body-text-color-subdued); font-size: var(--text-sm); }
.sc-choice { display: inline-flex; flex-direction: column; align-items: center; gap: 2px; padding: 4px;
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-md); cursor: pointer;
  background: var(--background-fill-primary); color: var(--body-text-color); }
.sc-choice:hover { border-color: var(--color-accent); }
.sc-chip { display: block; width: 40px; height: 28px; border: 1px solid #555; border-radius: 4px; }
.sc-prob { font-weight: 600; }
.sc-code { font-family: var(--font-mono); font-size: var(--text-xs); }
"""

COLOR_JS = """\
const shared = (window.sketchcolor = window.sketchcolor || {});
const now = element.querySelector('.sc-now');
const hex = element.querySelector('.sc-hex');
const picker = element.querySelector('.sc-picker');
const recentRow = element.querySelector('.sc-recent');
let recent = [];

function norm(text) {
  let t = String(text || '').trim().toLowerCase();
  if (!t.startsWith('#')) t = '#' + t;
  if (/^#[0-9a-f]{3}$/.test(t)) t = '#' + t[1] + t[1] + t[2] + t[2] + t[3] + t[3];
  return /^#[0-9a-f]{6}$/.test(t) ? t : null;
}
function swatch(color) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'sc-swatch';
  b.style.background = color;
  b.title = color;
  b.dataset.color = color;
  b.setAttribute('aria-label', color);
  b.addEventListener('click', () => choose(color));
  return b;
}
function show(color) {
  now.style.background = color;
  now.title = color;
  if (document.activeElement !== hex) hex.value = color;
  hex.classList.remove('sc-bad');
  picker.value = color;
  element.querySelectorAll('.sc-swatch').forEach((b) => {
    b.setAttribute('aria-pressed', String(b.dataset.color === color));
  });
}
function choose(text) {
  const color = norm(text);
  if (!color) return false;
  shared.color = color;
  show(color);
  if (props.value !== color) props.value = color;
  document.dispatchEvent(new CustomEvent('sketchcolor:color', {detail: color}));
  return true;
}
function remember(color) {
  color = norm(color);
  if (!color) return;
  recent = [color].concat(recent.filter((c) => c !== color)).slice(0, 8);
  recentRow.replaceChildren(...recent.map(swatch));
  show(shared.color);
}
(props.palette || []).forEach((color) => element.querySelector('.sc-palette').appendChild(swatch(color)));
// A full code takes effect while typing; a short one (#rgb) on Enter; anything else is marked and reverted on leave.
hex.addEventListener('input', () => {
  const text = hex.value.trim();
  if (/^#?[0-9a-f]{6}$/i.test(text)) choose(text);
  else hex.classList.toggle('sc-bad', text.replace('#', '').length >= 6);
});
hex.addEventListener('change', () => { if (!choose(hex.value)) hex.classList.add('sc-bad'); });
hex.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !choose(hex.value)) hex.classList.add('sc-bad');
});
hex.addEventListener('blur', () => show(shared.color));
picker.addEventListener('input', () => choose(picker.value));
document.addEventListener('sketchcolor:set-color', (event) => choose(event.detail));
document.addEventListener('sketchcolor:used', (event) => remember(event.detail));
watch('value', () => { if (norm(props.value) && norm(props.value) !== shared.color) choose(props.value); });
choose(props.value || shared.color);
"""

# Suggested colors at a clicked spot: a labelled row of clickable swatches with their probabilities.
SUGGESTIONS_HTML = """\
<div class="sc-suggestions">
  <div class="sc-title">Suggested colors</div>
  <div class="sc-sub sc-label"></div>
  <div class="sc-swatches sc-row"></div>
</div>
"""

SUGGESTIONS_JS = """\
const label = element.querySelector('.sc-label');
const row = element.querySelector('.sc-row');
function render() {
  const value = props.value || {};
  const colors = Array.isArray(value.colors) ? value.colors : [];
  row.replaceChildren();
  if (!colors.length) {
    label.textContent = 'Choose “Suggest colors” above the picture and click a spot: the model’s most probable '
      + 'colors there show up here.';
    document.dispatchEvent(new CustomEvent('sketchcolor:asked', {detail: null}));
    return;
  }
  label.textContent = `At (${value.x}, ${value.y}), most probable first, with the model’s probability: click one `
    + 'to make it the current color and place a point there.';
  for (const [color, probability] of colors) {
    const percent = Math.round(100 * probability) + '%';
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'sc-choice';
    b.dataset.color = color;
    b.title = `${color}: ${percent}`;
    b.setAttribute('aria-label', `${color}, probability ${percent}`);
    const chip = document.createElement('span');
    chip.className = 'sc-chip';
    chip.style.background = color;
    const prob = document.createElement('span');
    prob.className = 'sc-prob';
    prob.textContent = percent;
    const code = document.createElement('span');
    code.className = 'sc-code';
    code.textContent = color;
    b.append(chip, prob, code);
    b.addEventListener('click', () => {
      document.dispatchEvent(new CustomEvent('sketchcolor:set-color', {detail: color}));
      document.dispatchEvent(new CustomEvent('sketchcolor:used', {detail: color}));
      trigger('pick', {x: value.x, y: value.y, color: color});
    });
    row.appendChild(b);
  }
  document.dispatchEvent(new CustomEvent('sketchcolor:asked', {detail: {x: value.x, y: value.y}}));
}
watch('value', render);
render();
"""

# The points table's rows, handed to the picture panel for its markers (in the browser, no server round trip).
POINTS_TO_CANVAS_JS = "(rows) => { document.dispatchEvent(new CustomEvent('sketchcolor:points', {detail: rows})); }"


def build_demo(
    colorizer: Any,
    *,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    max_pixels: int | None = PAGE_MAX_PIXELS,
    examples: Iterable[str | os.PathLike] | None = None,
    concurrency_limit: int = DEFAULT_CONCURRENCY,
    max_queue: int = DEFAULT_MAX_QUEUE,
) -> "gr.Blocks":
    """The page as a ``gr.Blocks`` (queued, not launched).

    colorizer: a :class:`sketchcolor.pipeline.Colorizer` (or any object with its ``colorize``, taking
    ``gap_closing``, and ``suggest_colors``). max_upload_mb: largest accepted upload, recorded as the Blocks'
    ``max_file_size`` (:func:`launch` passes it on, since ``Blocks.launch`` resets it). max_pixels: larger pictures
    are refused with a message. examples: picture files offered as examples.

    The public API endpoint is ``/colorize``: (image-editor value ``{"background", "layers", "composite"}``, points
    table, mode, cleanup, shading, gap closing, palette text, color reference, variations) -> (result, L estimate,
    flats, PNG file, .ora file, .psd file, status text). The inputs after cleanup may be left out, so older clients
    keep working: shading False, gap closing the colorizer's own, palette "" (none), reference None (a file, e.g.
    ``gradio_client.handle_file(path)``), variations 1. The endpoint returns one coloring, so variations above 1 are
    refused there (its outputs stay the seven above); the page shows them in a gallery.
    """
    gr = _gradio()

    example_paths = [str(p) for p in (examples or [])]
    scratch = ScratchDir()
    gap_default = default_gap_closing(colorizer)
    # Props of the picture panel that every update must repeat (an update replaces all of them).
    canvas_props = {"default_color": PALETTE[0], "upload_input": "#sketchcolor-picture-tools input[type=file]"}

    def picture_size(picture_u8) -> tuple[int, int]:
        height, width = np.asarray(picture_u8).shape[:2]
        return width, height

    def load_picture(path):
        picture_u8 = load_picture_file(path, max_pixels=max_pixels)
        width, height = picture_size(picture_u8)
        # A fresh token makes the value differ from the last picture's, so its change event always fires.
        canvas_update = gr.HTML(value={"picture": uuid.uuid4().hex[:12], "strokes": []},
                                picture_url=picture_data_url(picture_u8),
                                picture_width=width, picture_height=height, **canvas_props)
        # A new picture starts clean: no strokes, points, suggestions or results of the previous one.
        return (picture_u8, canvas_update, [], None, None, None, None, None, None, None,
                f"Loaded a {width}×{height} picture.", gr.update(value=None, visible=False))

    def clicked_at(picture_u8, evt) -> tuple[int, int, dict]:
        """The pixel a click event names (sent by the browser, so checked) and the event's data."""
        if picture_u8 is None:
            raise ImageError(NO_PICTURE)
        data = evt._data if isinstance(evt._data, dict) else {}
        x, y = data.get("x"), data.get("y")
        if not (_finite_number(x) and _finite_number(y)):
            raise HintError(f"a click must name a pixel with x and y numbers, got {x!r}, {y!r}")
        width, height = picture_size(picture_u8)
        x, y = round(x), round(y)
        if not (0 <= x < width and 0 <= y < height):
            raise HintError(f"the point ({x}, {y}) is outside the {width}×{height} picture")
        return x, y, data

    def clicked_point(picture_u8, points, evt: gr.EventData):
        x, y, data = clicked_at(picture_u8, evt)
        width, height = picture_size(picture_u8)
        return add_point(points, x, y, data.get("color"), width=width, height=height)

    def suggest(picture_u8, strokes_value, points, mode, evt: gr.EventData):
        x, y, _ = clicked_at(picture_u8, evt)
        stroke_hints, point_hints = page_hints(picture_u8, strokes_value, points)
        suggestions = suggest_at(colorizer, picture_u8, stroke_hints + point_hints, x, y, mode)
        return {"x": x, "y": y, "colors": [[color, round(float(p), 4)] for color, p in suggestions]}

    def run(picture_u8, strokes_value, points, mode, cleanup, shading, gap, palette_text, reference_path, variations,
            keep_colors=False, last_flat=None, progress=gr.Progress()):
        stroke_hints, point_hints = page_hints(picture_u8, strokes_value, points)
        hints = stroke_hints + point_hints
        progress(0.05, desc=f"Coloring the picture with {_plural(len(hints), 'hint')}")
        results, status = colorize_page(colorizer, picture_u8, hints, mode, cleanup, shading, gap, palette_text,
                                        reference_path, variations, max_pixels=max_pixels,
                                        previous=last_flat if keep_colors else None)
        result = results[0]
        flat_u8 = np.asarray(result.flat.convert("RGB"))
        out_dir = scratch.new_run()
        png_path = save_png(result, out_dir)
        gallery_pictures = variations_gallery(results)
        # The picture first; the layered files take a while longer and follow.
        yield (png_path, np.asarray(result.l_estimate.convert("L")), flat_u8,
               png_path, None, None, status + " Writing the layered files…",
               gr.update(value=gallery_pictures, visible=gallery_pictures is not None), flat_u8)
        progress(0.8, desc="Writing the layered files")
        ora_path, psd_path = save_layered(result, out_dir)
        yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), ora_path, psd_path, status, gr.skip(), gr.skip()

    def run_api(editor, points, mode, cleanup, shading=False, gap=None, palette_text="", reference_path=None,
                variations=1):
        picture_u8 = picture_from_editor(editor, max_pixels=max_pixels)
        hints = hints_from_editor(editor) + points_to_hints(points)
        if check_variations(variations) > 1:
            raise ConfigError(API_ONE_COLORING)
        (result,), status = colorize_page(colorizer, picture_u8, hints, mode, cleanup, shading,
                                          gap_default if gap is None else gap, palette_text, reference_path,
                                          max_pixels=max_pixels)
        out_dir = scratch.new_run()
        png_path, (ora_path, psd_path) = save_png(result, out_dir), save_layered(result, out_dir)
        return (np.asarray(result.image.convert("RGB")), np.asarray(result.l_estimate.convert("L")),
                np.asarray(result.flat.convert("RGB")), png_path, ora_path, psd_path, status)

    def check_reference(path) -> None:
        load_reference(path, max_pixels=max_pixels)

    with gr.Blocks(title="sketchcolor", analytics_enabled=False, delete_cache=GRADIO_DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        picture = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row(elem_id="sketchcolor-picture-tools"):
                    new_picture = gr.UploadButton("New picture…", file_types=["image"], variant="secondary",
                                                  size="md", scale=0, min_width=180, elem_id="sketchcolor-upload")
                    # The examples' input: Gradio shows image examples as thumbnails, an upload button's not at all.
                    example_picture = gr.Image(type="filepath", visible=False, label="Example")
                canvas = gr.HTML(
                    value={"strokes": []}, html_template=CANVAS_HTML, css_template=CANVAS_CSS, js_on_load=CANVAS_JS,
                    apply_default_css=False, elem_id="sketchcolor-canvas", picture_url="", picture_width=0,
                    picture_height=0, **canvas_props,
                )
                examples_slot = gr.Column()
            with gr.Column(scale=2):
                color = gr.HTML(value=PALETTE[0], html_template=COLOR_HTML, css_template=SWATCH_CSS,
                                js_on_load=COLOR_JS, apply_default_css=False, elem_id="sketchcolor-color",
                                palette=PALETTE)
                suggestions = gr.HTML(value=None, html_template=SUGGESTIONS_HTML, css_template=SWATCH_CSS,
                                      js_on_load=SUGGESTIONS_JS, apply_default_css=False,
                                      elem_id="sketchcolor-suggestions")
                points = gr.Dataframe(
                    value=[], headers=POINT_HEADERS, datatype=["number", "number", "str"], type="array",
                    column_count=3, interactive=True, label="Color points (editable)",
                    elem_id="sketchcolor-points-table",
                )
                clear_points = gr.Button("Clear points", size="sm")
        with gr.Row():
            mode = gr.Radio(MODE_CHOICES, value="auto", label="Picture kind")
            cleanup = gr.Checkbox(False, label="Flat-region cleanup (one color per closed region)")
            shading = gr.Checkbox(False, label="Keep the estimated shading (line art)")
            gap = gr.Slider(0.0, max(GAP_SLIDER_MAX, gap_default), value=gap_default, step=0.001,
                            label="Close gaps in lines up to",
                            info="a fraction of the picture's long side (0: only closed outlines)",
                            elem_id="sketchcolor-gap")
        # Other sources of color than the hints (which still apply); closed, so the page stays tidy.
        with gr.Accordion("Colors from… a reference picture, a palette, or variations to choose from", open=False,
                          elem_id="sketchcolor-colors-from"):
            with gr.Row(equal_height=False):
                # A file path, not pixels: load_reference checks the size from the header before decoding.
                reference = gr.Image(type="filepath", image_mode=None, sources=["upload"],
                                     label="Color reference (optional)", height=180, scale=1,
                                     elem_id="sketchcolor-reference")
                with gr.Column(scale=2):
                    palette = gr.Textbox("", label="Palette (optional)", placeholder=PALETTE_PLACEHOLDER,
                                         info="hex codes separated by commas, spaces or new lines; every region "
                                              "takes one of them (a palette or a reference, not both)",
                                         elem_id="sketchcolor-palette")
                    variations = gr.Slider(1, MAX_VARIATIONS, value=1, step=1, precision=0, label="Variations",
                                           info="more than 1: colorings to choose from, in a gallery below the "
                                                "result (on line art every other one also colors shapes left open "
                                                "to the page); without a palette or a reference",
                                           elem_id="sketchcolor-variations")
                    keep_colors = gr.Checkbox(False, label="Keep the last picture's colors",
                                              info="for the next page or frame of a batch: the picture colored "
                                                   "last is the reference (an uploaded one comes first)",
                                              elem_id="sketchcolor-keep-colors")
        with gr.Row(equal_height=True):
            run_button = gr.Button("Color it", variant="primary", scale=0, min_width=160, elem_id="sketchcolor-run")
            hint_count = gr.Markdown(hint_summary(None, None, None), elem_id="sketchcolor-hint-count")
        status = gr.Markdown("", elem_id="sketchcolor-status")
        with gr.Row():
            result = gr.Image(label="Colored", type="numpy", format="png", interactive=False, height=400,
                              elem_id="sketchcolor-result")
            l_estimate = gr.Image(label="Lightness (L estimate)", type="numpy", format="png", interactive=False,
                                  image_mode="L", height=400)
            flat = gr.Image(label="Flat colors", type="numpy", format="png", interactive=False, height=400)
        with gr.Row():
            png_file = gr.File(label="Download PNG", interactive=False, height=90, elem_id="sketchcolor-png")
            ora_file = gr.File(label="Download layers (OpenRaster .ora: Krita, GIMP, MyPaint)", interactive=False,
                               height=90, elem_id="sketchcolor-ora")
            psd_file = gr.File(label="Download layers (Photoshop .psd)", interactive=False, height=90,
                               elem_id="sketchcolor-psd")
        gallery = gr.Gallery(label="Variations (the first is the one above and in the downloads)", format="png",
                             columns=4, height="auto", visible=False, interactive=False,
                             elem_id="sketchcolor-variations-gallery")
        # The API takes an image-editor value, as the page did before it painted in the browser; never shown.
        with gr.Column(visible=False):
            api_editor = gr.ImageEditor(type="numpy", image_mode="RGBA", format="png", label="Picture and strokes")
            api_trigger = gr.Button("colorize")

        outputs = [result, l_estimate, flat, png_file, ora_file, psd_file, status]
        # The page also shows the variations; the API keeps its seven outputs.
        page_outputs = [*outputs, gallery]
        load_outputs = [picture, canvas, points, suggestions, *page_outputs]
        colors_from = [palette, reference, variations]
        private = {"api_visibility": "private"}
        new_picture.upload(for_people(load_picture), [new_picture], load_outputs, **private)
        if example_paths:
            with examples_slot:
                # Picking an example is a new picture, like an upload.
                gr.Examples(
                    examples=[[p] for p in example_paths],
                    example_labels=[Path(p).stem for p in example_paths],
                    inputs=[example_picture],
                    outputs=load_outputs,
                    fn=for_people(load_picture),
                    run_on_click=True,
                    cache_examples=False,
                    label="Examples",
                    api_visibility="private",
                )
        gr.on([canvas.change, points.change], for_people(hint_summary), [picture, canvas, points], [hint_count],
              show_progress="hidden", **private)
        points.change(None, [points], None, js=POINTS_TO_CANVAS_JS, **private)
        canvas.point(for_people(clicked_point), [picture, points], [points], show_progress="hidden", **private)
        suggestions.pick(for_people(clicked_point), [picture, points], [points], show_progress="hidden", **private)
        # Suggestions and runs both call the model: one concurrency limit covers them together.
        canvas.suggest(for_people(suggest), [picture, canvas, points, mode], [suggestions], concurrency_id="model",
                       show_progress="minimal", **private)
        clear_points.click(lambda: [], None, [points], **private)
        # A bad reference is said as soon as it is uploaded, not only at "Color it".
        reference.upload(for_people(check_reference), [reference], None, show_progress="hidden", **private)
        # The last picture's flats outlive a new picture: the next page or frame may follow them.
        last_flat = gr.State(None)
        run_button.click(for_people(run), [picture, canvas, points, mode, cleanup, shading, gap, *colors_from,
                                           keep_colors, last_flat],
                         [*page_outputs, last_flat], concurrency_id="model", trigger_mode="once", **private)
        # New inputs go at the end, with defaults, so older API clients keep working.
        api_trigger.click(for_people(run_api), [api_editor, points, mode, cleanup, shading, gap, *colors_from],
                          outputs, api_name="colorize", concurrency_id="model")
    demo.queue(default_concurrency_limit=concurrency_limit, max_size=max_queue)
    # Gradio's own attribute for the upload limit (checked in the browser and by the upload route).
    demo.max_file_size = None if max_upload_mb is None else int(max_upload_mb * 1024 * 1024)
    return demo


def launch(
    colorizer: Any,
    host: str = "127.0.0.1",
    port: int = 7860,
    *,
    examples: Iterable[str | os.PathLike] | None = None,
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
    max_pixels: int | None = PAGE_MAX_PIXELS,
    concurrency_limit: int = DEFAULT_CONCURRENCY,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> "gr.Blocks":
    """Build the page and serve it at http://host:port (loopback unless asked otherwise; never a public share link).

    With ``prevent_thread_lock`` the server runs in the background and the caller must ``close()`` the returned
    Blocks; otherwise this blocks until interrupted.
    """
    example_paths = [Path(p).resolve() for p in (examples or [])]
    demo = build_demo(colorizer, max_upload_mb=max_upload_mb, max_pixels=max_pixels, examples=example_paths,
                      concurrency_limit=concurrency_limit)
    demo.launch(
        server_name=host,
        server_port=int(port),
        share=False,
        max_file_size=demo.max_file_size,
        allowed_paths=sorted({str(p.parent) for p in example_paths}),
        prevent_thread_lock=prevent_thread_lock,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        footer_links=["api"],
    )
    return demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sketchcolor demo",
        description="Serve the sketchcolor page for artists (Gradio) on this machine.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: the network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="checkpoint folder (default: the bundled weights)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when available")
    parser.add_argument("--examples", metavar="DIR", default=None,
                        help=f"folder of example pictures (default: {REPO_EXAMPLES} when it exists)")
    parser.add_argument("--max-upload-mb", type=float, default=DEFAULT_MAX_UPLOAD_MB,
                        help=f"largest accepted upload in MB (default {DEFAULT_MAX_UPLOAD_MB})")
    parser.add_argument("--max-pixels", type=int, default=PAGE_MAX_PIXELS,
                        help=f"largest accepted picture in pixels (default {PAGE_MAX_PIXELS})")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                        help=f"pictures colored at once; more requests wait in a queue (default {DEFAULT_CONCURRENCY})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """`sketchcolor demo [--host H] [--port P] [--checkpoint PATH] ...`: load the model and serve the page.

    Bad options raise ConfigError, a bad checkpoint CheckpointError (the CLI prints them on one line).
    """
    args = build_parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_upload_mb <= 0 or args.max_pixels <= 0 or args.concurrency < 1:
        raise ConfigError("--max-upload-mb and --max-pixels must be positive and --concurrency at least 1")
    if args.examples is not None and not Path(args.examples).is_dir():
        raise ConfigError(f"--examples {args.examples}: not a folder")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Imported late: torch and the nets are only needed once the options are known to be good.
    from sketchcolor.pipeline import Colorizer

    colorizer = Colorizer.from_pretrained(args.checkpoint, device=args.device)
    examples = find_examples(args.examples if args.examples is not None else REPO_EXAMPLES)
    log.info("serving the sketchcolor page at http://%s:%d with %d examples", args.host, args.port, len(examples))
    launch(colorizer, args.host, args.port, examples=examples, max_upload_mb=args.max_upload_mb,
           max_pixels=args.max_pixels, concurrency_limit=args.concurrency)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
