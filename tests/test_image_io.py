"""Tests for sketchcolor.image_io: all supported forms load as 8-bit RGB; each bad input gives a one-line ImageError."""

from __future__ import annotations

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import ExifTags, Image

from conftest import write_png_header
from sketchcolor import atomic
from sketchcolor.errors import ImageError, SketchcolorError
from sketchcolor.image_io import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    expand_inputs,
    load_image,
    save_image,
)

RNG_SEED = 1234


def _expect_error(func, *args, fragment: str, **kwargs) -> str:
    """Call ``func`` expecting an ImageError whose single-line message contains ``fragment``; return the message."""
    with pytest.raises(ImageError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert fragment in message, message
    return message


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _handmade_png(width: int, height: int, bit_depth: int, color_type: int, raw_rows: bytes) -> bytes:
    """A PNG written byte by byte (signature, IHDR, one IDAT, IEND): lets a header claim any size cheaply."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw_rows))
        + _png_chunk(b"IEND", b"")
    )


def _noise_rgb(height: int = 32, width: int = 48) -> np.ndarray:
    return np.random.default_rng(RNG_SEED).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


# --- bad input: each kind gets its specific message -------------------------------------------------------------


def test_decompression_bomb_refused_from_header(tmp_path):
    # 40000 x 40000 1-bit = 1.6 G pixels; the IDAT holds 10 bytes, so decoding would fail differently.
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_handmade_png(40000, 40000, 1, 0, b"\x00" * 10))
    _expect_error(load_image, bomb, fragment="too many pixels")


def test_pixel_limit_does_not_rely_on_pillow_global(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's guard off: our header check must still act
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_handmade_png(40000, 40000, 1, 0, b"\x00" * 10))
    message = _expect_error(load_image, bomb, fragment="too many pixels")
    assert "40000x40000" in message and "bomb.png" in message


def test_pixel_limit_is_per_call(tmp_path):
    png = _encode(Image.new("RGB", (64, 64), "white"), "PNG")
    _expect_error(load_image, png, max_pixels=64 * 64 - 1, fragment="too many pixels")
    assert load_image(png, max_pixels=64 * 64).size == (64, 64)
    _expect_error(load_image, np.zeros((64, 64), np.uint8), max_pixels=100, fragment="too many pixels")
    _expect_error(load_image, png, max_pixels=0, fragment="max_pixels must be a positive int")
    assert DEFAULT_MAX_PIXELS == 40_000_000
    header = write_png_header(tmp_path / "big.png", 6325, 6325)  # just over 40 Mpx: refused from the header
    _expect_error(load_image, header, fragment="too many pixels")


def test_pillow_bomb_warning_becomes_error_without_own_limit(monkeypatch):
    png = _encode(Image.new("L", (100, 100), 200), "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 10000 px: above the warning, below the error level
    _expect_error(load_image, png, max_pixels=None, fragment="decompression-bomb guard")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        assert load_image(png).size == (100, 100)  # our explicit limit decides, no warning leaks


def test_text_file_named_png(tmp_path):
    fake = tmp_path / "notes.png"
    fake.write_text("this is not a picture\n")
    message = _expect_error(load_image, fake, fragment="not an image file")
    assert "notes.png" in message


def test_empty_file_and_empty_bytes(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    _expect_error(load_image, empty, fragment="file is empty (0 bytes)")
    _expect_error(load_image, b"", fragment="<bytes>: no data")


def test_truncated_png(tmp_path):
    whole = _encode(Image.fromarray(_noise_rgb(64, 64)), "PNG")
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 2])
    _expect_error(load_image, cut, fragment="truncated or corrupt")
    _expect_error(load_image, whole[: len(whole) // 2], fragment="<bytes>: truncated or corrupt")


def test_truncated_jpeg():
    whole = _encode(Image.fromarray(_noise_rgb(64, 64)), "JPEG")
    _expect_error(load_image, whole[: len(whole) // 2], fragment="truncated or corrupt")


def test_missing_path_and_directory(tmp_path):
    _expect_error(load_image, tmp_path / "nope.png", fragment="no such file")
    _expect_error(load_image, str(tmp_path), fragment="it is a folder")


def test_unsupported_format_and_source_type():
    xbm = _encode(Image.new("1", (8, 8)), "XBM")
    _expect_error(load_image, xbm, fragment="unsupported format XBM")
    _expect_error(load_image, 42, fragment="cannot load a int")


def test_bad_numpy_arrays():
    _expect_error(load_image, np.zeros((0, 10, 3), np.uint8), fragment="zero-size image (10x0)")
    _expect_error(load_image, np.zeros((8, 8, 5), np.uint8), fragment="got (8, 8, 5)")
    _expect_error(load_image, np.zeros((3, 8, 8), np.uint8), fragment="channels must come last")
    _expect_error(load_image, np.zeros((2, 8, 8, 3), np.uint8), fragment="expected shape")
    nan = np.full((4, 4), 0.5, np.float32)
    nan[1, 2] = np.nan
    _expect_error(load_image, nan, fragment="NaN")
    _expect_error(load_image, np.full((4, 4), 200.0), fragment="divide 0..255 data by 255")
    _expect_error(load_image, np.zeros((4, 4), np.int64), fragment="unsupported dtype int64")


def test_float_image_with_nan_refused():
    values = np.zeros((4, 4), np.float32)
    values[0, 0] = np.inf
    _expect_error(load_image, Image.fromarray(values), fragment="NaN or infinite")


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about damaged TIFF/EXIF tags before failing
def test_corrupted_files_only_raise_image_error():
    # Deterministic mutations (bytes flipped, cut, inserted) of small files in several formats: each either loads
    # as RGB or raises a one-line ImageError, never another exception type.
    rng = np.random.default_rng(RNG_SEED)
    picture = Image.fromarray(_noise_rgb(12, 16))
    for fmt in ("PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP"):
        data = _encode(picture, fmt)
        for _ in range(25):
            mutated = bytearray(data)
            where = int(rng.integers(0, len(mutated)))
            kind = int(rng.integers(0, 3))
            if kind == 0:
                mutated[where] ^= int(rng.integers(1, 256))
            elif kind == 1:
                mutated = mutated[:where]
            else:
                mutated[where:where] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
            try:
                assert load_image(bytes(mutated)).mode == "RGB"
            except ImageError as exc:
                assert "\n" not in str(exc)


def test_errors_are_value_errors():
    with pytest.raises(ValueError):
        load_image(b"junk")
    with pytest.raises(SketchcolorError):
        load_image(b"junk")


# --- modes and formats --------------------------------------------------------------------------------------------


def test_gif_and_tiff_first_frame():
    red = Image.new("RGB", (16, 16), (255, 0, 0))
    blue = Image.new("RGB", (16, 16), (0, 0, 255))
    for fmt in ("GIF", "TIFF"):
        data = _encode(red, fmt, save_all=True, append_images=[blue])
        assert Image.open(io.BytesIO(data)).n_frames == 2
        rgb = np.asarray(load_image(data))
        assert rgb.shape == (16, 16, 3)
        assert tuple(rgb[8, 8]) == (255, 0, 0), fmt


def test_cmyk_jpeg_to_rgb():
    cyan = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    loaded = load_image(_encode(cyan, "JPEG", quality=95))
    assert loaded.mode == "RGB"
    np.testing.assert_allclose(np.asarray(loaded)[8, 8], (0, 255, 255), atol=3)


def test_palette_with_transparency_on_white():
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    pal.putpixel((0, 0), 0)
    png = _encode(pal, "PNG", transparency=1)  # index 1 (red) is fully transparent
    rgb = np.asarray(load_image(png))
    assert tuple(rgb[4, 4]) == (255, 255, 255)
    assert tuple(rgb[0, 0]) == (0, 0, 0)


def test_la_and_pa_over_white():
    gray = np.full((4, 4), 50, np.uint8)
    alpha = np.zeros((4, 4), np.uint8)
    alpha[:2] = 255
    la = Image.fromarray(np.dstack([gray, alpha]))
    rgb = np.asarray(load_image(_encode(la, "PNG")))
    assert tuple(rgb[0, 0]) == (50, 50, 50)
    assert tuple(rgb[3, 3]) == (255, 255, 255)
    pa = la.convert("RGBA").convert("PA")
    assert pa.mode == "PA"
    rgb_pa = np.asarray(load_image(pa))
    assert tuple(rgb_pa[3, 3]) == (255, 255, 255)
    assert abs(int(rgb_pa[0, 0, 0]) - 50) <= 8  # palette quantization


def test_rgba_half_transparent_red_is_pink():
    red = Image.new("RGBA", (4, 4), (255, 0, 0, 128))
    rgb = np.asarray(load_image(_encode(red, "PNG")))
    assert tuple(rgb[0, 0]) == (255, 127, 127)


def test_16_bit_gray_png_to_8_bit(tmp_path):
    values = np.array([[0, 257 * 100, 65535, 32768]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    rgb = np.asarray(load_image(path))
    np.testing.assert_array_equal(rgb[0, :, 0], [0, 100, 255, 128])
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_16_bit_big_endian_and_32_bit_int_modes():
    big = Image.frombytes("I;16B", (2, 1), struct.pack(">HH", 0, 65535))
    np.testing.assert_array_equal(np.asarray(load_image(big))[0, :, 0], [0, 255])
    small_range = Image.fromarray(np.array([[0, 100, 255]], np.int32))
    assert small_range.mode == "I"
    np.testing.assert_array_equal(np.asarray(load_image(small_range))[0, :, 0], [0, 100, 255])
    wide_range = Image.fromarray(np.array([[-1000, 0, 1000]], np.int32))
    np.testing.assert_array_equal(np.asarray(load_image(wide_range))[0, :, 0], [0, 128, 255])


def test_16_bit_rgb_png():
    # Pillow cannot write 16-bit RGB, so build it: one pixel row (65535, 32768, 0) per pixel, big-endian.
    row = b"\x00" + np.tile(np.array([65535, 32768, 0], ">u2"), 3).tobytes()
    rgb = np.asarray(load_image(_handmade_png(3, 2, 16, 2, row * 2)))
    assert rgb.shape == (2, 3, 3)
    np.testing.assert_allclose(rgb[1, 2], (255, 128, 0), atol=1)


def test_float_images(tmp_path):
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32))
    assert unit.mode == "F"
    np.testing.assert_array_equal(np.asarray(load_image(unit))[0, :, 0], [0, 128, 255])
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[-2.0, 0.0, 2.0]], np.float32)).save(path)
    np.testing.assert_array_equal(np.asarray(load_image(path))[0, :, 0], [0, 128, 255])


def test_one_bit_to_black_and_white():
    bits = Image.new("1", (8, 8), 0)
    bits.putpixel((3, 3), 1)
    rgb = np.asarray(load_image(_encode(bits, "PNG")))
    assert set(np.unique(rgb)) == {0, 255}
    assert tuple(rgb[3, 3]) == (255, 255, 255)
    assert tuple(rgb[0, 0]) == (0, 0, 0)


def test_exif_orientation_applied():
    # Stored 40 wide x 20 high, left half red; orientation 6 means "rotate 90 degrees clockwise to view".
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = (255, 0, 0)
    stored[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    data = _encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif.tobytes())
    upright = load_image(data)
    assert upright.size == (20, 40)
    assert ExifTags.Base.Orientation not in upright.getexif()  # applied once, not left for a second rotation
    rgb = np.asarray(upright).astype(int)
    assert rgb[5, 10, 0] > 200 and rgb[5, 10, 2] < 60  # top is red
    assert rgb[35, 10, 2] > 200 and rgb[35, 10, 0] < 60  # bottom is blue


def test_unreadable_exif_keeps_picture():
    data = _encode(Image.new("RGB", (4, 2), "red"), "JPEG", exif=b"Exif\x00\x00MM\x00*garbage")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about the corrupt EXIF block itself
        loaded = load_image(data)
    assert loaded.size == (4, 2)


def test_bytes_like_inputs():
    png = _encode(Image.fromarray(_noise_rgb()), "PNG")
    expected = _noise_rgb()
    for source in (png, bytearray(png), memoryview(png)):
        np.testing.assert_array_equal(np.asarray(load_image(source)), expected)


def test_pil_input_is_not_modified():
    source = Image.new("RGBA", (6, 4), (10, 20, 30, 0))
    before = source.tobytes()
    loaded = load_image(source)
    assert source.mode == "RGBA" and source.size == (6, 4) and source.tobytes() == before
    assert tuple(np.asarray(loaded)[0, 0]) == (255, 255, 255)

    rgb_source = Image.fromarray(_noise_rgb())
    copy = load_image(rgb_source)
    assert copy is not rgb_source
    copy.putpixel((0, 0), (1, 2, 3))
    np.testing.assert_array_equal(np.asarray(rgb_source), _noise_rgb())


def test_numpy_dtypes_and_shapes():
    mask = np.zeros((4, 5), bool)
    mask[1, 1] = True
    rgb = np.asarray(load_image(mask))
    assert rgb.shape == (4, 5, 3) and tuple(rgb[1, 1]) == (255, 255, 255) and tuple(rgb[0, 0]) == (0, 0, 0)

    deep = np.array([[0, 257 * 7, 65535]], np.uint16)
    np.testing.assert_array_equal(np.asarray(load_image(deep))[0, :, 1], [0, 7, 255])

    unit = np.array([[[0.0, 0.5, 1.0]]], np.float64)  # (1, 1, 3)
    np.testing.assert_array_equal(np.asarray(load_image(unit))[0, 0], [0, 128, 255])
    nearly = np.array([[1.0000001, -1e-7]], np.float32)  # round-off just outside [0, 1] is clipped
    np.testing.assert_array_equal(np.asarray(load_image(nearly))[0, :, 0], [255, 0])

    single = np.full((3, 3, 1), 77, np.uint8)
    assert tuple(np.asarray(load_image(single))[2, 2]) == (77, 77, 77)

    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 128
    assert tuple(np.asarray(load_image(rgba))[0, 0]) == (255, 127, 127)

    strided = _noise_rgb()[:, ::2]  # non-contiguous views are fine
    np.testing.assert_array_equal(np.asarray(load_image(strided)), strided)


# --- saving -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "atol"), [("out.png", 0), ("out.jpg", 12), ("OUT.JPEG", 12), ("out.webp", 12)])
def test_save_load_round_trip(tmp_path, name, atol):
    # Smooth content: lossy codecs stay close; PNG must be exact.
    y, x = np.mgrid[0:32, 0:48]
    rgb_u8 = np.dstack([x * 5, y * 7, 255 - x * 5]).astype(np.uint8)
    written = save_image(Image.fromarray(rgb_u8), tmp_path / "nested" / "dir" / name)
    assert written == tmp_path / "nested" / "dir" / name and written.is_file()
    back = np.asarray(load_image(written)).astype(int)
    assert back.shape == rgb_u8.shape
    assert np.abs(back - rgb_u8).max() <= atol


def test_save_formats_and_modes(tmp_path):
    jpeg = save_image(Image.new("RGBA", (4, 4), (255, 0, 0, 0)), tmp_path / "a.jpg")
    with Image.open(jpeg) as img:
        assert img.format == "JPEG" and img.mode == "RGB"
        assert img.getpixel((1, 1)) >= (250, 250, 250)  # transparent -> white, not black
    gray = save_image(np.full((4, 4), 9, np.uint8), tmp_path / "g.png")
    with Image.open(gray) as img:
        assert img.mode == "L" and img.getpixel((0, 0)) == 9
    layer = save_image(np.zeros((4, 4, 4), np.uint8), tmp_path / "layer.webp")
    with Image.open(layer) as img:
        assert img.format == "WEBP" and img.mode == "RGBA"
    upper = save_image(Image.new("RGB", (2, 2)), tmp_path / "UP.PNG")
    with Image.open(upper) as img:
        assert img.format == "PNG"


def test_save_bad_extension(tmp_path):
    image = Image.new("RGB", (2, 2))
    _expect_error(save_image, image, tmp_path / "out.bmp", fragment="unsupported extension '.bmp'")
    _expect_error(save_image, image, tmp_path / "out", fragment="unsupported extension '(none)'")
    _expect_error(save_image, "not an image", tmp_path / "out.png", fragment="expected a PIL image")
    _expect_error(save_image, np.zeros((2, 2, 2), np.uint8), tmp_path / "out.png", fragment="expected shape")
    assert list(tmp_path.iterdir()) == []


def test_atomic_save_leaves_no_temp_files(tmp_path, monkeypatch):
    target = tmp_path / "pic.png"
    save_image(Image.new("RGB", (4, 4), (1, 2, 3)), target)
    save_image(Image.new("RGB", (4, 4), (4, 5, 6)), target)  # replacing an existing file
    assert [p.name for p in tmp_path.iterdir()] == ["pic.png"]
    assert load_image(target).getpixel((0, 0)) == (4, 5, 6)

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    _expect_error(save_image, Image.new("RGB", (4, 4)), target, fragment="disk full")
    assert [p.name for p in tmp_path.iterdir()] == ["pic.png"]  # temp file removed, old picture intact
    assert load_image(target).getpixel((0, 0)) == (4, 5, 6)


def test_save_names_the_path_when_no_temporary_file_can_be_made(tmp_path, monkeypatch):
    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(atomic, "temp_sibling", refuse)
    target = tmp_path / "pic.png"
    _expect_error(save_image, Image.new("RGB", (2, 2)), target, fragment=f"cannot save '{target}': [Errno 13]")
    assert list(tmp_path.iterdir()) == []


def test_save_into_existing_folder_path(tmp_path):
    (tmp_path / "taken.png").mkdir()
    _expect_error(save_image, Image.new("RGB", (2, 2)), tmp_path / "taken.png", fragment="it is a folder")
    (tmp_path / "file").write_bytes(b"x")
    _expect_error(save_image, Image.new("RGB", (2, 2)), tmp_path / "file" / "a.png", fragment="cannot create folder")


# --- expanding inputs ---------------------------------------------------------------------------------------------


def test_image_extensions_constant():
    assert isinstance(IMAGE_EXTENSIONS, frozenset)
    assert {".png", ".jpg", ".jpeg", ".webp"} <= IMAGE_EXTENSIONS
    assert all(ext.startswith(".") and ext == ext.lower() for ext in IMAGE_EXTENSIONS)


def test_expand_inputs(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.png", "A.JPG", "notes.txt", ".hidden.png", "sub/c.webp"):
        (folder / name).write_bytes(b"x")
    loose = tmp_path / "loose.dat"
    loose.write_bytes(b"x")

    assert expand_inputs([folder]) == [folder / "A.JPG", folder / "b.png"]
    assert expand_inputs([str(folder)], recursive=True) == [folder / "A.JPG", folder / "b.png", folder / "sub/c.webp"]
    # Explicit files are kept as given (any extension) and duplicates are dropped at their first position.
    assert expand_inputs([loose, folder, folder / "b.png"]) == [loose, folder / "A.JPG", folder / "b.png"]


def test_expand_inputs_errors(tmp_path):
    _expect_error(expand_inputs, [tmp_path / "missing"], fragment="no such file or folder")
    (tmp_path / "empty").mkdir()
    _expect_error(expand_inputs, [tmp_path / "empty"], fragment="holds no pictures")
