"""Layered files of a colorize result: the layers an artist edits (lines, shading, flats) and the OpenRaster (.ora)
file that holds them, for Krita, GIMP or MyPaint.

:func:`result_layers` turns a :class:`sketchcolor.pipeline.ColorizeResult` into :class:`OraLayer` s, top first;
:func:`write_ora` writes layers and the flattened picture to a file, atomically (see :mod:`sketchcolor.atomic`).
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import numpy as np
from PIL import Image

from sketchcolor.atomic import atomic_path
from sketchcolor.errors import ImageError

if TYPE_CHECKING:
    from sketchcolor.pipeline import ColorizeResult

__all__ = ["ORA_MIMETYPE", "ORA_THUMBNAIL_MAX", "OraLayer", "result_layers", "shading_layer", "write_ora"]

ORA_MIMETYPE = b"image/openraster"
ORA_THUMBNAIL_MAX = 256


@dataclass(frozen=True)
class OraLayer:
    """One layer of an OpenRaster file. composite_op is an OpenRaster operator such as "svg:multiply"."""

    name: str
    image: Image.Image
    composite_op: str = "svg:src-over"


def shading_layer(image: Image.Image, flat: Image.Image, lines: Image.Image) -> Image.Image:
    """A gray multiply layer such that flats × shading × lines ≈ the colored picture (in luma), PIL "L".

    Where the flats or the lines are near black the ratio is meaningless, so shading stays white (neutral) there.
    """
    image_y = np.asarray(image.convert("L"), dtype=np.float32)
    denominator = np.asarray(flat.convert("L"), dtype=np.float32) * (np.asarray(lines.convert("L"), np.float32) / 255)
    valid = denominator >= 8.0
    ratio = np.ones_like(image_y)
    ratio[valid] = image_y[valid] / denominator[valid]
    return Image.fromarray(np.round(np.clip(ratio, 0, 1) * 255).astype(np.uint8), "L")


def result_layers(result: ColorizeResult) -> list[OraLayer]:
    """A colorize result -> layers, top first: lines (multiply), shading (multiply), flats.

    result: a :class:`sketchcolor.pipeline.ColorizeResult`, or any object with its ``image``, ``flat`` and
    ``lines`` pictures.
    """
    return [
        OraLayer("lines", result.lines.convert("L"), "svg:multiply"),
        OraLayer("shading", shading_layer(result.image, result.flat, result.lines), "svg:multiply"),
        OraLayer("flats", result.flat.convert("RGB")),
    ]


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_ora(path: str | os.PathLike, layers: Sequence[OraLayer], merged: Image.Image) -> Path:
    """Write a layered OpenRaster (.ora) file; ``layers`` are listed top first, as in OpenRaster's stack.

    The file is a zip: ``mimetype`` first and uncompressed (so tools can sniff it), ``stack.xml``, one RGBA PNG per
    layer under ``data/``, ``mergedimage.png`` (the flattened picture, full size) and ``Thumbnails/thumbnail.png``
    (at most 256×256). All layers must have the merged picture's size. Missing parent folders are created; the
    file appears complete or not at all.
    """
    path = Path(path)
    width, height = merged.size
    if not layers:
        raise ImageError("an OpenRaster file needs at least one layer")
    image_el = ElementTree.Element("image", {"version": "0.0.5", "w": str(width), "h": str(height)})
    stack_el = ElementTree.SubElement(image_el, "stack")
    entries: list[tuple[str, bytes]] = []
    for index, layer in enumerate(layers):
        if layer.image.size != (width, height):
            raise ImageError(f"layer {layer.name!r} is {layer.image.size}, the picture is {(width, height)}")
        slug = re.sub(r"[^a-z0-9]+", "-", layer.name.lower()).strip("-") or "layer"
        src = f"data/{index:02d}-{slug}.png"
        ElementTree.SubElement(stack_el, "layer", {
            "name": layer.name, "src": src, "composite-op": layer.composite_op,
            "opacity": "1.0", "visibility": "visible", "x": "0", "y": "0",
        })
        entries.append((src, _png_bytes(layer.image.convert("RGBA"))))
    thumbnail = merged.convert("RGBA")
    thumbnail.thumbnail((ORA_THUMBNAIL_MAX, ORA_THUMBNAIL_MAX))
    entries.append(("mergedimage.png", _png_bytes(merged.convert("RGBA"))))
    entries.append(("Thumbnails/thumbnail.png", _png_bytes(thumbnail)))
    stack_xml = ElementTree.tostring(image_el, encoding="utf-8", xml_declaration=True)

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), ORA_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("stack.xml", stack_xml, compress_type=zipfile.ZIP_DEFLATED)
        for name, data in entries:
            # PNG data is already compressed.
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED)
    return path
