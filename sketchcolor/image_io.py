"""Reading and writing pictures: every input becomes an 8-bit RGB ``PIL.Image`` or a one-line ``ImageError``.

``load_image`` accepts a path, encoded bytes, a PIL image or a numpy array and normalizes it: the EXIF orientation is
applied, transparency is composited over white paper, and palette, gray, 1-bit, CMYK, 16-bit, 32-bit integer and
float pictures are mapped to 8-bit RGB. Bad input (missing, empty, truncated, non-image, too large, unsupported)
raises :class:`~sketchcolor.errors.ImageError` whose one-line message names the source and what is wrong.

Bit-depth choices (documented here because they are data-dependent where the format says nothing):

- 16-bit (``I;16*`` modes, uint16 arrays): ``round(v / 257)``, i.e. 0..65535 maps exactly onto 0..255.
  16-bit RGB(A) PNGs are reduced to 8 bits by Pillow's decoder itself.
- 32-bit integer (``I``): the mode does not say the bit depth, so values within 0..255 are kept, values within
  0..65535 are treated as 16-bit, anything else (negative or larger) is stretched from its min..max to 0..255.
- float (``F`` images): values within [0, 1] are scaled by 255; otherwise the finite min..max range is stretched to
  0..255. NaN or infinite pixels raise ``ImageError``. Float *arrays* must lie in [0, 1] (see ``load_image``).

Decompression bombs: the pixel count is checked from the header, before any pixel is decoded, against the per-call
``max_pixels``. Pillow's own process-wide guard (``PIL.Image.MAX_IMAGE_PIXELS``, never changed here) still runs
inside ``Image.open``; its ``DecompressionBombError`` always becomes ``ImageError``, and its
``DecompressionBombWarning`` becomes ``ImageError`` when ``max_pixels`` is ``None`` (no limit of our own); with a
limit set, that limit decides.

``save_image`` writes PNG, JPEG or WebP (chosen by extension) atomically, and ``expand_inputs`` turns the command
line's files and folders into a list of picture paths.
"""

from __future__ import annotations

import io
import logging
import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import numpy as np
from PIL import ExifTags, Image

from sketchcolor.atomic import atomic_path
from sketchcolor.errors import ImageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SAVE_EXTENSIONS",
    "ImageSource",
    "expand_inputs",
    "load_image",
    "save_image",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 40_000_000
"""Default limit on width * height of a picture to load (about 6300 x 6300): what a laptop's memory holds through
the whole pipeline (peak about 3.8 GiB there; the README's benchmark section); pass ``max_pixels`` to change it."""

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".webp", ".bmp", ".gif", ".tif", ".tiff",
        ".ppm", ".pgm", ".pbm", ".pnm", ".tga", ".avif",
    }
)
"""Lower-case extensions (with the dot) that ``expand_inputs`` picks up from folders."""

SAVE_EXTENSIONS: dict[str, str] = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
"""Extension (lower case) -> Pillow format that ``save_image`` writes."""

# Formats we decode. Anything else Pillow can identify is refused by name: exotic plugins add attack surface for no
# use here, and EPS would hand the file to Ghostscript.
_LOAD_FORMATS = frozenset(
    {"AVIF", "BMP", "DIB", "GIF", "ICO", "JPEG", "JPEG2000", "MPO", "PCX", "PNG", "PPM", "QOI", "SGI", "TGA", "TIFF",
     "WEBP"}
)

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]

_ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# warnings.catch_warnings swaps process-wide state; serializing our own header reads keeps two threads (e.g. demo
# requests) from restoring each other's filters. Image.open only parses the header, so the lock is held briefly.
_OPEN_LOCK = threading.Lock()

# Float arrays a hair outside [0, 1] (rounding in color conversions) are clipped rather than refused.
_FLOAT_TOLERANCE = 1e-3


