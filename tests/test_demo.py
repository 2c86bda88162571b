"""Tests of the Gradio page: the callbacks called directly (with a fake colorizer), the page's wiring, and one API
round trip through gradio_client against a real server with the tiny random checkpoint (the layered files are
tested in test_layers.py; the page in a real browser in test_demo_browser.py)."""

import base64
import inspect
import io
import logging
import socket
import zipfile
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchcolor import demo as D
from sketchcolor.errors import CheckpointError, ConfigError, HintError, ImageError
from sketchcolor.hints import hints_from_layer

gr = pytest.importorskip("gradio")


# ---------------------------------------------------------------------------------------------- fixtures
@dataclass
class FakeResult:
    image: Image.Image
    mode: str
    l_estimate: Image.Image
    flat: Image.Image
    lines: Image.Image
    hints: list = field(default_factory=list)
    seconds: float = 0.01
    colors: Image.Image | None = None
    shading: Image.Image | None = None
    page: np.ndarray | None = None
    labels: np.ndarray | None = None
    reference: dict | None = None


class FakeColorizer:
    """The Colorizer contract without a model: paints the page orange (variation i: another hue) and records what it
    was given. Like the real one, it refuses a reference with a palette or under 8 pixels on a side."""

    def __init__(self, gap_closing: float = 0.012) -> None:
        self.calls: list[dict] = []
        self.config = SimpleNamespace(gap_closing=gap_closing)

    @staticmethod
    def _paint(rgb_u8: np.ndarray, hints, flat_rgb: tuple[int, int, int]) -> FakeResult:
        gray = Image.fromarray(rgb_u8).convert("L")
        height, width = rgb_u8.shape[:2]
        flat = Image.new("RGB", (width, height), flat_rgb)
        shade = np.linspace(0.5, 1.0, width, dtype=np.float32)[None, :, None]
        lines = np.asarray(gray, np.float32)[..., None] / 255
        colored = (np.asarray(flat, np.float32) * shade * lines).round().astype(np.uint8)
        return FakeResult(Image.fromarray(colored), "sketch", gray, flat, gray, list(hints or []))

    def colorize(self, image, hints=None, mode="auto", *, temperature=None, cleanup=False, method="net", shading=False,
                 gap_closing=None, palette=None, reference=None):
        rgb_u8 = np.asarray(image)
        self.calls.append({"shape": rgb_u8.shape, "hints": list(hints or []), "mode": mode, "cleanup": cleanup,
                           "shading": shading, "gap_closing": gap_closing, "palette": palette,
                           "reference": reference})
        if reference is None:
            return self._paint(rgb_u8, hints, (240, 140, 0))
        if palette is not None:
            raise ConfigError("a reference and a palette do not combine: the palette fixes the colors to choose "
                              "from; give one of them")
        height, width = np.asarray(reference).shape[:2]
        if min(height, width) < 8:
            raise ImageError(f"reference: the picture is {width}×{height} pixels; a reference needs at least 8 "
                             "pixels on each side to hold colored shapes")
        result = self._paint(rgb_u8, hints, tuple(int(c) for c in np.asarray(reference)[0, 0]))
        result.reference = {"regime": "match", "score": 2.0, "matched": 3, "regions": 4}
        return result

    def colorize_variations(self, image, k=4, hints=None, mode="auto", *, seed=0, temperature=None, cleanup=False,
                            method="net", shading=None, gap_closing=None):
        rgb_u8 = np.asarray(image)
        self.calls.append({"shape": rgb_u8.shape, "k": k, "seed": seed, "hints": list(hints or []), "mode": mode,
                           "cleanup": cleanup, "shading": shading, "gap_closing": gap_closing})
        return [self._paint(rgb_u8, hints, (240, 140, 30 * i)) for i in range(k)]

    def suggest_colors(self, image, x, y, mode="auto", hints=None, k=5):
        self.calls.append({"x": x, "y": y, "mode": mode, "hints": list(hints or []), "k": k})
        return [("#e03020", 0.5), ("#3aa655", 0.3), ("#2f7fd8", 0.2)][:k]


