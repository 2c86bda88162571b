"""PyTorch dataset over a pair manifest: aligned, augmented (line art, color) samples with simulated hints and fills.

A sample is a pure function of (dataset seed, epoch seed, index): every random choice draws from one
``np.random.Generator`` built from those three numbers, so it is reproducible whatever worker computes it.
The epoch seed is the one given to :meth:`PairDataset.set_epoch`, or else torch's per-loader base seed (the
worker seed minus the worker id: it changes every epoch and follows ``torch.manual_seed``), or 0 in the main
process. Corrupt or missing entries are skipped (another index is served), logged once and counted.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from sketchcolor.color import RGB_TO_XYZ, WHITE_D65
from sketchcolor.data.augment import AugmentConfig, PairAugmenter, rotate_hue
from sketchcolor.data.files import read_gray_u8, read_rgb_u8
from sketchcolor.data.folder import fit_square
from sketchcolor.data.manifest import ManifestEntry, read_manifest
from sketchcolor.errors import ConfigError, DataError
from sketchcolor.regions import LINE_THRESHOLD

log = logging.getLogger(__name__)

TASKS = ("sketch", "gray", "mixed")
_SKIPPABLE = (DataError, OSError, cv2.error)


# uint8 sRGB code value → linear light: 256 exact values, so the transfer curve costs one table look-up.
_CODES = np.arange(256) / 255.0
_SRGB_TO_LINEAR_LUT = np.where(_CODES <= 0.04045, _CODES / 12.92, ((_CODES + 0.055) / 1.055) ** 2.4).astype(np.float32)
# Linear RGB → XYZ already divided by the white point, so Lab's f() applies directly.
_RGB_TO_XYZ_WHITE = (RGB_TO_XYZ / WHITE_D65[:, None]).astype(np.float32)
_DELTA = 6.0 / 29.0
# (fx, fy, fz) → (L, a, b) as one affine map, with the offset in the last column.
_F_TO_LAB = np.array([[0.0, 116.0, 0.0, -16.0], [500.0, -500.0, 0.0, 0.0], [0.0, 200.0, -200.0, 0.0]], np.float32)


def rgb_u8_to_lab(rgb_u8: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3) sRGB → float32 (H, W, 3) CIE Lab (D65; L 0-100, ab about ±110).

    The same formula and constants as ``sketchcolor.color.rgb_u8_to_lab_np`` (agrees within 1e-3, tested) but
    with OpenCV's float32 kernels and a look-up table: about 1 ms instead of 5 at 256², inside the loader.
    """
    linear = cv2.LUT(rgb_u8, _SRGB_TO_LINEAR_LUT)
    t = cv2.transform(linear, _RGB_TO_XYZ_WHITE)
    f = np.where(t > _DELTA**3, cv2.pow(t, 1.0 / 3.0), t * np.float32(1.0 / (3.0 * _DELTA**2)) + np.float32(4.0 / 29.0))
    lab = cv2.transform(f.astype(np.float32, copy=False), _F_TO_LAB)
    np.clip(lab[..., 0], 0.0, 100.0, out=lab[..., 0])  # float32 rounding puts black a hair below 0
    return lab


def worker_init_fn(worker_id: int) -> None:
    """DataLoader hook: seed Python, NumPy and OpenCV globals from torch's worker seed.

    Samples themselves do not use these globals (see the module docstring); this keeps any library that does
    distinct per worker and reproducible. (Do not call ``cv2.setNumThreads`` here: in a forked worker it waits
    forever on the parent's thread pool.)
    """
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)
    cv2.setRNGSeed(seed % 2**31)