def load_image(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Load a picture from any supported source as a new 8-bit RGB image on white paper.

    Args:
        source: a file path (``str`` or ``os.PathLike``), the encoded file as ``bytes``, a ``PIL.Image.Image``
            (never modified; the result is always a new image) or a numpy array shaped (H, W), (H, W, 1),
            (H, W, 3) or (H, W, 4) of dtype uint8 (0..255), uint16 (0..65535), bool (False = black) or float
            in [0, 1]. Four channels are RGBA. Multi-frame files (GIF, TIFF, APNG) give their first frame.
        max_pixels: refuse pictures whose width * height exceeds this, checked from the header before decoding.
            ``None`` sets no limit of our own; Pillow's process-wide guard then decides (its warning and error
            both become ``ImageError``).

    Returns:
        A ``PIL.Image.Image`` of mode "RGB", upright (EXIF orientation applied), transparency composited over white.

    Raises:
        ImageError: one line naming the source (path, "<bytes>", "<array>" or "<PIL image>") and what is wrong.
    """
    if max_pixels is not None and (isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1):
        raise ImageError(f"max_pixels must be a positive int or None, got {max_pixels!r}")
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, "cannot load <array>", max_pixels)
    if isinstance(source, Image.Image):
        return _decoded_to_rgb(source, "cannot load <PIL image>", max_pixels)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ImageError("cannot load <bytes>: no data (0 bytes)")
        return _load_encoded(io.BytesIO(data), "cannot load <bytes>", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        context = f"cannot load '{path}'"
        _check_readable_file(path, context)
        return _load_encoded(path, context, max_pixels)
    raise ImageError(
        f"cannot load a {type(source).__name__}: expected a file path, bytes, a PIL image or a numpy array"
    )


def save_image(image: Image.Image | np.ndarray, path: str | os.PathLike) -> Path:
    """Write a picture atomically as PNG, JPEG or WebP, chosen by the (case-insensitive) extension of ``path``.

    Args:
        image: a PIL image, or a numpy array in the forms ``load_image`` accepts ((H, W) is saved as gray, four
            channels keep their alpha where the format can).
        path: destination; missing parent folders are created. The file appears complete or not at all: the
            picture goes to a temporary file in the same folder which then replaces ``path``.

    Returns:
        ``Path(path)``.

    Notes:
        JPEG is written as RGB at quality 95 without chroma subsampling (flat colors keep clean edges); alpha is
        composited over white first. WebP is lossy at quality 95. PNG keeps the image's mode when PNG can hold it.

    Raises:
        ImageError: unsupported extension, unusable image, or the file could not be written (message says why).
    """
    path = Path(path)
    fmt = SAVE_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        allowed = ", ".join(sorted(SAVE_EXTENSIONS))
        raise ImageError(f"cannot save '{path}': unsupported extension {path.suffix or '(none)'!r}, expected {allowed}")
    if path.is_dir():
        raise ImageError(f"cannot save '{path}': it is a folder, expected a file path")
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image, f"cannot save <array> to '{path}'", max_pixels=None)
    elif not isinstance(image, Image.Image):
        raise ImageError(f"cannot save a {type(image).__name__} to '{path}': expected a PIL image or a numpy array")
    encodable = _encodable(image, fmt, path)
    options = {"JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"quality": 95}, "PNG": {}}[fmt]

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageError(f"cannot save '{path}': cannot create folder '{path.parent}' ({_one_line(exc)})") from exc
    try:
        # Streamed to the temporary file (no second copy of the encoded picture in memory).
        with atomic_path(path, make_parents=False) as tmp_path, open(tmp_path, "wb") as tmp_file:
            encodable.save(tmp_file, format=fmt, **options)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot save '{path}': {_one_line(exc)}") from exc
    return path


def expand_inputs(paths: Iterable[str | os.PathLike], *, recursive: bool = False) -> list[Path]:
    """Turn command-line inputs into picture paths: folders expand to their pictures, files stay as given.

    Args:
        paths: files and folders. A file is kept whatever its extension (``load_image`` judges its content); a
            folder contributes its files whose extension is in ``IMAGE_EXTENSIONS`` (any case), sorted by path,
            skipping hidden entries (names starting with "."; e.g. macOS "._x.png" resource forks).
        recursive: also descend into sub-folders of the given folders.

    Returns:
        Paths in input order, each at most once (a file named twice, or also found in a named folder, is kept at
        its first position).

    Raises:
        ImageError: a path does not exist, or a folder holds no pictures.
    """
    result: list[Path] = []
    seen: set[Path] = set()

    def add(candidate: Path) -> None:
        key = candidate.resolve()
        if key not in seen:
            seen.add(key)
            result.append(candidate)

    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = _pictures_in(path, recursive)
            if not found:
                allowed = " ".join(sorted(IMAGE_EXTENSIONS))
                where = "or its sub-folders " if recursive else ""
                raise ImageError(f"folder '{path}' {where}holds no pictures (looked for {allowed})")
            for picture in found:
                add(picture)
        elif path.exists():
            add(path)
        else:
            raise ImageError(f"no such file or folder: '{path}'")
    return result


def _pictures_in(folder: Path, recursive: bool) -> list[Path]:
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    pictures = [
        candidate
        for candidate in candidates
        if candidate.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in candidate.relative_to(folder).parts)
        and candidate.is_file()
    ]
    return sorted(pictures)


def _check_readable_file(path: Path, context: str) -> None:
    """Refuse, with a specific message, what cannot be an image file before handing it to Pillow."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{context}: no such file") from None
    except OSError as exc:
        raise ImageError(f"{context}: {_one_line(exc)}") from exc
    if path.is_dir():
        raise ImageError(f"{context}: it is a folder, expected an image file")
    if not path.is_file():
        # FIFOs and devices could block or never end; pictures are regular files.
        raise ImageError(f"{context}: not a regular file")
    if stat.st_size == 0:
        raise ImageError(f"{context}: file is empty (0 bytes)")


