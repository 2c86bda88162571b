"""Render nine more designers' icon and emoji sets (pinned npm packages @iconify-json/*) into aligned
(line art, color, flat) triples.

    python datasets/iconify.py --out data/iconify --size 256 --openmoji data/openmoji/manifest.jsonl

Fetches each package with `npm pack` into --cache (default OUT/npm; the only network use), checks its pinned
SHA-256 and writes OUT/<set>/{line,color,flat}/, manifest.jsonl (the seven training sets, split 90/5/5 by icon
name), heldout.jsonl (fxemoji and streamline-freehand-color: the held-out-designer test, never trained on),
ATTRIBUTION.md and, with --openmoji, combined.jsonl (OpenMoji + the training sets, with per-source sampling
weights). Reuses renders that already exist. The work happens in sketchcolor.data.iconify.build_iconify.
"""

import argparse
import logging
import sys

from sketchcolor.data.iconify import DEFAULT_SOURCE_WEIGHTS, SETS_BY_PREFIX, build_iconify
from sketchcolor.errors import DataError, SketchcolorError

log = logging.getLogger("datasets.iconify")


def parse_weights(text: str) -> dict[str, float]:
    """``"openmoji=3,noto=2"`` → source weights over the defaults (set names get their ``iconify:`` prefix)."""
    weights = dict(DEFAULT_SOURCE_WEIGHTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep:
            raise DataError(f"--weights item {item!r} is not NAME=WEIGHT")
        source = name if name == "openmoji" or name.startswith(("iconify:", "folder:")) else f"iconify:{name}"
        if source.startswith("iconify:") and source[8:] not in SETS_BY_PREFIX:
            raise DataError(f"--weights names unknown set {name!r}; known: openmoji, {', '.join(SETS_BY_PREFIX)}")
        try:
            weights[source] = float(value)
        except ValueError:
            raise DataError(f"--weights {name}: {value!r} is not a number") from None
        if not weights[source] > 0:
            raise DataError(f"--weights {name}: the weight must be > 0, got {value}")
    return weights


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--cache", default=None, help="folder for the npm tarballs (default OUT/npm)")
    parser.add_argument("--size", type=int, default=256, help="side of the square renders in pixels (default 256)")
    parser.add_argument("--sets", default=None, help=f"comma-separated sets (default all: {','.join(SETS_BY_PREFIX)})")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N icons of each set")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--openmoji", default=None, metavar="MANIFEST",
                        help="OpenMoji's manifest.jsonl: also write combined.jsonl for training")
    parser.add_argument("--weights", default="", metavar="NAME=W,...",
                        help="per-source sampling weights for combined.jsonl, over the defaults "
                             f"({', '.join(f'{k}={v:g}' for k, v in DEFAULT_SOURCE_WEIGHTS.items())})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        sets = tuple(s.strip() for s in args.sets.split(",") if s.strip()) if args.sets else None
        summary = build_iconify(
            args.out, cache=args.cache, size=args.size, prefixes=sets, limit=args.limit, workers=args.workers,
            openmoji=args.openmoji, weights=parse_weights(args.weights), progress=not args.no_progress,
        )
    except SketchcolorError as exc:
        log.error("error: %s", exc)
        return 2
    for s in summary.sets:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())) or "none"
        log.info("%s: %d icons → %d pairs (%s); skipped: %s; failed %d; splits %s", s.prefix, s.icons, s.pairs,
                 ", ".join(f"{k} {v}" for k, v in sorted(s.extractors.items())), skipped, len(s.failed),
                 ", ".join(f"{k} {v}" for k, v in s.split_counts.items()))
        for name, error in s.failed:
            log.warning("failed: %s/%s: %s", s.prefix, name, error)
    log.info("manifests: %s, %s%s (%.0f s)", summary.manifest, summary.heldout,
             f", {summary.combined}" if summary.combined else "", summary.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
