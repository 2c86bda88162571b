"""The `sketchcolor` command: batch coloring, hints from flags and files, one-line errors for bad input."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sketchcolor import __version__
from sketchcolor.cli import main

from conftest import draw_line_art, write_png_header


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_colorize_1000x700_line_drawing(tmp_path, tiny_checkpoint, capsys):
    src = tmp_path / "drawing.png"
    draw_line_art(1000, 700).save(src)
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", src, "-o", out, "--checkpoint", tiny_checkpoint, "--hint", "500,350,#e03020"],
                           capsys)
    assert code == 0, err
    result = Image.open(out / "drawing.png")
    assert result.size == (1000, 700) and result.mode == "RGB"
    lines = np.asarray(Image.open(src).convert("L")) < 64
    assert np.asarray(result.convert("L"))[lines].max() < 64


def test_batch_with_a_bad_file_writes_the_others(tmp_path, tiny_checkpoint, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    draw_line_art(200, 150, seed=1).save(folder / "a.png")
    draw_line_art(150, 200, seed=2).save(folder / "b.jpg")
    (folder / "broken.png").write_text("this is not a picture")
    (folder / "notes.txt").write_text("ignored: not a picture extension")
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint], capsys)
    assert code != 0
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and "broken.png" in error_lines[0]
    assert "Traceback" not in err


def test_hints_file_and_single_output_name(tmp_path, tiny_checkpoint, capsys):
    src = tmp_path / "d.png"
    draw_line_art(300, 200).save(src)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"hints": [{"x": 10, "y": 20, "color": "#112233", "radius": 3}]}))
    code, _, err = run_cli(["colorize", src, "-o", tmp_path / "result.webp", "--hints", hints,
                            "--checkpoint", tiny_checkpoint, "--mode", "sketch", "--size", "64",
                            "--close-gaps", "0", "--shading"], capsys)
    assert code == 0, err
    assert Image.open(tmp_path / "result.webp").size == (300, 200)


def test_classical_method_needs_no_checkpoint(tmp_path, capsys):
    src = tmp_path / "d.png"
    draw_line_art(120, 90).save(src)
    code, _, err = run_cli(["colorize", src, "-o", tmp_path / "o.png", "--method", "regionfill",
                            "--hint", "2,2,#ff0000"], capsys)
    assert code == 0, err
    assert tuple(np.asarray(Image.open(tmp_path / "o.png"))[2, 2]) == (255, 0, 0)


def _folder_of_two(tmp_path):
    """tmp_path/in with a.png (200x150) and b.png (150x200)."""
    folder = tmp_path / "in"
    folder.mkdir()
    draw_line_art(200, 150, seed=1).save(folder / "a.png")
    draw_line_art(150, 200, seed=2).save(folder / "b.png")
    return folder


@pytest.mark.parametrize("fmt", ["ora", "psd"])
def test_layers_next_to_each_output_and_a_bad_layers_path_costs_nothing_else(tmp_path, tiny_checkpoint, capsys, fmt):
    folder = _folder_of_two(tmp_path)
    out = tmp_path / "out"
    (out / f"b.{fmt}").mkdir(parents=True)  # b's layered file cannot be written: a folder stands there
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--layers", fmt.upper(),
                            "--flats-by-color", "--overwrite"], capsys)
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([f"a.{fmt}", "a.png", f"b.{fmt}", "b.png"])
    assert (out / f"a.{fmt}").stat().st_size > 1000 and (out / f"b.{fmt}").is_dir()
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and f"b.{fmt}" in error_lines[0] and "folder" in error_lines[0]
    if fmt == "ora":
        with zipfile.ZipFile(out / "a.ora") as archive:
            assert b'name="flats by color"' in archive.read("stack.xml")


def _files_below(root):
    """Every file below ``root`` as {relative path: bytes}: two equal snapshots mean nothing was written."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# (colorize arguments, run from a folder holding x.png, link.png -> x.png, pic.ora (a PNG under a layered file's
