"""The evaluation's baselines (EVALUATION.md): methods every run measures next to the model.

- :func:`identity` (both tasks): the input unchanged, as RGB;
- :func:`~sketchcolor.classical.regionfill_colorize` (line art) and :func:`~sketchcolor.classical.levin_colorize`
  (grayscale): the classical methods, which live with the library's other methods in :mod:`sketchcolor.classical`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sketchcolor.classical import levin_colorize, picture_array, regionfill_colorize

__all__ = ["identity", "levin_colorize", "regionfill_colorize"]


def identity(image: Any) -> np.ndarray:
    """The input unchanged, as (H, W, 3) uint8 RGB (a gray picture is repeated on the three channels)."""
    array = picture_array(image)
    return np.repeat(array[:, :, None], 3, axis=2) if array.ndim == 2 else array.copy()
