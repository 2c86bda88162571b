"""The `sketchcolor` command: batch coloring, hints from flags and files, one-line errors for bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

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


@pytest.mark.parametrize("fmt", ["ora", "psd"])
def test_layers_next_to_each_output_and_a_bad_layers_path_costs_nothing_else(tmp_path, tiny_checkpoint, capsys, fmt):
    folder = tmp_path / "in"
    folder.mkdir()
    draw_line_art(200, 150, seed=1).save(folder / "a.png")
    draw_line_art(150, 200, seed=2).save(folder / "b.png")
    out = tmp_path / "out"
    (out / f"b.{fmt}").mkdir(parents=True)  # b's layered file cannot be written: a folder stands there
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--layers", fmt.upper(),
                            "--flats-by-color"], capsys)
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == sorted([f"a.{fmt}", "a.png", f"b.{fmt}", "b.png"])
    assert (out / f"a.{fmt}").stat().st_size > 1000 and (out / f"b.{fmt}").is_dir()
    error_lines = [line for line in err.splitlines() if "error" in line]
    assert len(error_lines) == 1 and f"b.{fmt}" in error_lines[0] and "folder" in error_lines[0]
    if fmt == "ora":
        with zipfile.ZipFile(out / "a.ora") as archive:
            assert b'name="flats by color"' in archive.read("stack.xml")


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
        ("text-as-png", [text, "-o", out, *ck], "text.png"),
        ("empty-file", [empty, "-o", out, *ck], "empty"),
        ("truncated-png", [truncated, "-o", out, *ck], "truncated"),
        ("missing-file", [tmp_path / "nope.png", "-o", out, *ck], "nope.png"),
        ("empty-folder", [empty_dir, "-o", out, *ck], "no pictures"),
        ("hint-syntax", [good, "-o", out, *ck, "--hint", "1,2"], "1,2"),
        ("hint-out-of-bounds", [good, "-o", out, *ck, "--hint", "500,5,#ffffff"], "500"),
        ("hint-bad-color", [good, "-o", out, *ck, "--hint", "5,5,#zzzzzz"], "zzzzzz"),
        ("hints-not-json", [good, "-o", out, *ck, "--hints", not_json], "hints.json"),
        ("hints-missing-key", [good, "-o", out, *ck, "--hints", no_keys], "nokeys.json"),
        ("corrupt-checkpoint", [good, "-o", out, "--checkpoint", broken_ckpt], "corrupt or truncated"),
        ("missing-checkpoint", [good, "-o", out, "--checkpoint", tmp_path / "no_ckpt"], "no such checkpoint"),
        ("bad-output-format", [good, "-o", tmp_path / "out.bmp", *ck], ".bmp"),
        ("bad-working-size", [good, "-o", out, *ck, "--size", "4"], "working_size"),
        ("bad-temperature", [good, "-o", out, *ck, "--temperature", "-1"], "temperature"),
        ("bad-gap-closing", [good, "-o", out, *ck, "--close-gaps", "0.5"], "gap_closing"),
        ("levin-on-line-art", [good, "-o", out, "--method", "levin", "--mode", "sketch"], "grayscale"),
        ("unknown-layers-format", [good, "-o", out, *ck, "--layers", "tif"], "--layers"),
        ("by-color-without-layers", [good, "-o", out, *ck, "--flats-by-color"], "--layers"),
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


def test_version_and_help_from_the_console_script():
    done = subprocess.run([sys.executable, "-m", "sketchcolor.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"sketchcolor {__version__}"
    done = subprocess.run([sys.executable, "-m", "sketchcolor.cli"], capture_output=True, text=True)
    assert done.returncode == 2 and "colorize" in done.stdout


def test_no_bundled_weights_message(tmp_path, capsys, monkeypatch):
    import sketchcolor.pipeline as pipeline

    monkeypatch.setattr(pipeline, "BUNDLED_WEIGHTS", tmp_path / "none")
    src = tmp_path / "d.png"
    draw_line_art(50, 50).save(src)
    code, _, err = run_cli(["colorize", src, "-o", tmp_path / "o"], capsys)
    assert code != 0 and "--checkpoint" in err


def test_help_states_the_librarys_own_defaults(capsys):
    # The help text cannot import the pipeline (torch) just to print it, so it repeats the defaults: pinned here.
    from sketchcolor.pipeline import MODE_TEMPERATURE
    from sketchcolor.regions import GAP_CLOSING

    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"default {MODE_TEMPERATURE['sketch']} for line art, {MODE_TEMPERATURE['gray']} for gray" in text
    assert f"(default {GAP_CLOSING};" in text