def line_drawing(width: int = 96, height: int = 64) -> np.ndarray:
    """(H, W, 3) uint8: a black rectangle and circle outline on white."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([8, 8, 40, 50], outline="black", width=2)
    draw.ellipse([50, 10, 88, 48], outline="black", width=2)
    return np.asarray(img)


def editor_value(picture_u8: np.ndarray, strokes: list[tuple[tuple[int, int, int, int], str]] = ()) -> dict:
    """What gr.ImageEditor(type="numpy", image_mode="RGBA") hands a callback: RGBA background, layers, composite."""
    height, width = picture_u8.shape[:2]
    background = np.dstack([picture_u8, np.full((height, width), 255, np.uint8)])
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for box, color in strokes:
        draw.line(box, fill=color, width=3)
    return {"background": background, "layers": [np.asarray(layer)], "composite": background}


def canvas_value(*strokes: tuple[str, float, list]) -> dict:
    """What the picture panel sends: {"strokes": [{"color", "size", "points"}]} in picture pixels."""
    return {"picture": "token", "strokes": [{"color": c, "size": s, "points": p} for c, s, p in strokes]}


# ---------------------------------------------------------------------------------------------- pure callbacks
@pytest.mark.parametrize("text, expected", [
    ("#E03020", "#e03020"), ("e03020", "#e03020"), ("#fa0", "#ffaa00"), ("#e03020ff", "#e03020"),
    ("rgb(224, 48, 32)", "#e03020"), ("rgba(224, 48, 32, 0.5)", "#e03020"), (" rgba(0,0,0,1) ", "#000000"),
])
def test_normalize_color_accepts_what_the_page_sends(text, expected):
    assert D.normalize_color(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "expected '#rrggbb'"), ("red", "expected '#rrggbb'"), ("#12345", "expected '#rrggbb'"),
    (None, "expected '#rrggbb'"), ("#ggg", "expected '#rrggbb'"), ("rgb(300, 0, 0)", "channels must be 0-255"),
])
def test_normalize_color_refuses_other_text(text, message):
    with pytest.raises(HintError, match=message):
        D.normalize_color(text)


def test_picture_from_editor_composites_transparency_on_white():
    picture = line_drawing()
    editor = editor_value(picture)
    editor["background"][:10, :10, 3] = 0  # a transparent corner with black color values underneath
    editor["background"][:10, :10, :3] = 0
    out = D.picture_from_editor(editor)
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8
    assert (out[:10, :10] == 255).all()
    assert np.array_equal(out[10:, 10:], picture[10:, 10:])


@pytest.mark.parametrize("editor", [None, {"background": None, "layers": [], "composite": None}])
def test_picture_from_editor_without_picture_says_what_to_do(editor):
    with pytest.raises(ImageError, match="upload a picture or pick an example"):
        D.picture_from_editor(editor)


def test_too_large_picture_is_refused_with_a_readable_message():
    editor = editor_value(line_drawing(96, 64))
    with pytest.raises(ImageError, match=r"96×64 .*at most 0\.0 megapixels, so scale it down"):
        D.picture_from_editor(editor, max_pixels=96 * 64 - 1)
    assert D.picture_from_editor(editor, max_pixels=96 * 64).shape == (64, 96, 3)


def test_the_page_has_its_own_lower_pixel_limit():
    from sketchcolor.image_io import DEFAULT_MAX_PIXELS

    assert D.PAGE_MAX_PIXELS == 16_000_000 < DEFAULT_MAX_PIXELS
    assert D.build_parser().parse_args([]).max_pixels == D.PAGE_MAX_PIXELS


def test_hints_from_editor_follow_painted_strokes():
    editor = editor_value(line_drawing(), [((12, 30, 36, 30), "#e03020"), ((60, 28, 80, 28), "#2f7fd8")])
    hints = D.hints_from_editor(editor)
    assert hints
    colors = {h.color for h in hints}
    assert colors <= {(224, 48, 32), (47, 127, 216)} and len(colors) == 2
    for h in hints:
        assert 27 <= h.y <= 33
        assert (10 <= h.x <= 38) if h.color == (224, 48, 32) else (58 <= h.x <= 82)


def test_hints_from_editor_empty_layers_give_no_hints():
    assert D.hints_from_editor(editor_value(line_drawing())) == []
    assert D.hints_from_editor(None) == []


def test_hints_from_editor_scales_a_layer_of_another_size():
    editor = editor_value(line_drawing(96, 64))
    small = Image.new("RGBA", (48, 32), (0, 0, 0, 0))
    ImageDraw.Draw(small).rectangle([10, 10, 14, 14], fill=(0, 200, 0, 255))
    editor["layers"] = [np.asarray(small)]
    hints = D.hints_from_editor(editor)
    assert hints and all(18 <= h.x <= 31 and 18 <= h.y <= 31 for h in hints)


def test_hints_from_editor_refuses_a_layer_without_alpha():
    editor = editor_value(line_drawing())
    editor["layers"] = [np.zeros((64, 96, 3), np.uint8)]
    with pytest.raises(ImageError, match="RGBA"):
        D.hints_from_editor(editor)


def test_clicks_add_points_and_replace_a_point_at_the_same_place():
    rows = D.add_point([], 10.4, 20.6, "#E03020", width=96, height=64)
    assert rows == [[10, 21, "#e03020"]]
    rows = D.add_point(rows, 50, 30, "rgba(47, 127, 216, 1)", width=96, height=64)
    rows = D.add_point(rows, 10, 21, "#3aa655", width=96, height=64)
    assert rows == [[50, 30, "#2f7fd8"], [10, 21, "#3aa655"]]
    hints = D.points_to_hints(rows)
    assert [(h.x, h.y, h.color) for h in hints] == [(50, 30, (47, 127, 216)), (10, 21, (58, 166, 85))]


def test_click_outside_the_picture_or_with_a_bad_color_is_refused():
    with pytest.raises(HintError, match=r"\(96, 3\) is outside the 96×64 picture"):
        D.add_point([], 96, 3, "#000000", width=96, height=64)
    with pytest.raises(HintError, match="bad color"):
        D.add_point([], 5, 5, "not a color", width=96, height=64)


def test_points_table_accepts_gradio_shapes_and_names_bad_rows():
    table = {"headers": D.POINT_HEADERS, "data": [["", "", ""], [3, 4.0, "#ABCDEF"], [None, None, None]]}
    assert D.points_to_rows(table) == [[3, 4, "#abcdef"]]
    assert D.points_to_rows(None) == []
    with pytest.raises(HintError, match="point 2: x and y must be numbers"):
        D.points_to_rows([[1, 2, "#000000"], ["left", 2, "#000000"]])
    with pytest.raises(HintError, match="point 1: bad color"):
        D.points_to_rows([[1, 2, "blue-ish"]])


def test_load_picture_file_reads_an_upload(tmp_path):
    path = tmp_path / "drawing.png"
    Image.fromarray(line_drawing()).convert("LA").save(path)  # gray with alpha: composited to RGB
    out = D.load_picture_file(path)
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8
    assert np.array_equal(out, line_drawing())


def test_load_picture_file_refuses_from_the_header_and_names_the_file(tmp_path):
    from conftest import write_png_header

    bomb = write_png_header(tmp_path / "huge.png", 5000, 4000)  # a header only: refused before any decoding
    with pytest.raises(ImageError, match=r"5000×4000 \(20\.0 megapixels\); this page accepts at most 16\.0"):
        D.load_picture_file(bomb)
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    with pytest.raises(ImageError) as info:
        D.load_picture_file(notes)
    assert "notes.png" in str(info.value) and str(tmp_path) not in str(info.value)
    with pytest.raises(ImageError, match="upload a picture or pick an example"):
        D.load_picture_file(None)


def test_parse_strokes_reads_the_panel_value():
    value = canvas_value(("#E03020", 6, [[10, 20.5], [30, 20.5]]), ("rgb(47, 127, 216)", 2.5, [[5, 5]]))
    strokes = D.parse_strokes(value)
    assert strokes == [D.Stroke("#e03020", 6.0, ((10.0, 20.5), (30.0, 20.5))), D.Stroke("#2f7fd8", 2.5, ((5.0, 5.0),))]
    assert D.parse_strokes(None) == [] and D.parse_strokes({"picture": "token"}) == []


@pytest.mark.parametrize("value, message", [
    ("strokes", "must be an object"),
    ({"strokes": "x"}, "must be a list"),
    (canvas_value(("#e03020", 3, [[1, 1]]), ("blue-ish", 3, [[1, 1]])), "stroke 2: bad color"),
    (canvas_value(("#e03020", 0, [[1, 1]])), "stroke 1: size must be a positive number"),
    (canvas_value(("#e03020", True, [[1, 1]])), "stroke 1: size must be a positive number"),
    (canvas_value(("#e03020", 3, [])), "stroke 1: points must be a non-empty list"),
    (canvas_value(("#e03020", 3, [[1, float("nan")]])), "stroke 1: each point must be"),
    (canvas_value(("#e03020", 3, [[1, 2, 3]])), "stroke 1: each point must be"),
    ({"strokes": [{"color": "#e03020", "size": 3, "points": [[1, 1]]}] * (D.MAX_STROKES + 1)}, "more than this page"),
])
def test_parse_strokes_names_what_is_wrong(value, message):
    with pytest.raises(HintError, match=message):
        D.parse_strokes(value)


def test_stroke_layer_paints_what_the_browser_shows():
    # A 6 px wide stroke from (20, 30.5) to (60, 30.5): rows 27.5-33.5, round caps 3 px beyond each end, as the
    # browser's canvas covers it (give or take the half pixels it antialiases).
    layer = D.stroke_layer(D.parse_strokes(canvas_value(("#3aa655", 6, [[20, 30.5], [60, 30.5]]))), 96, 64)
    assert layer.shape == (64, 96, 4) and layer.dtype == np.uint8
    painted = layer[..., 3] > 0
    ys, xs = np.nonzero(painted)
    assert 27 <= ys.min() <= 28 and 32 <= ys.max() <= 33
    assert 16 <= xs.min() <= 18 and 61 <= xs.max() <= 63
    assert (layer[painted][:, :3] == (58, 166, 85)).all() and (layer[painted][:, 3] == 255).all()
    assert not painted[:20].any() and not painted[40:].any()


def test_stroke_layer_paints_later_strokes_on_top_and_clips_at_the_border():
    value = canvas_value(("#e03020", 8, [[10, 10], [50, 10]]), ("#2f7fd8", 8, [[30, 0], [30, 20]]),
                         ("#f5d000", 10, [[90, 60], [200, 200]]))
    layer = D.stroke_layer(D.parse_strokes(value), 96, 64)
    assert tuple(layer[10, 30, :3]) == (47, 127, 216) and tuple(layer[10, 15, :3]) == (224, 48, 32)
    assert tuple(layer[60, 92, :3]) == (245, 208, 0)


def test_hints_from_strokes_are_the_painted_layers_hints():
    value = canvas_value(("#e03020", 4, [[12, 30], [36, 30]]), ("#2f7fd8", 4, [[60, 28], [80, 28]]))
    strokes = D.parse_strokes(value)
    hints = D.hints_from_strokes(strokes, 96, 64)
    assert hints == hints_from_layer(D.stroke_layer(strokes, 96, 64))
    assert {h.color for h in hints} == {(224, 48, 32), (47, 127, 216)}
    assert all(27 <= h.y <= 31 for h in hints)
    assert D.hints_from_strokes([], 96, 64) == []


def test_page_hints_need_a_picture_and_collect_strokes_and_points():
    picture = line_drawing()
    stroke_hints, point_hints = D.page_hints(picture, canvas_value(("#e03020", 4, [[12, 30], [36, 30]])),
                                             [[70, 30, "#2f7fd8"]])
    assert stroke_hints and all(h.color == (224, 48, 32) for h in stroke_hints)
    assert [(h.x, h.y, h.color) for h in point_hints] == [(70.0, 30.0, (47, 127, 216))]
    with pytest.raises(ImageError, match="upload a picture or pick an example"):
        D.page_hints(None, None, [])


def test_hint_summary_counts_what_color_it_sends():
    picture = line_drawing()
    strokes = canvas_value(("#e03020", 4, [[12, 30], [36, 30]]))
    stroke_hints, _ = D.page_hints(picture, strokes, [])
    summary = D.hint_summary(picture, strokes, [[70, 30, "#2f7fd8"], [80, 30, "#2f7fd8"]])
    assert summary == f"Sends **{len(stroke_hints) + 2} hints**: {len(stroke_hints)} from 1 stroke, 2 points."
    assert D.hint_summary(picture, None, [[70, 30, "#2f7fd8"]]) == "Sends **1 hint**: 0 from 0 strokes, 1 point."
    assert D.hint_summary(None, strokes, []) == "Sends **0 hints** (no picture yet)."
    # A half-typed table row is said on the line, not raised while the artist types.
    assert D.hint_summary(picture, None, [[70, 30, "#2f7f"]]).startswith("Cannot send the hints: point 1: bad color")


def test_suggest_at_passes_the_hints():
    fake = FakeColorizer()
    picture = line_drawing()
    stroke_hints, point_hints = D.page_hints(picture, canvas_value(("#e03020", 4, [[12, 30], [36, 30]])),
                                             [[70, 30, "#2f7fd8"]])
    out = D.suggest_at(fake, picture, stroke_hints + point_hints, 60, 20, "sketch", k=2)
    assert out == [("#e03020", 0.5), ("#3aa655", 0.3)]
    call = fake.calls[-1]
    assert (call["x"], call["y"], call["mode"], call["k"]) == (60, 20, "sketch", 2)
    assert call["hints"] == stroke_hints + point_hints


def test_colorize_picture_passes_the_settings_and_saves_the_downloads(tmp_path):
    fake = FakeColorizer()
    picture = line_drawing()
    hints = D.points_to_hints([[70, 30, "#2f7fd8"]])
    result = D.colorize_picture(fake, picture, hints, "sketch", True, True, 0.02)
    call = fake.calls[-1]
    assert (call["mode"], call["cleanup"], call["shading"], call["gap_closing"]) == ("sketch", True, True, 0.02)
    assert call["hints"] == hints and call["shape"] == (64, 96, 3)
    D.colorize_picture(fake, picture, hints)
    assert fake.calls[-1]["gap_closing"] is None and fake.calls[-1]["cleanup"] is False
    png_path = D.save_png(result, tmp_path)
    with Image.open(png_path) as png:
        assert png.size == (96, 64) and np.array_equal(np.asarray(png.convert("RGB")), np.asarray(result.image))
    ora_path, psd_path = D.save_layered(result, tmp_path)
    assert zipfile.is_zipfile(ora_path) and ora_path.endswith("sketchcolor.ora")
    with open(psd_path, "rb") as psd:
        assert psd.read(4) == b"8BPS"
    assert D.status_text(result, "auto", 1) == "Colored as line art (auto-detected) in 0.01 s with 1 hint."
    assert D.status_text(result, "sketch", 3) == "Colored as line art in 0.01 s with 3 hints."


def test_palette_field_is_read_into_colors():
    text = "#E03020, 3060c0\n#f0c040  #e03020,"  # commas, spaces, a new line; a duplicate collapsed
    assert D.palette_from_text(text) == ["#e03020", "#3060c0", "#f0c040"]
    assert D.palette_from_text("#fa0") == ["#ffaa00"]
    for empty in ("", "   ", " ,\n, ", None):
        assert D.palette_from_text(empty) is None


@pytest.mark.parametrize("text, message", [
    ("#e03020, #12345", r"palette color 2: bad color '#12345': expected '#rrggbb'"),
    ("red", r"palette color 1: bad color 'red'"),
    (" ".join(f"#{i:06x}" for i in range(65)), "at most 64"),
])
def test_palette_field_names_a_bad_color(text, message):
    with pytest.raises(HintError, match=message):
        D.palette_from_text(text)


def test_load_reference_reads_an_upload_within_the_page_limits(tmp_path):
    from conftest import write_png_header

    path = tmp_path / "reference.png"
    colors = np.zeros((30, 40, 3), np.uint8)
    colors[:, :20] = (224, 48, 32)
    Image.fromarray(colors).save(path)
    out = D.load_reference(path)
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8 and np.array_equal(out, colors)
    assert D.load_reference(None) is None and D.load_reference("") is None
    bomb = write_png_header(tmp_path / "huge.png", 5000, 4000)  # refused from its header, never decoded
    with pytest.raises(ImageError, match=r"^the color reference: the picture is 5000×4000 .* scale it down"):
        D.load_reference(bomb)
    with pytest.raises(ImageError, match=r"the color reference: .*40×30.*at most 0\.0 megapixels"):
        D.load_reference(path, max_pixels=100)


@pytest.mark.parametrize("value, expected", [(None, 1), (1, 1), (3, 3), (4.0, 4), (D.MAX_VARIATIONS, D.MAX_VARIATIONS)])
def test_check_variations_accepts_whole_numbers_in_range(value, expected):
    assert D.check_variations(value) == expected


@pytest.mark.parametrize("value", [0, D.MAX_VARIATIONS + 1, 2.5, "3", True, float("nan")])
def test_check_variations_refuses_other_values(value):
    with pytest.raises(ConfigError, match=f"variations must be a whole number from 1 to {D.MAX_VARIATIONS}"):
        D.check_variations(value)


def test_variations_go_without_a_palette_or_reference():
    reference = np.zeros((8, 8, 3), np.uint8)
    assert D.check_variations(1, ["#e03020"], reference) == 1  # one coloring takes both
    for palette, ref in ((["#e03020"], None), (None, reference), (["#e03020"], reference)):
        with pytest.raises(ConfigError, match="set Variations to 1, or clear the palette and the reference"):
            D.check_variations(2, palette, ref)


def test_colorize_page_passes_the_palette_and_the_reference(tmp_path):
    fake = FakeColorizer()
    picture = line_drawing()
    hints = D.points_to_hints([[70, 30, "#2f7fd8"]])
    results, status = D.colorize_page(fake, picture, hints, "sketch", True, False, 0.02, "#E03020, #3060c0", None, 1)
    call = fake.calls[-1]
    assert call["palette"] == ["#e03020", "#3060c0"] and call["reference"] is None
    assert call["hints"] == hints and (call["mode"], call["cleanup"], call["gap_closing"]) == ("sketch", True, 0.02)
    assert len(results) == 1 and results[0].image.size == (96, 64)
    assert status == "Colored as line art in 0.01 s with 1 hint and a palette of 2 colors."

    reference_path = tmp_path / "reference.png"
    reference_u8 = np.full((30, 40, 3), (58, 166, 85), np.uint8)
    Image.fromarray(reference_u8).save(reference_path)
    results, status = D.colorize_page(fake, picture, hints, "sketch", reference_path=str(reference_path))
    call = fake.calls[-1]
    assert call["palette"] is None and np.array_equal(call["reference"], reference_u8)
    assert call["hints"] == hints
    assert status == "Colored as line art in 0.01 s with 1 hint and the color reference (3 of 4 regions matched)."
    # Both at once: the Colorizer's own message, after it was handed both as given.
    with pytest.raises(ConfigError, match="a reference and a palette do not combine"):
        D.colorize_page(fake, picture, hints, palette_text="#e03020", reference_path=str(reference_path))
    assert fake.calls[-1]["palette"] == ["#e03020"] and fake.calls[-1]["reference"].shape == (30, 40, 3)


def test_colorize_page_can_keep_the_last_pictures_colors(tmp_path):
    fake = FakeColorizer()
    picture = line_drawing()
    first, _ = D.colorize_page(fake, picture, [], "sketch")
    previous = np.asarray(first[0].flat.convert("RGB"))
    results, status = D.colorize_page(fake, picture, [], "sketch", previous=previous)
    assert np.array_equal(fake.calls[-1]["reference"], previous)
    assert status == "Colored as line art in 0.01 s with 0 hints and the last picture's colors (3 of 4 regions matched)."
    # An uploaded reference comes first, and a palette is a choice of colors of its own.
    reference_path = tmp_path / "reference.png"
    Image.fromarray(np.full((30, 40, 3), (58, 166, 85), np.uint8)).save(reference_path)
    D.colorize_page(fake, picture, [], "sketch", reference_path=str(reference_path), previous=previous)
    assert fake.calls[-1]["reference"].shape == (30, 40, 3)
    D.colorize_page(fake, picture, [], "sketch", palette_text="#e03020", previous=previous)
    assert fake.calls[-1]["reference"] is None and fake.calls[-1]["palette"] == ["#e03020"]


def test_status_says_what_the_reference_did():
    assert D.reference_text({"regime": "match", "matched": 10, "regions": 12}) == (
        "the color reference (10 of 12 regions matched)")
    assert D.reference_text({"regime": "global", "score": 1.05, "matched": 0, "regions": 12}) == (
        "the color reference (its overall colors)")
    assert D.reference_text(None) == "the color reference"


def test_colorize_page_without_palette_or_reference_passes_neither():
    fake = FakeColorizer()
    results, status = D.colorize_page(fake, line_drawing(), [], "auto", palette_text="  ", reference_path=None)
    assert fake.calls[-1]["palette"] is None and fake.calls[-1]["reference"] is None
    assert status == "Colored as line art (auto-detected) in 0.01 s with 0 hints."

    class OldColorizer(FakeColorizer):  # a colorizer from before palettes and references still serves the page
        def colorize(self, image, hints=None, mode="auto", *, cleanup=False, shading=False, gap_closing=None):
            return super().colorize(image, hints, mode, cleanup=cleanup, shading=shading, gap_closing=gap_closing)

    assert len(D.colorize_page(OldColorizer(), line_drawing(), [], "auto", palette_text="")[0]) == 1


def test_colorize_page_with_a_bad_palette_or_reference_says_so(tmp_path):
    fake = FakeColorizer()
    with pytest.raises(HintError, match="palette color 1: bad color 'blue-ish'"):
        D.colorize_page(fake, line_drawing(), [], palette_text="blue-ish")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), "red").save(tiny)
    with pytest.raises(ImageError, match="1×1 pixels; a reference needs at least 8"):
        D.colorize_page(fake, line_drawing(), [], reference_path=str(tiny))
    with pytest.raises(ConfigError, match="clear the palette and the reference"):
        D.colorize_page(fake, line_drawing(), [], palette_text="#e03020", variations=3)
    assert not [c for c in fake.calls if "k" in c], "nothing is colored when the controls do not go together"


def test_colorize_page_makes_variations_for_the_gallery():
    fake = FakeColorizer()
    hints = D.points_to_hints([[70, 30, "#2f7fd8"]])
    results, status = D.colorize_page(fake, line_drawing(), hints, "sketch", False, True, 0.01, "", None, 3)
    call = fake.calls[-1]
    assert (call["k"], call["hints"], call["shading"], call["gap_closing"]) == (3, hints, True, 0.01)
    assert len(results) == 3
    assert status == ("Colored 3 variations as line art in 0.01 s with 1 hint. The first is shown and downloadable; "
                      "all are in the gallery below.")
    gallery = D.variations_gallery(results)
    assert [caption for _, caption in gallery] == ["Variation 1", "Variation 2", "Variation 3"]
    assert all(np.array_equal(picture, np.asarray(r.image)) for (picture, _), r in zip(gallery, results))
    assert D.variations_gallery(results[:1]) is None


def test_picture_data_url_keeps_line_art_lossless_and_shrinks_big_pictures():
    gray = line_drawing()
    url = D.picture_data_url(gray)
    assert url.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as shown:
        assert shown.mode == "L" and np.array_equal(np.asarray(shown), gray[..., 0])
    colored = np.dstack([gray[..., 0], gray[..., 1] // 2, gray[..., 2]])
    big = np.repeat(np.repeat(colored, 40, axis=0), 40, axis=1)  # 3840×2560
    url = D.picture_data_url(big)
    assert url.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as shown:
        assert shown.size == (D.DISPLAY_MAX_SIDE, round(D.DISPLAY_MAX_SIDE * 2 / 3))


# ---------------------------------------------------------------------------------------------- page plumbing
def test_for_people_turns_errors_into_short_messages(caplog):
    def bad_input():
        raise HintError("point 3: bad color 'x'; expected #rrggbb")

    def crash():
        raise RuntimeError("tensor shape mismatch deep inside")

    with pytest.raises(gr.Error) as info:
        D.for_people(bad_input)()
    assert info.value.message == "point 3: bad color 'x'; expected #rrggbb"
    with caplog.at_level(logging.ERROR, logger="sketchcolor.demo"), pytest.raises(gr.Error) as info:
        D.for_people(crash)()
    assert info.value.message == D.GENERIC_ERROR and "tensor" not in info.value.message
    assert "tensor shape mismatch" in caplog.text
    assert D.for_people(lambda a, b=1: a + b)(1, b=2) == 3


def test_scratch_dir_prunes_old_runs_and_cleans_up():
    scratch = D.ScratchDir(max_age_s=0.0)
    first = scratch.new_run()
    (first / "x.png").write_bytes(b"x")
    second = scratch.new_run()
    assert second.is_dir() and not first.exists()
    scratch.cleanup()
    assert not scratch.root.exists()


def test_find_examples_lists_pictures_only(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "b.png")
    Image.new("RGB", (4, 4)).save(tmp_path / "a.jpg")
    (tmp_path / "LICENSE.txt").write_text("CC BY-SA")
    assert [p.name for p in D.find_examples(tmp_path)] == ["a.jpg", "b.png"]
    assert D.find_examples(tmp_path / "missing") == [] and D.find_examples(None) == []


def test_for_people_also_guards_generators(caplog):
    def steps():
        yield 1
        raise HintError("stroke 2: bad color 'x'")

    def crash():
        yield 1
        raise RuntimeError("tensor shape mismatch deep inside")

    wrapped = D.for_people(steps)
    assert inspect.isgeneratorfunction(wrapped)
    run = wrapped()
    assert next(run) == 1
    with pytest.raises(gr.Error) as info:
        next(run)
    assert info.value.message == "stroke 2: bad color 'x'"
    with caplog.at_level(logging.ERROR, logger="sketchcolor.demo"), pytest.raises(gr.Error) as info:
        list(D.for_people(crash)())
    assert info.value.message == D.GENERIC_ERROR and "tensor shape mismatch" in caplog.text


def test_the_gap_setting_starts_at_the_colorizers_own():
    from sketchcolor.pipeline import PipelineConfig

    assert D.default_gap_closing(FakeColorizer(gap_closing=0.02)) == 0.02
    assert D.default_gap_closing(object()) == PipelineConfig().gap_closing


def test_build_demo_wires_the_page(tmp_path):
    Image.fromarray(line_drawing()).save(tmp_path / "drawing.png")
    demo = D.build_demo(FakeColorizer(gap_closing=0.02), max_upload_mb=2, examples=[tmp_path / "drawing.png"],
                        concurrency_limit=3)
    assert isinstance(demo, gr.Blocks)
    assert demo.max_file_size == 2 * 1024 * 1024
    config = demo.get_config_file()
    public = [d.get("api_name") for d in config["dependencies"] if d.get("api_visibility") == "public"]
    assert public == ["colorize"]
    assert demo._queue.default_concurrency_limit == 3
    by_id = {c["props"].get("elem_id"): c for c in config["components"] if c["props"].get("elem_id")}
    gap = by_id["sketchcolor-gap"]["props"]
    assert (gap["value"], gap["minimum"], gap["maximum"]) == (0.02, 0.0, D.GAP_SLIDER_MAX)
    assert by_id["sketchcolor-canvas"]["props"]["props"]["default_color"] == D.PALETTE[0]
    assert by_id["sketchcolor-color"]["props"]["props"]["palette"] == D.PALETTE
    # The API still takes an image-editor value; that editor is never shown on the page.
    editor = next(c for c in config["components"] if c["type"] == "imageeditor")
    assert editor["props"]["image_mode"] == "RGBA" and editor["props"]["format"] == "png"
    api = next(d for d in config["dependencies"] if d.get("api_name") == "colorize")
    assert editor["id"] in api["inputs"] and by_id["sketchcolor-gap"]["id"] in api["inputs"]
    # "Color it" sends the panel's strokes, not a picture, and ignores clicks while it runs.
    run = next(d for d in config["dependencies"] if by_id["sketchcolor-run"]["id"] in [t[0] for t in d["targets"]])
    assert by_id["sketchcolor-canvas"]["id"] in run["inputs"] and editor["id"] not in run["inputs"]
    assert run["trigger_mode"] == "once"
    # The "Colors from…" controls sit in one closed accordion; the API takes them after its older inputs, in order,
    # and keeps its seven outputs; the page's run also fills the variations gallery.
    accordion = next(c for c in config["components"] if c["props"].get("elem_id") == "sketchcolor-colors-from")
    assert accordion["type"] == "accordion" and accordion["props"]["open"] is False
    ids = {name: by_id[f"sketchcolor-{name}"]["id"] for name in ("palette", "reference", "variations", "gap")}
    assert api["inputs"][-4:] == [ids["gap"], ids["palette"], ids["reference"], ids["variations"]]
    keep = by_id["sketchcolor-keep-colors"]
    assert run["inputs"][-5:-1] == [ids["palette"], ids["reference"], ids["variations"], keep["id"]]
    assert keep["props"]["value"] is False and keep["id"] not in api["inputs"]
    # The last flats go in and come back out as the same state, which a new picture leaves alone.
    assert run["inputs"][-1] in run["outputs"]
    gallery_id = by_id["sketchcolor-variations-gallery"]["id"]
    assert gallery_id in run["outputs"] and gallery_id not in api["outputs"] and len(api["outputs"]) == 7
    variations = by_id["sketchcolor-variations"]["props"]
    assert (variations["value"], variations["minimum"], variations["maximum"]) == (1, 1, D.MAX_VARIATIONS)
    assert by_id["sketchcolor-palette"]["props"]["value"] == ""
    assert by_id["sketchcolor-palette"]["props"]["placeholder"] == D.PALETTE_PLACEHOLDER
    assert by_id["sketchcolor-reference"]["props"].get("value") is None
    assert by_id["sketchcolor-reference"]["props"]["sources"] == ["upload"]
    assert by_id["sketchcolor-variations-gallery"]["props"]["visible"] is False


def callback(demo, name: str):
    """The page's wired callback called ``name`` (wrapped by for_people), to call directly."""
    return next(f.fn for f in demo.fns.values() if f.fn is not None and f.fn.__name__ == name)


