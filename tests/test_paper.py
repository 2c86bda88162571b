"""Paper removal (sketchcolor.paper): tinted, unevenly lit and grainy paper becomes white, lines stay lines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from sketchcolor.errors import ImageError
from sketchcolor.paper import clean_page
from sketchcolor.regions import LINE_THRESHOLD


def _drawing(size: int = 256) -> np.ndarray:
    """Black-on-white line art: a box and a circle, lines 2 px."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle([40, 40, 120, 120], outline=0, width=2)
    draw.ellipse([140, 100, 220, 180], outline=0, width=2)
    return np.array(image)


def _on_paper(line_u8: np.ndarray, paper=(200, 190, 160), ink: float = 0.45, seed: int = 0) -> np.ndarray:
    """The drawing in pencil (lines at ``ink`` of the paper's light) on tinted paper, lit unevenly, with grain."""
    rng = np.random.default_rng(seed)
    size = line_u8.shape[0]
    yy, xx = np.mgrid[0:size, 0:size] / size
    light = 1.0 - 0.25 * ((yy - 0.2) ** 2 + (xx - 0.3) ** 2)  # darker towards one corner
    darkness = 1 - line_u8 / 255.0
    value = light * (1 - (1 - ink) * darkness) * (1 + rng.normal(0, 0.02, line_u8.shape))
    return np.clip(np.asarray(paper, float)[None, None, :] * value[:, :, None], 0, 255).astype(np.uint8)


def test_tinted_uneven_grainy_paper_becomes_white_and_pencil_lines_stay_lines():
    lines = _drawing()
    page = clean_page(_on_paper(lines))
    assert page.found and page.gray.dtype == np.uint8 and page.gray.shape == lines.shape
    is_line = lines <= LINE_THRESHOLD
    paper = ndimage.distance_transform_edt(~is_line) > 3
    assert (page.gray[paper] == 255).mean() > 0.97  # paper, grain and falloff included, is white
    assert page.gray[paper].min() > 200  # and none of it is anywhere near a line
    assert (page.gray[is_line] <= LINE_THRESHOLD).mean() > 0.9  # faint pencil meets the line threshold
    assert (page.lines[paper] == 255).mean() > 0.97 and page.lines[is_line].mean() > 60  # the artist's gray lines
    # Without the cleaning, the tinted paper itself would read as lines.
    raw = np.asarray(Image.fromarray(_on_paper(lines)).convert("L"))
    assert (raw <= LINE_THRESHOLD).mean() < 0.01 or (raw[paper] <= 230).mean() > 0.5


def test_white_paper_and_a_pen_drawing_are_left_alone():
    lines = _drawing()
    page = clean_page(lines)
    assert page.found and page.stretch == 1.0
    assert np.array_equal(page.gray <= LINE_THRESHOLD, lines <= LINE_THRESHOLD)


def test_a_colored_construction_line_is_a_line():
    rgb = np.repeat(_drawing()[:, :, None], 3, axis=2)
    rgb[200:203, 20:230] = (120, 150, 255)  # light blue pencil: its luminance is above the line threshold
    page = clean_page(rgb)
    assert (page.gray[200:203, 30:220] <= LINE_THRESHOLD).all()
    assert page.lines[201, 100] > LINE_THRESHOLD  # the line layer keeps its light luminance


def test_a_photo_keeps_its_gray():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:200, 0:300]
    photo = (128 + 80 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + rng.normal(0, 6, (200, 300))).clip(0, 255)
    photo = photo.astype(np.uint8)
    page = clean_page(photo)
    assert not page.found and np.array_equal(page.gray, photo)


@pytest.mark.parametrize("picture", [
    np.zeros((50, 60), np.uint8),  # all black
    np.full((50, 60), 255, np.uint8),  # all white
    np.full((3, 20000), 255, np.uint8),  # a strip
    np.full((20000, 3, 3), 200, np.uint8),  # a tall strip of gray paper
    np.full((1, 1), 7, np.uint8),
])
def test_degenerate_pages_give_a_page(picture):
    page = clean_page(picture)
    assert page.gray.shape == picture.shape[:2] and page.lines.shape == picture.shape[:2]
    assert page.gray.dtype == np.uint8


def test_a_one_pixel_line_survives():
    lines = np.full((300, 400), 255, np.uint8)
    lines[150, 20:380] = 0
    page = clean_page(lines)
    assert (page.gray[150, 20:380] <= LINE_THRESHOLD).all() and (page.gray[100] == 255).all()


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4), np.float32), "must be uint8"),
    (np.zeros((4, 4, 2), np.uint8), r"must be \(H, W\) or \(H, W, 3\)"),
    (np.zeros((0, 4), np.uint8), r"must be \(H, W\) or \(H, W, 3\)"),
])
def test_bad_arrays_are_refused(bad, message):
    with pytest.raises(ImageError, match=message):
        clean_page(bad)
