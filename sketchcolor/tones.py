"""Typical tones: the CIE L a color usually has in flat cartoon art, one value per ab bin of the color net.

Line art carries no tone, and the inversion net's estimate leans to the middle, so a drawn yellow on that tone
comes out olive. A drawn variation (:meth:`~sketchcolor.pipeline.Colorizer.colorize_variations`) gives each of
line art's regions the typical tone of its drawn color instead.

The table is measured on the training data's outline-free color pictures (``python -m sketchcolor.tones``) and
travels in the checkpoint's config.json as ``"tones"``; a checkpoint without one colors as before. A bin the data
rarely shows leans toward the middle of the L span in which sRGB reaches its ab.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sketchcolor.errors import CheckpointError, DataError

__all__ = ["PAGE_CHROMA", "PAGE_L", "SHRINK", "check_tones", "gamut_centre_l", "measure", "tone_table",
           "typical_l", "write_tones"]

# Pixels this light and gray are the page, not a color of the drawing.
PAGE_L = 97.0
PAGE_CHROMA = 3.0
# Pseudo-pixels of the gamut's middle tone added to every bin: a bin seen on a few pixels is not trusted alone.
SHRINK = 50.0
# Side (px) the pictures are read at: tones are a property of areas, and 64² keeps 12,000 pictures to minutes.
MEASURE_SIZE = 64


def gamut_centre_l(ab: np.ndarray) -> np.ndarray:
    """(N,) float64: for each of ``ab`` (N, 2), the middle of the L range in which sRGB reaches that ab (the L of
    its largest in-gamut chroma where no L reaches it)."""
    from sketchcolor.color import max_chroma_table

    table = max_chroma_table().numpy().astype(np.float64)
    n_l, n_hue = table.shape
    ab = np.asarray(ab, np.float64).reshape(-1, 2)
    chroma = np.hypot(ab[:, 0], ab[:, 1])
    hue = np.floor(np.remainder(np.arctan2(ab[:, 1], ab[:, 0]), 2 * math.pi) * (n_hue / (2 * math.pi)))
    column = hue.astype(np.int64) % n_hue
    caps = np.minimum(table[:, column], table[:, (column + 1) % n_hue]).T  # (N, n_l)
    levels = np.linspace(0.0, 100.0, n_l)
    inside = caps >= chroma[:, None] - 1e-6
    centre = (inside * levels).sum(1) / np.maximum(inside.sum(1), 1)
    return np.where(inside.any(1), centre, levels[caps.argmax(1)])


def _bin_index(ab: np.ndarray, bins: np.ndarray) -> np.ndarray:
    """(N,) int64: the nearest of ``bins`` (Q, 2) for each of ``ab`` (N, 2), in chunks (bounded memory)."""
    ab = np.asarray(ab, np.float64).reshape(-1, 2)
    out = np.empty(ab.shape[0], np.int64)
    for start in range(0, ab.shape[0], 65536):
        part = ab[start:start + 65536]
        out[start:start + 65536] = np.square(part[:, None, :] - bins[None]).sum(-1).argmin(1)
    return out


def measure(manifests: Sequence[str | os.PathLike], bins: np.ndarray, *, split: str = "train",
            size: int = MEASURE_SIZE) -> tuple[np.ndarray, np.ndarray, int]:
    """``(sums, weights, pictures)``: over the ``split`` entries of the manifests, each bin's weighted sum of CIE
    L and its weight (pixels off the page, each picture's pixels weighted by its manifest sampling weight), read
    from the outline-free color pictures (the color picture where an entry has none) at ``size``². Unreadable
    pictures are skipped (DataError when none is read)."""
    import cv2

    from sketchcolor.color import rgb_u8_to_lab_np
    from sketchcolor.data.files import read_rgb_u8
    from sketchcolor.data.manifest import read_manifest

    bins = np.asarray(bins, np.float64)
    sums = np.zeros(bins.shape[0])
    weights = np.zeros(bins.shape[0])
    pictures = 0
    for manifest in manifests:
        entries, _ = read_manifest(manifest, split=split)
        root = Path(manifest).parent
        for entry in entries:
            try:
                rgb = read_rgb_u8(root / (entry.flat or entry.color))
            except DataError:
                continue
            # Nearest neighbour keeps flat colors flat (no blends of two regions at their border).
            small = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_NEAREST)
            lab = rgb_u8_to_lab_np(np.ascontiguousarray(small)).reshape(-1, 3).astype(np.float64)
            lab = lab[~((lab[:, 0] > PAGE_L) & (np.hypot(lab[:, 1], lab[:, 2]) < PAGE_CHROMA))]
            if not lab.shape[0]:
                continue
            index = _bin_index(lab[:, 1:], bins)
            sums += np.bincount(index, weights=lab[:, 0] * entry.weight, minlength=bins.shape[0])
            weights += np.bincount(index, minlength=bins.shape[0]) * entry.weight
            pictures += 1
    if not pictures:
        raise DataError(f"no readable {split} picture in {', '.join(map(str, manifests))}")
    return sums, weights, pictures


def tone_table(sums: np.ndarray, weights: np.ndarray, bins: np.ndarray, shrink: float = SHRINK) -> np.ndarray:
    """(Q,) float64: each bin's typical L, its measured mean with ``shrink`` pseudo-pixels of the gamut's middle
    tone (:func:`gamut_centre_l`) added."""
    prior = gamut_centre_l(bins)
    return (np.asarray(sums, np.float64) + shrink * prior) / (np.asarray(weights, np.float64) + shrink)


def check_tones(value: Any, n_bins: int, where: str) -> np.ndarray | None:
    """A checkpoint's ``"tones"`` entry as a (Q,) float64 array (None stays None): an object whose ``"l"`` is
    ``n_bins`` finite numbers in [0, 100]; CheckpointError naming ``where`` otherwise."""
    if value is None:
        return None
    values = value.get("l") if isinstance(value, dict) else None
    if not isinstance(values, list) or len(values) != n_bins or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= 100
            for v in values):
        raise CheckpointError(f"{where}: config.json's \"tones\" must hold \"l\": {n_bins} numbers in [0, 100] "
                              "(one per ab bin of the color net); rewrite it with python -m sketchcolor.tones")
    return np.asarray(values, np.float64)


def typical_l(tones: np.ndarray, bins: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """(N,) float64: the typical L (``tones`` (Q,)) of the bin nearest each of ``ab`` (N, 2)."""
    return np.asarray(tones, np.float64)[_bin_index(ab, np.asarray(bins, np.float64))]


def write_tones(checkpoint: str | os.PathLike, table: np.ndarray, *, pictures: int, manifests: Sequence[str]) -> Path:
    """Put ``table`` (Q,) into the checkpoint folder's config.json as ``"tones"`` (atomically); returns its path."""
    from sketchcolor.atomic import write_json_atomic
    from sketchcolor.checkpoint import CONFIG_FILE, read_config

    config = read_config(checkpoint)
    config["tones"] = {"l": [round(float(v), 2) for v in table], "pictures": int(pictures),
                       "manifests": [str(m) for m in manifests], "shrink": SHRINK, "size": MEASURE_SIZE}
    return write_json_atomic(Path(checkpoint) / CONFIG_FILE, config, sort_keys=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m sketchcolor.tones --data MANIFEST [--data ...] --checkpoint DIR``: measure the typical tone of
    every ab bin of the checkpoint's color net on the manifests' training pictures and store it in the checkpoint."""
    parser = argparse.ArgumentParser(prog="python -m sketchcolor.tones", description=main.__doc__)
    parser.add_argument("--data", action="append", required=True, help="a manifest.jsonl (repeat for more)")
    parser.add_argument("--checkpoint", required=True, help="checkpoint folder to write the table into")
    parser.add_argument("--split", default="train", help="split to measure (default train)")
    args = parser.parse_args(argv)
    try:
        from sketchcolor.checkpoint import read_config
        from sketchcolor.color import ab_bins

        spec = read_config(args.checkpoint)["models"].get("color")
        if spec is None:
            raise CheckpointError(f"{args.checkpoint}: holds no color net, so it has no ab bins to measure")
        bins = ab_bins(spec.get("ab_grid", 10), spec.get("ab_max", 110.0)).numpy().astype(np.float64)
        sums, weights, pictures = measure(args.data, bins, split=args.split)
        table = tone_table(sums, weights, bins)
        path = write_tones(args.checkpoint, table, pictures=pictures, manifests=args.data)
    except (CheckpointError, DataError) as exc:
        print(f"sketchcolor: error: {exc}", file=sys.stderr)
        return 2
    seen = int((weights >= SHRINK).sum())
    print(json.dumps({"config": str(path), "pictures": pictures, "bins": len(table), "bins_seen": seen}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
