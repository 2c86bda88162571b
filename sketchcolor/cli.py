"""The `sketchcolor` command: parse arguments, then call the library.

Subcommands: ``colorize`` (batch coloring with hints), and ``demo``, ``train``, ``evaluate``, ``bench`` which
delegate to their modules' ``main(argv)``. Bad input gives a one-line message and a non-zero exit; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
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
        description="Color each input picture (folders are expanded) and write one output per input, named after "
                    "it (two inputs with one name, like a.jpg and a.png, get a -1, -2 suffix, said in an info line). "
                    "Every output path is checked before anything is written: an output that would replace an "
                    "input is an error, and so is one that already exists unless --overwrite is given.",
    )
    p.add_argument("inputs", nargs="+", metavar="IN", help="picture files or folders of pictures")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output folder (an existing folder, or any name ending in /), or, for exactly one input, "
                        "an output file name ending in .png, .jpg, .jpeg or .webp; never an input's folder")
    p.add_argument("--overwrite", action="store_true",
                   help="replace outputs (and layered files) that already exist; inputs are never replaced")
    p.add_argument("--mode", choices=("auto", "sketch", "gray"), default="auto")
    p.add_argument("--method", choices=("net", "levin", "regionfill"), default="net",
                   help="net: the learned model; levin / regionfill: classical hint propagation (no weights needed)")
    p.add_argument("--hint", action="append", default=[], metavar="X,Y,#RRGGBB[,R]",
                   help="a color hint in input pixel coordinates (repeatable)")
    p.add_argument("--hints", metavar="FILE.json", help='hints file: {"hints": [{"x":..,"y":..,"color":"#rrggbb"}]}')
    p.add_argument("--palette", metavar="FILE|COLORS",
                   help="lock the colors to a palette: comma-separated colors (#e03020,#3060c0) or a file of them "
                        "(one per line, or a JSON list); every flat region takes exactly one, hints their nearest; "
                        "the page stays white (method net only)")
    p.add_argument("--variations", type=int, default=None, metavar="K",
                   help="write K different automatic colorings of each input to pick from: the usual output and, "
                        "next to it, its name + -v1 ... -v(K-1) (a.png, a-v1.png, ...); on line art -v1, -v3, ... "
                        "also color shapes whose outline is open to the page; K from 1 to 16 (method net only, not "
                        "with --palette)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --variations draws (the same seed, the same "
                                                       "variations)")
    p.add_argument("--reference", metavar="FILE",
                   help="color after this colored picture: a colored drawing of the same subject gives each region "
                        "its matched region's color; any other picture gives its colors' mood (net only, not with "
                        "--palette or --variations)")
    p.add_argument("--reference-mode", choices=("auto", "match", "global"), default="auto",
                   help="match: take matched regions' colors; global: follow the reference's color distribution; "
                        "auto (default): match when the reference lines up with the drawing, else global")
    p.add_argument("--consistent", action="store_true",
                   help="a batch of pages or frames: each picture after the first follows the previous one's colors, "
                        "so a character keeps its colors (inputs in name order; net only, not with --palette or "
                        "--variations)")
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
    p.add_argument("--format", choices=("png", "jpg", "webp"), default="png",
                   help="output format when OUT is a folder")
    p.add_argument("--layers", metavar="ora|psd", default=None,
                   help="also write the layers (lines, colors, flats, shading, closed gaps, hints) next to each "
                        "output, under its name (a.png, a.ora): OpenRaster (Krita, GIMP, MyPaint) or Photoshop")
    p.add_argument("--flats-by-color", action="store_true",
                   help="with --layers: a hidden group with one layer per flat color")
    p.add_argument("--recursive", action="store_true", help="descend into sub-folders")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="set a pipeline setting, e.g. --set gap_closing=0.02 or --set decode_sketch=mean (repeatable; "
                        "the keys of sketchcolor.pipeline.PipelineConfig)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchcolor", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"sketchcolor {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_colorize(sub)
    for name, (_, help_text) in DELEGATES.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def _output_target(output: str, count: int) -> tuple[Path, bool]:
    """Where ``count`` outputs go: ``(file, False)`` for one input and a picture file name, else ``(folder, True)``.

    A trailing slash or an existing folder always means a folder, whatever its suffix; a name with a picture
    suffix means a file, so it takes exactly one input.
    """
    from sketchcolor.image_io import IMAGE_EXTENSIONS, SAVE_EXTENSIONS

    path = Path(output)
    suffix = path.suffix.lower()
    if output.endswith(("/", os.sep)) or path.is_dir() or suffix not in IMAGE_EXTENSIONS:
        if path.exists() and not path.is_dir():
            raise ConfigError(f"-o '{path}' is an existing file, not a folder; choose another -o")
        return path, True
    if count > 1:
        raise ConfigError(f"-o '{path}' is a file name, but {count} inputs need an output folder "
                          f"(e.g. -o '{path.with_suffix('')}/')")
    if suffix not in SAVE_EXTENSIONS:
        allowed = ", ".join(sorted(SAVE_EXTENSIONS))
        raise ConfigError(f"cannot write '{path}': unsupported extension {path.suffix!r}, expected {allowed}")
    return path, False


def _output_paths(inputs: list[Path], folder: Path, fmt: str) -> tuple[list[Path], list[str]]:
    """One output path in ``folder`` per input, all distinct, and a note for each input whose name had to change.

    An input keeps its own name unless an earlier input already has it; then it gets the first ``-N`` suffix that
    is nobody's name: no input's own name (so ``a-1.png`` keeps ``a-1``) and no earlier rename. Names are compared
    case-insensitively, so the outputs also stay distinct on case-insensitive file systems (macOS, Windows).
    """
    # Every input's own name stays reserved for it; renames pick around them.
    reserved = {src.stem.casefold() for src in inputs}
    owners: dict[str, Path] = {}
    paths: list[Path] = []
    notes: list[str] = []
    for src in inputs:
        stem = src.stem
        owner = owners.get(stem.casefold())
        if owner is not None:
            number = 1
            while f"{stem}-{number}".casefold() in reserved:
                number += 1
            taken = folder / f"{stem}.{fmt}"
            stem = f"{stem}-{number}"
            reserved.add(stem.casefold())
            notes.append(f"{src} -> {folder / f'{stem}.{fmt}'} (renamed: {taken} is the output of {owner})")
        owners[stem.casefold()] = src
        paths.append(folder / f"{stem}.{fmt}")
    return paths, notes


def _file_id(path: Path) -> tuple[int, int]:
    """Device and inode: one file's identity, whatever path (symlink, ./x, other case, hard link) reaches it."""
    stat = path.stat()
    return stat.st_dev, stat.st_ino


