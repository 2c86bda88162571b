"""Any folder of color pictures → (synthetic line art, color) pairs with a manifest.

Each picture is loaded with ``sketchcolor.image_io.load_image`` (EXIF, alpha, odd modes handled), scaled so its
long side is ``size`` and padded to a white square, and gets line art from one of the extractors in
``sketchcolor.sketch`` (random settings seeded by the file's content hash, so rebuilds are identical). The split
is by content hash too: the same picture under two names lands in one split. Unreadable files are skipped,
counted and listed. The script ``datasets/folder.py`` is a thin shell over :func:`build_folder`.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sketchcolor import sketch
from sketchcolor.data.files import write_png
from sketchcolor.data.manifest import ManifestEntry, split_for, write_manifest
from sketchcolor.errors import DataError

RANDOM = "random"


def fit_square(image_u8: np.ndarray, size: int, *, fill: int = 255) -> np.ndarray:
    """Scale so the long side is ``size`` (area filter down, linear up) and pad centrally to size × size with ``fill``.

    image_u8: uint8 (H, W) or (H, W, 3); returns the same kind at (size, size).
    """
    h, w = image_u8.shape[:2]
    scale = size / max(h, w)
    if (h, w) != (size, size) and scale != 1:
        new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        image_u8 = cv2.resize(image_u8, (new_w, new_h), interpolation=interpolation)
    h, w = image_u8.shape[:2]
    if (h, w) == (size, size):
        return image_u8
    top, left = (size - h) // 2, (size - w) // 2
    value = fill if image_u8.ndim == 2 else (fill,) * image_u8.shape[2]
    return cv2.copyMakeBorder(image_u8, top, size - h - top, left, size - w - left, cv2.BORDER_CONSTANT, value=value)


def pair_id(relative: Path) -> str:
    """A file-name-safe id from a picture's path inside the folder: ``a/b c.jpg`` → ``a__b_c_jpg``.

    The extension stays in the id so ``x.png`` and ``x.jpg`` do not collide.
    """
    text = relative.as_posix().replace("/", "__").replace(".", "_")
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text)


@dataclass(frozen=True)
class _Job:
    path: str
    pic_id: str
    out_dir: str
    size: int
    extractor: str


@dataclass(frozen=True)
class FolderResult:
    """Outcome for one picture: status is "rendered", "existing" or "failed"."""

    id: str
    status: str
    digest: str = ""
    extractor: str = ""
    error: str = ""


def _process(job: _Job) -> FolderResult:
    """Load, square and extract lines for one picture; never raises (failures come back as results)."""
    from sketchcolor.image_io import load_image

    out_dir = Path(job.out_dir)
    line_path, color_path = out_dir / "line" / f"{job.pic_id}.png", out_dir / "color" / f"{job.pic_id}.png"
    try:
        data = Path(job.path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        # Per-picture generator from its content: extractor choice and settings survive renames and rebuilds.
        rng = np.random.default_rng(int(digest[:16], 16))
        methods = tuple(sketch.EXTRACTORS) if job.extractor == RANDOM else (job.extractor,)
        method = methods[int(rng.integers(len(methods)))]
        if line_path.exists() and color_path.exists():
            return FolderResult(job.pic_id, "existing", digest, method)
        rgb_u8 = fit_square(np.asarray(load_image(data)), job.size)
        line_u8 = sketch.extract_lines(rgb_u8, method, rng)
        write_png(color_path, rgb_u8)
        write_png(line_path, line_u8)
        return FolderResult(job.pic_id, "rendered", digest, method)
    except Exception as exc:  # noqa: BLE001 - a bad file is skipped and listed, never the end of the build
        return FolderResult(job.pic_id, "failed", error=f"{type(exc).__name__}: {exc}")


@dataclass
class FolderSummary:
    """Counts of a folder build; ``failed`` lists (relative path, error)."""

    total: int = 0
    rendered: int = 0
    existing: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    split_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    manifest: Path | None = None

    @property
    def pairs(self) -> int:
        return self.rendered + self.existing


def build_folder(
    src_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size: int = 256,
    extractor: str = RANDOM,
    name: str | None = None,
    license: str = "unknown",
    limit: int | None = None,
    workers: int = 1,
) -> FolderSummary:
    """Turn every picture under ``src_dir`` (recursive) into a pair in ``out_dir`` and write manifest.jsonl.

    extractor: one of ``sketchcolor.sketch.EXTRACTORS`` or "random" (chosen per picture). name: the source label
    (manifest ``source`` = "folder:<name>"), default the folder's name; license: written into every entry.
    """
    from sketchcolor.image_io import IMAGE_EXTENSIONS

    start = time.perf_counter()
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    if not src_dir.is_dir():
        raise DataError(f"not a folder: {src_dir}")
    if extractor != RANDOM and extractor not in sketch.EXTRACTORS:
        raise DataError(f"unknown extractor {extractor!r}; expected one of {[RANDOM, *sorted(sketch.EXTRACTORS)]}")
    if size < 16:
        raise DataError(f"size must be at least 16 pixels, got {size}")
    name = name or src_dir.resolve().name
    out_resolved = out_dir.resolve()
    files = sorted(
        p
        for p in src_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and out_resolved not in p.resolve().parents
    )
    if limit is not None:
        files = files[:limit]
    jobs = [_Job(str(p), pair_id(p.relative_to(src_dir)), str(out_dir), size, extractor) for p in files]
    summary = FolderSummary(total=len(jobs))
    entries: list[ManifestEntry] = []
    relative = {j.pic_id: Path(j.path).relative_to(src_dir).as_posix() for j in jobs}
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(pool.imap_unordered(_process, jobs, chunksize=8))
    else:
        results = [_process(j) for j in jobs]
    for r in results:
        if r.status == "failed":
            summary.failed.append((relative[r.id], r.error))
            continue
        setattr(summary, r.status, getattr(summary, r.status) + 1)
        base = r.digest[:16]
        entries.append(
            ManifestEntry(
                id=r.id,
                base=base,
                split=split_for(base),
                line=f"line/{r.id}.png",
                color=f"color/{r.id}.png",
                flat=None,
                source=f"folder:{name}",
                license=license,
                extractor=r.extractor,
            )
        )
    summary.failed.sort()
    summary.manifest = write_manifest(out_dir / "manifest.jsonl", entries)
    summary.split_counts = {s: sum(e.split == s for e in entries) for s in ("train", "val", "test")}
    summary.seconds = time.perf_counter() - start
    return summary