class PairDataset(Dataset):
    """Augmented (line art, color) samples from a JSONL manifest.

    Args:
        manifest: path of manifest.jsonl (entries' paths are relative to its folder).
        split: "train", "val", "test" or None (all).
        size: side of the square samples in pixels.
        task: "sketch" (input is line art), "gray" (input is the target's lightness) or "mixed" (per sample,
            gray with probability ``gray_share``).
        augment: AugmentConfig or None (no augmentation).
        hints: a ``sketchcolor.hints.HintSimConfig`` or None (no hints, no fills).
        seed: dataset seed.

    ``ds[i]`` is a dict of float32 tensors: "line" (1, H, W) in [0, 1] (1 = white paper), "rgb" (3, H, W) target
    in [0, 1], "lab" (3, H, W) target in Lab units, "hint_ab" (2, H, W) Lab units, "hint_mask" (1, H, W) in {0, 1},
    "fill_ab" (2, H, W) Lab units (hints propagated over regions), "fill_mask" (1, H, W) in {0, 1}; plus "task"
    ("sketch" | "gray") and "id" (str).
    """

    def __init__(
        self,
        manifest: str | os.PathLike,
        split: str | None = "train",
        size: int = 256,
        task: str = "sketch",
        augment: AugmentConfig | None = None,
        hints: object | None = None,
        seed: int = 0,
        gray_share: float = 0.5,
    ) -> None:
        if task not in TASKS:
            raise ConfigError(f"unknown task {task!r}; expected one of {list(TASKS)}")
        if not isinstance(size, int) or size < 16:
            raise ConfigError(f"size must be an int >= 16, got {size!r}")
        if not 0.0 <= gray_share <= 1.0:
            raise ConfigError(f"gray_share must be in [0, 1], got {gray_share!r}")
        self.root = Path(manifest).parent
        self.entries: list[ManifestEntry]
        self.entries, self.bad_lines = read_manifest(manifest, split=split)
        if not self.entries:
            raise DataError(f"manifest {manifest} has no usable entries for split {split!r}")
        self.size = size
        self.task = task
        self.gray_share = gray_share
        self.augment = augment
        self.hints = hints
        self.seed = int(seed)
        self._augmenter = PairAugmenter(augment if augment is not None else AugmentConfig.none(), size)
        self._epoch: int | None = None
        self._bad: set[int] = set()
        self.skipped = 0

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def weights(self) -> np.ndarray:
        """float64 (len,) the entries' manifest sampling weights (all > 0; 1.0 where the manifest gives none)."""
        return np.array([e.weight for e in self.entries], dtype=np.float64)

    def set_epoch(self, epoch: int) -> None:
        """Fix the epoch seed (overrides torch's loader seed), e.g. from the training loop."""
        self._epoch = int(epoch)

    def _epoch_seed(self) -> int:
        if self._epoch is not None:
            return self._epoch
        info = get_worker_info()
        # torch gives worker k the seed base + k, base drawn anew for every loader iterator (every epoch).
        return 0 if info is None else int(info.seed - info.id) % 2**63

    def rng_for(self, index: int) -> np.random.Generator:
        """The generator sample ``index`` draws from in the current epoch."""
        return np.random.default_rng([self.seed % 2**63, self._epoch_seed(), index])

    def __getitem__(self, index: int) -> dict:
        n = len(self.entries)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        index %= n
        for step in range(n):
            i = (index + step) % n
            if i in self._bad:
                continue
            try:
                return self.sample(i, self.rng_for(i))
            except _SKIPPABLE as exc:
                self._bad.add(i)
                self.skipped += 1
                log.warning(
                    "skipping dataset entry %r (%s); %d skipped so far in this process",
                    self.entries[i].id, exc, self.skipped,
                )
        raise DataError(f"no readable entries left in {self.root} ({self.skipped} skipped)")

    def _load(self, entry: ManifestEntry, rng: np.random.Generator, task: str) -> tuple[np.ndarray, np.ndarray]:
        """(line_u8 (S, S), target_u8 (S, S, 3)); for the gray task sometimes the outline-free flat render."""
        line_u8 = read_gray_u8(self.root / entry.line)
        use_flat = (
            task == "gray"
            and entry.flat is not None
            and self.augment is not None
            and rng.random() < self.augment.p_flat_gray
        )
        target_u8 = read_rgb_u8(self.root / (entry.flat if use_flat else entry.color))
        if line_u8.shape != target_u8.shape[:2]:
            raise DataError(f"line {line_u8.shape} and color {target_u8.shape[:2]} sizes differ")
        if line_u8.shape != (self.size, self.size):
            line_u8, target_u8 = fit_square(line_u8, self.size), fit_square(target_u8, self.size)
        return line_u8, target_u8

    def sample(self, index: int, rng: np.random.Generator) -> dict:
        """Build sample ``index`` from ``rng`` (no fallback: DataError/OSError propagate)."""
        entry = self.entries[index]
        task = self.task
        if task == "mixed":
            task = "gray" if rng.random() < self.gray_share else "sketch"
        line_u8, target_u8 = self._load(entry, rng, task)
        # Geometry first and on the pair, so everything computed afterwards (synthetic lines, hints) stays aligned.
        line_u8, target_u8 = self._augmenter.geometric(line_u8, target_u8, rng)
        # Synthetic line art is drawn from the (possibly flat) target, so it matches what the net must paint.
        line_u8, _ = self._augmenter.style_line(line_u8, target_u8, rng)

        lab: np.ndarray | None = None
        hint_ab = np.zeros((2, self.size, self.size), np.float32)
        hint_mask = np.zeros((self.size, self.size), np.float32)
        fill_ab = np.zeros((2, self.size, self.size), np.float32)
        fill_mask = np.zeros((self.size, self.size), np.float32)
        if self.hints is not None:
            allowed = line_u8 > LINE_THRESHOLD if task == "sketch" else None
            degrees = self._augmenter.hue_degrees(rng)
            if degrees is not None:
                rotated_u8 = rotate_hue(target_u8, degrees)
                rotated_lab = rgb_u8_to_lab(rotated_u8)
                hint_ab, hint_mask = self._simulate(rotated_lab, rng, allowed)
                # Rotated colors only make sense when hints ask for them; without hints keep the picture's own.
                if hint_mask.any():
                    target_u8, lab = rotated_u8, rotated_lab
            else:
                lab = rgb_u8_to_lab(target_u8)
                hint_ab, hint_mask = self._simulate(lab, rng, allowed)
            if hint_mask.any():
                fill_ab, fill_mask = self._fill(task, line_u8, target_u8, hint_ab, hint_mask)
        if lab is None:
            lab = rgb_u8_to_lab(target_u8)

        rgb = target_u8.astype(np.float32) * np.float32(1.0 / 255.0)
        return {
            "line": torch.from_numpy(line_u8.astype(np.float32) * np.float32(1.0 / 255.0))[None],
            "rgb": torch.from_numpy(rgb.transpose(2, 0, 1).copy()),
            "lab": torch.from_numpy(lab.transpose(2, 0, 1).copy()),
            "hint_ab": torch.from_numpy(np.ascontiguousarray(hint_ab, dtype=np.float32)),
            "hint_mask": torch.from_numpy(np.ascontiguousarray(hint_mask, dtype=np.float32))[None],
            "fill_ab": torch.from_numpy(np.ascontiguousarray(fill_ab, dtype=np.float32)),
            "fill_mask": torch.from_numpy(np.ascontiguousarray(fill_mask, dtype=np.float32))[None],
            "task": task,
            "id": entry.id,
        }

    def _simulate(
        self, lab: np.ndarray, rng: np.random.Generator, allowed: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Simulated user hints on ``lab`` (H, W, 3) → (hint_ab (2, H, W) Lab units, hint_mask (H, W) float {0, 1})."""
        from sketchcolor.hints import simulate_hints

        lab_t = torch.from_numpy(np.ascontiguousarray(lab.transpose(2, 0, 1)))
        ab, mask = simulate_hints(lab_t, rng, self.hints, allowed=allowed)
        return np.asarray(ab, dtype=np.float32), np.asarray(mask, dtype=np.float32).reshape(lab.shape[:2])

    @staticmethod
    def _fill(
        task: str, line_u8: np.ndarray, target_u8: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Hints propagated over the regions a hint fills when coloring (line art, as the pipeline splits them)
        or over flat gray regions (gray task)."""
        from sketchcolor.regions import GAP_CLOSING, gray_regions, propagate_values, segment_line_art, split_page_at_hints

        if task == "sketch":
            seg = segment_line_art(line_u8)
            labels, _ = split_page_at_hints(seg.labels, seg.page, hint_mask > 0, GAP_CLOSING * max(line_u8.shape))
            return propagate_values(labels, hint_ab, hint_mask > 0)
        labels = gray_regions(cv2.cvtColor(target_u8, cv2.COLOR_RGB2GRAY))
        return propagate_values(labels, hint_ab, hint_mask > 0)
