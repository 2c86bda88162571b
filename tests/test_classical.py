"""Tests for sketchcolor.classical: region fill and Levin et al. 2004 on drawn pictures."""

from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image, ImageDraw
from skimage.color import rgb2lab

from sketchcolor import classical
from sketchcolor.errors import HintError


@dataclass(frozen=True)
class _Hint:
    """Stand-in with the fields of sketchcolor.hints.Hint (the baselines only read them)."""

    x: float
    y: float
    color: tuple[int, int, int]
    radius: float = 0.0


FILLS = {"page": (255, 255, 255), "left": (220, 40, 40), "right": (40, 90, 200), "inner": (250, 210, 60)}


def _flat_cartoon(size: int = 64) -> tuple[np.ndarray, np.ndarray, dict[str, tuple[int, int]]]:
    """Binary line art, its flat-colored target (black lines) and one point inside each region."""
    line = Image.new("L", (size, size), 255)
    target = Image.new("RGB", (size, size), FILLS["page"])
    for picture, outline, fills in ((line, 0, None), (target, (0, 0, 0), FILLS)):
        draw = ImageDraw.Draw(picture)
        draw.rectangle([4, 4, 30, 40], outline=outline, width=2, fill=fills and fills["left"])
        draw.ellipse([34, 8, 60, 56], outline=outline, width=2, fill=fills and fills["right"])
        draw.rectangle([10, 12, 20, 24], outline=outline, width=2, fill=fills and fills["inner"])
    points = {"page": (1, 62), "left": (25, 35), "right": (47, 30), "inner": (15, 18)}
    return np.array(line), np.array(target), points


def test_regionfill_one_hint_per_region_reproduces_flat_target():
    line, target, points = _flat_cartoon()
    hints = [_Hint(x, y, FILLS[name]) for name, (x, y) in points.items()]
    assert np.array_equal(classical.regionfill_colorize(line, hints), target)


def test_regionfill_unhinted_regions_stay_white_and_lines_stay_black():
    line, target, points = _flat_cartoon()
    x, y = points["inner"]
    out = classical.regionfill_colorize(Image.fromarray(line), [_Hint(x, y, FILLS["inner"])])
    assert tuple(out[18, 15]) == FILLS["inner"]
    assert tuple(out[35, 25]) == (255, 255, 255)  # the left box got no hint
    assert np.all(out[line == 0] == 0)
    assert np.array_equal(classical.regionfill_colorize(line, []), np.repeat(line[:, :, None], 3, axis=2))


def test_regionfill_nearest_hint_wins_inside_one_region():
    line = np.full((10, 30), 255, np.uint8)
    out = classical.regionfill_colorize(line, [_Hint(0, 5, (255, 0, 0)), _Hint(29, 5, (0, 0, 255))])
    assert tuple(out[5, 3]) == (255, 0, 0) and tuple(out[5, 26]) == (0, 0, 255)


def _smooth_target(size: int = 32) -> np.ndarray:
    """A smooth, colorful picture with two flat halves of different lightness."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    rgb = np.stack([120 + 100 * xx, 80 + 60 * yy, 200 - 120 * xx], axis=2)
    rgb[:, size // 2:] *= 0.6
    return rgb.astype(np.uint8)


def test_levin_with_hints_everywhere_reproduces_target():
    target = _smooth_target()
    ab = rgb2lab(target).transpose(2, 0, 1)[1:]
    out = classical.levin_colorize(target, (ab, np.ones(target.shape[:2], bool)))
    assert np.abs(out.astype(int) - target).max() <= 1


def test_levin_without_hints_returns_the_gray():
    gray = _smooth_target()[:, :, 1]
    out = classical.levin_colorize(gray, [])
    assert np.array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))
    out_planes = classical.levin_colorize(gray, (np.zeros((2, 32, 32)), np.zeros((32, 32), bool)))
    assert np.array_equal(out_planes, out)
    rgb_out = classical.levin_colorize(_smooth_target(), [])
    assert np.abs(rgb_out.astype(int).max(axis=2) - rgb_out.min(axis=2)).max() <= 1  # neutral


def test_levin_keeps_l_and_propagates_within_flat_areas():
    # Two flat gray halves, one hint in each: each half takes its own hint's color, not the other's.
    gray = np.full((24, 48), 180, np.uint8)
    gray[:, 24:] = 90
    hints = [_Hint(5, 12, (230, 60, 60)), _Hint(40, 12, (60, 60, 230))]
    out = classical.levin_colorize(gray, hints)
    lab = rgb2lab(out)
    assert np.abs(lab[..., 0] - rgb2lab(np.repeat(gray[:, :, None], 3, axis=2))[..., 0]).max() < 2.0
    left_ab, right_ab = lab[12, 18, 1:], lab[12, 30, 1:]
    assert left_ab[0] > 20  # reddish: a > 0
    assert right_ab[1] < -20  # bluish: b < 0


def test_levin_large_picture_is_solved_smaller_and_keeps_full_l():
    gray = np.full((60, 90), 150, np.uint8)
    out = classical.levin_colorize(gray, [_Hint(45, 30, (200, 120, 40))], max_side=32)
    assert out.shape == (60, 90, 3)
    lab = rgb2lab(out)
    assert np.allclose(lab[..., 1:].mean(axis=(0, 1)), rgb2lab(np.array([[[200, 120, 40]]], np.uint8))[0, 0, 1:],
                       atol=3.0)
    planes = (np.zeros((2, 60, 90)), np.zeros((60, 90), bool))
    planes[0][:, 28:33, 43:48] = np.array([30.0, 40.0])[:, None, None]
    planes[1][28:33, 43:48] = True
    lab_planes = rgb2lab(classical.levin_colorize(gray, planes, max_side=32))
    assert np.allclose(lab_planes[..., 1:].mean(axis=(0, 1)), (30.0, 40.0), atol=3.0)


def test_levin_bad_planes_and_bad_hints():
    gray = np.zeros((8, 8), np.uint8)
    with pytest.raises(HintError, match="hint planes"):
        classical.levin_colorize(gray, (np.zeros((2, 4, 4)), np.zeros((4, 4), bool)))
    with pytest.raises(HintError, match="non-finite"):
        classical.levin_colorize(gray, [_Hint(float("nan"), 1, (0, 0, 0))])


def test_hint_index_plane_radius_and_clipping():
    plane = classical.hint_index_plane([_Hint(100, -5, (0, 0, 0)), _Hint(4, 4, (1, 1, 1), radius=1.0)], 10, 10)
    assert plane[0, 9] == 0
    assert {(r, c) for r, c in zip(*np.nonzero(plane == 1))} == {(4, 4), (3, 4), (5, 4), (4, 3), (4, 5)}


def test_hint_index_plane_matches_rasterize_hints():
    hints_module = pytest.importorskip("sketchcolor.hints")
    hints = [hints_module.Hint(x=3.6, y=7.2, color=(200, 10, 10)), hints_module.Hint(x=20, y=5, color="#00ff00",
                                                                                      radius=2.5)]
    for size in ((32, 24), (16, 12)):
        _, mask = hints_module.rasterize_hints(hints, (32, 24), size)
        plane = classical.hint_index_plane(hints, size[1], size[0], scale=size[0] / 32)
        assert np.array_equal(plane >= 0, mask.numpy()[0] > 0)
