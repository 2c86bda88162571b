"""Tests of sketchcolor.layers: a result's layers and the OpenRaster file that holds them."""

import io
import zipfile
from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image

from conftest import draw_line_art
from sketchcolor.errors import ImageError
from sketchcolor.layers import ORA_MIMETYPE, OraLayer, result_layers, shading_layer, write_ora


@dataclass
class Result:
    """The part of a ColorizeResult that layers read."""

    image: Image.Image
    flat: Image.Image
    lines: Image.Image


def shaded_result(width: int = 300, height: int = 200) -> Result:
    """Orange flats under black lines, darkened by a left-to-right ramp: image = flats × shading × lines."""
    lines = draw_line_art(width, height, seed=1)
    flat = Image.new("RGB", (width, height), (240, 140, 0))
    ramp = np.linspace(0.5, 1.0, width, dtype=np.float32)[None, :, None]
    image_u8 = np.asarray(flat, np.float32) * ramp * (np.asarray(lines, np.float32)[..., None] / 255)
    return Result(Image.fromarray(image_u8.round().astype(np.uint8)), flat, lines)


def read_png(archive: zipfile.ZipFile, name: str) -> Image.Image:
    return Image.open(io.BytesIO(archive.read(name)))


def test_result_layers_are_lines_shading_flats_top_first():
    result = shaded_result()
    layers = result_layers(result)
    assert [(layer.name, layer.composite_op) for layer in layers] == [
        ("lines", "svg:multiply"), ("shading", "svg:multiply"), ("flats", "svg:src-over")]
    assert [layer.image.mode for layer in layers] == ["L", "L", "RGB"]
    assert np.array_equal(np.asarray(layers[0].image), np.asarray(result.lines))
    assert np.array_equal(np.asarray(layers[2].image), np.asarray(result.flat))


def test_shading_is_neutral_where_flats_or_lines_are_black():
    flat = Image.new("RGB", (4, 1), (200, 200, 200))
    flat.putpixel((0, 0), (0, 0, 0))
    lines = Image.new("L", (4, 1), 255)
    lines.putpixel((1, 0), 0)
    image = Image.new("RGB", (4, 1), (100, 100, 100))
    assert list(np.asarray(shading_layer(image, flat, lines))[0]) == [255, 255, 128, 128]


def test_ora_file_reads_back_with_its_layers(tmp_path):
    result = shaded_result()
    path = write_ora(tmp_path / "sub" / "x.ora", result_layers(result), result.image)
    assert path == tmp_path / "sub" / "x.ora"
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert archive.read("mimetype") == ORA_MIMETYPE == b"image/openraster"
        root = ElementTree.fromstring(archive.read("stack.xml"))
        assert (root.tag, root.get("w"), root.get("h")) == ("image", "300", "200")
        layers = root.find("stack").findall("layer")
        assert [el.get("name") for el in layers] == ["lines", "shading", "flats"]
        assert [el.get("composite-op") for el in layers] == ["svg:multiply", "svg:multiply", "svg:src-over"]
        images = {el.get("name"): read_png(archive, el.get("src")) for el in layers}
        assert all(im.size == (300, 200) and im.mode == "RGBA" for im in images.values())
        assert np.array_equal(np.asarray(images["flats"].convert("RGB")), np.asarray(result.flat))
        assert np.array_equal(np.asarray(images["lines"].convert("L")), np.asarray(result.lines))
        merged = read_png(archive, "mergedimage.png")
        assert np.array_equal(np.asarray(merged.convert("RGB")), np.asarray(result.image))
        thumb = read_png(archive, "Thumbnails/thumbnail.png")
        assert max(thumb.size) == 256 and thumb.size[0] / thumb.size[1] == pytest.approx(1.5, abs=0.02)
        # The layers recombine (multiply) into the merged picture, up to rounding of the shading ratio.
        recombined = (np.asarray(images["flats"].convert("L"), np.float32)
                      * np.asarray(images["shading"].convert("L"), np.float32) / 255
                      * np.asarray(images["lines"].convert("L"), np.float32) / 255)
        assert np.abs(recombined - np.asarray(result.image.convert("L"), np.float32)).mean() < 3.0
    assert [p.name for p in path.parent.iterdir()] == ["x.ora"]  # no temporary file left beside it


def test_write_ora_refuses_mismatched_layers(tmp_path):
    merged = Image.new("RGB", (10, 10))
    with pytest.raises(ImageError, match="layer 'a'"):
        write_ora(tmp_path / "x.ora", [OraLayer("a", Image.new("L", (9, 10)))], merged)
    with pytest.raises(ImageError, match="at least one layer"):
        write_ora(tmp_path / "x.ora", [], merged)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    merged = Image.new("RGB", (10, 10), "red")
    layers = [OraLayer("flats", merged)]
    path = write_ora(tmp_path / "x.ora", layers, merged)
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_ora(path, layers, merged)
    assert [p.name for p in tmp_path.iterdir()] == ["x.ora"]
    assert path.read_bytes() == before
