"""Fingerprint the pipeline's outputs, to show that a change which should change no output changes none.

    python tools/output_hashes.py --data data/openmoji/manifest.jsonl --out runs/hashes-before.json
    ... make the change ...
    python tools/output_hashes.py --data data/openmoji/manifest.jsonl --compare runs/hashes-before.json

For the first ``--limit`` pictures of ``--split`` (evaluation pages, 256²) and each of ``--sizes`` (the page
resized, so the working-size and full-resolution paths both run), both modes (line art as "sketch", the color
picture's gray as "gray"), 0 and 10 hints sampled as the evaluation samples them, and the flat-region cleanup off and
on, it records a SHA-256 of the colored picture and of every layer (L estimate, flats, lines), the mode that "auto"
detects, the model's suggested colors at the first hint, and the classical methods' pictures ("regionfill" for line
art, "levin" for gray). ``--compare`` exits 1 and names every case whose fingerprint changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from sketchcolor import Colorizer
from sketchcolor.evaluate import EvalConfig, hint_seed, load_pictures, sample_hints


def _digest(image: Image.Image) -> str:
    array = np.asarray(image)
    return hashlib.sha256(f"{image.mode}{array.shape}".encode() + array.tobytes()).hexdigest()[:16]


def _scaled(array: np.ndarray, size: int, base: int) -> Image.Image:
    image = Image.fromarray(array)
    if size == base:
        return image
    # A non-square size, so padding to the nets' size multiple runs too.
    return image.resize((size, size * 3 // 4), Image.BICUBIC)


def fingerprints(data: Path, split: str, limit: int, sizes: list[int], checkpoint: str | None) -> dict[str, str]:
    colorizer = Colorizer.from_pretrained(checkpoint, device="cpu")
    pictures, _ = load_pictures(EvalConfig(data=data, out=Path("unused"), split=split, limit=limit))
    out: dict[str, str] = {}
    for picture in pictures:
        for size in sizes:
            for mode, source in (("sketch", picture.line_u8), ("gray", picture.gray_u8)):
                image = _scaled(source, size, picture.line_u8.shape[1])
                out[f"{picture.id}/{size}/{mode}/auto-mode"] = colorizer.colorize(image).mode
                for n in (0, 10):
                    hints = sample_hints(picture.color_u8, picture.line_u8, n, hint_seed(picture.id, n))
                    factor = image.size[0] / picture.line_u8.shape[1], image.size[1] / picture.line_u8.shape[0]
                    hints = [type(h)(x=h.x * factor[0], y=h.y * factor[1], color=h.color) for h in hints]
                    for cleanup in (False, True):
                        key = f"{picture.id}/{size}/{mode}/{n}/{'cleanup' if cleanup else 'plain'}"
                        result = colorizer.colorize(image, hints=hints, mode=mode, cleanup=cleanup)
                        for layer in ("image", "l_estimate", "flat", "lines"):
                            out[f"{key}/{layer}"] = _digest(getattr(result, layer))
                    if hints:
                        method = "regionfill" if mode == "sketch" else "levin"
                        classical = colorizer.colorize(image, hints=hints, mode=mode, method=method)
                        out[f"{picture.id}/{size}/{mode}/{n}/{method}"] = _digest(classical.image)
                        suggestions = colorizer.suggest_colors(image, hints[0].x, hints[0].y, mode=mode, k=3)
                        out[f"{picture.id}/{size}/{mode}/{n}/suggest"] = json.dumps(
                            [(c, round(p, 6)) for c, p in suggestions])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/output_hashes.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, type=Path, help="pair manifest (JSONL)")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--limit", type=int, default=20, help="pictures of the split (default 20)")
    parser.add_argument("--sizes", default="256,600", help="picture widths, comma-separated (default 256,600)")
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: the bundled weights)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path, help="write the fingerprints here (JSON)")
    group.add_argument("--compare", type=Path, help="compare with fingerprints written earlier")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    now = fingerprints(args.data, args.split, args.limit, sizes, args.checkpoint)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"{len(now)} fingerprints written to {args.out}")
        return 0
    before = json.loads(args.compare.read_text())
    changed = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in changed:
        print(f"changed: {key}: {before.get(key)} -> {now.get(key)}")
    print(f"{len(now) - len(changed)} of {len(before.keys() | now.keys())} fingerprints identical")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
