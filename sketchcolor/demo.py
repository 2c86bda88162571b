"""The Gradio page for artists (`sketchcolor demo`): upload, paint strokes or click points, color, download.

The page is a thin shell over :class:`sketchcolor.pipeline.Colorizer`. Its callbacks are plain module functions
(numpy arrays and dicts in, numpy arrays and file paths out) so they can be tested without a server;
:func:`build_demo` wires them to the components and turns every error into a readable one-line message.
The layered downloads (OpenRaster and Photoshop) are written by :mod:`sketchcolor.layers`.
"""

import argparse
import atexit
import functools
import html
import logging
import math
import os
import shutil
import tempfile
import time
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

MODE_CHOICES = [("auto-detect", "auto"), ("line art / sketch", "sketch"), ("grayscale picture", "gray")]
CLICK_ADD = "add a point with the chosen color"
CLICK_SUGGEST = "suggest colors at the click"
BRUSH_COLORS = [
    "#e03020", "#f08c00", "#f5d000", "#3aa655", "#2f7fd8", "#7b4fc9",
    "#f2a5b8", "#8b5a2b", "#f1c9a5", "#808080", "#ffffff",
]
POINT_HEADERS = ["x", "y", "color"]
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


def picture_from_editor(editor: dict | None, *, max_pixels: int | None = PAGE_MAX_PIXELS) -> np.ndarray:
    """The picture under the editor's strokes: (H, W, 3) uint8, any transparency composited over white.

    editor: the ImageEditor value ``{"background", "layers", "composite"}`` with numpy images (RGBA in this page).
    """
    background = None if editor is None else editor.get("background")
    if background is None:
        raise ImageError("there is no picture yet: upload a picture or pick an example first")
    background = np.asarray(background)
    if background.ndim < 2 or background.size == 0:
        raise ImageError("the uploaded picture is empty; upload a PNG, JPEG or WebP picture")
    check_pixels(background.shape[1], background.shape[0], max_pixels)
    return np.asarray(load_image(background, max_pixels=max_pixels))


def hints_from_editor(editor: dict | None) -> list[Hint]:
    """Color strokes painted in the editor -> hints, in the background picture's pixel coordinates.

    Each layer is an (h, w, 4) uint8 RGBA array whose alpha marks the painted pixels. The editor's canvas matches
    the picture's size; should a layer differ (e.g. a canvas resized in the browser), it is scaled to the picture.
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


def draw_points(picture_u8: np.ndarray, points: Any) -> np.ndarray:
    """The picture with a marker on each point: (H, W, 3) uint8 -> (H, W, 3) uint8 (a new array).

    Markers are filled with the point's color inside a black and a white ring, so they show on any background;
    their size follows the picture's size so they stay visible when the page scales it down.
    """
    image = Image.fromarray(np.asarray(picture_u8, dtype=np.uint8)).convert("RGB")
    radius = max(5, round(min(image.size) / 50))
    draw = ImageDraw.Draw(image)
    for x, y, color in points_to_rows(points):
        draw.ellipse([x - radius - 2, y - radius - 2, x + radius + 2, y + radius + 2], fill="white")
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=color, outline="black",
                     width=max(1, radius // 4))
    return np.asarray(image)


def collect_hints(editor: dict | None, points: Any) -> list[Hint]:
    """All hints on the page: painted strokes followed by clicked points."""
    return hints_from_editor(editor) + points_to_hints(points)


def suggest_at(colorizer: Any, editor: dict | None, points: Any, x: float, y: float, mode: str = "auto", *,
               k: int = 5, max_pixels: int | None = PAGE_MAX_PIXELS) -> list[tuple[str, float]]:
    """The model's ``k`` most probable colors at pixel (x, y), given the hints already on the page.

    Returns ``[("#rrggbb", probability), ...]``, most probable first.
    """
    picture_u8 = picture_from_editor(editor, max_pixels=max_pixels)
    return colorizer.suggest_colors(picture_u8, x, y, mode=mode, hints=collect_hints(editor, points), k=k)


def suggestion_choices(suggestions: Iterable[tuple[str, float]]) -> list[tuple[str, str]]:
    """(label, value) pairs for a radio: "#e03020 · 41%" -> "#e03020"."""
    return [(f"{color} · {prob:.0%}", color) for color, prob in suggestions]


def swatches_html(suggestions: Iterable[tuple[str, float]]) -> str:
    """A row of color swatches (HTML) for the suggestions, so the artist sees the colors, not only their codes."""
    cells = [
        f'<span title="{html.escape(color)}" style="display:inline-block;width:2.2em;height:2.2em;margin:0 .3em .3em 0;'
        f'border:1px solid #444;border-radius:4px;background:{html.escape(color)}"></span>'
        for color, _ in suggestions
    ]
    return "<div>" + "".join(cells) + "</div>" if cells else ""


@dataclass(frozen=True)
class ColorizeOutputs:
    """What the page shows after a run. Images are (H, W, 3) / (H, W) uint8; paths point at downloadable files."""

    image_u8: np.ndarray
    l_estimate_u8: np.ndarray
    flat_u8: np.ndarray
    png_path: str
    ora_path: str
    psd_path: str
    mode: str
    seconds: float


def colorize_picture(colorizer: Any, editor: dict | None, points: Any, mode: str = "auto", cleanup: bool = False,
                     shading: bool = False, *, out_dir: str | os.PathLike,
                     max_pixels: int | None = PAGE_MAX_PIXELS) -> ColorizeOutputs:
    """Color the editor's picture with its strokes and the table's points; write the PNG and the layered .ora and
    .psd files to out_dir."""
    picture_u8 = picture_from_editor(editor, max_pixels=max_pixels)
    hints = collect_hints(editor, points)
    result = colorizer.colorize(picture_u8, hints=hints, mode=mode, cleanup=bool(cleanup), shading=bool(shading))
    out_dir = Path(out_dir)
    png_path = save_image(result.image, out_dir / "sketchcolor.png")
    ora_path = save_layers(result, out_dir / "sketchcolor.ora")
    psd_path = save_layers(result, out_dir / "sketchcolor.psd")
    log.info("colored a %dx%d picture (%s, %d hints) in %.2f s", picture_u8.shape[1], picture_u8.shape[0],
             result.mode, len(hints), result.seconds)
    return ColorizeOutputs(
        image_u8=np.asarray(result.image.convert("RGB")),
        l_estimate_u8=np.asarray(result.l_estimate.convert("L")),
        flat_u8=np.asarray(result.flat.convert("RGB")),
        png_path=str(png_path),
        ora_path=str(ora_path),
        psd_path=str(psd_path),
        mode=result.mode,
        seconds=float(result.seconds),
    )


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
    """Wrap a page callback: our errors become their one-line message; anything else is logged in full and the
    page shows a short generic message (no stack traces in the browser)."""
    gr = _gradio()

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except SketchcolorError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        except Exception:
            log.exception("demo callback %s failed", getattr(fn, "__name__", fn))
            raise gr.Error(GENERIC_ERROR, print_exception=False) from None

    return wrapper


def find_examples(folder: str | os.PathLike | None) -> list[Path]:
    """Picture files directly in ``folder`` (sorted by name); [] when the folder is None or missing."""
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


INTRO = """\
# sketchcolor — color your line art

