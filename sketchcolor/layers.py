"""Layered files of a colorize result, for an artist to keep working on: OpenRaster (``.ora``: Krita, GIMP, MyPaint)
and Photoshop (``.psd``: Photoshop, Krita, GIMP, Clip Studio, Affinity), written from the API
(:meth:`sketchcolor.pipeline.ColorizeResult.save_layers`), the CLI (``--layers ora|psd``) and the page alike.

The layers, top first (:func:`result_layers`):

==================  =========  ========  ====================================================================
name                blend      shown     what
==================  =========  ========  ====================================================================
hints               normal     hidden    the hint points, each a disc of its color
closed gaps         normal     hidden    where the segmentation closed a gap: region borders no line draws
lines               multiply   shown     the artist's lines, paper transparent
shading             multiply   hidden    the lightness relative to the flats' (the estimated shading), lines' halo
                                         removed
colors              normal     shown     the colored picture without its lines
flats               normal     hidden    one color per region, no lines, paper transparent
flats by color      (group)    hidden    with ``by_color``: one layer per distinct flat color, named by its hex
paper               normal     shown     white
==================  =========  ========  ====================================================================

The shown layers composite to the colored picture (colors × lines over paper, to rounding); each file also stores
that picture itself as its flattened image. Layers are full resolution and 8-bit; layers that cover little of the
picture (hints, closed gaps, one flat color) are stored cropped to what they cover, at their offset.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union
from xml.etree import ElementTree

import numpy as np
from PIL import Image, ImageDraw

from sketchcolor.atomic import atomic_path
from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.hints import color_hex
from sketchcolor.regions import LINE_THRESHOLD, nearest_region_index

if TYPE_CHECKING:
    from sketchcolor.pipeline import ColorizeResult

__all__ = [
    "BLENDS",
    "FORMATS",
    "MAX_COLOR_LAYERS",
    "Layer",
    "LayerGroup",
    "closed_gaps_mask",
    "result_layers",
    "save_layers",
    "write_ora",
    "write_psd",
]

# Layered formats by file suffix.
FORMATS = (".ora", ".psd")
# Blend modes the layers use, with their OpenRaster operators.
BLENDS = {"normal": "svg:src-over", "multiply": "svg:multiply"}
# "flats by color" is for pictures of a few colors (a palette); thousands of layers help no one and cost a lot.
MAX_COLOR_LAYERS = 512
ORA_MIMETYPE = b"image/openraster"
ORA_THUMBNAIL_MAX = 256
# Signal colors of the diagnostic layers: closed gaps in magenta, hint discs ringed in dark gray.
_GAP_RGB = (255, 0, 255)
_RING_RGB = (40, 40, 40)


@dataclass(frozen=True)
class Layer:
    """One pixel layer: ``image`` (PIL RGBA) placed with its top-left corner at (``left``, ``top``) of the picture."""

    name: str
    image: Image.Image
    blend: str = "normal"
    visible: bool = True
    left: int = 0
    top: int = 0

    def __post_init__(self) -> None:
        if self.blend not in BLENDS:
            raise ConfigError(f"layer {self.name!r}: unknown blend {self.blend!r}; allowed: {', '.join(BLENDS)}")


@dataclass(frozen=True)
class LayerGroup:
    """A group of layers (``layers`` top first), shown or hidden as one."""

    name: str
    layers: tuple[Layer, ...]
    visible: bool = True


Entry = Union[Layer, LayerGroup]


# ------------------------------------------------------------------------------------------------- the layers


def _rgba(rgb_u8: np.ndarray, alpha: np.ndarray | None = None) -> Image.Image:
    """(H, W, 3) uint8 [+ (H, W) bool or uint8 alpha; None = opaque] -> PIL RGBA."""
    height, width = rgb_u8.shape[:2]
    out = np.empty((height, width, 4), np.uint8)
    out[..., :3] = rgb_u8
    out[..., 3] = 255 if alpha is None else (alpha.astype(np.uint8) * 255 if alpha.dtype == bool else alpha)
    return Image.fromarray(out, "RGBA")


def _cropped(name: str, rgb_u8: np.ndarray, mask: np.ndarray, **kwargs) -> Layer:
    """A layer holding ``rgb_u8`` where ``mask`` is True, cropped to the mask's bounding box (1 px when empty)."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return Layer(name, Image.new("RGBA", (1, 1), (0, 0, 0, 0)), **kwargs)
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return Layer(name, _rgba(rgb_u8[box], mask[box]), left=int(cols[0]), top=int(rows[0]), **kwargs)