def test_color_it_fills_the_gallery_with_variations():
    fake = FakeColorizer()
    demo = D.build_demo(fake)
    run = callback(demo, "run")
    picture = line_drawing()
    steps = list(run(picture, canvas_value(), [[70, 30, "#2f7fd8"]], "sketch", False, False, 0.01, "", None, 3))
    first, last = steps
    assert len(first) == len(last) == 9
    gallery = first[-2]
    assert np.array_equal(first[-1], first[2]) and last[-1] == {"__type__": "update"}  # the flats, kept for later
    assert gallery["visible"] is True and len(gallery["value"]) == 3
    assert np.array_equal(gallery["value"][0][0], np.asarray(Image.open(first[0]).convert("RGB")))
    assert last[4].endswith("sketchcolor.ora") and last[5].endswith("sketchcolor.psd")
    assert last[6].startswith("Colored 3 variations as line art")
    # One coloring hides the gallery again and sends the palette on.
    first, _ = run(picture, canvas_value(), [], "sketch", False, False, 0.01, "#e03020 #3060c0", None, 1)
    assert first[-2] == {"__type__": "update", "value": None, "visible": False}
    assert fake.calls[-1]["palette"] == ["#e03020", "#3060c0"]
    # Keeping the last picture's colors hands its flats on as the reference.
    previous = first[-1]
    first, _ = run(picture, canvas_value(), [], "sketch", False, False, 0.01, "", None, 1, True, previous)
    assert np.array_equal(fake.calls[-1]["reference"], previous)
    assert "the last picture's colors" in first[6]


