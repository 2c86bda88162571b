"""The `sketchcolor` command: parse arguments, then call the library.

Subcommands: ``colorize`` (batch coloring with hints), and ``demo``, ``train``, ``evaluate``, ``bench`` which
delegate to their modules' ``main(argv)``. Bad input gives a one-line message and a non-zero exit; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib import import_module
from pathlib import Path
from typing import Sequence

from sketchcolor import __version__
from sketchcolor.errors import ConfigError, SketchcolorError

log = logging.getLogger("sketchcolor")

# Subcommands implemented by another module's main(argv).
DELEGATES = {
    "demo": ("sketchcolor.demo", "launch the Gradio page for artists"),
    "train": ("sketchcolor.train", "train the nets (python -m sketchcolor.train)"),
    "evaluate": ("sketchcolor.evaluate", "run the evaluation protocol (python -m sketchcolor.evaluate)"),
    "bench": ("sketchcolor.bench", "benchmark speed and memory (python -m sketchcolor.bench)"),
}


def _add_colorize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "colorize",
        help="color line drawings or grayscale pictures",
        description="Color each input picture (folders are expanded) and write one output per input.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="picture files or folders of pictures")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder, or an output file name when there is exactly one input")
    p.add_argument("--mode", choices=("auto", "sketch", "gray"), default="auto")
    p.add_argument("--method", choices=("net", "levin", "regionfill"), default="net",
                   help="net: the learned model; levin / regionfill: classical hint propagation (no weights needed)")
    p.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,R]",
                   help="a color hint in input pixel coordinates (repeatable)")
    p.add_argument("--hints", metavar="FILE.json", help='hints file: {"hints": [{"x":..,"y":..,"color":"#rrggbb"}]}')
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint folder (default: the bundled weights)")
    p.add_argument("--device", choices=("cpu", "cuda"), default=None, help="default: cuda when available")
    p.add_argument("--size", type=int, default=None, metavar="PX", help="working size of the nets (long side)")
    p.add_argument("--temperature", type=float, default=None,
                   help="color decoding temperature, lower = more vivid (default 0.38 for line art, 0.22 for gray)")
    p.add_argument("--cleanup", action="store_true", help="uniform color within each closed region")
    p.add_argument("--shading", action="store_true",
                   help="line art: keep the estimated shading inside regions (default: one tone per region)")
    p.add_argument("--close-gaps", type=float, default=None, metavar="FRACTION",
                   help="line art: close gaps in the lines up to about twice this fraction of the long side "
                        "(default 0.012; 0 = only fully closed outlines hold a color)")
    p.add_argument("--format", choices=("png", "jpg", "webp"), default="png", help="output format for folders")
    p.add_argument("--layers", metavar="ora|psd", default=None,
                   help="also write the layers (lines, colors, flats, shading, closed gaps, hints) next to each "
                        "output: OpenRaster (Krita, GIMP, MyPaint) or Photoshop")
    p.add_argument("--flats-by-color", action="store_true",
                   help="with --layers: a hidden group with one layer per flat color")
    p.add_argument("--recursive", action="store_true", help="descend into sub-folders")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchcolor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sketchcolor {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_colorize(sub)
    for name, (_, help_text) in DELEGATES.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _output_paths(inputs: list[Path], output: Path, fmt: str) -> list[Path]:
    from sketchcolor.image_io import IMAGE_EXTENSIONS

    if len(inputs) == 1 and output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        return [output]
    names: dict[str, int] = {}
    paths = []
    for src in inputs:
        stem = src.stem
        count = names.get(stem, 0)
        names[stem] = count + 1
        # Two inputs with one stem (a.png, a.jpg) must not overwrite each other.
        suffix = f"-{count}" if count else ""
        paths.append(output / f"{stem}{suffix}.{fmt}")
    return paths


def run_colorize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sketchcolor.hints import load_hints_json, parse_hint
    from sketchcolor.image_io import expand_inputs, save_image
    from sketchcolor.layers import FORMATS as LAYER_FORMATS
    from sketchcolor.pipeline import Colorizer

    if args.layers is not None and f".{args.layers.lower()}" not in LAYER_FORMATS:
        allowed = ", ".join(s.lstrip(".") for s in LAYER_FORMATS)
        raise ConfigError(f"unknown --layers value {args.layers!r}; allowed: {allowed}")
    if args.flats_by_color and args.layers is None:
        raise ConfigError("--flats-by-color adds a group to the layered file: give --layers ora or --layers psd")
    inputs = expand_inputs(args.inputs, recursive=args.recursive)
    if not inputs:
        raise SketchcolorError(f"no pictures found in {' '.join(args.inputs)}")
    hints = [parse_hint(text) for text in args.hint]
    if args.hints:
        hints += load_hints_json(args.hints)
    options = {} if args.size is None else {"working_size": args.size}
    if args.close_gaps is not None:
        options["gap_closing"] = args.close_gaps
    if args.method == "net":
        colorizer = Colorizer.from_pretrained(args.checkpoint, device=args.device, **options)
    else:
        colorizer = Colorizer(device=args.device or "cpu", **options)
    outputs = _output_paths(inputs, Path(args.output), args.format)
    failures = 0
    for src, dst in tqdm(list(zip(inputs, outputs)), desc="colorize", unit="img", disable=len(inputs) < 2):
        try:
            result = colorizer.colorize(src, hints=hints, mode=args.mode, temperature=args.temperature,
                                        cleanup=args.cleanup, method=args.method, shading=args.shading)
            save_image(result.image, dst)
            if args.layers is not None:
                result.save_layers(dst.with_suffix(f".{args.layers.lower()}"), by_color=args.flats_by_color)
        except (SketchcolorError, OSError) as exc:
            # One bad file must not cost the rest of the batch.
            failures += 1
            tqdm.write(f"sketchcolor: error: {src}: {exc}" if isinstance(exc, OSError) else f"sketchcolor: error: {exc}",
                       file=sys.stderr)
            continue
        log.info("%s -> %s (%s, %.2f s)", src, dst, result.mode, result.seconds)
    if failures:
        print(f"sketchcolor: {failures} of {len(inputs)} inputs failed", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Delegated subcommands get every argument after their name, untouched.
    debug = "--debug" in argv[: next((i for i, a in enumerate(argv) if a in DELEGATES), len(argv))]
    for i, arg in enumerate(argv):
        if arg in DELEGATES:
            module = import_module(DELEGATES[arg][0])
            return _guarded(lambda: module.main(argv[i + 1:]), debug)
        if not arg.startswith("-"):
            break
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    return _guarded(lambda: run_colorize(args), args.debug)


def _guarded(fn, debug: bool) -> int:
    try:
        code = fn()
    except SketchcolorError as exc:
        if debug:
            raise
        print(f"sketchcolor: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sketchcolor: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence: one line, not a traceback
        if debug:
            raise
        print(f"sketchcolor: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
              file=sys.stderr)
        return 3
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
