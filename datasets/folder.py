"""Turn any folder of color pictures into (synthetic line art, color) pairs with a manifest.

    python datasets/folder.py PICTURES --out data/mypics --size 256 [--extractor random|xdog|canny|regions]

Pictures are scaled and padded to white squares; line art comes from sketchcolor.sketch. Unreadable files are
skipped and listed. The work happens in sketchcolor.data.folder.build_folder.
"""

import argparse
import logging
import sys

from sketchcolor import sketch
from sketchcolor.data.folder import RANDOM, build_folder
from sketchcolor.errors import SketchcolorError

log = logging.getLogger("datasets.folder")


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", help="folder of color pictures (searched recursively)")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--size", type=int, default=256, help="side of the square pairs in pixels (default 256)")
    parser.add_argument(
        "--extractor", default=RANDOM, choices=[RANDOM, *sorted(sketch.EXTRACTORS)], help="line extractor"
    )
    parser.add_argument("--name", default=None, help="source name in the manifest (default: the folder's name)")
    parser.add_argument("--license", default="unknown", help="license written into every manifest entry")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N pictures (sorted by path)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        s = build_folder(
            args.src,
            args.out,
            size=args.size,
            extractor=args.extractor,
            name=args.name,
            license=args.license,
            limit=args.limit,
            workers=args.workers,
        )
    except SketchcolorError as exc:
        log.error("error: %s", exc)
        return 2
    log.info(
        "folder: %d pictures in %.1f s: %d pairs (%d made, %d skipped-existing), %d unreadable",
        s.total, s.seconds, s.pairs, s.rendered, s.existing, len(s.failed),
    )
    log.info("splits: %s", ", ".join(f"{k} {v}" for k, v in s.split_counts.items()))
    for path, error in s.failed:
        log.warning("unreadable: %s: %s", path, error)
    log.info("manifest: %s", s.manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
