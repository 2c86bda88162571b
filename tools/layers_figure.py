"""Draw the layers of one colored picture side by side, for the README:

    python tools/layers_figure.py examples/robot-lines.png --hints examples/robot-hints.json --out docs/layers.png

Colors the picture with the bundled model (or ``--checkpoint``), then shows every layer that
:func:`sketchcolor.layers.result_layers` writes, top first, each over a checkerboard (so transparency shows) with
its name, blend mode and whether it is shown, and last the flattened picture.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from sketchcolor import Colorizer
from sketchcolor.hints import load_hints_json
from sketchcolor.layers import Layer, LayerGroup, result_layers

PANEL = 220
LABEL = 34


def checkerboard(size: int, cell: int = 10) -> Image.Image:
    board = Image.new("RGB", (size, size), (236, 236, 236))
    draw = ImageDraw.Draw(board)
    for y in range(0, size, cell):
        for x in range((y // cell) % 2 * cell, size, 2 * cell):
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=(206, 206, 206))
    return board


def panel(picture_size: tuple[int, int], layer: Layer | None, merged: Image.Image | None, caption: str) -> Image.Image:
    width, height = picture_size
    scale = PANEL / max(width, height)
    canvas = Image.new("RGBA", picture_size, (0, 0, 0, 0))
    if layer is not None:
        canvas.paste(layer.image, (layer.left, layer.top))
    else:
        canvas = merged.convert("RGBA")
    small = canvas.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.LANCZOS)
    out = Image.new("RGB", (PANEL, PANEL + LABEL), "white")
    board = checkerboard(PANEL)
    board.paste(small, ((PANEL - small.width) // 2, (PANEL - small.height) // 2), small)
    out.paste(board, (0, 0))
    ImageDraw.Draw(out).multiline_text((6, PANEL + 3), caption, fill=(20, 20, 20), spacing=2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/layers_figure.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("picture", type=Path)
    parser.add_argument("--hints", type=Path, help="hints JSON")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the bundled weights)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    hints = load_hints_json(args.hints) if args.hints else []
    result = Colorizer.from_pretrained(args.checkpoint).colorize(args.picture, hints=hints)
    panels = []
    for entry in reversed(list(result_layers(result))):  # top first
        if isinstance(entry, LayerGroup):
            continue
        state = "shown" if entry.visible else "hidden"
        panels.append(panel(result.image.size, entry, None, f"{entry.name}\n{entry.blend}, {state}"))
    panels.append(panel(result.image.size, None, result.image, "the file's flattened picture\n(= the PNG result)"))
    columns = 4
    rows = -(-len(panels) // columns)
    sheet = Image.new("RGB", (columns * PANEL + (columns - 1) * 8, rows * (PANEL + LABEL) + (rows - 1) * 8), "white")
    for i, image in enumerate(panels):
        sheet.paste(image, ((i % columns) * (PANEL + 8), (i // columns) * (PANEL + LABEL + 8)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"{len(panels)} panels written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