def _check_not_an_input_folder(folder: Path, given: list[str]) -> None:
    """Refuse an output folder that is one of the folders given as input (``colorize DIR -o DIR``)."""
    if not folder.is_dir():
        return
    for item in map(Path, given):
        if item.is_dir() and _file_id(item) == _file_id(folder):
            raise ConfigError(f"-o '{folder}' is the input folder '{item}': the outputs would overwrite the input "
                              "pictures or mix with them; choose another -o")


def _check_distinct(written: list[Path]) -> None:
    """Refuse two outputs with one path (case-insensitively): only a variation's name (a-v1.png) can meet another
    input's output (the input a-v1.png), as output names are made distinct."""
    seen: set[str] = set()
    for path in written:
        key = str(path).casefold()
        if key in seen:
            raise ConfigError(f"'{path}' would be written twice: a variation's name (NAME-vN) is another input's "
                              "output; rename that input or write to separate folders")
        seen.add(key)


def _check_outputs(inputs: list[Path], written: list[Path], overwrite: bool) -> None:
    """Refuse, before anything is written, a path in ``written`` (pictures and layered files) that is an input,
    or that already exists unless ``overwrite``."""
    sources = {_file_id(src): src for src in inputs}
    existing = [path for path in written if path.exists()]
    for path in existing:
        src = sources.get(_file_id(path))
        if src is not None:
            raise ConfigError(f"writing '{path}' would overwrite the input '{src}'; choose another -o")
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise ConfigError(f"'{existing[0]}' already exists{more}; pass --overwrite to replace it")


