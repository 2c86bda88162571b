"""Tests of sketchcolor.layers: a result's layers, and the OpenRaster and Photoshop files that hold them, read back
with their own tools (the zip and stack.xml; psd-tools) and composited as a paint program would."""

import io
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchcolor import Colorizer, Hint
from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.layers import (
    MAX_COLOR_LAYERS,
    Layer,
    LayerGroup,
    closed_gaps_mask,
    result_layers,
    save_layers,
    write_ora,
)

TOP_FIRST = ["hints", "closed gaps", "lines", "shading", "colors", "flats", "paper"]
SHOWN = {"lines", "colors", "paper"}
MULTIPLY = {"lines", "shading"}


@dataclass
class Read:
    """A layer or group as read back from a file (children bottom first)."""

    name: str
    visible: bool
    blend: str = "normal"
    rgba: np.ndarray | None = None
    left: int = 0
    top: int = 0
    children: list["Read"] = field(default_factory=list)


def open_drawing(width: int = 320, height: int = 240) -> Image.Image:
    """Two outlines on white: a closed ellipse and a box whose outline has a 5 px gap (closed by the segmentation)."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([20, 30, 140, 200], outline=0, width=3)
    draw.rectangle([170, 40, 300, 200], outline=0, width=3)
    draw.rectangle([232, 198, 236, 202], fill=255)  # the gap, in the bottom edge
    return image


def gray_on_paper(width: int = 300, height: int = 220) -> Image.Image:
    """A grayscale cartoon on white paper: shaded filled shapes (mode "L")."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for i, (box, tone) in enumerate([([20, 20, 150, 200], 90), ([170, 40, 280, 180], 160)]):
        draw.ellipse(box, fill=tone) if i == 0 else draw.rectangle(box, fill=tone)
    shade = np.linspace(0, 30, width, dtype=np.float32)[None, :]
    array = np.asarray(image, np.float32)
    array = np.where(array < 255, array + shade, array)
    return Image.fromarray(array.clip(0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def colorizer(tiny_checkpoint):
    return Colorizer.from_pretrained(tiny_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def results(colorizer):
    hints = [Hint(x=80, y=110, color="#e03020", radius=4), Hint(x=230, y=120, color="#2f7fd8")]
    return {
        "sketch": colorizer.colorize(open_drawing(), hints=hints, mode="sketch"),
        "gray": colorizer.colorize(gray_on_paper(), hints=[Hint(x=80, y=110, color="#3aa655")], mode="gray"),
    }


def read_ora(path) -> tuple[list[Read], Image.Image, ElementTree.Element]:
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0] == "mimetype" and archive.read("mimetype") == b"image/openraster"
        assert archive.getinfo("mimetype").compress_type == zipfile.ZIP_STORED
        root = ElementTree.fromstring(archive.read("stack.xml"))

        def read(element) -> Read:
            visible = element.get("visibility") == "visible"
            if element.tag == "stack":
                return Read(element.get("name"), visible, children=[read(e) for e in reversed(list(element))])
            rgba = np.asarray(Image.open(io.BytesIO(archive.read(element.get("src")))).convert("RGBA"))
            blend = {"svg:src-over": "normal", "svg:multiply": "multiply"}[element.get("composite-op")]
            return Read(element.get("name"), visible, blend, rgba, int(element.get("x")), int(element.get("y")))

        entries = [read(e) for e in reversed(list(root.find("stack")))]
        merged = Image.open(io.BytesIO(archive.read("mergedimage.png"))).convert("RGB")
        merged.load()
        assert max(Image.open(io.BytesIO(archive.read("Thumbnails/thumbnail.png"))).size) <= 256
    return entries, merged, root


def read_psd(path) -> tuple[list[Read], Image.Image]:
    from psd_tools import PSDImage
    from psd_tools.constants import BlendMode

    psd = PSDImage.open(path)
    blends = {BlendMode.NORMAL: "normal", BlendMode.MULTIPLY: "multiply"}

    def read(layer) -> Read:
        if layer.is_group():
            return Read(layer.name, layer.visible, children=[read(child) for child in layer])
        rgba = np.asarray(layer.topil().convert("RGBA"))
        return Read(layer.name, layer.visible, blends[layer.blend_mode], rgba, layer.left, layer.top)

    assert psd.depth == 8 and psd.color_mode.name == "RGB"
    return [read(layer) for layer in psd], psd.topil().convert("RGB")


def flatten(entries: list[Read], size: tuple[int, int]) -> np.ndarray:
    """The shown layers (bottom first) composited as a paint program does (W3C compositing): a layer of alpha
    ``a`` and blend ``B`` turns the backdrop ``Cb`` into ``a · B(Cb, Cs) + (1 - a) · Cb``, ``B`` = ``Cs`` (normal)
    or ``Cb · Cs`` (multiply). Returns (H, W, 3) uint8."""
    width, height = size
    out = np.zeros((height, width, 3))
    for entry in entries:
        if not entry.visible:
            continue
        for layer in entry.children or [entry]:
            if not layer.visible:
                continue
            rgba = layer.rgba.astype(np.float64) / 255
            box = (slice(layer.top, layer.top + rgba.shape[0]), slice(layer.left, layer.left + rgba.shape[1]))
            backdrop, src, alpha = out[box], rgba[..., :3], rgba[..., 3:]
            blended = src if layer.blend == "normal" else backdrop * src
            out[box] = alpha * blended + (1 - alpha) * backdrop
    return np.round(out * 255).astype(np.uint8)


def by_name(entries: list[Read]) -> dict[str, Read]:
    return {entry.name: entry for entry in entries}


@pytest.mark.parametrize("suffix", [".ora", ".psd"])
@pytest.mark.parametrize("mode", ["sketch", "gray"])
def test_files_hold_the_layers_and_their_shown_layers_make_the_picture(results, tmp_path, suffix, mode):
    result = results[mode]
    path = result.save_layers(tmp_path / "deep" / f"picture{suffix}")
    entries, merged = read_ora(path)[:2] if suffix == ".ora" else read_psd(path)
    assert [e.name for e in entries] == TOP_FIRST[::-1]  # read back bottom first
    assert {e.name for e in entries if e.visible} == SHOWN
    assert {e.name for e in entries if e.blend == "multiply"} == MULTIPLY
    width, height = result.image.size
    for entry in entries:
        h, w = entry.rgba.shape[:2]
        assert 0 <= entry.left and entry.left + w <= width and 0 <= entry.top and entry.top + h <= height
        if entry.name not in ("hints", "closed gaps"):
            assert (w, h) == (width, height), entry.name
    image_u8 = np.asarray(result.image)
    # The flattened image stored in the file is the picture itself; the shown layers make it too, to rounding.
    assert np.array_equal(np.asarray(merged), image_u8)
    composite = flatten(entries, (width, height))
    assert np.abs(composite.astype(int) - image_u8).max() <= 2
    layers = by_name(entries)
    # Lines: the artist's lines, multiplied, transparent on the paper.
    lines_u8 = np.asarray(result.lines)
    assert np.array_equal(layers["lines"].rgba[..., 3] == 0, lines_u8 == 255)
    assert np.array_equal(layers["lines"].rgba[..., 0][lines_u8 < 255], lines_u8[lines_u8 < 255])
    # Flats: one color per region, the page transparent so the flats can be selected by transparency.
    flats = layers["flats"].rgba
    assert np.array_equal(flats[..., 3] == 0, result.page)
    assert np.array_equal(flats[..., :3][~result.page], np.asarray(result.flat)[~result.page])
    assert result.page.any() and not result.page.all()


def test_layers_in_memory_bottom_first(results):
    entries = list(result_layers(results["sketch"]))
    assert [e.name for e in entries] == TOP_FIRST[::-1]
    assert all(isinstance(e, Layer) and e.image.mode == "RGBA" for e in entries)
    # A classical method's result has no shading to offer: its layers leave it out.
    regionfill = Colorizer().colorize(open_drawing(), hints=[Hint(x=80, y=110, color="#e03020")],
                                      mode="sketch", method="regionfill")
    names = [e.name for e in result_layers(regionfill)]
    assert names == [n for n in TOP_FIRST[::-1] if n != "shading"]
    composite = flatten([Read(e.name, e.visible, e.blend, np.asarray(e.image), e.left, e.top)
                         for e in result_layers(regionfill)], regionfill.image.size)
    assert np.abs(composite.astype(int) - np.asarray(regionfill.image)).max() <= 2


def test_closed_gaps_mark_borders_that_no_line_draws(results):
    labels = np.array([
        [1, 1, 0, 2],
        [1, 1, 0, 2],
        [3, 3, 3, 2],
    ], dtype=np.int32)
    mask = closed_gaps_mask(labels)
    # 1|3 (rows 1 to 2) and 3|2 (columns 2 to 3 of row 2) touch without a line; 1|2 are apart by the line.
    assert mask.tolist() == [
        [False, False, False, False],
        [True, True, False, False],
        [True, True, True, True],
    ]
    result = results["sketch"]
    gaps = by_name([Read(e.name, e.visible, e.blend, np.asarray(e.image), e.left, e.top)
                    for e in result_layers(result)])["closed gaps"]
    ys, xs = np.nonzero(gaps.rgba[..., 3])
    # The box's 5 px gap at the bottom edge (x 232-236, y 198-202) was closed: the layer marks it.
    near_gap = (np.abs(xs + gaps.left - 234) <= 6) & (np.abs(ys + gaps.top - 200) <= 6)
    assert near_gap.any()


def test_hints_layer_shows_each_hint_in_its_color(results):
    result = results["sketch"]
    hints = next(e for e in result_layers(result) if e.name == "hints")
    assert not hints.visible
    rgba = np.asarray(hints.image)
    for hint in result.hints:
        assert tuple(rgba[int(hint.y) - hints.top, int(hint.x) - hints.left]) == (*hint.color, 255)


def test_flats_by_color_is_a_hidden_group_of_one_layer_per_color(tmp_path):
    @dataclass
    class Flat:
        image: Image.Image
        flat: Image.Image
        lines: Image.Image
        hints: list = field(default_factory=list)
        colors: Image.Image | None = None
        shading: Image.Image | None = None
        page: np.ndarray | None = None
        labels: np.ndarray | None = None

    flat_u8 = np.full((40, 60, 3), 255, np.uint8)
    flat_u8[5:20, 5:30] = (224, 48, 32)
    flat_u8[25:35, 40:55] = (47, 127, 216)
    flat_u8[22:24, 2:4] = (224, 48, 32)
    page = (flat_u8 == 255).all(axis=2)
    flat = Image.fromarray(flat_u8)
    result = Flat(flat, flat, Image.new("L", (60, 40), 255), page=page)
    for suffix in (".ora", ".psd"):
        path = save_layers(result, tmp_path / f"f{suffix}", by_color=True)
        entries = read_ora(path)[0] if suffix == ".ora" else read_psd(path)[0]
        group = by_name(entries)["flats by color"]
        assert not group.visible and [e.name for e in entries].index("flats by color") == 1  # just above paper
        assert sorted(c.name for c in group.children) == ["#2f7fd8", "#e03020"]
        red = by_name(group.children)["#e03020"]
        assert (red.left, red.top, red.rgba.shape[:2]) == (2, 5, (19, 28))  # cropped to both red patches
        canvas = np.zeros((40, 60), bool)
        canvas[red.top:red.top + 19, red.left:red.left + 28] = red.rgba[..., 3] > 0
        assert np.array_equal(canvas, (flat_u8 == (224, 48, 32)).all(axis=2))
    many = np.random.default_rng(0).integers(0, 255, (30, 30, 3), dtype=np.uint8)
    many_flat = Image.fromarray(many)
    with pytest.raises(ConfigError, match=f"at most {MAX_COLOR_LAYERS} layers"):
        save_layers(Flat(many_flat, many_flat, Image.new("L", (30, 30), 255)), tmp_path / "m.ora", by_color=True)
    assert not (tmp_path / "m.ora").exists() and not list(tmp_path.glob(".*.tmp*"))


def test_bad_paths_get_one_line_errors_and_leave_nothing(results, tmp_path):
    result = results["gray"]
    with pytest.raises(ImageError, match=r"unknown layered format '\.tif', expected \.ora, \.psd"):
        result.save_layers(tmp_path / "x.tif")
    (tmp_path / "folder.ora").mkdir()
    with pytest.raises(ImageError, match="it is a folder"):
        result.save_layers(tmp_path / "folder.ora")
    (tmp_path / "file").write_text("not a folder")
    for suffix in (".ora", ".psd"):
        with pytest.raises(ImageError, match=r"cannot save layers to '.*file/x\.(ora|psd)': ") as info:
            result.save_layers(tmp_path / "file" / f"x{suffix}")
        assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "folder.ora"]


def test_write_ora_refuses_layers_outside_the_picture(tmp_path):
    merged = Image.new("RGB", (10, 10))
    with pytest.raises(ImageError, match="layer 'a'"):
        write_ora(tmp_path / "x.ora", [Layer("a", Image.new("RGBA", (9, 10)), left=2)], merged)
    with pytest.raises(ImageError, match="at least one layer"):
        write_ora(tmp_path / "x.ora", [], merged)
    with pytest.raises(ConfigError, match="unknown blend 'screen'"):
        Layer("a", merged, blend="screen")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    merged = Image.new("RGB", (10, 10), "red")
    layers = [Layer("flats", merged.convert("RGBA"))]
    path = write_ora(tmp_path / "x.ora", layers, merged)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_ora(path, layers, merged)
    assert [p.name for p in tmp_path.iterdir()] == ["x.ora"]
    assert path.read_bytes() == before


def test_group_entries_write_in_both_formats(tmp_path):
    merged = Image.new("RGB", (8, 6), "white")
    dot = Image.new("RGBA", (2, 2), (10, 20, 30, 255))
    group = LayerGroup("g", (Layer("top", dot, left=6, top=4), Layer("low", dot)), visible=True)
    entries = [Layer("paper", Image.new("RGBA", (8, 6), (255, 255, 255, 255))), group]
    ora = read_ora(write_ora(tmp_path / "g.ora", entries, merged))[0]
    from sketchcolor.layers import write_psd

    psd = read_psd(write_psd(tmp_path / "g.psd", entries, merged))[0]
    for read in (ora, psd):
        assert [e.name for e in read] == ["paper", "g"]
        assert [(c.name, c.left, c.top) for c in read[1].children] == [("low", 0, 0), ("top", 6, 4)]
