"""Coloring after a reference and coloring batches consistently (issue #15): Colorizer.colorize(reference=...),
Colorizer.colorize_sequence, the command line's --reference / --consistent, and the evaluation's reference methods
and sequence measurement.

Plumbing runs on the tiny random checkpoint; whether regions really take the reference's colors is checked with the
bundled weights, whose regions and tones are meaningful."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from skimage.color import rgb2lab

from sketchcolor import evaluate
from sketchcolor.cli import main
from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.hints import Hint
from sketchcolor.metrics import foreground_mask
from sketchcolor.pipeline import Colorizer
from sketchcolor.transfer import Reference, load_reference

from conftest import draw_line_art

# Three shapes of a 256² drawing: (kind, geometry in (x, y), fill), and a point well inside each, (y, x).
SHAPES = [("ellipse", (30, 40, 120, 150), (215, 50, 45)),
          ("rectangle", (140, 30, 225, 110), (45, 90, 205)),
          ("polygon", ((110, 225), (160, 130), (215, 225)), (60, 165, 75))]
CENTRES = [(95, 75), (70, 182), (195, 162)]
SIDE = 256


def draw_scene(colored: bool, shift: tuple[int, int] = (0, 0)) -> Image.Image:
    """The shapes with 3-px black outlines on white: filled ("RGB", the drawing's own colored version) or not
    ("L", the line art), every point moved by ``shift`` (x, y) pixels."""
    img = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    sx, sy = shift
    for kind, geometry, color in SHAPES:
        fill = color if colored else None
        if kind == "polygon":
            draw.polygon([(x + sx, y + sy) for x, y in geometry], fill=fill, outline=(0, 0, 0), width=3)
        else:
            x0, y0, x1, y1 = geometry
            getattr(draw, kind)((x0 + sx, y0 + sy, x1 + sx, y1 + sy), fill=fill, outline=(0, 0, 0), width=3)
    return img if colored else img.convert("L")


def posed(picture: Image.Image, degrees: float = 8.0) -> Image.Image:
    """The colored picture mirrored left to right and turned: the same drawing in another pose."""
    return picture.transpose(Image.FLIP_LEFT_RIGHT).rotate(degrees, Image.BICUBIC, fillcolor=(255, 255, 255))


def lab_at(picture: Image.Image, points) -> np.ndarray:
    """(N, 3) CIE Lab of ``picture`` at the (y, x) ``points``."""
    rgb = np.asarray(picture.convert("RGB"))
    return rgb2lab(np.array([[rgb[y, x] for y, x in points]], np.uint8))[0]


def shape_colors_lab() -> np.ndarray:
    return rgb2lab(np.array([[color for _, _, color in SHAPES]], np.uint8))[0]


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_pretrained(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def bundled():
    return Colorizer.from_pretrained(device="cpu")


# --- Colorizer.colorize(reference=...) ----------------------------------------------------------------------------

def test_no_reference_reports_none(colorizer):
    assert colorizer.colorize(draw_scene(False), mode="sketch").reference is None


@pytest.mark.parametrize("mode", ["auto", "match", "global"])
def test_a_reference_is_reported_in_the_result(colorizer, mode):
    info = colorizer.colorize(draw_scene(False), mode="sketch", reference=draw_scene(True),
                              reference_mode=mode).reference
    assert {"regime", "score", "matched", "regions"} <= set(info), info
    assert 0 <= info["matched"] <= info["regions"]
    if mode == "global":
        assert info["regime"] == "global" and info["score"] is None and info["matched"] == 0
    else:
        # The drawing is its reference's own outlines: the alignment explains it, so auto matches too.
        assert info["regime"] == "match" and info["score"] > 1.1, info
        assert info["regions"] >= 3


@pytest.mark.parametrize("pose", ["same", "mirrored-and-turned"])
def test_match_gives_the_regions_the_reference_colors_and_keeps_the_page_white(bundled, pose):
    colored = draw_scene(True)
    reference = colored if pose == "same" else posed(colored)
    result = bundled.colorize(draw_scene(False), mode="sketch", reference=reference, reference_mode="match")
    assert result.reference["regime"] == "match" and result.reference["matched"] >= 3, result.reference
    assert result.reference["mirror"] == (pose != "same")
    got = lab_at(result.flat, CENTRES)
    delta_e = np.linalg.norm(got - shape_colors_lab(), axis=1)  # ΔE76
    assert (delta_e < 10).all(), delta_e
    for picture in (result.flat, result.image):
        rgb = np.asarray(picture.convert("RGB"))
        assert (rgb[:8, :8] == 255).all() and (rgb[-8:, -8:] == 255).all() and (rgb[5, 128] == 255).all()


# A bust whose one outline runs off the bottom edge (as an icon cuts a figure at the chest): no closed region, all
# of it open to the page, so the drawing's silhouette is its line alone.
BUST = [(40, 256), (48, 205), (80, 180), (105, 172), (92, 150), (84, 115), (92, 70), (128, 45), (164, 70), (172, 115),
        (164, 150), (151, 172), (176, 180), (208, 205), (216, 256)]


def draw_bust(colored: bool) -> Image.Image:
    img = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if colored:
        draw.polygon(BUST + [(216, 300), (40, 300)], fill=(90, 120, 150))
    draw.line(BUST, fill=(0, 0, 0), width=3, joint="curve")
    return img if colored else img.convert("L")


@pytest.mark.parametrize("frame_rule", [True, False])
def test_a_figure_cut_by_the_edge_is_aligned_by_its_hull_and_colored(bundled, monkeypatch, frame_rule):
    from sketchcolor import regions, transfer

    if not frame_rule:
        # As when the figure holds more of the border than the frame rule allows: its inside is page.
        monkeypatch.setattr(regions, "FRAME_SHARE", 0.0)
    reference = posed(draw_bust(True))
    result = bundled.colorize(draw_bust(False), mode="sketch", reference=reference)
    assert result.reference["regime"] == "match", result.reference
    flat = np.asarray(result.flat.convert("RGB"))
    for y, x in ((110, 128), (215, 128)):  # the head and the chest take the reference's color
        assert np.abs(flat[y, x].astype(int) - (90, 120, 150)).max() <= 6, flat[y, x]
    assert (flat[:10, :10] == 255).all() and (flat[-10:, :10] == 255).all()  # the page beside the figure
    if frame_rule:
        assert result.reference["regions"] >= 1  # a region of its own: its silhouette lines up without the hull
        return
    # All page, its silhouette alone (no hull) does not explain the drawing: the figure would keep the page's white.
    monkeypatch.setattr(transfer, "silhouette_hull", lambda content, **kw: content)
    alone = bundled.colorize(draw_bust(False), mode="sketch", reference=reference)
    assert alone.reference["regime"] == "global" and (np.asarray(alone.flat.convert("RGB"))[110, 128] == 255).all()


def draw_cup(colored: bool) -> Image.Image:
    """A closed box and a cup (a U open at the bottom, 56 px wide: no gap the gap closing closes), 256²; colored:
    the box red and the cup's inside blue."""
    img = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if colored:
        draw.rectangle([30, 60, 100, 200], fill=(200, 40, 40))
        draw.rectangle([150, 60, 210, 200], fill=(40, 70, 200))
    draw.rectangle([30, 60, 100, 200], outline=(0, 0, 0), width=3)
    draw.line([(150, 200), (150, 60), (210, 60), (210, 200)], fill=(0, 0, 0), width=3)
    return img if colored else img.convert("L")


@pytest.mark.parametrize("shaded", [True, False])
def test_an_open_shape_the_estimate_shades_takes_the_reference_color_it_lands_on(tiny_checkpoint, monkeypatch,
                                                                                   shaded):
    from sketchcolor import transfer

    monkeypatch.setattr(transfer, "PAGE_FILL_SCORE", math.inf)  # the cup is only filled as a shaded shape
    colorizer = Colorizer.from_pretrained(tiny_checkpoint, device="cpu")
    real = colorizer._net_small

    def estimate(*args, **kwargs):
        out = real(*args, **kwargs)
        l_small = torch.full_like(out["l_small"], 100.0)
        h, w = l_small.shape[-2:]
        l_small[..., int(0.22 * h):int(0.78 * h), int(0.58 * w):int(0.83 * w)] = 50.0 if shaded else 100.0
        out["l_small"] = l_small
        return out

    monkeypatch.setattr(colorizer, "_net_small", estimate)
    result = colorizer.colorize(draw_cup(False), mode="sketch", reference=draw_cup(True))
    assert result.reference["regime"] == "match", result.reference
    flat = np.asarray(result.flat.convert("RGB")).astype(int)
    assert np.abs(flat[130, 65] - (200, 40, 40)).max() <= 6  # the box, closed, as ever
    assert (flat[:10, :10] == 255).all() and (flat[230, 180] == 255).all()  # the page, below the cup too
    if shaded:
        assert np.abs(flat[130, 180] - (40, 70, 200)).max() <= 6 and not result.page[130, 180]
    else:
        assert (flat[130, 180] == 255).all() and result.page[130, 180]


def test_global_follows_the_reference_colors_mood(bundled):
    line = draw_scene(False)
    plain = bundled.colorize(line, mode="sketch")
    # A shuffled blue reference: its colors, no shape to match.
    rng = np.random.default_rng(0)
    blue = np.full((64, 64, 3), 255, np.uint8)
    blue[8:56, 8:56] = rng.choice(np.array([(40, 80, 210), (30, 60, 160), (70, 110, 230)], np.uint8), (48, 48))
    result = bundled.colorize(line, mode="sketch", reference=blue, reference_mode="global")
    assert result.reference["regime"] == "global"
    # Lab b: negative is blue. Every region moves toward blue, none away from it.
    before, after = lab_at(plain.flat, CENTRES), lab_at(result.flat, CENTRES)
    assert (after[:, 2] < before[:, 2]).all(), (before, after)
    assert (np.asarray(result.flat)[:8, :8] == 255).all()


def test_a_hint_wins_over_the_reference(bundled):
    yellow = (230, 200, 40)
    (y, x) = CENTRES[0]
    result = bundled.colorize(draw_scene(False), hints=[Hint(x=x, y=y, color=yellow)], mode="sketch",
                              reference=draw_scene(True), reference_mode="match")
    got = lab_at(result.flat, CENTRES)
    hinted = rgb2lab(np.array([[yellow]], np.uint8))[0, 0]
    assert np.linalg.norm(got[0] - hinted) < 3, got[0]  # the hint's color, not the reference's red
    delta_e = np.linalg.norm(got[1:] - shape_colors_lab()[1:], axis=1)
    assert (delta_e < 10).all(), delta_e  # the others still follow the reference
    assert result.reference["regime"] == "match"


def test_gray_mode_follows_a_reference(bundled):
    colored = draw_scene(True)
    gray = colored.convert("L")
    result = bundled.colorize(gray, mode="gray", reference=colored, reference_mode="match")
    assert result.mode == "gray" and result.reference["regime"] == "match"
    out = rgb2lab(np.asarray(result.image))
    # A grayscale picture keeps its own L, exactly as ever.
    assert np.abs(out[..., 0] - rgb2lab(np.asarray(gray.convert("RGB")))[..., 0]).max() < 0.6
    # Each shape takes its reference color's ab (its L is the gray picture's own).
    got_ab = np.array([out[y, x, 1:] for y, x in CENTRES])
    distance = np.linalg.norm(got_ab - shape_colors_lab()[:, 1:], axis=1)
    assert (distance < 10).all(), (distance, got_ab)
    assert (np.asarray(result.image)[:8, :8] == 255).all()


@pytest.mark.parametrize("kwargs, message", [
    (dict(palette=["#e03020", "#3060c0"]), "a reference and a palette do not combine"),
    (dict(method="regionfill"), "a reference works with method 'net', not 'regionfill'"),
    (dict(reference_mode="matching"), "unknown reference mode 'matching'; allowed: auto, match, global"),
])
def test_bad_reference_options_are_refused(colorizer, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        colorizer.colorize(draw_scene(False), mode="sketch", reference=draw_scene(True), **kwargs)


def test_levin_with_a_reference_is_refused(colorizer):
    with pytest.raises(ConfigError, match="a reference works with method 'net', not 'levin'"):
        colorizer.colorize(draw_scene(True).convert("L"), mode="gray", method="levin", reference=draw_scene(True),
                           hints=[Hint(x=75, y=95, color=(200, 40, 40))])


def test_a_bad_reference_mode_is_refused_even_without_a_reference(colorizer):
    with pytest.raises(ConfigError, match="unknown reference mode"):
        colorizer.colorize(draw_scene(False), reference_mode="Global")


@pytest.mark.parametrize("bad, message", [
    (Image.new("RGB", (1, 1)), "reference: the picture is 1×1 pixels"),
    (b"not a picture", "reference: cannot load <bytes>"),
])
def test_a_bad_reference_picture_is_an_image_error(colorizer, bad, message):
    with pytest.raises(ImageError, match=message):
        colorizer.colorize(draw_scene(False), reference=bad)


def test_a_reference_object_gives_the_same_result_as_its_file(colorizer, tmp_path):
    path = tmp_path / "reference.png"
    posed(draw_scene(True)).save(path)
    line = draw_scene(False)
    from_file = colorizer.colorize(line, mode="sketch", reference=path)
    read = load_reference(path, max_pixels=colorizer.max_pixels)
    assert isinstance(read, Reference)
    from_object = colorizer.colorize(line, mode="sketch", reference=read)
    assert np.array_equal(np.asarray(from_file.image), np.asarray(from_object.image))
    assert np.array_equal(np.asarray(from_file.flat), np.asarray(from_object.flat))
    assert from_file.reference == from_object.reference
    # Read once for many calls: a call leaves the object as it was.
    fresh = load_reference(path, max_pixels=colorizer.max_pixels)
    for name in ("lab", "segments", "colors", "areas", "edges"):
        assert np.array_equal(getattr(read, name), getattr(fresh, name)), name


# --- Colorizer.colorize_sequence ----------------------------------------------------------------------------------

SHIFT = (6, 4)  # (x, y): the second frame is the first drawn a few pixels away


def _shifted(points):
    return [(y + SHIFT[1], x + SHIFT[0]) for y, x in points]


def test_a_consistent_sequence_keeps_each_regions_color(bundled):
    frames = [draw_scene(False), draw_scene(False, shift=SHIFT)]
    # The first frame's colors come from hints, far from what the net would guess; the second frame has none.
    colors = [(230, 200, 40), (150, 60, 170), (40, 170, 170)]
    hints = [[Hint(x=x, y=y, color=c) for (y, x), c in zip(CENTRES, colors)], None]
    results = list(bundled.colorize_sequence(frames, hints, mode="sketch"))
    assert len(results) == 2 and results[0].reference is None
    assert results[1].reference["regime"] == "match" and results[1].reference["matched"] >= 3, results[1].reference
    first, second = lab_at(results[0].flat, CENTRES), lab_at(results[1].flat, _shifted(CENTRES))
    assert np.linalg.norm(first - rgb2lab(np.array([colors], np.uint8))[0], axis=1).max() < 3
    assert np.linalg.norm(second - first, axis=1).max() < 3, (first, second)
    # Each on its own (the same as a plain call: the next test), the second frame does not take the first's hints.
    alone = lab_at(bundled.colorize(frames[1], mode="sketch").flat, _shifted(CENTRES))
    assert np.linalg.norm(alone - first, axis=1).min() > 10, (alone, first)


def test_a_sequence_each_on_its_own_is_each_picture_colored_alone(colorizer):
    frames = [draw_line_art(160, 120, seed=1), draw_line_art(160, 120, seed=2)]
    results = colorizer.colorize_sequence(frames, mode="sketch", consistent=False)
    assert not isinstance(results, list)  # an iterator: each result as soon as it is made
    results = list(results)
    for frame, result in zip(frames, results):
        alone = colorizer.colorize(frame, mode="sketch")
        assert np.array_equal(np.asarray(result.image), np.asarray(alone.image))
        assert result.reference is None
    # With a reference and not consistent, every picture follows that reference.
    colored = draw_scene(True)
    followed = list(colorizer.colorize_sequence(frames, mode="sketch", reference=colored, consistent=False))
    for frame, result in zip(frames, followed):
        alone = colorizer.colorize(frame, mode="sketch", reference=colored)
        assert np.array_equal(np.asarray(result.image), np.asarray(alone.image)) and result.reference is not None


def test_a_consistent_sequence_follows_the_previous_pictures_flats(colorizer):
    frames = [draw_scene(False), draw_scene(False, shift=SHIFT), draw_scene(False)]
    results = list(colorizer.colorize_sequence(frames, mode="sketch", reference=draw_scene(True)))
    assert len(results) == 3 and all(r.reference is not None for r in results)
    for previous, frame, result in zip(results, frames[1:], results[1:]):
        alone = colorizer.colorize(frame, mode="sketch", reference=previous.flat)
        assert np.array_equal(np.asarray(result.image), np.asarray(alone.image))


@pytest.mark.parametrize("hints, options, message", [
    ([None], {}, "hints must be one list per picture: 2 pictures, 1 lists"),
    (None, {"palette": ["#e03020"]}, "colorize_sequence takes no 'palette'"),
    (None, {"reference_mode": "global"}, "colorize_sequence takes no 'reference_mode'"),
])
def test_a_sequence_refuses_bad_arguments_before_coloring_anything(colorizer, monkeypatch, hints, options, message):
    def never(*args, **kwargs):
        raise AssertionError("colored before the arguments were checked")

    monkeypatch.setattr(colorizer, "colorize", never)
    with pytest.raises(ConfigError, match=message):
        colorizer.colorize_sequence([draw_scene(False)] * 2, hints, **options)  # not iterated: checked at the call


# --- the command line ---------------------------------------------------------------------------------------------

def run_cli(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _files_below(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_cli_reference_writes_what_the_library_makes(tmp_path, tiny_checkpoint, capsys, colorizer):
    src, ref = tmp_path / "drawing.png", tmp_path / "colored.png"
    draw_scene(False).save(src)
    posed(draw_scene(True)).save(ref)
    for mode in ("auto", "global"):
        out = tmp_path / f"out-{mode}.png"
        code, _, err = run_cli(["colorize", src, "-o", out, "--checkpoint", tiny_checkpoint, "--mode", "sketch",
                                "--reference", ref, "--reference-mode", mode], capsys)
        assert code == 0, err
        expected = colorizer.colorize(src, mode="sketch", reference=ref, reference_mode=mode).image
        assert np.array_equal(np.asarray(Image.open(out)), np.asarray(expected))


def test_cli_consistent_colors_a_folder_of_pages(tmp_path, tiny_checkpoint, capsys, colorizer):
    folder = tmp_path / "pages"
    folder.mkdir()
    frames = [draw_scene(False), draw_scene(False, shift=SHIFT), draw_scene(False, shift=(-4, 3))]
    for i, frame in enumerate(frames):
        frame.save(folder / f"page{i}.png")
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--mode", "sketch",
                            "--consistent"], capsys)
    assert code == 0, err
    assert _files_below(out) == ["page0.png", "page1.png", "page2.png"]
    # The same as the library's consistent sequence over the pages in name order.
    expected = colorizer.colorize_sequence([folder / f"page{i}.png" for i in range(3)], mode="sketch")
    for i, result in enumerate(expected):
        assert np.array_equal(np.asarray(Image.open(out / f"page{i}.png")), np.asarray(result.image)), i


def test_cli_consistent_skips_a_bad_page_and_follows_the_last_good_one(tmp_path, tiny_checkpoint, capsys,
                                                                         colorizer):
    folder = tmp_path / "pages"
    folder.mkdir()
    draw_scene(False).save(folder / "a.png")
    (folder / "b.png").write_text("not a picture")
    draw_scene(False, shift=SHIFT).save(folder / "c.png")
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--mode", "sketch",
                            "--consistent"], capsys)
    assert code == 1
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and "b.png" in errors[0], err
    assert _files_below(out) == ["a.png", "c.png"]
    first = colorizer.colorize(folder / "a.png", mode="sketch")
    expected = colorizer.colorize(folder / "c.png", mode="sketch", reference=first.flat)
    assert np.array_equal(np.asarray(Image.open(out / "c.png")), np.asarray(expected.image))