def closed_gaps_mask(labels: np.ndarray) -> np.ndarray:
    """bool (H, W): pixels on a border between two regions (labels > 0) that no line separates, i.e. where the
    segmentation closed a gap in the lines or cut an open shape from the page."""
    above, below, left, right = labels[:-1], labels[1:], labels[:, :-1], labels[:, 1:]
    vertical = (above != below) & (above > 0) & (below > 0)
    horizontal = (left != right) & (left > 0) & (right > 0)
    out = np.zeros(labels.shape, bool)
    out[:-1] |= vertical
    out[1:] |= vertical
    out[:, :-1] |= horizontal
    out[:, 1:] |= horizontal
    return out


def _shading_layer(result: ColorizeResult) -> Layer:
    """The result's shading as a multiply layer. The estimate is a blurred copy of the lines near them, which would
    darken every line twice: within a band of about 1.2% of the long side around the lines, each pixel takes the
    shading of the nearest pixel outside the band."""
    from scipy import ndimage

    shading_u8 = np.asarray(result.shading.convert("L"))
    lines = np.asarray(result.lines.convert("L")) < LINE_THRESHOLD
    if lines.any() and not lines.all():
        band = ndimage.distance_transform_edt(~lines) <= max(2.0, 0.012 * max(lines.shape))
        nearest = nearest_region_index((~band).astype(np.int32))  # None when the band covers all
        if nearest is not None:
            shading_u8 = shading_u8.ravel()[nearest]
    return Layer("shading", _rgba(np.repeat(shading_u8[..., None], 3, axis=2)), blend="multiply", visible=False)


def _hints_layer(result: ColorizeResult, width: int, height: int) -> Layer:
    """The hints as discs of their colors with a dark ring, at least 0.6% of the long side across."""
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    smallest = max(2.0, 0.006 * max(width, height))
    for hint in result.hints:
        r = max(float(hint.radius), smallest)
        ring = max(1, round(r / 4))
        draw.ellipse([hint.x - r, hint.y - r, hint.x + r, hint.y + r], fill=(*hint.color, 255),
                     outline=(*_RING_RGB, 255), width=ring)
    rgba = np.asarray(canvas)
    return _cropped("hints", rgba[..., :3], rgba[..., 3] > 0, visible=False)  # drawn without antialiasing: 0 or 255


def _by_color(flat_u8: np.ndarray, paper: np.ndarray) -> LayerGroup:
    """One cropped layer per distinct color of the flats (paper left out), largest first."""
    from scipy import ndimage

    key = (flat_u8[..., 0].astype(np.int32) << 16) | (flat_u8[..., 1].astype(np.int32) << 8) | flat_u8[..., 2]
    key[paper] = -1
    values, index = np.unique(key, return_inverse=True)
    index = index.reshape(key.shape) + 1  # 1..K, one per color; the paper's is dropped below
    colors = [(k, int(v)) for k, v in enumerate(values, start=1) if v >= 0]
    if len(colors) > MAX_COLOR_LAYERS:
        raise ConfigError(f"the flats hold {len(colors)} distinct colors; 'flats by color' writes at most "
                          f"{MAX_COLOR_LAYERS} layers (use cleanup or fewer hints, or leave by_color off)")
    boxes = ndimage.find_objects(index)
    areas = np.bincount(index.ravel(), minlength=len(values) + 1)
    layers = []
    for k, value in sorted(colors, key=lambda kv: -areas[kv[0]]):
        box = boxes[k - 1]
        rgb = np.array([(value >> 16) & 255, (value >> 8) & 255, value & 255], np.uint8)
        mask = index[box] == k
        crop = np.broadcast_to(rgb, (*mask.shape, 3))
        layers.append(Layer(color_hex(tuple(int(c) for c in rgb)), _rgba(np.ascontiguousarray(crop), mask),
                            left=box[1].start, top=box[0].start))
    return LayerGroup("flats by color", tuple(layers), visible=False)


