"""Contact sheet of the real drawings in ../shared/realworld: input, automatic colors, and with a few hints
(or, with ``--variations K``, input and K automatic variations; with ``--palette``, input, automatic colors and
the palette lock without hints).

The hints are what an artist's first clicks would be: one in each of the largest shapes that are not paper (at the
point deepest inside it), colors from a fixed palette in turn. Every run draws the same picture.

    python tools/realworld_sheet.py --out docs/realworld.jpg
    python tools/realworld_sheet.py --out runs/realworld-rough.png --only rough --panel 256
    python tools/realworld_sheet.py --out runs/realworld-palette.png --palette "#e8b04a,#4a7fd4,#d9534f"
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
REALWORLD = ROOT.parent / "shared" / "realworld"
PALETTE = ["#e8b04a", "#4a7fd4", "#d9534f", "#5cb85c", "#9b6ad6", "#f2a3c0"]


def first_clicks(result, count: int) -> list[str]:
    """Hints 'X,Y,#hex' at the deepest point of the ``count`` largest non-paper regions of an automatic result."""
    labels = result.labels
    if labels is None or labels.max() == 0:
        return []
    shapes = np.where(result.page, 0, labels)
    sizes = np.bincount(shapes.ravel())
    sizes[0] = 0
    order = [int(i) for i in np.argsort(sizes)[::-1][:count] if sizes[i] > 0]
    hints = []
    for number, region in enumerate(order):
        inside = shapes == region
        depth = ndimage.distance_transform_edt(inside)
        y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
        hints.append(f"{x},{y},{PALETTE[number % len(PALETTE)]}")
    return hints


def panel(image: Image.Image, size: int, hints: list[str] = (), scale: float = 1.0) -> Image.Image:
    tile = Image.new("RGB", (size, size), "white")
    picture = image.convert("RGB")
    factor = size / max(picture.size)
    picture = picture.resize((max(1, round(picture.width * factor)), max(1, round(picture.height * factor))),
                             Image.LANCZOS)
    offset = ((size - picture.width) // 2, (size - picture.height) // 2)
    tile.paste(picture, offset)
    draw = ImageDraw.Draw(tile)
    for hint in hints:
        x, y, color = hint.split(",")
        cx, cy = offset[0] + float(x) * factor, offset[1] + float(y) * factor
        draw.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=color, outline="black")
    return tile


def swatches(tile: Image.Image, palette: np.ndarray) -> Image.Image:
    """The tile with the palette as a row of small squares along its bottom edge."""
    draw = ImageDraw.Draw(tile)
    side = max(4, tile.width // 24)
    for number, rgb in enumerate(palette):
        x0, y0 = 2 + number * (side + 1), tile.height - side - 2
        draw.rectangle([x0, y0, x0 + side, y0 + side], fill=tuple(int(c) for c in rgb), outline="black")
    return tile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the sheet (.png or .jpg)")
    parser.add_argument("--only", default="", help="comma-separated folders or file-name parts to keep")
    parser.add_argument("--panel", type=int, default=160, help="panel side in pixels")
    parser.add_argument("--per-row", type=int, default=3, help="drawings per row")
    parser.add_argument("--hints", type=int, default=4, help="clicks in the largest shapes")
    parser.add_argument("--variations", type=int, default=0, metavar="K",
                        help="show K automatic variations (colorize_variations, seed 0) instead of auto and hinted")
    parser.add_argument("--palette", default=None, metavar="HEXES",
                        help="show the lock to this palette (comma-separated colors) instead of the hinted panel")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the bundled weights)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a pipeline setting")
    args = parser.parse_args(argv)

    from sketchcolor.models.configs import parse_overrides
    from sketchcolor.palette import read_palette
    from sketchcolor.pipeline import Colorizer

    palette = read_palette(args.palette) if args.palette else None
    colorizer = Colorizer.from_pretrained(args.checkpoint, config=parse_overrides(args.set))
    keep = [k for k in args.only.split(",") if k]
    files = sorted(p for p in REALWORLD.glob("*/*.png") if not p.stem.endswith("_flats"))
    files = [p for p in files if not keep or any(k in str(p.relative_to(REALWORLD)) for k in keep)]
    tiles = []
    started = time.perf_counter()
    for path in files:
        if args.variations:
            results = colorizer.colorize_variations(path, args.variations, mode="sketch")
            tiles.append([panel(Image.open(path), args.panel), *(panel(r.image, args.panel) for r in results)])
            continue
        auto = colorizer.colorize(path, mode="sketch")
        if args.palette:
            locked = colorizer.colorize(path, mode="sketch", palette=palette)
            tiles.append([panel(Image.open(path), args.panel), panel(auto.image, args.panel),
                          swatches(panel(locked.image, args.panel), palette)])
            continue
        hints = first_clicks(auto, args.hints)
        hinted = colorizer.colorize(path, hints=hints, mode="sketch")
        tiles.append([panel(Image.open(path), args.panel), panel(auto.image, args.panel),
                      panel(hinted.image, args.panel, hints)])
    size, gap = args.panel, 4
    per_row = max(1, args.per_row)
    rows = -(-len(tiles) // per_row)
    label_h = 14
    width = len(tiles[0]) * size if tiles else 3 * size  # panels per drawing
    sheet = Image.new("RGB", (per_row * (width + gap) - gap, rows * (size + label_h)), (235, 235, 235))
    draw = ImageDraw.Draw(sheet)
    for index, (path, row) in enumerate(zip(files, tiles)):
        x0 = (index % per_row) * (width + gap)
        y0 = (index // per_row) * (size + label_h)
        draw.text((x0 + 2, y0 + 1), f"{path.parent.name}/{path.stem}"[: width // 6], fill="black")
        for column, tile in enumerate(row):
            sheet.paste(tile, (x0 + column * size, y0 + label_h))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=85) if args.out.suffix.lower() in (".jpg", ".jpeg") else sheet.save(args.out)
    print(f"{len(files)} drawings in {time.perf_counter() - started:.1f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
