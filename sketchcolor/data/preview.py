"""Contact sheet of augmented training samples: ``python -m sketchcolor.data.preview --data MANIFEST --out preview.png``.

Each sample is four panels: the input line art, the color target, the target faded with the simulated hints
drawn as dots (their color, ringed), and the propagated fill (fill colors at the target's lightness; gray where
nothing was filled). A caption gives the id and the task.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from sketchcolor.color import lab_to_rgb_u8_np
from sketchcolor.data.augment import AugmentConfig
from sketchcolor.data.dataset import TASKS, PairDataset
from sketchcolor.errors import SketchcolorError

log = logging.getLogger(__name__)

PANELS = ("line", "target", "hints", "fill")
UNFILLED = 200  # gray level of pixels the fill did not reach
CAPTION_PX = 14


def default_hint_config():
    """``sketchcolor.hints.HintSimConfig()`` or None (with a warning) if the hints module is not available."""
    try:
        from sketchcolor.hints import HintSimConfig
    except ImportError as exc:
        log.warning("no hint simulation (%s); samples come without hints and fills", exc)
        return None
    return HintSimConfig()


def sample_panels(sample: dict, panel_px: int) -> list[np.ndarray]:
    """The four uint8 (panel_px, panel_px, 3) panels of one dataset sample."""
    line_u8 = np.round(sample["line"][0].numpy() * 255).astype(np.uint8)
    rgb_u8 = np.round(sample["rgb"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    lab = sample["lab"].numpy().transpose(1, 2, 0)
    hint_mask = sample["hint_mask"][0].numpy() > 0
    fill_mask = sample["fill_mask"][0].numpy() > 0

    fill_lab = lab.copy()
    fill_lab[..., 1:] = sample["fill_ab"].numpy().transpose(1, 2, 0)
    fill_u8 = lab_to_rgb_u8_np(fill_lab)
    fill_u8[~fill_mask] = UNFILLED

    hint_lab = lab.copy()
    hint_lab[..., 1:] = sample["hint_ab"].numpy().transpose(1, 2, 0)
    hint_rgb_u8 = lab_to_rgb_u8_np(hint_lab)

    def fit(image: np.ndarray) -> np.ndarray:
        image = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image
        return cv2.resize(image, (panel_px, panel_px), interpolation=cv2.INTER_AREA)

    scale = panel_px / line_u8.shape[1]
    hints_u8 = fit(((rgb_u8.astype(np.uint16) + 255) // 2).astype(np.uint8))  # target faded towards white
    ys, xs = np.nonzero(hint_mask)
    # One dot per hinted patch is enough to see placement; draw at most 200 to keep big patches readable.
    for y, x in list(zip(ys, xs))[:: max(1, len(ys) // 200)]:
        center = (int(x * scale), int(y * scale))
        cv2.circle(hints_u8, center, 4, (0, 0, 0), thickness=-1, lineType=cv2.LINE_AA)
        cv2.circle(hints_u8, center, 3, tuple(int(c) for c in hint_rgb_u8[y, x]), thickness=-1, lineType=cv2.LINE_AA)
    return [fit(line_u8), fit(rgb_u8), hints_u8, fit(fill_u8)]


def contact_sheet(dataset: PairDataset, n: int, *, per_row: int = 4, panel_px: int = 128) -> Image.Image:
    """Samples 0..n-1 (spread over the dataset) as a grid, ``per_row`` samples of four panels per row."""
    indices = np.linspace(0, len(dataset) - 1, num=min(n, len(dataset))).round().astype(int)
    rows = math.ceil(len(indices) / per_row)
    tile_w, tile_h = 4 * panel_px + 6, panel_px + CAPTION_PX + 6
    sheet = Image.new("RGB", (per_row * tile_w, rows * tile_h + CAPTION_PX), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 1), "  |  ".join(f"{p}" for p in PANELS) + "   (hints: dots; fill: gray = unfilled)", fill=(0, 0, 0))
    for k, index in enumerate(indices):
        sample = dataset[int(index)]
        x0, y0 = (k % per_row) * tile_w, (k // per_row) * tile_h + CAPTION_PX
        for p, panel in enumerate(sample_panels(sample, panel_px)):
            sheet.paste(Image.fromarray(panel), (x0 + p * panel_px, y0 + CAPTION_PX))
        hints = int(sample["hint_mask"].sum())
        draw.text((x0 + 2, y0 + 1), f"{sample['id']}  {sample['task']}  {hints} hint px", fill=(0, 0, 0))
    return sheet


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Contact sheet of augmented training samples.")
    parser.add_argument("--data", required=True, help="manifest.jsonl")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--n", type=int, default=16, help="number of samples (default 16)")
    parser.add_argument("--split", default="train", choices=["train", "val", "test"])
    parser.add_argument("--task", default="mixed", choices=list(TASKS))
    parser.add_argument("--size", type=int, default=256, help="sample side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-augment", action="store_true", help="show the pairs as stored")
    parser.add_argument("--no-hints", action="store_true", help="no simulated hints or fills")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        dataset = PairDataset(
            args.data,
            split=args.split,
            size=args.size,
            task=args.task,
            augment=None if args.no_augment else AugmentConfig(),
            hints=None if args.no_hints else default_hint_config(),
            seed=args.seed,
        )
        sheet = contact_sheet(dataset, args.n)
    except SketchcolorError as exc:
        log.error("error: %s", exc)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    log.info("wrote %s (%d samples, %d skipped entries)", out, min(args.n, len(dataset)), dataset.skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