# name) and in/ with a.png and b.jpg): each output would land on an input.
OVER_AN_INPUT = {
    "same-path": ["x.png", "-o", "x.png"],
    "dot-slash": ["x.png", "-o", "./x.png"],
    "through-a-parent": ["x.png", "-o", "in/../x.png"],
    "symlink-to-the-input": ["x.png", "-o", "link.png"],
    "layered-file": ["pic.ora", "-o", "pic.png", "--layers", "ora"],
    "folder-to-itself": ["in", "-o", "in"],
    "folder-to-itself-slash": ["in", "-o", "./in/"],
    "file-into-its-folder": ["in/a.png", "in/b.jpg", "-o", "in/"],
}


@pytest.mark.parametrize("overwrite", [False, True], ids=["", "overwrite"])
@pytest.mark.parametrize("name", OVER_AN_INPUT)
def test_an_output_never_replaces_an_input(tmp_path, tiny_checkpoint, capsys, monkeypatch, name, overwrite):
    monkeypatch.chdir(tmp_path)
    draw_line_art(120, 90, seed=1).save("x.png")
    Path("link.png").symlink_to(tmp_path / "x.png")
    draw_line_art(120, 90, seed=2).save("pic.ora", format="PNG")
    Path("in").mkdir()
    draw_line_art(100, 80, seed=3).save("in/a.png")
    draw_line_art(100, 80, seed=4).save("in/b.jpg")
    before = _files_below(tmp_path)
    extra = ["--overwrite"] if overwrite else []
    code, _, err = run_cli(["colorize", *OVER_AN_INPUT[name], "--checkpoint", tiny_checkpoint, *extra], capsys)
    lines = err.splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("sketchcolor: error:"), err
    assert "would overwrite the input" in lines[0] and lines[0].endswith("; choose another -o"), err
    assert _files_below(tmp_path) == before


def test_outputs_with_one_name_are_made_unique_before_writing(tmp_path, tiny_checkpoint, capsys):
    # Told apart by their sizes; in/a-1.png is named like the second a's output would be by a plain count.
    sizes = {"in/a-1.png": (100, 80), "in/a.jpg": (110, 80), "in/a.png": (120, 80), "more/A.png": (130, 80)}
    for name, size in sizes.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        draw_line_art(*size).save(tmp_path / name)
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", tmp_path / "in", tmp_path / "more", "-o", out, "--checkpoint", tiny_checkpoint,
                            "--layers", "ora"], capsys)
    assert code == 0, err
    # Names are compared ignoring case (A.png and a.png are one file on macOS and Windows).
    sources = {"a-1": "in/a-1.png", "a": "in/a.jpg", "a-2": "in/a.png", "A-3": "more/A.png"}
    expected = sorted(f"{stem}.{ext}" for stem in sources for ext in ("ora", "png"))
    assert sorted(p.name for p in out.iterdir()) == expected
    for stem, src in sources.items():
        assert Image.open(out / f"{stem}.png").size == sizes[src], stem
    info = [line for line in err.splitlines() if line.startswith("sketchcolor: info:")]
    assert len(info) == 2, err
    assert f"in{os.sep}a.png -> {out / 'a-2.png'}" in info[0] and f"{out / 'a.png'} is the output of" in info[0]
    assert f"more{os.sep}A.png -> {out / 'A-3.png'}" in info[1]