def _load_encoded(fp: Path | io.BytesIO, context: str, max_pixels: int | None) -> Image.Image:
    """Open an encoded picture, check format and size from its header, then decode and normalize it."""
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            # With a limit of our own, the check below decides; without one, Pillow's warning is the only guard.
            action = "ignore" if max_pixels is not None else "error"
            warnings.simplefilter(action, Image.DecompressionBombWarning)
            opened = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{context}: too many pixels, Pillow's decompression-bomb guard refused it "
                         f"({_one_line(exc)})") from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageError(f"{context}: not an image file (unknown format or damaged header)") from exc
    except Exception as exc:  # noqa: BLE001 - malformed headers raise many types (SyntaxError, struct.error, ...)
        raise ImageError(f"{context}: unreadable image header ({_describe(exc)})") from exc
    with opened as img:
        if img.format not in _LOAD_FORMATS:
            raise ImageError(f"{context}: unsupported format {img.format}, "
                             f"expected one of {', '.join(sorted(_LOAD_FORMATS))}")
        return _decoded_to_rgb(img, context, max_pixels)


def _check_size(width: int, height: int, context: str, max_pixels: int | None) -> None:
    if width <= 0 or height <= 0:
        raise ImageError(f"{context}: zero-size image ({width}x{height})")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"{context}: too many pixels ({width}x{height} = {width * height:,}, limit {max_pixels:,}); "
            "pass a larger max_pixels if the picture is trusted"
        )


def _decoded_to_rgb(img: Image.Image, context: str, max_pixels: int | None) -> Image.Image:
    """Decode ``img`` fully (never modifying its pixels) and return a new upright RGB image over white."""
    _check_size(img.width, img.height, context, max_pixels)
    try:
        # A full decode inside the try: Pillow reads lazily, and a truncated file only fails here.
        img.load()
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{context}: too many pixels ({_one_line(exc)})") from exc
    except Exception as exc:  # noqa: BLE001 - decoders raise OSError, SyntaxError, EOFError, zlib.error, ...
        raise ImageError(f"{context}: truncated or corrupt image data ({_describe(exc)})") from exc
    orientation = _orientation(img, context)
    rgb = _pil_to_rgb(img, context)
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is not None:
        rgb = rgb.transpose(method)
    # Pillow copies metadata along; an EXIF orientation (already applied) or a CMYK/16-bit ICC profile would now
    # lie about these pixels, so the result carries none.
    rgb.info = {}
    return rgb


def _orientation(img: Image.Image, context: str) -> int:
    """EXIF orientation 1..8 (1 = upright). A damaged EXIF block only loses the rotation, not the picture."""
    try:
        value = img.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception as exc:  # noqa: BLE001 - EXIF parsing of foreign files fails in many ways
        logger.warning("%s: ignoring unreadable EXIF data (%s)", context, _describe(exc))
        return 1
    return value if isinstance(value, int) else 1


def _pil_to_rgb(img: Image.Image, context: str) -> Image.Image:
    """Map any decoded mode to a new RGB image; transparency is composited over white."""
    mode = img.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        gray_u8 = _high_depth_to_u8(np.asarray(img), mode, context)
        return Image.fromarray(gray_u8).convert("RGB")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    try:
        if has_alpha:
            return Image.fromarray(_composite_on_white(np.asarray(img.convert("RGBA"))))
        return img.convert("RGB")
    except ValueError as exc:
        raise ImageError(f"{context}: unsupported image mode {mode} ({_one_line(exc)})") from exc