def result_layers(result: ColorizeResult, *, by_color: bool = False) -> Iterator[Entry]:
    """The layers of a colorize result, **bottom first** (the order both formats build in), one at a time so that
    a writer holds one full-size layer at once. The table in this module's docstring lists them top first."""
    width, height = result.image.size
    flat_u8 = np.asarray(result.flat.convert("RGB"))
    paper = result.page if result.page is not None else np.zeros((height, width), bool)
    yield Layer("paper", Image.new("RGBA", (width, height), (255, 255, 255, 255)))
    if by_color:
        yield _by_color(flat_u8, paper)
    yield Layer("flats", _rgba(flat_u8, ~paper), visible=False)
    del flat_u8
    colors = result.colors if result.colors is not None else result.image
    yield Layer("colors", colors.convert("RGBA"))
    if result.shading is not None:
        yield _shading_layer(result)
    lines_u8 = np.asarray(result.lines.convert("L"))
    yield Layer("lines", _rgba(np.repeat(lines_u8[..., None], 3, axis=2), lines_u8 < 255), blend="multiply")
    del lines_u8
    gaps = closed_gaps_mask(result.labels) if result.labels is not None else np.zeros((height, width), bool)
    yield _cropped("closed gaps", np.broadcast_to(np.array(_GAP_RGB, np.uint8), (height, width, 3)), gaps,
                   visible=False)
    del gaps
    yield _hints_layer(result, width, height)


# ------------------------------------------------------------------------------------------------- the files


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _check_layer(layer: Layer, width: int, height: int) -> None:
    w, h = layer.image.size
    if layer.left < 0 or layer.top < 0 or layer.left + w > width or layer.top + h > height:
        raise ImageError(f"layer {layer.name!r} ({w}x{h} at {layer.left},{layer.top}) leaves the {width}x{height} "
                         "picture")


