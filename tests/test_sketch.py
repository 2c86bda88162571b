"""Tests for sketchcolor.sketch: synthetic line extractors and line cleanup helpers."""

import cv2
import numpy as np
import pytest

from sketchcolor import sketch
from sketchcolor.errors import ImageError


def flat_picture(size: int = 96) -> np.ndarray:
    """White page with a yellow disc (low gray contrast to white) and a blue square: uint8 (size, size, 3)."""
    rgb = np.full((size, size, 3), 255, np.uint8)
    cv2.circle(rgb, (size // 3, size // 3), size // 5, (250, 225, 40), thickness=-1, lineType=cv2.LINE_AA)
    cv2.rectangle(rgb, (size // 2, size // 2), (size - 12, size - 12), (40, 90, 200), thickness=-1)
    return rgb


def boundary_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels whose color differs from a 4-neighbour (the true region boundaries)."""
    code = rgb.astype(np.int32) @ np.array([65536, 256, 1])
    edge = np.zeros(code.shape, bool)
    edge[:, :-1] |= code[:, :-1] != code[:, 1:]
    edge[:-1] |= code[:-1] != code[1:]
    return edge


@pytest.mark.parametrize("method", sorted(sketch.EXTRACTORS))
def test_extractors_draw_lines_on_boundaries_and_keep_flat_areas_white(method):
    rgb = flat_picture()
    line = sketch.extract_lines(rgb, method)
    assert line.dtype == np.uint8 and line.shape == rgb.shape[:2]
    dark = line <= 128
    near_boundary = cv2.dilate(boundary_mask(rgb).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert dark.sum() > 50, "the yellow disc and the blue square must get outlines"
    # Every line pixel lies within 4 px of a real boundary, and flat areas far from boundaries stay white.
    assert not (dark & ~near_boundary).any()
    # Most of the boundary is covered (both shapes outlined, including the low-contrast yellow one).
    covered = cv2.dilate(dark.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert covered[boundary_mask(rgb)].mean() > 0.8


@pytest.mark.parametrize("method", sorted(sketch.EXTRACTORS))
def test_extractors_are_deterministic_under_a_seed_and_vary_across_seeds(method):
    rgb = flat_picture()
    a = sketch.extract_lines(rgb, method, np.random.default_rng(3))
    b = sketch.extract_lines(rgb, method, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    outputs = {sketch.extract_lines(rgb, method, np.random.default_rng(s)).tobytes() for s in range(8)}
    assert len(outputs) > 1, "thickness/threshold must be randomized by the generator"


def test_random_lines_reports_the_method_it_used():
    rng = np.random.default_rng(0)
    seen = {sketch.random_lines(flat_picture(48), rng)[0] for _ in range(30)}
    assert seen == set(sketch.EXTRACTORS)
    name, line = sketch.random_lines(flat_picture(48), np.random.default_rng(1), ("canny",))
    assert name == "canny" and line.shape == (48, 48)


def test_bad_inputs_raise_specific_errors():
    with pytest.raises(ImageError, match="RGB uint8"):
        sketch.xdog(np.zeros((8, 8), np.uint8))
    with pytest.raises(ImageError, match="RGB uint8"):
        sketch.canny(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="unknown line extractor 'pencil'"):
        sketch.extract_lines(flat_picture(16), "pencil")
    with pytest.raises(ImageError, match=r"uint8 \(H, W\)"):
        sketch.thicken(np.zeros((8, 8, 3), np.uint8))


def test_cleanup_helpers():
    line = np.full((32, 32), 255, np.uint8)
    line[16, 4:28] = 0  # one 1-px line
    line[3, 3] = 100  # a gray speck
    binary = sketch.binarize(line)
    assert set(np.unique(binary)) == {0, 255} and binary[3, 3] == 0
    thick = sketch.thicken(line, 2)
    assert (thick[14:19, 6:26] == 0).all() and (thick[10, 6:26] == 255).all()
    assert (sketch.thin(thick, 2)[16, 6:26] == 0).all()
    assert (sketch.thin(line, 1) == 255).sum() > (line == 255).sum()  # 1-px lines vanish when thinned
    cleaned = sketch.remove_specks(line, min_pixels=4)
    assert cleaned[3, 3] == 255 and (cleaned[16, 4:28] == 0).all()
    np.testing.assert_array_equal(sketch.thicken(line, 0), line)