def test_color_it_says_why_the_controls_do_not_go_together(tmp_path):
    demo = D.build_demo(FakeColorizer())
    run = callback(demo, "run")
    with pytest.raises(gr.Error) as info:
        list(run(line_drawing(), canvas_value(), [], "auto", False, False, 0.01, "#e03020", None, 2))
    assert info.value.message == D.VARIATIONS_ALONE
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), "red").save(tiny)
    with pytest.raises(gr.Error, match="1×1"):  # the pipeline's ImageError, as the page shows it
        list(run(line_drawing(), canvas_value(), [], "auto", False, False, 0.01, "", str(tiny), 1))
    # A reference over the page's pixel limit is said as soon as it is uploaded.
    big = tmp_path / "big.png"
    Image.new("RGB", (20, 20), "red").save(big)
    check_reference = callback(D.build_demo(FakeColorizer(), max_pixels=100), "check_reference")
    with pytest.raises(gr.Error) as info:
        check_reference(str(big))
    assert info.value.message.startswith("the color reference: the picture is 20×20")
    assert check_reference(str(tiny)) is None and check_reference(None) is None


def test_the_api_takes_the_new_inputs_but_one_coloring():
    fake = FakeColorizer()
    run_api = callback(D.build_demo(fake), "run_api")
    editor = editor_value(line_drawing())
    outputs = run_api(editor, [], "sketch", False)  # an older client's call: the new inputs left out
    assert len(outputs) == 7 and fake.calls[-1]["palette"] is None and fake.calls[-1]["reference"] is None
    outputs = run_api(editor, [], "sketch", False, False, None, "#e03020", None, 1)
    assert fake.calls[-1]["palette"] == ["#e03020"] and outputs[-1].endswith("a palette of 1 color.")
    with pytest.raises(gr.Error) as info:
        run_api(editor, [], "sketch", False, False, None, "", None, 2)
    assert info.value.message == D.API_ONE_COLORING


