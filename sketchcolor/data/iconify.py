"""Nine more designers' icon and emoji sets (npm packages ``@iconify-json/*``) → (line art, color, flat) triples.

Each set is one pinned npm package, fetched with ``npm pack`` into a cache folder (the only network use) and
checked against its pinned SHA-256. Icons are rendered with resvg on white. Line art comes in two ways:

- sets that draw their own outlines (the Streamline sets: dark stroked paths and dark freehand strokes) are split
  like OpenMoji's line groups: the dark elements alone give the line art, everything else the outline-free flat;
- the other sets get the boundaries of their flat shapes (:func:`shape_lines`); training then redraws them in the
  real-drawing line styles (``AugmentConfig.p_real_style``).

Flags, pictures that are mostly text, aliases and near-duplicates are dropped; skin-tone variants share their
base name, so they land in one split and share one base's sampling weight. Training sets are split by base name
(90/5/5, the same hash as OpenMoji's); the held-out-designer sets (:data:`HELD_OUT`) are all "test" and written
to their own manifest. :func:`combine_manifests` joins OpenMoji and the training sets into one manifest with
per-source sampling weights. The script ``datasets/iconify.py`` is a thin shell over :func:`build_iconify`.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import tarfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from sketchcolor.data.files import write_png
from sketchcolor.data.manifest import ManifestEntry, read_manifest, split_for, write_manifest
from sketchcolor.data.openmoji import render_svg
from sketchcolor.errors import DataError


@dataclass(frozen=True)
class IconSet:
    """One pinned npm package of the iconify JSON collection."""

    prefix: str
    version: str
    license: str
    sha256: str
    outlines: bool = False  # the set draws its own dark outlines (split them off instead of extracting)
    held_out: bool = False  # never trained on: the held-out-designer test

    @property
    def package(self) -> str:
        return f"@iconify-json/{self.prefix}"

    @property
    def source(self) -> str:
        return f"iconify:{self.prefix}"

    @property
    def tarball(self) -> str:
        return f"iconify-json-{self.prefix}-{self.version}.tgz"


ICON_SETS: tuple[IconSet, ...] = (
    IconSet("noto", "1.2.9", "Apache-2.0", "3e918d88fc945c0bb3d468dbace6f88caef67f01c9f0e7bcae0915a042e8f1ad"),
    IconSet("noto-v1", "1.2.5", "Apache-2.0", "2bf62c26c2c2884aa99e90aec942cdaee17a5921f05690694f4978ad4b017c37"),
    IconSet("fluent-emoji-flat", "1.2.6", "MIT", "7d064769dee690815f823bc5bcc511d957198caf9f5edd8dd9c1aa48a6aeb175"),
    IconSet("emojione", "1.2.3", "CC-BY-4.0", "26a14f44284407e8bcde91799388dca2bfd91dbcd55a97f425524a1c5b73610e"),
    IconSet("emojione-v1", "1.2.3", "CC-BY-SA-4.0",
            "6641d59d48a42823fdc2b84e7427e9f302944eb98d2c7d94d6e67c139e7b37b3"),
    IconSet("streamline-emojis", "1.2.4", "CC-BY-4.0",
            "5dac87c876b322500989828c5823143e0100d78881627a2e4081a4b897cbfdbc", outlines=True),
    IconSet("flat-color-icons", "1.2.3", "MIT", "d8878a9b0f02d749bc8671eb7d47882eb711185cbcefbb365cbfb488773c4786"),
    IconSet("fxemoji", "1.2.2", "Apache-2.0", "f3e72b3c59d05e1db03b7e308d55c0d05bd7ba3f625a90da1b79313c12858eef",
            held_out=True),
    IconSet("streamline-freehand-color", "1.2.2", "CC-BY-4.0",
            "00d74cbddaf1bcf35c8614ac0544d10af69c7cee8801475473fe424ee0c0c642", outlines=True, held_out=True),
)
SETS_BY_PREFIX = {s.prefix: s for s in ICON_SETS}
HELD_OUT = tuple(s.prefix for s in ICON_SETS if s.held_out)
TRAINING = tuple(s.prefix for s in ICON_SETS if not s.held_out)

# Share of training samples per source (normalized over the sources present). OpenMoji keeps the largest share:
# it is our home test and, with the Streamline emoji, the sets whose line art a designer drew.
DEFAULT_SOURCE_WEIGHTS = {
    "openmoji": 3.0,
    "iconify:noto": 2.0,
    "iconify:fluent-emoji-flat": 2.0,
    "iconify:emojione": 1.5,
    "iconify:streamline-emojis": 1.5,
    "iconify:noto-v1": 1.0,
    "iconify:emojione-v1": 1.0,
    "iconify:flat-color-icons": 0.5,
}

_SKIN = r"(?:light|medium-light|medium|medium-dark|dark)"
_SKIN_TONE = re.compile(rf"-{_SKIN}-skin-tone")
_SHORT_SKIN = re.compile(rf"-{_SKIN}$")  # fluent-emoji-flat: "artist-medium-light", only when "artist" exists
_FLAG = re.compile(r"^flag(?:-|s?$)|^(?:chequered|crossed|triangular|white|black|rainbow|pirate)-flags?$")
# Letters, digits, kana and labelled buttons: the picture is mostly a glyph, nothing a colorist learns from.
_TEXT = re.compile(
    r"^(?:keycap|regional-indicator|input-|letter-|negative-squared|squared-|circled-|parenthesized|cjk|"
    r"japanese-.*-button|digit-|number-sign|hash|asterisk|copyright|registered|trade-mark|tm$|[0-9a-z]$|[0-9]+$)"
    r"|(?:^|-)(?:a|b|ab|o|cl|cool|free|id|new|ng|ok|sos|up|vs|top|soon|on|end|back|abc|abcd|1234|symbols|"
    r"latin|m|p)-(?:button|mark|arrow|sign)(?:-|$)"
    r"|^(?:abc|abcd|1234|symbols|keycap.*|regionalindicator.*|latincapital.*|latinsmall.*|digit.*|squared.*|"
    r"circled.*|negativesquared.*|cjkunified.*|inputsymbol.*|inputlatin.*|inputnumbers)$"
)
# Resvg options need a complete document; every iconify body is an SVG fragment in user units.
_SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="{}">'
_SVG_NS = "http://www.w3.org/2000/svg"
_SHAPES = frozenset(f"{{{_SVG_NS}}}{t}" for t in ("path", "circle", "ellipse", "rect", "polygon", "polyline", "line"))
_NOT_DRAWN = frozenset(f"{{{_SVG_NS}}}{t}" for t in ("defs", "clipPath", "mask", "linearGradient", "radialGradient",
                                                     "pattern"))
# An element is outline ink when its paint is at least this dark (relative luminance, 0-1) and mostly opaque.
_DARK_LUMINANCE = 0.12
_MIN_OPACITY = 0.5
# A picture needs at least this share of line pixels to be worth a pair; outline sets below it use shape lines.
MIN_LINE_SHARE = 0.004
# Shape boundaries: a color step of at least this many ΔE76 across two pixels is a line.
EDGE_DELTA_E = 12.0
# Shapes darker than this L are outline ink when they are thin.
DARK_L = 30.0
# Near-duplicates: mean |ΔLab| of 12×12 thumbnails under this (aliases drawn twice, recolored twins).
DUPLICATE_LAB = 1.5
_THUMB = 12


def base_name(name: str, names: frozenset[str] | set[str] = frozenset()) -> str:
    """An icon's base: skin tones removed (``"artist-medium-skin-tone"`` → ``"artist"``); a bare tone suffix
    (``"artist-medium-light"``) only when the base itself is in ``names``."""
    base = _SKIN_TONE.sub("", name)
    short = _SHORT_SKIN.sub("", base)
    if short != base and short in names:
        base = short
    return base


def skip_reason(name: str) -> str | None:
    """"flag", "text" or None: whether an icon is left out by its name."""
    if _FLAG.search(name):
        return "flag"
    if _TEXT.search(name):
        return "text"
    return None


def fetch_package(icon_set: IconSet, cache: str | os.PathLike) -> Path:
    """The set's npm tarball in ``cache`` (``npm pack`` when missing), checked against its pinned SHA-256."""
    cache = Path(cache)
    path = cache / icon_set.tarball
    if not path.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise DataError("npm is not installed; it fetches the icon sets (apt-get install npm, or Node.js)")
        cache.mkdir(parents=True, exist_ok=True)
        spec = f"{icon_set.package}@{icon_set.version}"
        try:
            subprocess.run([npm, "pack", spec, "--pack-destination", str(cache), "--silent"],
                           check=True, capture_output=True, text=True, timeout=600)
        except subprocess.CalledProcessError as exc:
            raise DataError(f"npm pack {spec} failed: {exc.stderr.strip()[-300:]}") from exc
        except subprocess.TimeoutExpired as exc:
            raise DataError(f"npm pack {spec} took longer than {exc.timeout} s") from exc
        if not path.exists():
            raise DataError(f"npm pack {spec} did not write {path}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != icon_set.sha256:
        raise DataError(f"{path} has SHA-256 {digest}, not the pinned {icon_set.sha256}; delete it to fetch again")
    return path


def read_icon_set(tarball: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    """(info.json, {icon name: complete SVG document}) from an ``@iconify-json`` tarball; aliases and icons that
    rotate or flip another are left out (they repeat a drawing)."""
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            data = json.loads(_member(tar, "package/icons.json"))
            info = json.loads(_member(tar, "package/info.json"))
    except (OSError, tarfile.TarError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read icon set {tarball}: {exc}") from exc
    icons = data.get("icons")
    if not isinstance(icons, dict):
        raise DataError(f"{tarball}: icons.json has no icons")
    svgs = {}
    for name, icon in icons.items():
        if not isinstance(icon, dict) or not isinstance(icon.get("body"), str):
            continue
        if any(icon.get(k) for k in ("rotate", "hFlip", "vFlip", "hidden")):
            continue
        box = [icon.get(k, data.get(k, d)) for k, d in (("left", 0), ("top", 0), ("width", 16), ("height", 16))]
        svgs[name] = _SVG_OPEN.format(" ".join(f"{v:g}" for v in box)) + icon["body"] + "</svg>"
    return info, svgs


def _member(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    if member is None:
        raise DataError(f"{tar.name} has no {name}")
    return member.read().decode("utf-8")


def _luminance(paint: str | None) -> float | None:
    """Relative luminance of a hex paint, None for none, gradients and names we do not read."""
    if paint is None:
        return None
    m = re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", paint.strip())
    if m is None:
        return 0.0 if paint.strip().lower() == "black" else None
    h = m.group(1)
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    rgb = np.array([int(h[i:i + 2], 16) for i in (0, 2, 4)]) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def split_outlines(svg: str) -> tuple[str, str, int]:
    """(line SVG, flat SVG, number of outline elements) of an SVG that draws its own dark outlines.

    An element's fill or stroke is outline ink when it is dark (:data:`_DARK_LUMINANCE`) and mostly opaque;
    inherited paint and opacity from enclosing groups count. The line SVG keeps only the ink, in black; the flat
    SVG keeps everything else.
    """
    line_root, flat_root = ET.fromstring(svg), ET.fromstring(svg)
    count = 0
    # Paint is read off the line copy before it is changed; the flat copy's shapes are the same, in the same order.
    flat_shapes = [shape for shape, *_ in _drawn(flat_root)]
    for (line_el, fill, stroke, opacity), flat_el in zip(_drawn(line_root), flat_shapes, strict=True):
        ink = {k: v is not None and _luminance(v) is not None and _luminance(v) <= _DARK_LUMINANCE
               and opacity[k] >= _MIN_OPACITY for k, v in (("fill", fill), ("stroke", stroke))}
        count += any(ink.values())
        for k in ("fill", "stroke"):
            if ink[k]:
                _set_paint(line_el, k, "#000")
                _set_paint(flat_el, k, "none")
            else:
                _set_paint(line_el, k, "none")
    return ET.tostring(line_root, encoding="unicode"), ET.tostring(flat_root, encoding="unicode"), count


def _set_paint(el: ET.Element, key: str, value: str) -> None:
    """Set an element's fill or stroke, dropping it from its style (a style property would override the attribute)."""
    el.set(key, value)
    style = el.get("style")
    if style:
        kept = [kv for kv in style.split(";") if kv.partition(":")[0].strip() != key]
        el.set("style", ";".join(kept))


def _drawn(root: ET.Element) -> list[tuple[ET.Element, str | None, str | None, dict[str, float]]]:
    """(shape, fill, stroke, {"fill": opacity, "stroke": opacity}) per drawn shape in document order, outside
    <defs>, <clipPath>, <mask>, gradients and patterns; paint and opacity inherited from enclosing groups."""
    out = []

    def walk(el, fill, stroke, opacity, fill_op, stroke_op):
        for child in el:
            if child.tag in _NOT_DRAWN:
                continue
            style = {k.strip(): v.strip() for k, _, v in (kv.partition(":") for kv in child.get("style", "").split(";"))
                     if v}

            def get(key: str, inherited, child=child, style=style):
                value = style.get(key) or child.get(key)  # a style property overrides the attribute
                return value.strip() if value else inherited

            c_fill, c_stroke = get("fill", fill), get("stroke", stroke)
            c_op = opacity * _number(get("opacity", "1"))
            c_fop, c_sop = fill_op * _number(get("fill-opacity", "1")), stroke_op * _number(get("stroke-opacity", "1"))
            if child.tag in _SHAPES:
                out.append((child, None if c_fill == "none" else c_fill, None if c_stroke == "none" else c_stroke,
                            {"fill": c_op * c_fop, "stroke": c_op * c_sop}))
            walk(child, c_fill, c_stroke, c_op, c_fop, c_sop)

    walk(root, "#000", None, 1.0, 1.0, 1.0)  # SVG's initial paint: black fill, no stroke
    return out


def _number(text: str) -> float:
    try:
        return float(text.rstrip("%")) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        return 1.0


def shape_lines(rgb_u8: np.ndarray, *, min_delta_e: float = EDGE_DELTA_E, width: int | None = None) -> np.ndarray:
    """Boundaries of a flat-color picture's shapes → uint8 (H, W) black lines on white.

    A pixel is on a boundary where the colors two pixels apart across it (four directions) differ by at least
    ``min_delta_e`` ΔE76, so anti-aliasing does not split a line and smooth gradients draw none; the boundary is
    thinned to one pixel and drawn ``width`` pixels wide (default: side / 128), softened like a rendered stroke.
    """
    from skimage.morphology import skeletonize

    h, w = rgb_u8.shape[:2]
    width = max(1, round(max(h, w) / 128)) if width is None else width
    lab = cv2.cvtColor(rgb_u8.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    pad = np.pad(lab, ((1, 1), (1, 1), (0, 0)), mode="edge")
    edge = np.zeros((h, w), bool)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = pad[1 - dy:1 - dy + h, 1 - dx:1 - dx + w]
        b = pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        edge |= np.sqrt(((a - b) ** 2).sum(axis=2)) >= min_delta_e
    # A thin dark shape is the designer's own outline: one line, not the two boundaries on either side of it.
    dark = (lab[..., 0] < DARK_L).astype(np.uint8)
    reach = max(2, round(max(h, w) / 64))
    thick = cv2.morphologyEx(dark, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (reach, reach)))
    thin_dark = (dark > 0) & (thick == 0)
    skeleton = skeletonize(edge | thin_dark)
    if width > 1:
        skeleton = cv2.dilate(skeleton.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
    line = np.where(skeleton > 0, 0, 255).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats((line < 128).astype(np.uint8), connectivity=8)
    small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < 3 * width * width)
    small = small[small > 0]
    if small.size:
        line[np.isin(labels, small)] = 255
    return cv2.GaussianBlur(line, (3, 3), 0.5)


@dataclass(frozen=True)
class _Job:
    prefix: str
    name: str
    svg: str
    out_dir: str
    size: int
    outlines: bool


@dataclass(frozen=True)
class IconResult:
    """Outcome for one icon: status "rendered", "existing", "dropped" (with the reason in ``error``) or "failed"."""

    prefix: str
    name: str
    status: str
    extractor: str = ""
    thumb: np.ndarray | None = None
    error: str = ""


def _paths(out_dir: Path, prefix: str, name: str) -> dict[str, Path]:
    return {kind: out_dir / prefix / kind / f"{name}.png" for kind in ("line", "color", "flat")}


def render_icon(job: _Job) -> IconResult:
    """Render (or reuse) one icon's line, color and flat PNGs; never raises (failures come back as results)."""
    paths = _paths(Path(job.out_dir), job.prefix, job.name)
    meta = paths["line"].with_suffix(".json")
    try:
        if all(p.exists() for p in paths.values()) and meta.exists():
            color = cv2.cvtColor(cv2.imread(str(paths["color"]), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            if color.shape[:2] == (job.size, job.size):
                extractor = json.loads(meta.read_text(encoding="utf-8"))["extractor"]
                return IconResult(job.prefix, job.name, "existing", extractor, _thumb(color))
        color = render_svg(job.svg, job.size)
        flat, line, extractor = color, None, "shapes"
        if job.outlines:
            line_svg, flat_svg, count = split_outlines(job.svg)
            if count:
                candidate = cv2.cvtColor(render_svg(line_svg, job.size), cv2.COLOR_RGB2GRAY)
                if np.mean(candidate < 128) >= MIN_LINE_SHARE:
                    line, flat, extractor = candidate, render_svg(flat_svg, job.size), "outlines"
        if line is None:
            line = shape_lines(color)
        if np.mean(line < 128) < MIN_LINE_SHARE:
            return IconResult(job.prefix, job.name, "dropped", error="no lines")
        write_png(paths["color"], color)
        write_png(paths["flat"], flat)
        write_png(paths["line"], line)
        meta.write_text(json.dumps({"extractor": extractor}), encoding="utf-8")
        return IconResult(job.prefix, job.name, "rendered", extractor, _thumb(color))
    except Exception as exc:  # noqa: BLE001 - one bad icon must not stop a build of thousands; it is reported
        return IconResult(job.prefix, job.name, "failed", error=f"{type(exc).__name__}: {exc}")


def _thumb(rgb_u8: np.ndarray) -> np.ndarray:
    small = cv2.resize(rgb_u8, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1)


def near_duplicates(names: list[str], thumbs: np.ndarray, threshold: float = DUPLICATE_LAB) -> set[str]:
    """Names whose thumbnail lies within ``threshold`` mean |ΔLab| of an earlier name's (names in sorted order)."""
    order = np.argsort(names)
    thumbs = thumbs[order]
    dropped: set[str] = set()
    kept: list[int] = []
    for i in range(len(order)):
        if kept:
            diff = np.abs(thumbs[kept] - thumbs[i]).mean(axis=1)
            if diff.min() < threshold:
                dropped.add(names[order[i]])
                continue
        kept.append(i)
    return dropped


@dataclass
class SetSummary:
    """Counts for one icon set."""

    prefix: str
    icons: int = 0
    pairs: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason → count (flag, text, no lines, near-duplicate)
    failed: list[tuple[str, str]] = field(default_factory=list)
    extractors: Counter = field(default_factory=Counter)
    split_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class IconifySummary:
    """What :func:`build_iconify` wrote."""

    sets: list[SetSummary] = field(default_factory=list)
    manifest: Path | None = None
    heldout: Path | None = None
    combined: Path | None = None
    seconds: float = 0.0


def build_iconify(
    out_dir: str | os.PathLike,
    *,
    cache: str | os.PathLike | None = None,
    size: int = 256,
    prefixes: tuple[str, ...] | None = None,
    limit: int | None = None,
    workers: int = 2,
    openmoji: str | os.PathLike | None = None,
    weights: dict[str, float] | None = None,
    progress: bool = False,
    icon_sets: tuple[IconSet, ...] = ICON_SETS,
) -> IconifySummary:
    """Fetch, render and filter the icon sets into ``out_dir``; write ``manifest.jsonl`` (training sets, split
    90/5/5 by base name), ``heldout.jsonl`` (held-out sets, all "test") and ``ATTRIBUTION.md``; with ``openmoji``
    (its manifest) also ``combined.jsonl`` (:func:`combine_manifests`). ``limit``: first N icons per set."""
    if size < 16:
        raise DataError(f"size must be at least 16 pixels, got {size}")
    if workers < 1:
        raise DataError(f"workers must be at least 1, got {workers}")
    known = [s.prefix for s in icon_sets]
    unknown = sorted(set(prefixes or ()) - set(known))
    if unknown:
        raise DataError(f"unknown icon set(s) {unknown}; known: {sorted(known)}")
    start = time.perf_counter()
    out_dir = Path(out_dir)
    cache = Path(cache) if cache is not None else out_dir / "npm"
    chosen = [s for s in icon_sets if prefixes is None or s.prefix in prefixes]
    summary = IconifySummary()
    train_entries: list[ManifestEntry] = []
    heldout_entries: list[ManifestEntry] = []
    infos = {}
    for icon_set in chosen:
        info, svgs = read_icon_set(fetch_package(icon_set, cache))
        infos[icon_set.prefix] = info
        spdx = (info.get("license") or {}).get("spdx")
        if spdx != icon_set.license:
            raise DataError(f"{icon_set.package} {icon_set.version} says license {spdx!r}, pinned {icon_set.license!r}")
        s, entries = _build_set(icon_set, svgs, out_dir, size, limit, workers, progress)
        summary.sets.append(s)
        (heldout_entries if icon_set.held_out else train_entries).extend(entries)
    summary.manifest = write_manifest(out_dir / "manifest.jsonl", train_entries)
    summary.heldout = write_manifest(out_dir / "heldout.jsonl", heldout_entries)
    (out_dir / "ATTRIBUTION.md").write_text(attribution(chosen, infos), encoding="utf-8")
    if openmoji is not None:
        summary.combined = combine_manifests(out_dir / "combined.jsonl", [Path(openmoji), summary.manifest], weights)
    summary.seconds = time.perf_counter() - start
    return summary


def _build_set(icon_set: IconSet, svgs: dict[str, str], out_dir: Path, size: int, limit: int | None,
               workers: int, progress: bool) -> tuple[SetSummary, list[ManifestEntry]]:
    s = SetSummary(icon_set.prefix, icons=len(svgs))
    names = sorted(svgs)
    if limit is not None:
        names = names[:limit]
    jobs = []
    for name in names:
        reason = skip_reason(name)
        if reason:
            s.skipped[reason] += 1
        else:
            jobs.append(_Job(icon_set.prefix, name, svgs[name], str(out_dir), size, icon_set.outlines))
    results: list[IconResult] = []
    if workers == 1:
        iterator = map(render_icon, jobs)
        pool = None
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        iterator = pool.imap_unordered(render_icon, jobs, chunksize=16)
    try:
        if progress:
            from tqdm import tqdm

            iterator = tqdm(iterator, total=len(jobs), desc=icon_set.prefix, unit="icon")
        results = list(iterator)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    good = []
    for r in results:
        if r.status in ("rendered", "existing"):
            good.append(r)
        elif r.status == "dropped":
            s.skipped[r.error] += 1
        else:
            s.failed.append((r.name, r.error))
    duplicates = near_duplicates([r.name for r in good], np.stack([r.thumb for r in good])) if good else set()
    s.skipped["near-duplicate"] += len(duplicates)
    all_names = set(svgs)
    entries = []
    for r in sorted(good, key=lambda r: r.name):
        if r.name in duplicates:
            continue
        s.extractors[r.extractor] += 1
        base = base_name(r.name, all_names)
        paths = {k: p.relative_to(out_dir).as_posix() for k, p in _paths(out_dir, r.prefix, r.name).items()}
        entries.append(ManifestEntry(
            id=f"{r.prefix}__{r.name}", base=base, split="test" if icon_set.held_out else split_for(base),
            line=paths["line"], color=paths["color"], flat=paths["flat"], source=icon_set.source,
            license=icon_set.license, extractor=r.extractor,
        ))
    s.failed.sort()
    s.pairs = len(entries)
    s.split_counts = {k: sum(e.split == k for e in entries) for k in ("train", "val", "test")}
    return s, entries


def combine_manifests(out: str | os.PathLike, manifests: list[Path], weights: dict[str, float] | None = None) -> Path:
    """One manifest over several (paths rewritten relative to ``out``'s folder) with sampling weights: a source
    ``s`` is drawn in proportion to ``weights[s]`` (default :data:`DEFAULT_SOURCE_WEIGHTS`, 1 for others), each
    of its bases equally often, the variants of a base sharing it. Weights average 1 over the manifest."""
    weights = DEFAULT_SOURCE_WEIGHTS if weights is None else weights
    out = Path(out)
    entries: list[ManifestEntry] = []
    for manifest in manifests:
        items, _ = read_manifest(manifest)
        rel = os.path.relpath(Path(manifest).parent.resolve(), out.parent.resolve())
        fix = (lambda p: p) if rel == "." else (lambda p, r=rel: None if p is None else Path(r, p).as_posix())
        entries += [replace(e, line=fix(e.line), color=fix(e.color), flat=fix(e.flat)) for e in items]
    if not entries:
        raise DataError("the manifests to combine hold no entries")
    bases: dict[str, Counter] = defaultdict(Counter)
    for e in entries:
        bases[e.source][e.base] += 1
    for source in bases:
        if weights.get(source, 1.0) <= 0:
            raise DataError(f"the weight of source {source} must be > 0, got {weights[source]}")
    raw = [weights.get(e.source, 1.0) / len(bases[e.source]) / bases[e.source][e.base] for e in entries]
    scale = len(raw) / sum(raw)
    return write_manifest(out, [replace(e, weight=round(w * scale, 6)) for e, w in zip(entries, raw, strict=True)])


def attribution(sets: list[IconSet], infos: dict[str, dict]) -> str:
    """ATTRIBUTION.md for the rendered sets: name, author, license and package of each."""
    lines = ["# Attribution", "",
             "Renders (color, outline-free flat, and line art derived from each drawing) of these icon sets, each",
             "fetched as the pinned npm package named and rendered with `resvg-py`. The pictures are adaptations",
             "shared under each set's own license.", ""]
    for s in sets:
        info = infos.get(s.prefix, {})
        author = info.get("author") or {}
        lic = info.get("license") or {}
        role = " — held-out-designer test, never trained on" if s.held_out else ""
        where = lambda url: f" ({url})" if url else ""  # noqa: E731
        lines.append(f"- **{info.get('name', s.prefix)}** by {author.get('name', 'unknown')}{where(author.get('url'))}: "
                     f"{lic.get('title', s.license)}{where(lic.get('url'))}; npm `{s.package}` {s.version}{role}")
    return "\n".join(lines) + "\n"


__all__ = [
    "ICON_SETS", "HELD_OUT", "TRAINING", "DEFAULT_SOURCE_WEIGHTS", "IconSet", "base_name", "skip_reason",
    "fetch_package", "read_icon_set", "split_outlines", "shape_lines", "near_duplicates", "build_iconify",
    "combine_manifests", "attribution",
]
