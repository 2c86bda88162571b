"""The bundled model's outputs are pinned: the README's example outputs (docs/examples/, made by the commands in the
README) must come out again. A broken net (NaN or random weights) or a changed pipeline rule shows up here; the
tolerance allows only the last-bit differences another CPU's kernels may give."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sketchcolor import Colorizer
from sketchcolor.hints import load_hints_json

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.png"))
HINTED = sorted(p for p in (ROOT / "examples").glob("*-hints.json"))


@pytest.fixture(scope="module")
def bundled() -> Colorizer:
    return Colorizer.from_pretrained(device="cpu")


def assert_pinned(result: Image.Image, expected_path: Path) -> None:
    expected = np.asarray(Image.open(expected_path).convert("RGB"), np.int16)
    got = np.asarray(result.convert("RGB"), np.int16)
    assert got.shape == expected.shape, expected_path.name
    diff = np.abs(got - expected).max(axis=2)
    # Last-bit float differences move a few pixels by a level or two; a changed net or rule moves whole regions.
    assert (diff > 3).mean() < 0.002 and diff.mean() < 0.3, (expected_path.name, (diff > 3).mean(), diff.mean())


def test_there_are_pinned_examples():
    assert len(EXAMPLES) >= 6 and len(HINTED) >= 2
    assert all((ROOT / "docs" / "examples" / p.name).is_file() for p in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_automatic_example_outputs_are_pinned(bundled, example):
    # sketchcolor colorize examples/ -o docs/examples/
    assert_pinned(bundled.colorize(example).image, ROOT / "docs" / "examples" / example.name)


@pytest.mark.parametrize("hints_file", HINTED, ids=lambda p: p.stem)
def test_hinted_example_outputs_are_pinned(bundled, hints_file):
    # sketchcolor colorize examples/NAME-lines.png -o docs/examples/NAME-lines-hinted.png --hints examples/NAME-hints.json
    name = hints_file.name.replace("-hints.json", "-lines")
    result = bundled.colorize(ROOT / "examples" / f"{name}.png", hints=load_hints_json(hints_file))
    assert_pinned(result.image, ROOT / "docs" / "examples" / f"{name}-hinted.png")
    assert json.loads(hints_file.read_text())["hints"]  # the file has hints to follow


def test_referenced_example_output_is_pinned(bundled):
    # sketchcolor colorize examples/robot-lines-turned.png --reference docs/examples/robot-lines-hinted.png
    #   -o docs/examples/robot-lines-turned-referenced.png
    result = bundled.colorize(ROOT / "examples" / "robot-lines-turned.png",
                              reference=ROOT / "docs" / "examples" / "robot-lines-hinted.png")
    assert result.reference["regime"] == "match" and result.reference["mirror"]
    assert_pinned(result.image, ROOT / "docs" / "examples" / "robot-lines-turned-referenced.png")


def test_palette_example_output_is_pinned(bundled):
    # sketchcolor colorize examples/crocodile-gray.png --palette "#3f8a3a,#a8d080,#f4f4f4,#c03030"
    #   -o docs/examples/crocodile-gray-palette.png
    palette = ["#3f8a3a", "#a8d080", "#f4f4f4", "#c03030"]
    result = bundled.colorize(ROOT / "examples" / "crocodile-gray.png", palette=palette)
    flats = np.unique(np.asarray(result.flat.convert("RGB")).reshape(-1, 3), axis=0)
    allowed = {tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in palette} | {(255, 255, 255)}
    assert {tuple(int(c) for c in rgb) for rgb in flats} <= allowed
    assert_pinned(result.image, ROOT / "docs" / "examples" / "crocodile-gray-palette.png")


def test_mood_example_output_is_pinned(bundled):
    # sketchcolor colorize examples/snowman-lines.png --reference docs/examples/robot-lines-hinted.png
    #   --reference-mode global -o docs/examples/snowman-lines-mood.png
    result = bundled.colorize(ROOT / "examples" / "snowman-lines.png",
                              reference=ROOT / "docs" / "examples" / "robot-lines-hinted.png", reference_mode="global")
    assert result.reference["regime"] == "global"
    assert_pinned(result.image, ROOT / "docs" / "examples" / "snowman-lines-mood.png")