@pytest.mark.parametrize("argv, message", [
    (["--port", "70000"], "--port"),
    (["--max-pixels", "0"], "must be positive"),
    (["--examples", "/nonexistent/folder"], "not a folder"),
])
def test_main_refuses_bad_options_before_loading_anything(argv, message):
    with pytest.raises(ConfigError, match=message):
        D.main(argv)


def test_main_reports_a_bad_checkpoint(tmp_path):
    with pytest.raises(CheckpointError):
        D.main(["--checkpoint", str(tmp_path / "nothing-here")])


def test_main_defaults_to_loopback():
    args = D.build_parser().parse_args([])
    assert (args.host, args.port, args.checkpoint) == ("127.0.0.1", 7860, None)


# ---------------------------------------------------------------------------------------------- API round trip
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    """The page served on a free loopback port with the real Colorizer and the tiny random checkpoint."""
    from sketchcolor.pipeline import Colorizer

    colorizer = Colorizer.from_pretrained(tiny_checkpoint, device="cpu")
    port = free_port()
    demo = D.launch(colorizer, "127.0.0.1", port, max_pixels=200_000, max_upload_mb=0.05, prevent_thread_lock=True,
                    quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")  # pandas deprecations inside gradio
def test_api_colorize_round_trip(server, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "drawing.png"
    Image.fromarray(line_drawing(160, 120)).save(path)
    client = Client(server, verbose=False)
    editor = {"background": handle_file(str(path)), "layers": [], "composite": None}
    table = {"headers": D.POINT_HEADERS, "data": [[20, 30, "#e03020"], [110, 60, "#2f7fd8"]]}
    result, l_estimate, flat, png_path, ora_path, psd_path, status = client.predict(
        editor, table, "sketch", False, api_name="/colorize")
    assert status.startswith("Colored as line art in")
    with Image.open(result) as im:
        assert im.size == (160, 120)
    with Image.open(png_path) as im:
        assert im.size == (160, 120)
    with zipfile.ZipFile(ora_path) as archive:
        assert archive.namelist()[0] == "mimetype"
        assert "stack.xml" in archive.namelist()
    with open(psd_path, "rb") as psd:
        assert psd.read(4) == b"8BPS"


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_api_shows_readable_errors(server, tmp_path):
    from gradio_client import Client, handle_file

    big = tmp_path / "big.png"
    Image.new("RGB", (600, 400), "white").save(big)
    client = Client(server, verbose=False)
    editor = {"background": handle_file(str(big)), "layers": [], "composite": None}
    with pytest.raises(Exception, match="this page accepts at most 0.2 megapixels"):
        client.predict(editor, {"headers": D.POINT_HEADERS, "data": []}, "auto", False, api_name="/colorize")
    small = tmp_path / "small.png"
    Image.fromarray(line_drawing()).save(small)
    editor = {"background": handle_file(str(small)), "layers": [], "composite": None}
    bad_points = {"headers": D.POINT_HEADERS, "data": [[500, 5, "#e03020"]]}
    with pytest.raises(Exception, match=r"outside|out of"):
        client.predict(editor, bad_points, "auto", False, api_name="/colorize")


@pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
def test_api_takes_a_palette_or_a_reference_by_name_and_one_coloring_only(server, tmp_path):
    from gradio_client import Client, handle_file

    path = tmp_path / "drawing.png"
    Image.fromarray(line_drawing(160, 120)).save(path)
    client = Client(server, verbose=False)
    editor = {"background": handle_file(str(path)), "layers": [], "composite": None}
    table = {"headers": D.POINT_HEADERS, "data": [[20, 30, "#e03020"]]}
    outputs = client.predict(editor, table, "sketch", False, palette_text="#e03020, #3060c0", api_name="/colorize")
    assert len(outputs) == 7 and outputs[-1].endswith("with 1 hint and a palette of 2 colors.")
    with Image.open(outputs[2]) as flats:  # every region takes a palette color; the page stays white
        colors = {tuple(c) for c in np.asarray(flats.convert("RGB")).reshape(-1, 3)}
    assert colors <= {(224, 48, 32), (48, 96, 192), (255, 255, 255)} and (224, 48, 32) in colors
    with pytest.raises(Exception, match="palette color 2: bad color 'bluish'"):
        client.predict(editor, table, "sketch", False, palette_text="#e03020 bluish", api_name="/colorize")
    with pytest.raises(Exception, match="the /colorize API returns one coloring"):
        client.predict(editor, table, "sketch", False, variations=2, api_name="/colorize")
    reference = tmp_path / "reference.png"
    Image.new("RGB", (64, 48), (48, 96, 192)).save(reference)
    outputs = client.predict(editor, table, "sketch", False, reference_path=handle_file(str(reference)),
                             api_name="/colorize")
    assert "with 1 hint and the color reference" in outputs[-1]
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (48, 96, 192)).save(tiny)
    with pytest.raises(Exception, match="1×1"):
        client.predict(editor, table, "sketch", False, reference_path=handle_file(str(tiny)), api_name="/colorize")


def test_api_refuses_uploads_over_the_size_limit(server, tmp_path):
    from gradio_client import Client, handle_file

    noisy = tmp_path / "noisy.png"  # random pixels do not compress: about 120 KB, over the 0.05 MB limit
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)).save(noisy)
    assert noisy.stat().st_size > 0.05 * 1024 * 1024
    client = Client(server, verbose=False)
    editor = {"background": handle_file(str(noisy)), "layers": [], "composite": None}
    with pytest.raises(Exception, match="(?i)file size|too large"):
        client.predict(editor, {"headers": D.POINT_HEADERS, "data": []}, "auto", False, api_name="/colorize")
