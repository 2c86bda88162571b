"""Launch the sketchcolor page from a checkout: `python demo/app.py [--host H] [--port P] [--checkpoint PATH]`.

A thin shell: the page lives in :mod:`sketchcolor.demo` (so `sketchcolor demo` works after a normal install). This
script runs it through the `sketchcolor` command so bad options and checkpoints get the same one-line errors, and
points it at this checkout's examples/ folder unless --examples is given.
"""

import sys
from pathlib import Path

from sketchcolor.cli import main as cli_main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    defaults = ["--examples", str(EXAMPLES)] if EXAMPLES.is_dir() else []
    # argparse keeps the last value, so an --examples given by the caller wins over the default.
    return cli_main(["demo", *defaults, *argv])


if __name__ == "__main__":
    sys.exit(main())