def _high_depth_to_u8(values: np.ndarray, mode: str, context: str) -> np.ndarray:
    """Scale a 16-bit, 32-bit integer or float gray plane (H, W) to uint8 (H, W); see the module docstring."""
    if mode.startswith("I;16"):
        return _u16_to_u8(values)
    if mode == "F":
        if not np.isfinite(values).all():
            raise ImageError(f"{context}: float image holds NaN or infinite pixels")
        low, high = float(values.min()), float(values.max())
        if low >= 0.0 and high <= 1.0:
            return np.rint(values * 255.0).astype(np.uint8)
        return _stretch_to_u8(values, low, high)
    low, high = int(values.min()), int(values.max())
    if low >= 0 and high <= 255:
        return values.astype(np.uint8)
    if low >= 0 and high <= 65535:
        return _u16_to_u8(values)
    return _stretch_to_u8(values, low, high)


def _u16_to_u8(values: np.ndarray) -> np.ndarray:
    # (v * 255 + 32767) // 65535 == round(v / 257): exact for 257 * k and maps 65535 onto 255.
    return ((values.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _stretch_to_u8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high == low:
        return np.full(values.shape, 255 if high > 0 else 0, dtype=np.uint8)
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.rint(scaled).astype(np.uint8)


def _composite_on_white(rgba_u8: np.ndarray) -> np.ndarray:
    """(H, W, 4) uint8 RGBA -> (H, W, 3) uint8 RGB over white: rgb * a + 255 * (1 - a), rounded."""
    rgb = rgba_u8[..., :3]
    alpha = rgba_u8[..., 3:4]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgb)
    # uint16 suffices: rgb * a + 255 * (255 - a) <= 255 * 255, plus the rounding half.
    alpha16 = alpha.astype(np.uint16)
    mixed = (rgb.astype(np.uint16) * alpha16 + 255 * (255 - alpha16) + 127) // 255
    return mixed.astype(np.uint8)


def _array_to_rgb(array: np.ndarray, context: str, max_pixels: int | None) -> Image.Image:
    return _pil_to_rgb(_array_to_pil(array, context, max_pixels), context)


def _array_to_pil(array: np.ndarray, context: str, max_pixels: int | None) -> Image.Image:
    """Validate a numpy picture and wrap it as an 8-bit PIL image: (H, W) -> "L", 3 channels "RGB", 4 "RGBA"."""
    shape = array.shape
    channels = 1 if array.ndim == 2 else (shape[2] if array.ndim == 3 else None)
    if channels not in (1, 3, 4):
        hint = ""
        if array.ndim == 3 and shape[0] in (1, 3, 4):
            hint = " (channels must come last, e.g. array.transpose(1, 2, 0))"
        raise ImageError(
            f"{context}: expected shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {shape}{hint}"
        )
    _check_size(shape[1], shape[0], context, max_pixels)
    u8 = _array_values_to_u8(array, context)
    if array.ndim == 3 and channels == 1:
        u8 = u8[..., 0]
    # Pillow infers the mode from a uint8 array's shape: (H, W) "L", (H, W, 3) "RGB", (H, W, 4) "RGBA".
    return Image.fromarray(np.ascontiguousarray(u8))


def _array_values_to_u8(array: np.ndarray, context: str) -> np.ndarray:
    """Map uint8 / uint16 / bool / float [0, 1] values to uint8 of the same shape."""
    dtype = array.dtype
    if dtype == np.uint8:
        return array
    if dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if dtype == np.uint16:
        return _u16_to_u8(array)
    if np.issubdtype(dtype, np.floating):
        if not np.isfinite(array).all():
            raise ImageError(f"{context}: float array holds NaN or infinite values")
        low, high = float(array.min()), float(array.max())
        if low < -_FLOAT_TOLERANCE or high > 1.0 + _FLOAT_TOLERANCE:
            raise ImageError(
                f"{context}: float values must lie in [0, 1], got [{low:g}, {high:g}]"
                + (" (divide 0..255 data by 255)" if high <= 255.0 and low >= 0.0 else "")
            )
        return np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ImageError(f"{context}: unsupported dtype {dtype}, expected uint8, uint16, bool or float in [0, 1]")


def _encodable(image: Image.Image, fmt: str, path: Path) -> Image.Image:
    """Return ``image`` in a mode ``fmt`` can store (a new image when converted; the caller's is never modified)."""
    mode = image.mode
    if fmt == "PNG" and mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        return image
    if fmt == "WEBP" and mode in ("RGB", "RGBA"):
        return image
    context = f"cannot save '{path}'"
    if fmt != "JPEG" and (mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info):
        try:
            return image.convert("RGBA")
        except ValueError as exc:
            raise ImageError(f"{context}: unsupported image mode {mode}") from exc
    return _pil_to_rgb(image, context)


def _describe(exc: BaseException) -> str:
    text = _one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