def run_colorize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sketchcolor.hints import load_hints_json, parse_hint
    from sketchcolor.image_io import expand_inputs, save_image
    from sketchcolor.layers import FORMATS as LAYER_FORMATS
    from sketchcolor.models.configs import parse_overrides
    from sketchcolor.palette import read_palette
    from sketchcolor.pipeline import Colorizer
    from sketchcolor.transfer import load_reference
    from sketchcolor.variations import check_count, check_seed

    if args.layers is not None and f".{args.layers.lower()}" not in LAYER_FORMATS:
        allowed = ", ".join(s.lstrip(".") for s in LAYER_FORMATS)
        raise ConfigError(f"unknown --layers value {args.layers!r}; allowed: {allowed}")
    if args.flats_by_color and args.layers is None:
        raise ConfigError("--flats-by-color adds a group to the layered file: give --layers ora or --layers psd")
    if args.palette is not None and args.method != "net":
        raise ConfigError(f"--palette works with --method net, not {args.method}")
    variations = 1
    if args.variations is not None:
        variations, _ = check_count(args.variations), check_seed(args.seed)
        if args.method != "net":
            raise ConfigError(f"--variations works with --method net, not {args.method}")
        if args.palette is not None:
            raise ConfigError("--variations and --palette do not combine: a palette fixes the colors to choose from")
    follows = [flag for flag, given in (("--reference", args.reference is not None),
                                        ("--consistent", args.consistent)) if given]
    for flag in follows:
        if args.method != "net":
            raise ConfigError(f"{flag} works with --method net, not {args.method}")
        for other, given in (("--palette", args.palette is not None), ("--variations", args.variations is not None)):
            if given:
                raise ConfigError(f"{flag} and {other} do not combine: give one way of choosing the colors")
    palette = None if args.palette is None else read_palette(args.palette)
    inputs = expand_inputs(args.inputs, recursive=args.recursive)
    if not inputs:
        raise SketchcolorError(f"no pictures found in {' '.join(args.inputs)}")
    output, is_folder = _output_target(args.output, len(inputs))
    outputs, renames = [output], []
    if is_folder:
        _check_not_an_input_folder(output, args.inputs)
        outputs, renames = _output_paths(inputs, output, args.format)
    # Each output's pictures: itself, then its variations named after it (a.png, a-v1.png, ...).
    pictures = [[dst] + [dst.with_name(f"{dst.stem}-v{v}{dst.suffix}") for v in range(1, variations)]
                for dst in outputs]
    # A layered file takes its picture's name, so distinct pictures give distinct layered files.
    layered = [[None if args.layers is None else path.with_suffix(f".{args.layers.lower()}") for path in group]
               for group in pictures]
    written = [path for group, layers in zip(pictures, layered) for pair in zip(group, layers) for path in pair
               if path is not None]
    _check_distinct(written)
    _check_outputs(inputs, written, args.overwrite)
    hints = [parse_hint(text) for text in args.hint]
    if args.hints:
        hints += load_hints_json(args.hints)
    options = {"config": parse_overrides(args.overrides)}
    if args.size is not None:
        options["working_size"] = args.size
    if args.close_gaps is not None:
        options["gap_closing"] = args.close_gaps
    if args.method == "net":
        colorizer = Colorizer.from_pretrained(args.checkpoint, device=args.device, **options)
    else:
        colorizer = Colorizer(device=args.device or "cpu", **options)
    reference = None
    if args.reference is not None:
        reference = load_reference(args.reference, max_pixels=colorizer.max_pixels)  # a bad file stops here
    for note in renames:
        print(f"sketchcolor: info: {note}", file=sys.stderr)
    failures = 0
    previous = None  # --consistent: the last colored picture's flats
    jobs = list(zip(inputs, pictures, layered))
    for src, dsts, layers_dsts in tqdm(jobs, desc="colorize", unit="img", disable=len(inputs) < 2):
        dst = dsts[0]
        try:
            options = {"temperature": args.temperature, "cleanup": args.cleanup, "method": args.method,
                       "shading": True if args.shading else None}
            if args.variations is None:
                follow = {}
                if reference is not None or previous is not None:
                    follow = {"reference": previous if previous is not None else reference,
                              "reference_mode": "auto" if previous is not None else args.reference_mode}
                results = [colorizer.colorize(src, hints=hints, mode=args.mode, palette=palette, **options, **follow)]
            else:
                results = colorizer.colorize_variations(src, variations, hints=hints, mode=args.mode, seed=args.seed,
                                                        **options)
            for result, picture_dst, layers_dst in zip(results, dsts, layers_dsts):
                save_image(result.image, picture_dst)
                if layers_dst is not None:
                    result.save_layers(layers_dst, by_color=args.flats_by_color)
            result = results[0]
            if args.consistent:
                previous = result.flat  # a failed picture leaves the last good one to follow
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
