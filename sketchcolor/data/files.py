"""Fast reading and atomic writing of the PNG files that make up a pair dataset (OpenCV, uint8 only).

General-purpose picture loading (any format, EXIF, alpha, size limits) lives in ``sketchcolor.image_io``; this
module only handles the PNGs our own dataset builders write, where speed inside data loaders matters.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from sketchcolor.atomic import write_bytes_atomic
from sketchcolor.errors import DataError


def write_png(path: str | os.PathLike, image_u8: np.ndarray) -> Path:
    """Write a uint8 (H, W) gray or (H, W, 3) RGB array as PNG, atomically (:mod:`sketchcolor.atomic`).

    An interrupted build therefore never leaves a truncated PNG that a rebuild would take as done.
    """
    path = Path(path)
    if image_u8.dtype != np.uint8 or image_u8.ndim not in (2, 3):
        raise DataError(f"write_png expects uint8 (H, W) or (H, W, 3), got {image_u8.dtype} {image_u8.shape}")
    array = image_u8 if image_u8.ndim == 2 else cv2.cvtColor(image_u8, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise DataError(f"could not encode PNG for {path}")
    return write_bytes_atomic(path, encoded.tobytes())


def read_gray_u8(path: str | os.PathLike) -> np.ndarray:
    """Read a picture as uint8 (H, W) gray; DataError if missing or undecodable."""
    image = cv2.imread(os.fspath(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise DataError(f"cannot read picture {path} (missing or not decodable)")
    return image


def read_rgb_u8(path: str | os.PathLike) -> np.ndarray:
    """Read a picture as uint8 (H, W, 3) RGB; DataError if missing or undecodable."""
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read picture {path} (missing or not decodable)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
