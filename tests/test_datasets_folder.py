"""Tests for the folder pair builder (sketchcolor.data.folder and the script datasets/folder.py)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sketchcolor.data.files import read_gray_u8, read_rgb_u8
from sketchcolor.data.folder import build_folder, fit_square, pair_id

ROOT = Path(__file__).resolve().parents[1]


def picture(width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
        fill = tuple(int(c) for c in rng.integers(20, 230, 3))
        draw.ellipse([x0, y0, x0 + width // 3, y0 + height // 3], fill=fill, outline=(0, 0, 0), width=2)
    return img


def make_folder(root: Path) -> Path:
    src = root / "pics"
    (src / "sub").mkdir(parents=True)
    picture(120, 80, 0).save(src / "wide.png")
    picture(60, 90, 1).save(src / "sub" / "tall.jpg", quality=95)
    picture(64, 64, 2).convert("RGBA").save(src / "alpha.png")
    (src / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG signature, then nothing usable
    (src / "notes.txt").write_text("not a picture")  # ignored: not an image extension
    return src


def test_fit_square_keeps_aspect_and_pads_white():
    wide = np.zeros((50, 100, 3), np.uint8)
    out = fit_square(wide, 64)
    assert out.shape == (64, 64, 3)
    assert (out[:15] == 255).all() and (out[-15:] == 255).all() and (out[20:44] == 0).all()
    assert fit_square(np.zeros((10, 20), np.uint8), 32).shape == (32, 32)


def test_build_folder_skips_and_lists_a_corrupt_file(tmp_path):
    src = make_folder(tmp_path)
    out = tmp_path / "out"
    summary = build_folder(src, out, size=48, extractor="random", workers=1)
    assert summary.total == 4 and summary.pairs == 3
    assert [path for path, _ in summary.failed] == ["corrupt.png"]
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rows} == {"wide_png", "sub__tall_jpg", "alpha_png"}
    for r in rows:
        assert r["source"] == "folder:pics" and r["flat"] is None and r["extractor"] in ("xdog", "canny", "regions")
        assert r["split"] in ("train", "val", "test")
        line, color = read_gray_u8(out / r["line"]), read_rgb_u8(out / r["color"])
        assert line.shape == (48, 48) and color.shape == (48, 48, 3)
        assert (line <= 128).any() and (line == 255).mean() > 0.5, "black lines on white"
        assert (color[0, 0] == 255).all(), "padded/composited on white"
    again = build_folder(src, out, size=48, workers=2)
    assert (again.rendered, again.existing, len(again.failed)) == (0, 3, 1)
    assert pair_id(Path("a/b c.jpg")) == "a__b_c_jpg"


def test_same_picture_gets_same_split_and_lines_whatever_its_name(tmp_path):
    src = tmp_path / "pics"
    src.mkdir()
    picture(80, 80, 5).save(src / "one.png")
    (src / "two.png").write_bytes((src / "one.png").read_bytes())
    build_folder(src, tmp_path / "out", size=40, extractor="xdog")
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "out" / "manifest.jsonl").read_text().splitlines())}
    assert rows["one_png"]["base"] == rows["two_png"]["base"] and rows["one_png"]["split"] == rows["two_png"]["split"]
    np.testing.assert_array_equal(read_gray_u8(tmp_path / "out/line/one_png.png"), read_gray_u8(tmp_path / "out/line/two_png.png"))


def test_script_main_with_a_fixed_extractor(tmp_path):
    spec = importlib.util.spec_from_file_location("folder_script", ROOT / "datasets" / "folder.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    src = make_folder(tmp_path)
    assert script.main([str(src), "--out", str(tmp_path / "o"), "--size", "32", "--extractor", "canny", "--workers", "1"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "o" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and {r["extractor"] for r in rows} == {"canny"}
    assert script.main([str(tmp_path / "missing"), "--out", str(tmp_path / "o2")]) == 2
