"""Tests for sketchcolor.baselines: the identity baseline and the classical methods the evaluation takes from
sketchcolor.classical."""

import numpy as np
import pytest
from PIL import Image

from sketchcolor import baselines, classical
from sketchcolor.errors import ImageError


def test_identity_returns_rgb_copy():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = baselines.identity(gray)
    assert out.shape == (3, 4, 3) and np.all(out == gray[:, :, None])
    rgb = np.random.default_rng(0).integers(0, 255, (3, 4, 3), dtype=np.uint8)
    assert np.array_equal(baselines.identity(Image.fromarray(rgb)), rgb)
    with pytest.raises(ImageError, match="uint8"):
        baselines.identity(np.zeros((3, 4), np.float32))


def test_the_classical_baselines_are_the_library_methods():
    assert baselines.regionfill_colorize is classical.regionfill_colorize
    assert baselines.levin_colorize is classical.levin_colorize
