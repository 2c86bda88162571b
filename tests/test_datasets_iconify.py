"""Tests for the icon-set builder (sketchcolor.data.iconify and the script datasets/iconify.py), on small fake
npm tarballs built here: no network."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("resvg_py")

from sketchcolor.data import iconify as ic  # noqa: E402
from sketchcolor.data.files import read_gray_u8, read_rgb_u8  # noqa: E402
from sketchcolor.data.manifest import read_manifest  # noqa: E402
from sketchcolor.errors import DataError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

SQUARE = '<path fill="{}" d="M4 4h8v8H4z"/>'
# A Streamline-style icon: a yellow disc outlined by a dark stroke inherited from its group, dark eyes, and a
# faint dark shadow that is not ink.
OUTLINED = (
    '<ellipse cx="8" cy="15" rx="5" ry="1" fill="#45413c" opacity=".15"/>'
    '<g stroke="#45413c" stroke-width="1"><circle cx="8" cy="8" r="6" fill="#ffe500"/></g>'
    '<circle cx="6" cy="7" r=".8" fill="#45413c"/><circle cx="10" cy="7" r=".8" fill="#45413c"/>'
)


def make_tarball(folder: Path, prefix: str, version: str, icons: dict[str, str], *, license: str = "MIT",
                 aliases: dict | None = None) -> Path:
    """An @iconify-json style npm tarball with icons.json (16×16 icons) and info.json."""
    data = {"prefix": prefix, "icons": {n: {"body": b} for n, b in icons.items()}, "aliases": aliases or {},
            "width": 16, "height": 16}
    info = {"prefix": prefix, "name": f"{prefix} set", "author": {"name": "A. Designer", "url": "https://example.org"},
            "license": {"title": license, "spdx": license, "url": "https://example.org/license"}}
    path = folder / f"iconify-json-{prefix}-{version}.tgz"
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in (("package/icons.json", data), ("package/info.json", info)):
            raw = json.dumps(obj).encode()
            member = tarfile.TarInfo(name)
            member.size = len(raw)
            tar.addfile(member, io.BytesIO(raw))
    return path


def icon_set(tarball: Path, prefix: str, version: str, **kw) -> ic.IconSet:
    return ic.IconSet(prefix, version, kw.pop("license", "MIT"), hashlib.sha256(tarball.read_bytes()).hexdigest(), **kw)


def test_base_name_removes_skin_tones():
    assert ic.base_name("artist-medium-dark-skin-tone") == "artist"
    assert ic.base_name("kiss-man-man-light-skin-tone-dark-skin-tone") == "kiss-man-man"
    assert ic.base_name("artist-medium-light", {"artist", "artist-medium-light"}) == "artist"
    # a bare tone word is a skin tone only when the base exists: a traffic light is not a tinted "traffic"
    assert ic.base_name("traffic-light", {"traffic-light"}) == "traffic-light"
    assert ic.base_name("sunflower") == "sunflower"


@pytest.mark.parametrize("name, reason", [
    ("flag-for-afghanistan", "flag"), ("flag-england", "flag"), ("chequered-flag", "flag"), ("flags", "flag"),
    ("keycap-3", "text"), ("regional-indicator-a", "text"), ("input-latin-letters", "text"), ("cool-button", "text"),
    ("a-button-blood-type", "text"), ("sos-button", "text"), ("7", "text"), ("x", "text"),
    ("cjkunifiedideograph-b", "text"), ("latincapitalletterx", "text"),
    ("sunflower", None), ("play-button", None), ("flag-in-hole", "flag"), ("snowman", None), ("dragon", None),
])
def test_skip_reason(name, reason):
    assert ic.skip_reason(name) == reason


def test_split_outlines_separates_dark_ink():
    svg = ic._SVG_OPEN.format("0 0 16 16") + OUTLINED + "</svg>"
    line_svg, flat_svg, count = ic.split_outlines(svg)
    assert count == 3  # the stroked disc and two eyes; not the faint shadow
    line = cv2.cvtColor(ic.render_svg(line_svg, 64), cv2.COLOR_RGB2GRAY)
    flat = ic.render_svg(flat_svg, 64)
    assert line[32, 8] < 100  # the outline at the disc's left edge (x = 2 of 16)
    assert line[28, 24] < 100  # an eye
    assert line[32, 32] > 240 and line[60, 32] > 240  # the disc's inside and the shadow are not lines
    assert tuple(flat[32, 32]) == pytest.approx((255, 229, 0), abs=2)  # the fill stays in the flat
    assert tuple(flat[28, 24]) == pytest.approx((255, 229, 0), abs=2)  # the eyes left the flat: the disc shows
    assert flat[32, 8].max() > 150  # no dark outline in the flat


def test_split_outlines_reads_and_overrides_style_paint():
    svg = (ic._SVG_OPEN.format("0 0 16 16") + '<path style="fill:#3366ff;stroke:#45413c;stroke-width:1" '
           'd="M2 2h12v12H2z"/></svg>')
    line_svg, flat_svg, count = ic.split_outlines(svg)
    assert count == 1
    line = cv2.cvtColor(ic.render_svg(line_svg, 64), cv2.COLOR_RGB2GRAY)
    flat = ic.render_svg(flat_svg, 64)
    assert line[8, 32] < 100 and line[32, 32] > 240  # the stroke is the line, the blue fill is not
    assert flat[8, 32].min() > 40 and tuple(flat[32, 32]) == pytest.approx((51, 102, 255), abs=2)


def test_shape_lines_draw_color_boundaries_not_gradients():
    rgb = np.full((128, 128, 3), 255, np.uint8)
    rgb[32:96, 32:96] = (220, 40, 40)
    ramp = np.linspace(80, 200, 128).astype(np.uint8)
    rgb[100:120, :, 1] = ramp  # a smooth gradient band
    rgb[100:120, :, 0] = ramp
    rgb[100:120, :, 2] = 255
    line = ic.shape_lines(rgb)
    assert line.dtype == np.uint8 and line.shape == (128, 128)
    dark = line < 128
    assert dark[60, 28:36].any() and dark[28:36, 60].any()  # the square's left and top edges
    assert not dark[40:88, 40:88].any()  # nothing inside the flat square
    assert not dark[104:116, 8:120].any()  # a gradient draws no lines
    assert dark[98:102, 8:120].any()  # but its edge against white does


def test_near_duplicates_keep_the_first_by_name():
    a = np.zeros(ic._THUMB * ic._THUMB * 3, np.float32)
    far = a + 20
    assert ic.near_duplicates(["b", "a", "c"], np.stack([a + 0.5, a, far])) == {"b"}
    assert ic.near_duplicates(["a"], np.stack([a])) == set()


def test_fetch_checks_the_pinned_digest(tmp_path, monkeypatch):
    tarball = make_tarball(tmp_path / "npm", "demo", "1.0.0", {"square": SQUARE.format("#f00")})
    good = icon_set(tarball, "demo", "1.0.0")
    assert ic.fetch_package(good, tmp_path / "npm") == tarball
    bad = ic.IconSet("demo", "1.0.0", "MIT", "0" * 64)
    with pytest.raises(DataError, match="SHA-256"):
        ic.fetch_package(bad, tmp_path / "npm")
    monkeypatch.setattr(ic.shutil, "which", lambda name: None)
    with pytest.raises(DataError, match="npm is not installed"):
        ic.fetch_package(ic.IconSet("other", "1.0.0", "MIT", "0" * 64), tmp_path / "empty")


def test_read_icon_set_skips_aliases_and_transforms(tmp_path):
    tarball = make_tarball(tmp_path, "demo", "1.0.0", {"a": SQUARE.format("#f00")}, aliases={"b": {"parent": "a"}})
    info, svgs = ic.read_icon_set(tarball)
    assert info["name"] == "demo set" and list(svgs) == ["a"]
    assert 'viewBox="0 0 16 16"' in svgs["a"]
    (tmp_path / "broken.tgz").write_bytes(b"not a tarball")
    with pytest.raises(DataError, match="cannot read icon set"):
        ic.read_icon_set(tmp_path / "broken.tgz")


def _build(tmp_path, **kw):
    flat_icons = {
        "sun": SQUARE.format("#ffcc00") + '<circle cx="8" cy="8" r="2" fill="#ff6600"/>',
        "waving-hand": SQUARE.format("#f0c090"),
        "waving-hand-dark-skin-tone": SQUARE.format("#60402a"),
        "flag-for-nowhere": SQUARE.format("#0000ff"),
        "keycap-1": SQUARE.format("#888888"),
        "sun-again": SQUARE.format("#ffcc00") + '<circle cx="8" cy="8" r="2" fill="#ff6600"/>',
        "blank": '<path fill="#fff" d="M0 0h1v1H0z"/>',
    }
    npm = tmp_path / "npm"
    t1 = make_tarball(npm, "flatset", "1.0.0", flat_icons)
    t2 = make_tarball(npm, "lineset", "2.0.0", {"face": OUTLINED, "plain": SQUARE.format("#3399ff")},
                      license="CC-BY-4.0")
    sets = (icon_set(t1, "flatset", "1.0.0"),
            icon_set(t2, "lineset", "2.0.0", license="CC-BY-4.0", outlines=True, held_out=True))
    return ic.build_iconify(tmp_path / "out", cache=npm, size=64, workers=1, icon_sets=sets, **kw)


def test_build_writes_filtered_triples_and_two_manifests(tmp_path):
    summary = _build(tmp_path)
    flat, line = summary.sets
    assert flat.skipped == {"flag": 1, "text": 1, "no lines": 1, "near-duplicate": 1}
    assert flat.pairs == 3 and flat.extractors == {"shapes": 3}
    assert line.pairs == 2 and line.extractors == {"outlines": 1, "shapes": 1}  # "plain" has no ink: shape lines

    train, bad = read_manifest(summary.manifest)
    assert bad == 0 and sorted(e.id for e in train) == ["flatset__sun", "flatset__waving-hand",
                                                       "flatset__waving-hand-dark-skin-tone"]
    hands = [e for e in train if e.base == "waving-hand"]
    assert len(hands) == 2 and len({e.split for e in hands}) == 1  # skin tones share a base and a split
    assert all(e.source == "iconify:flatset" and e.license == "MIT" for e in train)

    heldout, _ = read_manifest(summary.heldout)
    assert {e.split for e in heldout} == {"test"} and {e.source for e in heldout} == {"iconify:lineset"}
    root = summary.manifest.parent
    for e in train + heldout:
        line_u8, color_u8 = read_gray_u8(root / e.line), read_rgb_u8(root / e.color)
        assert line_u8.shape == (64, 64) and color_u8.shape == (64, 64, 3) and (line_u8 < 128).any()
        assert read_rgb_u8(root / e.flat).shape == (64, 64, 3)
    face = next(e for e in heldout if e.id == "lineset__face")
    assert face.extractor == "outlines"
    flat_face = read_rgb_u8(root / face.flat)
    assert (read_gray_u8(root / face.line)[20:44, 20:44] > 200).mean() > 0.5  # the disc's inside is not line
    assert flat_face[32, 32, 2] < 60 and flat_face[32, 32, 0] > 200  # the flat keeps the yellow fill

    text = (root / "ATTRIBUTION.md").read_text()
    assert "flatset set" in text and "A. Designer" in text and "CC-BY-4.0" in text and "never trained on" in text

    again = _build(tmp_path)
    assert [s.pairs for s in again.sets] == [3, 2]
    assert read_manifest(again.manifest)[0] == train


def test_build_refuses_a_license_that_differs_from_the_pin(tmp_path):
    npm = tmp_path / "npm"
    tarball = make_tarball(npm, "demo", "1.0.0", {"a": SQUARE.format("#f00")}, license="GPL-3.0")
    with pytest.raises(DataError, match="license"):
        ic.build_iconify(tmp_path / "out", cache=npm, size=32, workers=1,
                         icon_sets=(icon_set(tarball, "demo", "1.0.0", license="MIT"),))
    with pytest.raises(DataError, match="unknown icon set"):
        ic.build_iconify(tmp_path / "out", cache=npm, prefixes=("nope",))


def test_combine_weights_sources_and_bases(tmp_path):
    summary = _build(tmp_path)
    other = tmp_path / "other"
    (other / "line").mkdir(parents=True)
    entries = [
        {"id": f"o{i}", "base": f"b{i // 2}", "split": "train", "line": f"line/o{i}.png", "color": f"color/o{i}.png",
         "flat": None, "source": "openmoji", "license": "CC BY-SA 4.0", "extractor": None} for i in range(4)
    ]
    (other / "manifest.jsonl").write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    out = tmp_path / "mix" / "combined.jsonl"
    ic.combine_manifests(out, [other / "manifest.jsonl", summary.manifest],
                         {"openmoji": 3.0, "iconify:flatset": 1.0})
    combined, bad = read_manifest(out)
    assert bad == 0 and len(combined) == 7
    by_source: dict[str, float] = {}
    for e in combined:
        by_source[e.source] = by_source.get(e.source, 0.0) + e.weight
    assert by_source["openmoji"] / by_source["iconify:flatset"] == pytest.approx(3.0, rel=1e-4)
    assert np.mean([e.weight for e in combined]) == pytest.approx(1.0, rel=1e-4)
    hands = [e.weight for e in combined if e.base == "waving-hand"]
    sun = next(e.weight for e in combined if e.base == "sun")
    assert sum(hands) == pytest.approx(sun, rel=1e-4)  # two variants share one base's weight
    first = next(e for e in combined if e.id == "flatset__sun")
    assert (out.parent / first.line).resolve() == (summary.manifest.parent / "flatset/line/sun.png").resolve()
    assert next(e for e in combined if e.id == "o0").line == "../other/line/o0.png"
    with pytest.raises(DataError, match="weight"):
        ic.combine_manifests(out, [summary.manifest], {"iconify:flatset": 0.0})


def test_script_rejects_bad_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, "datasets/iconify.py", "--out", str(tmp_path), "--weights", "noto=abc"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "not a number" in result.stderr
    result = subprocess.run(
        [sys.executable, "datasets/iconify.py", "--out", str(tmp_path), "--weights", "twemoji=2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "unknown set" in result.stderr


def test_the_held_out_sets_are_the_sources_training_refuses():
    from sketchcolor.data.manifest import HELD_OUT_SOURCES

    assert {s.source for s in ic.ICON_SETS if s.held_out} == HELD_OUT_SOURCES
    assert set(ic.HELD_OUT) == {"fxemoji", "streamline-freehand-color"} and len(ic.TRAINING) == 7
    assert {f"iconify:{p}" for p in ic.TRAINING} | {"openmoji"} == set(ic.DEFAULT_SOURCE_WEIGHTS)