**1.** Upload a line drawing or a grayscale picture (or pick an example).
**2.** Optionally paint color strokes over it, or click the picture on the right to place color points
(or to ask the model which colors it expects there). **3.** Press **Color it** and download the PNG or
the layers (lines, colors, flats, shading, closed gaps, hints) as OpenRaster for Krita, GIMP or MyPaint, or as
Photoshop.
"""


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

    colorizer: a :class:`sketchcolor.pipeline.Colorizer` (or any object with its ``colorize`` and
    ``suggest_colors``). max_upload_mb: largest accepted upload, recorded as the Blocks' ``max_file_size``
    (:func:`launch` passes it on, since ``Blocks.launch`` resets it). max_pixels: larger pictures are refused with
    a message. examples: picture files offered as examples. The public API endpoint is ``/colorize``:
    (editor value, points table, mode, cleanup, shading) -> (result, L estimate, flats, PNG file, .ora file, .psd
    file, status text).
    """
    gr = _gradio()

    example_paths = [str(p) for p in (examples or [])]
    scratch = ScratchDir()

    def load_picture(editor):
        picture_u8 = picture_from_editor(editor, max_pixels=max_pixels)
        return (picture_u8, picture_u8, [], gr.Radio(choices=[], value=None, visible=False), "", None)

    def forget_picture():
        return (None, None, [], gr.Radio(choices=[], value=None, visible=False), "", None)

    def redraw(picture_u8, points):
        if picture_u8 is None:
            return None
        return draw_points(picture_u8, points)

    def clicked(picture_u8, editor, points, color, action, mode, evt: gr.SelectData):
        if picture_u8 is None:
            raise ImageError("there is no picture yet: upload a picture or pick an example first")
        x, y = (int(v) for v in evt.index[:2])
        if action == CLICK_SUGGEST:
            suggestions = suggest_at(colorizer, editor, points, x, y, mode, max_pixels=max_pixels)
            radio = gr.Radio(choices=suggestion_choices(suggestions), value=None, visible=True,
                             label=f"Suggested colors at ({x}, {y}): pick one to place it there")
            return gr.skip(), radio, swatches_html(suggestions), [x, y]
        height, width = np.asarray(picture_u8).shape[:2]
        return add_point(points, x, y, color, width=width, height=height), gr.skip(), gr.skip(), [x, y]

    def picked(choice, last_click, picture_u8, points):
        if not choice or last_click is None or picture_u8 is None:
            return gr.skip(), gr.skip()
        height, width = np.asarray(picture_u8).shape[:2]
        color = normalize_color(choice)
        return color, add_point(points, last_click[0], last_click[1], color, width=width, height=height)

    def run(editor, points, mode, cleanup, shading):
        outputs = colorize_picture(colorizer, editor, points, mode, cleanup, shading, out_dir=scratch.new_run(),
                                   max_pixels=max_pixels)
        kind = "line art" if outputs.mode == "sketch" else "a grayscale picture"
        status = f"Colored as {kind}{' (auto-detected)' if mode == 'auto' else ''} in {outputs.seconds:.2f} s."
        return (outputs.image_u8, outputs.l_estimate_u8, outputs.flat_u8, outputs.png_path, outputs.ora_path,
                outputs.psd_path, status)

    with gr.Blocks(title="sketchcolor", analytics_enabled=False, delete_cache=GRADIO_DELETE_CACHE) as demo:
        gr.Markdown(INTRO)
        picture = gr.State(None)
        last_click = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column():
                editor = gr.ImageEditor(
                    label="Picture — paint color strokes over it",
                    type="numpy",
                    image_mode="RGBA",
                    sources=("upload", "clipboard"),
                    brush=gr.Brush(colors=BRUSH_COLORS, default_color=BRUSH_COLORS[0], default_size=8,
                                   color_mode="defaults"),
                    eraser=gr.Eraser(),
                    transforms=(),
                    layers=False,
                    # PNG keeps the uploaded picture lossless on its way back from the browser.
                    format="png",
                    height=480,
                    elem_id="sketchcolor-editor",
                )
                examples_slot = gr.Column()
            with gr.Column():
                points_view = gr.Image(
                    label="Click to place color points", type="numpy", interactive=False, format="png",
                    height=480, elem_id="sketchcolor-points",
                )
                with gr.Row():
                    color = gr.ColorPicker(value=BRUSH_COLORS[0], label="Point color", elem_id="sketchcolor-color")
                    click_action = gr.Radio([CLICK_ADD, CLICK_SUGGEST], value=CLICK_ADD, label="A click on the picture")
                swatches = gr.HTML("")
                suggestions = gr.Radio(choices=[], value=None, label="Suggested colors", visible=False,
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
            run_button = gr.Button("Color it", variant="primary", elem_id="sketchcolor-run")
        with gr.Row():
            result = gr.Image(label="Colored", type="numpy", format="png", interactive=False, height=400,
                              elem_id="sketchcolor-result")
            l_estimate = gr.Image(label="Lightness (L estimate)", type="numpy", format="png", interactive=False,
                                  image_mode="L", height=400)
            flat = gr.Image(label="Flat colors", type="numpy", format="png", interactive=False, height=400)
        status = gr.Markdown("", elem_id="sketchcolor-status")
        with gr.Row():
            png_file = gr.File(label="Download PNG", interactive=False, height=90, elem_id="sketchcolor-png")
            ora_file = gr.File(label="Download layers (OpenRaster .ora: Krita, GIMP, MyPaint)", interactive=False,
                               height=90, elem_id="sketchcolor-ora")
            psd_file = gr.File(label="Download layers (Photoshop .psd)", interactive=False, height=90,
                               elem_id="sketchcolor-psd")

        reset_outputs = [picture, points_view, points, suggestions, swatches, last_click]
        private = {"api_visibility": "private"}
        editor.upload(for_people(load_picture), [editor], reset_outputs, **private)
        editor.clear(for_people(forget_picture), None, reset_outputs, **private)
        if example_paths:
            with examples_slot:
                # Picking an example fills the editor and, like an upload, makes it the picture for points.
                gr.Examples(
                    examples=[[p] for p in example_paths],
                    example_labels=[Path(p).stem for p in example_paths],
                    inputs=[editor],
                    outputs=reset_outputs,
                    fn=for_people(load_picture),
                    run_on_click=True,
                    cache_examples=False,
                    label="Examples",
                    api_visibility="private",
                )
        points.change(for_people(redraw), [picture, points], [points_view], show_progress="hidden", **private)
        # Suggestions and runs both call the model: one concurrency limit covers them together.
        points_view.select(for_people(clicked), [picture, editor, points, color, click_action, mode],
                           [points, suggestions, swatches, last_click], concurrency_id="model", **private)
        suggestions.input(for_people(picked), [suggestions, last_click, picture, points], [color, points], **private)
        clear_points.click(lambda: [], None, [points], **private)
        run_button.click(
            for_people(run), [editor, points, mode, cleanup, shading],
            [result, l_estimate, flat, png_file, ora_file, psd_file, status],
            api_name="colorize", concurrency_id="model",
        )
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