@pytest.mark.parametrize("flag", ["--reference", "--consistent"])
@pytest.mark.parametrize("other, message", [
    (["--palette", "#e03020"], "{flag} and --palette do not combine"),
    (["--variations", "2"], "{flag} and --variations do not combine"),
    (["--method", "levin", "--mode", "gray"], "{flag} works with --method net, not levin"),
    (["--method", "regionfill"], "{flag} works with --method net, not regionfill"),
])
def test_cli_reference_and_consistent_refuse_other_ways_of_choosing_colors(tmp_path, tiny_checkpoint, capsys, flag,
                                                                           other, message):
    src, ref = tmp_path / "drawing.png", tmp_path / "colored.png"
    draw_scene(False).save(src)
    draw_scene(True).save(ref)
    out = tmp_path / "out"
    given = [flag, ref] if flag == "--reference" else [flag]
    code, _, err = run_cli(["colorize", src, "-o", out, "--checkpoint", tiny_checkpoint, *given, *other], capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("sketchcolor: error:"), err
    assert message.format(flag=flag) in lines[0], err
    assert not out.exists()


@pytest.mark.parametrize("make, message", [
    (lambda path: Image.new("RGB", (1, 1), (200, 40, 40)).save(path), "reference: the picture is 1×1 pixels"),
    (lambda path: path.write_text("no picture here"), "not an image file"),
    (lambda path: None, "no such file"),
])
def test_cli_a_bad_reference_stops_before_any_output(tmp_path, tiny_checkpoint, capsys, make, message):
    folder = tmp_path / "pages"
    folder.mkdir()
    draw_scene(False).save(folder / "a.png")
    draw_scene(False, shift=SHIFT).save(folder / "b.png")
    ref = tmp_path / "ref.png"
    make(ref)
    out = tmp_path / "out"
    code, _, err = run_cli(["colorize", folder, "-o", out, "--checkpoint", tiny_checkpoint, "--reference", ref],
                           capsys)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("sketchcolor: error: reference:") and message in lines[0], err
    assert not out.exists() or not any(out.iterdir())


# --- the evaluation -----------------------------------------------------------------------------------------------

EVAL_SIZE = 48


def _target(size: int = EVAL_SIZE) -> np.ndarray:
    """A flat colored target: a red block at the left, a blue one lower right, black outlines, white page."""
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([4, 6, 18, 40], fill=(210, 40, 40), outline=(0, 0, 0), width=2)
    draw.rectangle([24, 20, 44, 44], fill=(40, 70, 200), outline=(0, 0, 0), width=2)
    return np.asarray(img)


def test_posed_reference_is_the_target_mirrored_turned_and_seeded():
    target = _target(96)
    posed_a = evaluate.posed_reference(target, 7)
    assert posed_a.shape == target.shape and posed_a.dtype == np.uint8
    for corner in (posed_a[:3, :3], posed_a[:3, -3:], posed_a[-3:, :3], posed_a[-3:, -3:]):
        assert (corner == 255).all()
    assert np.array_equal(posed_a, evaluate.posed_reference(target, 7))
    assert not np.array_equal(posed_a, evaluate.posed_reference(target, 8))
    # Mirrored: the red block, at the left of the target, is at the right of the reference (a turn of at most
    # 15° and a rescale about the centre do not bring it back).
    red = (posed_a[..., 0] > 150) & (posed_a[..., 1] < 100) & (posed_a[..., 2] < 100)
    assert red.sum() > 100 and np.nonzero(red)[1].mean() > 96 / 2 + 10
    seeds = {evaluate.reference_seed("p0"), evaluate.reference_seed("p1"), evaluate.reference_seed("p0", 1)}
    assert len(seeds) == 3 and evaluate.reference_seed("p0") == evaluate.reference_seed("p0", 0)


def test_shuffled_reference_keeps_the_colors_and_the_page():
    target = _target()
    shuffled = evaluate.shuffled_reference(target, 3)
    foreground = foreground_mask(target)
    assert shuffled.shape == target.shape and shuffled.dtype == np.uint8
    assert np.array_equal(shuffled[~foreground], target[~foreground])  # the page as it was
    # The foreground's colors exactly, as a multiset; their places changed.
    assert np.array_equal(np.sort(shuffled[foreground].view("V3").ravel()),
                          np.sort(target[foreground].view("V3").ravel()))
    assert not np.array_equal(shuffled[foreground], target[foreground])
    assert np.array_equal(shuffled, evaluate.shuffled_reference(target, 3))
    assert not np.array_equal(shuffled, evaluate.shuffled_reference(target, 4))
    assert np.array_equal(target, _target())  # the target is not changed


def test_frame_warp_is_a_small_seeded_affine():
    warp = evaluate.frame_warp(100, 5)
    assert len(warp) == 6 and warp == evaluate.frame_warp(100, 5) and warp != evaluate.frame_warp(100, 6)
    a, b, c, d, e, f = warp
    linear = np.array([[a, b], [d, e]])
    # A turn times a scale: within ±5° and 0.95-1.05 (the inverse's scale is its reciprocal).
    scale = math.sqrt(abs(np.linalg.det(linear)))
    assert 1 / 1.05 - 1e-9 <= scale <= 1 / 0.95 + 1e-9
    assert abs(math.degrees(math.atan2(b, a))) <= 5.0 + 1e-9
    # The centre moves by at most the shift (3 % of the side) over the scale.
    centre = 99 / 2
    moved = np.array([a * centre + b * centre + c, d * centre + e * centre + f]) - centre
    assert np.abs(moved).max() <= 0.03 * 100 / 0.95 + 1e-6


def _write_manifest(folder):
    """A test split of one flat target with its line art (its black outlines)."""
    (folder / "line").mkdir(parents=True)
    (folder / "color").mkdir()
    color = _target()
    line = np.where((color < 30).all(-1), 0, 255).astype(np.uint8)
    Image.fromarray(line).save(folder / "line" / "p0.png")
    Image.fromarray(color).save(folder / "color" / "p0.png")
    row = {"id": "p0", "base": "p0", "split": "test", "line": "line/p0.png", "color": "color/p0.png", "flat": None,
           "source": "folder:test", "license": "CC0", "extractor": None}
    manifest = folder / "manifest.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    return manifest


def test_evaluation_with_references_and_a_sequence(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data")
    out = tmp_path / "out"
    cfg = evaluate.EvalConfig(data=manifest, out=out, checkpoint=tiny_checkpoint, hints=(0,), size=EVAL_SIZE,
                              contact_count=0, reference=True, sequence=2,
                              methods=("net", "net+reference", "net+reference-global"))
    results = evaluate.run_evaluation(cfg)
    assert results["methods"] == {task: ["net", "net+reference", "net+reference-global"] for task in ("sketch",
                                                                                                      "gray")}
    records = [r for r in results["pictures"] if r["method"] in evaluate.REFERENCE_METHODS]
    assert len(records) == 2 * 2  # tasks x methods
    for record in records:
        for key in ("reference_regime", "reference_score", "reference_matched", "reference_regions"):
            assert key in record, (key, record)
        assert record["reference_regime"] in ("match", "global")
        if record["method"] == "net+reference-global":
            assert record["reference_regime"] == "global" and record["reference_score"] is None
        assert math.isfinite(record["de2000"])
    stored = json.loads((out / "results.json").read_text())
    sequence = stored["sequence"]
    assert sequence["frames"] == 2 and sequence["pictures"] == 1
    for key in ("consistent", "independent"):
        assert isinstance(sequence[key], float) and sequence[key] >= 0, sequence
        assert sequence[f"{key}_pairs"] > 0, sequence
    markdown = (out / "results.md").read_text()
    reference_table = markdown.split("Reference:")[1]
    assert "| task | N | ΔE2000 net | ΔE2000 net+reference |" in reference_table
    assert "| sketch | 0 |" in reference_table and "| gray | 0 |" in reference_table
    sequence_table = markdown.split("Sequence:")[1]
    assert "| consistent |" in sequence_table and "| each on its own |" in sequence_table
    assert f"| {sequence['consistent_pairs']} |" in sequence_table


def test_evaluation_without_the_flags_has_no_sequence(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data")
    results = evaluate.run_evaluation(evaluate.EvalConfig(data=manifest, out=tmp_path / "o",
                                                          checkpoint=tiny_checkpoint, hints=(0,), size=EVAL_SIZE,
                                                          contact_count=0, tasks=("sketch",), methods=("net",)))
    assert results["sequence"] is None and "net+reference" not in results["methods"]["sketch"]
    markdown = (tmp_path / "o" / "results.md").read_text()
    assert "Sequence:" not in markdown and "Reference:" not in markdown


def test_evaluation_flags_from_the_command_line(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data")
    code = evaluate.main(["--data", str(manifest), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "cli"),
                          "--tasks", "sketch", "--hints", "0", "--size", str(EVAL_SIZE), "--reference",
                          "--sequence", "2", "--methods", "net+reference"])
    assert code == 0
    stored = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert stored["config"]["reference"] is True and stored["config"]["sequence"] == 2
    assert stored["sequence"]["frames"] == 2
    assert {r["method"] for r in stored["pictures"]} == {"net+reference"}


@pytest.mark.parametrize("frames", [1, 17, 0, -2, 2.0, True, "4"])
def test_a_sequence_needs_2_to_16_frames(tmp_path, frames):
    with pytest.raises(ConfigError, match="sequence must be a whole number of frames from 2 to 16"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, sequence=frames)


def test_sequence_bounds_and_reference_methods_are_accepted(tmp_path):
    for frames in (2, 16, None):
        assert evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, sequence=frames).sequence == frames
    cfg = evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, methods=evaluate.REFERENCE_METHODS)
    assert cfg.methods == ("net+reference", "net+reference-global")