def test_several_inputs_need_an_output_folder(tmp_path, tiny_checkpoint, capsys):
    draw_line_art(100, 80, seed=1).save(tmp_path / "a.png")
    draw_line_art(100, 80, seed=2).save(tmp_path / "b.png")
    before = _files_below(tmp_path)
    code, _, err = run_cli(["colorize", tmp_path / "a.png", tmp_path / "b.png", "-o", tmp_path / "single.png",
                            "--checkpoint", tiny_checkpoint], capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "single.png" in lines[0] and "2 inputs need an output folder" in lines[0]
    assert _files_below(tmp_path) == before and not (tmp_path / "single.png").exists()


@pytest.mark.parametrize("target, written", [
    ("out.png/", "out.png/d.png"),  # a trailing slash: a folder, whatever the suffix
    ("existing.png", "existing.png/d.png"),  # an existing folder
    ("plain", "plain/d.png"),  # no picture suffix
    ("result.jpg", "result.jpg"),  # a picture suffix and one input: the file itself
])
def test_output_is_a_file_or_a_folder(tmp_path, tiny_checkpoint, capsys, monkeypatch, target, written):
    monkeypatch.chdir(tmp_path)
    draw_line_art(100, 80).save("d.png")
    Path("existing.png").mkdir()
    code, _, err = run_cli(["colorize", "d.png", "-o", target, "--checkpoint", tiny_checkpoint], capsys)
    assert code == 0, err
    assert Image.open(written).size == (100, 80)


@pytest.mark.parametrize("existing", ["b.png", "a.ora"])
def test_existing_outputs_are_kept_unless_overwrite(tmp_path, tiny_checkpoint, capsys, existing):
    folder = _folder_of_two(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / existing).write_bytes(b"the artist's earlier file")
    args = ["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--layers", "ora"]
    code, _, err = run_cli(args, capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f"'{out / existing}' already exists" in lines[0] and "--overwrite" in lines[0]
    assert _files_below(out) == {existing: b"the artist's earlier file"}
    code, _, err = run_cli([*args, "--overwrite"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.ora", "a.png", "b.ora", "b.png"]
    assert Image.open(out / "b.png").size == (150, 200) and zipfile.is_zipfile(out / "a.ora")


def test_pipeline_settings_from_the_command_line(tmp_path, tiny_checkpoint, capsys):
    src = tmp_path / "d.png"
    draw_line_art(200, 150).save(src)
    outputs = {}
    for name, extra in (("plain", []), ("no-page", ["--set", "white_page=false", "--set", "gap_closing=0"])):
        code, _, err = run_cli(["colorize", src, "-o", tmp_path / f"{name}.png", "--checkpoint", tiny_checkpoint,
                                "--mode", "sketch", *extra], capsys)
        assert code == 0, err
        outputs[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    assert (outputs["plain"][0, 0] == 255).all()  # the page stays white by default
    assert not np.array_equal(outputs["plain"], outputs["no-page"])


@pytest.mark.parametrize("form", ["hexes", "lines", "json"])
def test_palette_from_hexes_or_a_file_locks_the_colors(tmp_path, tiny_checkpoint, capsys, form):
    src = tmp_path / "d.png"
    draw_line_art(200, 150).save(src)
    colors = ["#3060c0", "#e03020", "#20a040"]
    if form == "hexes":
        spec = ",".join(colors)
    else:
        spec = tmp_path / f"palette.{'json' if form == 'json' else 'txt'}"
        spec.write_text(json.dumps(colors) if form == "json" else "\n".join(colors) + "\n")
    code, _, err = run_cli(["colorize", src, "-o", tmp_path / "out.png", "--checkpoint", tiny_checkpoint,
                            "--mode", "sketch", "--palette", spec], capsys)
    assert code == 0, err
    out = np.asarray(Image.open(tmp_path / "out.png"))
    off_lines = np.asarray(Image.open(src).convert("L")) == 255
    used = {tuple(int(c) for c in rgb) for rgb in np.unique(out[off_lines], axis=0)}
    # Off the lines the picture is its flats: palette colors and the white page only, and some palette color.
    allowed = {(48, 96, 192), (224, 48, 32), (32, 160, 64)}
    assert used <= allowed | {(255, 255, 255)} and used & allowed


def test_variations_are_written_next_to_the_output_and_never_replaced_unasked(tmp_path, tiny_checkpoint, capsys):
    src = tmp_path / "drawing.png"
    draw_line_art(300, 200).save(src)
    out = tmp_path / "out"
    args = ["colorize", src, "-o", out / "pick.png", "--checkpoint", tiny_checkpoint, "--variations", "3",
            "--layers", "ora"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["pick-v1.ora", "pick-v1.png", "pick-v2.ora", "pick-v2.png",
                                                      "pick.ora", "pick.png"]
    pictures = [np.asarray(Image.open(out / name)) for name in ("pick.png", "pick-v1.png", "pick-v2.png")]
    assert all(not np.array_equal(pictures[i], pictures[j]) for i in range(3) for j in range(i + 1, 3))
    # The same call (the same --seed) gives the same variations.
    again = tmp_path / "again"
    assert run_cli([*args[:3], again / "pick.png", *args[4:]], capsys)[0] == 0
    assert np.array_equal(np.asarray(Image.open(again / "pick-v2.png")), pictures[2])
    # An existing variation is kept unless --overwrite, and then nothing at all is written.
    shutil.rmtree(out)
    out.mkdir()
    (out / "pick-v2.png").write_bytes(b"the artist's pick")
    code, _, err = run_cli(args, capsys)
    assert code == 2 and f"'{out / 'pick-v2.png'}' already exists;" in err and "--overwrite" in err
    assert _files_below(out) == {"pick-v2.png": b"the artist's pick"}
    code, _, err = run_cli([*args, "--overwrite"], capsys)
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(out / "pick-v2.png")), pictures[2])


def test_a_variations_name_that_is_another_inputs_output_is_refused(tmp_path, tiny_checkpoint, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    draw_line_art(120, 90, seed=1).save(folder / "a.png")
    draw_line_art(120, 90, seed=2).save(folder / "a-v1.png")
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--variations", "2"],
                           capsys)
    assert code == 2 and "would be written twice" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def _bad_inputs(tmp_path, ckpt):
    """(name, CLI arguments, message fragment): at least 12 kinds of bad input."""
    good = tmp_path / "good.png"
    draw_line_art(100, 80).save(good)
    bomb = write_png_header(tmp_path / "bomb.png", 40000, 40000)
    text = tmp_path / "text.png"
    text.write_text("hello, I am text")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    buf = io.BytesIO()
    draw_line_art(300, 300).save(buf, format="PNG")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    empty_dir = tmp_path / "nothing"
    empty_dir.mkdir()
    not_json = tmp_path / "hints.json"
    not_json.write_text("{oops")
    no_keys = tmp_path / "nokeys.json"
    no_keys.write_text(json.dumps({"hints": [{"x": 1, "color": "#ffffff"}]}))
    broken_ckpt = tmp_path / "broken_ckpt"
    broken_ckpt.mkdir()
    for f in ckpt.iterdir():
        (broken_ckpt / f.name).write_bytes(f.read_bytes())
    (broken_ckpt / "model.safetensors").write_bytes((ckpt / "model.safetensors").read_bytes()[:100])
    out = tmp_path / "out"
    ck = ["--checkpoint", ckpt]
    cases = [
        ("decompression-bomb", [bomb, "-o", out, *ck], "pixels"),
        ("text-as-png", [text, "-o", out, *ck], "text.png': not an image file"),
        ("empty-file", [empty, "-o", out, *ck], "empty"),
        ("truncated-png", [truncated, "-o", out, *ck], "truncated"),
        ("missing-file", [tmp_path / "nope.png", "-o", out, *ck], f"no such file or folder: '{tmp_path / 'nope.png'}'"),
        ("empty-folder", [empty_dir, "-o", out, *ck], "no pictures"),
        ("hint-syntax", [good, "-o", out, *ck, "--hint", "1,2"], "1,2"),
        ("hint-out-of-bounds", [good, "-o", out, *ck, "--hint", "500,5,#ffffff"], "500"),
        ("hint-bad-color", [good, "-o", out, *ck, "--hint", "5,5,#zzzzzz"], "zzzzzz"),
        ("hints-not-json", [good, "-o", out, *ck, "--hints", not_json], "hints.json: not valid JSON"),
        ("hints-missing-key", [good, "-o", out, *ck, "--hints", no_keys], "nokeys.json: hint #0: missing key(s) 'y'"),
        ("corrupt-checkpoint", [good, "-o", out, "--checkpoint", broken_ckpt], "corrupt or truncated"),
        ("missing-checkpoint", [good, "-o", out, "--checkpoint", tmp_path / "no_ckpt"], "no such checkpoint"),
        ("bad-output-format", [good, "-o", tmp_path / "out.bmp", *ck], ".bmp"),
        ("bad-working-size", [good, "-o", out, *ck, "--size", "4"], "working_size"),
        ("bad-temperature", [good, "-o", out, *ck, "--temperature", "-1"], "temperature"),
        ("bad-gap-closing", [good, "-o", out, *ck, "--close-gaps", "0.5"], "gap_closing"),
        ("levin-on-line-art", [good, "-o", out, "--method", "levin", "--mode", "sketch"], "grayscale"),
        ("unknown-layers-format", [good, "-o", out, *ck, "--layers", "tif"], "--layers"),
        ("by-color-without-layers", [good, "-o", out, *ck, "--flats-by-color"], "--layers"),
        ("unknown-setting", [good, "-o", out, *ck, "--set", "pockets=0"], "unknown config key 'pockets'"),
        ("bad-setting-value", [good, "-o", out, *ck, "--set", "decode_sketch=vote"], "decode_sketch 'vote'"),
        ("malformed-set", [good, "-o", out, *ck, "--set", "gap_closing"], "expected KEY=VALUE"),
        ("empty-palette", [good, "-o", out, *ck, "--palette", ","], "the palette is empty"),
        ("bad-palette-hex", [good, "-o", out, *ck, "--palette", "#e03020,#12345g"],
         "palette entry #1: bad color '#12345g'"),
        ("missing-palette-file", [good, "-o", out, *ck, "--palette", tmp_path / "colors.txt"], "neither a file nor"),
        ("palette-without-the-net", [good, "-o", out, "--method", "regionfill", "--palette", "#e03020"],
         "--palette works with --method net"),
        ("no-variations", [good, "-o", out, *ck, "--variations", "0"], "whole number from 1 to 16"),
        ("too-many-variations", [good, "-o", out, *ck, "--variations", "17"], "whole number from 1 to 16"),
        ("variations-without-the-net", [good, "-o", out, "--method", "regionfill", "--variations", "2"],
         "--variations works with --method net"),
        ("variations-and-a-palette", [good, "-o", out, *ck, "--variations", "2", "--palette", "#e03020"],
         "do not combine"),
        ("negative-seed", [good, "-o", out, *ck, "--variations", "2", "--seed", "-1"], "seed must be a whole"),
    ]
    if not torch.cuda.is_available():
        cases.append(("cuda-unavailable", [good, "-o", out, *ck, "--device", "cuda"], "CUDA"))
    return cases


def test_bad_inputs_get_one_line_errors(tmp_path, tiny_checkpoint, capsys):
    cases = _bad_inputs(tmp_path, tiny_checkpoint)
    assert len(cases) >= 12
    for name, args, fragment in cases:
        code, _, err = run_cli(["colorize", *args], capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        assert code != 0, name
        assert "Traceback" not in err, name
        assert lines and lines[0].startswith("sketchcolor: error:"), (name, err)
        assert any(fragment.lower() in line.lower() for line in lines), (name, fragment, err)
        # One message for the bad input (plus, for batches, one summary line).
        assert len(lines) <= 2, (name, err)


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(ValueError):
        main(["--debug", "colorize", str(tmp_path / "nope.png"), "-o", str(tmp_path / "o")])


def _console_script() -> str:
    """The installed `sketchcolor` command: pip puts it beside this interpreter, else it is on PATH."""
    beside = Path(sys.executable).with_name("sketchcolor.exe" if os.name == "nt" else "sketchcolor")
    found = str(beside) if beside.is_file() else shutil.which("sketchcolor")
    if found is None:
        pytest.skip("the sketchcolor console script is not installed (pip install -e . creates it)")
    return found


def test_version_and_help_from_the_console_script():
    script = _console_script()
    done = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == f"sketchcolor {__version__}"
    done = subprocess.run([script], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "colorize" in done.stdout
    done = subprocess.run([script, "colorize", "--help"], capture_output=True, text=True, check=False)
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and "--overwrite replace outputs" in text and "never an input's folder" in text


def test_no_bundled_weights_message(tmp_path, capsys, monkeypatch):
    import sketchcolor.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BUNDLED_WEIGHTS", tmp_path / "none")
    src = tmp_path / "d.png"
    draw_line_art(50, 50).save(src)
    code, _, err = run_cli(["colorize", src, "-o", tmp_path / "o"], capsys)
    assert code != 0 and "--checkpoint" in err


def test_help_states_the_librarys_own_defaults(capsys):
    # The help text cannot import the pipeline (torch) just to print it, so it repeats the defaults: pinned here.
    from sketchcolor.pipeline import PipelineConfig

    defaults = PipelineConfig()

    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"default {defaults.temperature_sketch} for line art, {defaults.temperature_gray} for gray" in text
    assert f"(default {defaults.gap_closing};" in text