def write_ora(path: str | os.PathLike, layers: Iterable[Entry], merged: Image.Image) -> Path:
    """Write an OpenRaster file: ``layers`` bottom first (as :func:`result_layers` yields them), ``merged`` the
    flattened picture.

    The file is a zip: ``mimetype`` first and uncompressed (so tools can sniff it), ``stack.xml`` (OpenRaster 0.0.5;
    a group is a nested ``stack``), one RGBA PNG per layer under ``data/``, ``mergedimage.png`` (full size) and
    ``Thumbnails/thumbnail.png`` (at most 256×256). Missing parent folders are created; the file appears complete
    or not at all.
    """
    path = Path(path)
    width, height = merged.size
    elements: list[ElementTree.Element] = []
    count = 0

    def layer_element(archive: zipfile.ZipFile, layer: Layer) -> ElementTree.Element:
        nonlocal count
        _check_layer(layer, width, height)
        slug = re.sub(r"[^a-z0-9]+", "-", layer.name.lower()).strip("-") or "layer"
        src = f"data/{count:03d}-{slug}.png"
        count += 1
        # PNG data is already compressed.
        archive.writestr(src, _png_bytes(layer.image.convert("RGBA")), compress_type=zipfile.ZIP_STORED)
        return ElementTree.Element("layer", {
            "name": layer.name, "src": src, "composite-op": BLENDS[layer.blend], "opacity": "1.0",
            "visibility": "visible" if layer.visible else "hidden", "x": str(layer.left), "y": str(layer.top),
        })

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ORA_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for entry in layers:
            if isinstance(entry, LayerGroup):
                group = ElementTree.Element("stack", {"name": entry.name, "opacity": "1.0",
                                                      "visibility": "visible" if entry.visible else "hidden"})
                group.extend(layer_element(archive, layer) for layer in entry.layers)
                elements.append(group)
            else:
                elements.append(layer_element(archive, entry))
        if not elements:
            raise ImageError("a layered file needs at least one layer")
        image_el = ElementTree.Element("image", {"version": "0.0.5", "w": str(width), "h": str(height)})
        stack_el = ElementTree.SubElement(image_el, "stack")
        stack_el.extend(reversed(elements))  # OpenRaster lists the top layer first
        archive.writestr("stack.xml", ElementTree.tostring(image_el, encoding="utf-8", xml_declaration=True),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("mergedimage.png", _png_bytes(merged.convert("RGBA")), compress_type=zipfile.ZIP_STORED)
        thumbnail = merged.convert("RGB")
        thumbnail.thumbnail((ORA_THUMBNAIL_MAX, ORA_THUMBNAIL_MAX))
        archive.writestr("Thumbnails/thumbnail.png", _png_bytes(thumbnail), compress_type=zipfile.ZIP_STORED)
    return path


def write_psd(path: str | os.PathLike, layers: Iterable[Entry], merged: Image.Image) -> Path:
    """Write a Photoshop file with psd-tools: ``layers`` bottom first, each a pixel layer with its name, blend mode,
    visibility and offset (a :class:`LayerGroup` becomes a group); ``merged`` is stored as the flattened image.
    8-bit RGB with transparency; missing parent folders are created; the file appears complete or not at all."""
    from psd_tools import PSDImage
    from psd_tools.constants import BlendMode

    blend_modes = {"normal": BlendMode.NORMAL, "multiply": BlendMode.MULTIPLY}
    width, height = merged.size
    # An RGB document with a transparency channel: psd-tools stores a layer's alpha as its transparency there (in
    # a plain RGB document it becomes a layer mask, which select-by-transparency does not see).
    psd = PSDImage.frompil(merged.convert("RGBA"))

    def add(layer: Layer):
        _check_layer(layer, width, height)
        pixel_layer = psd.create_pixel_layer(layer.image.convert("RGBA"), name=layer.name, top=layer.top,
                                             left=layer.left, blend_mode=blend_modes[layer.blend])
        pixel_layer.visible = layer.visible
        return pixel_layer

    empty = True
    for entry in layers:
        empty = False
        if isinstance(entry, LayerGroup):
            members = [add(layer) for layer in reversed(entry.layers)]  # bottom first, like the document
            group = psd.create_group(members, name=entry.name)
            group.visible = entry.visible
        else:
            add(entry)
    if empty:
        raise ImageError("a layered file needs at least one layer")
    # psd-tools re-renders the flattened image from the layers when saving an edited document (gigabytes and
    # seconds at 4096²); the one stored from ``merged`` is the exact picture already.
    if getattr(psd, "_updated", None) is True:
        psd._updated = False
    with atomic_path(path) as tmp:
        psd.save(tmp)
    return path


def save_layers(result: ColorizeResult, path: str | os.PathLike, *, by_color: bool = False) -> Path:
    """Write ``result``'s layers (:func:`result_layers`) to ``path``, OpenRaster or Photoshop by its suffix.

    Raises:
        ImageError: an unknown suffix, or the file could not be written (the message names the path and why).
        ConfigError: ``by_color`` on flats of more than :data:`MAX_COLOR_LAYERS` colors.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ImageError(f"cannot save layers to '{path}': unknown layered format {path.suffix or '(none)'!r}, "
                         f"expected {', '.join(FORMATS)}")
    if path.is_dir():
        raise ImageError(f"cannot save layers to '{path}': it is a folder, expected a file path")
    writer = write_ora if suffix == ".ora" else write_psd
    try:
        return writer(path, result_layers(result, by_color=by_color), result.image)
    except OSError as exc:
        raise ImageError(f"cannot save layers to '{path}': {' '.join(str(exc).split())}") from exc

