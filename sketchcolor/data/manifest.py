"""The JSONL pair manifest: entries, reading, writing, and the hash-based train/val/test split.

One JSON object per line, paths relative to the manifest's folder::

    {"id": str, "base": str, "split": "train"|"val"|"test", "line": "line/x.png", "color": "color/x.png",
     "flat": "flat/x.png" | null, "source": "openmoji" | "folder:<name>" | "iconify:<set>", "license": str,
     "extractor": str | null, "weight": float > 0 (optional, default 1.0: the entry's relative sampling weight)}
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from sketchcolor.atomic import write_text_atomic
from sketchcolor.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
# Shares of the split; bases are assigned by a hash so a growing set never moves an existing base.
SPLIT_SHARES = (0.90, 0.05, 0.05)
SPLIT_SALT = "sketchcolor-split-v1"
_REQUIRED_KEYS = ("id", "base", "split", "line", "color")
# The held-out-designer test: two icon sets whose designers no training picture comes from; never trained on.
HELD_OUT_SOURCES = frozenset({"iconify:fxemoji", "iconify:streamline-freehand-color"})


@dataclass(frozen=True)
class ManifestEntry:
    """One (line art, color) pair; paths are relative to the manifest's folder."""

    id: str
    base: str
    split: str
    line: str
    color: str
    flat: str | None = None
    source: str = ""
    license: str = ""
    extractor: str | None = None
    weight: float = 1.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=False)


def split_for(base: str, *, salt: str = SPLIT_SALT, shares: tuple[float, float, float] = SPLIT_SHARES) -> str:
    """Return "train", "val" or "test" for a base id, from a stable hash of ``salt:base``.

    The same base always lands in the same split, whatever else is in the set.
    """
    digest = hashlib.sha256(f"{salt}:{base}".encode()).digest()
    # 8 bytes give a uniform number in [0, 1) with far more resolution than the shares need.
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u < shares[0]:
        return "train"
    if u < shares[0] + shares[1]:
        return "val"
    return "test"


def _positive_finite(value: object) -> float | None:
    """``value`` as a float if it is a finite number > 0, else None."""
    # bool is an int subclass, but true is not a weight.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer too large for a float
        return None
    return number if math.isfinite(number) and number > 0 else None


def parse_entry(obj: object) -> ManifestEntry:
    """Build an entry from a decoded JSON object; DataError names what is missing or wrong."""
    if not isinstance(obj, dict):
        raise DataError(f"manifest line is not a JSON object: {type(obj).__name__}")
    missing = [k for k in _REQUIRED_KEYS if not isinstance(obj.get(k), str) or not obj.get(k)]
    if missing:
        raise DataError(f"manifest entry lacks string field(s) {missing}; expected {list(_REQUIRED_KEYS)}")
    if obj["split"] not in SPLITS:
        raise DataError(f"manifest entry {obj['id']!r} has split {obj['split']!r}; expected one of {list(SPLITS)}")
    flat = obj.get("flat")
    extractor = obj.get("extractor")
    weight = _positive_finite(obj.get("weight", 1.0))
    if weight is None:
        raise DataError(f"manifest entry {obj['id']!r} has weight {obj['weight']!r}; expected a finite number > 0")
    return ManifestEntry(
        id=obj["id"],
        base=obj["base"],
        split=obj["split"],
        line=obj["line"],
        color=obj["color"],
        flat=flat if isinstance(flat, str) and flat else None,
        source=str(obj.get("source", "")),
        license=str(obj.get("license", "")),
        extractor=extractor if isinstance(extractor, str) and extractor else None,
        weight=weight,
    )


def read_manifest(path: str | os.PathLike, *, split: str | None = None) -> tuple[list[ManifestEntry], int]:
    """Read a JSONL manifest; return (entries, number of malformed lines skipped).

    Malformed lines are skipped and logged, never fatal; a missing or unreadable file raises DataError.
    ``split`` (if given) keeps only that split.
    """
    if split is not None and split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read manifest {path}: {exc}") from exc
    entries: list[ManifestEntry] = []
    bad = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry = parse_entry(json.loads(raw))
        except (json.JSONDecodeError, DataError) as exc:
            bad += 1
            log.warning("manifest %s line %d skipped: %s", path, number, exc)
            continue
        if split is None or entry.split == split:
            entries.append(entry)
    return entries, bad


def write_manifest(path: str | os.PathLike, entries: Iterable[ManifestEntry]) -> Path:
    """Write entries as JSONL (sorted by id), atomically (:mod:`sketchcolor.atomic`); missing folders are created."""
    lines = [e.to_json() for e in sorted(entries, key=lambda e: e.id)]
    return write_text_atomic(path, "\n".join(lines) + ("\n" if lines else ""))


def split_counts(entries: Iterable[ManifestEntry]) -> dict[str, int]:
    """Number of entries per split (all three keys present)."""
    counts = dict.fromkeys(SPLITS, 0)
    for e in entries:
        counts[e.split] += 1
    return counts


def held_out_entries(entries: Iterable[ManifestEntry]) -> list[ManifestEntry]:
    """The entries from :data:`HELD_OUT_SOURCES` (in the given order)."""
    return [e for e in entries if e.source in HELD_OUT_SOURCES]
