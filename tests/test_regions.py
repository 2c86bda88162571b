"""Tests for sketchcolor.regions: labelling, the page, hint propagation and flat cleanup on drawn pictures."""


import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchcolor import regions
from sketchcolor.errors import ImageError


def _two_boxes(size: int = 64) -> np.ndarray:
    """White page with two closed rectangles drawn in black (line width 2)."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle([5, 5, 28, 28], outline=0, width=2)
    draw.rectangle([34, 10, 58, 50], outline=0, width=2)
    return np.array(image)


def test_label_regions_counts_page_and_two_insides():
    line = _two_boxes()
    labels = regions.label_regions(line)
    assert labels.dtype == np.int32
    assert labels.max() == 3  # page + two box interiors
    assert np.all(labels[line <= 128] == 0)
    assert np.all(labels[line > 128] > 0)
    assert labels[15, 15] != labels[30, 30] != labels[30, 45]


def test_label_regions_is_four_connected():
    line = np.full((5, 5), 255, np.uint8)
    # A diagonal line of black pixels: its two sides touch only at corners.
    line[np.arange(5), np.arange(5)] = 0
    labels = regions.label_regions(line)
    assert labels.max() == 2
    assert labels[0, 4] != labels[4, 0]


def test_label_regions_threshold_is_inclusive():
    line = np.array([[128, 129]], np.uint8)
    assert regions.label_regions(line).tolist() == [[0, 1]]


def test_label_regions_rejects_rgb():
    with pytest.raises(ImageError, match=r"\(H, W\)"):
        regions.label_regions(np.zeros((4, 4, 3), np.uint8))


def test_gray_regions_splits_steps_but_keeps_gentle_shading():
    gray = np.full((40, 40), 200, np.float32)
    gray[:, 20:] = 100  # a step: two regions
    gray[:, :20] += np.linspace(0, 20, 40)[:, None]  # gentle vertical shading: still one region
    labels = regions.gray_regions(gray.astype(np.uint8))
    assert labels.max() == 2
    assert labels[0, 0] == labels[39, 0] != labels[0, 39]
    # The step is a boundary on both sides.
    assert np.all(labels[:, 19] == 0) and np.all(labels[:, 20] == 0)


def test_gray_regions_level_step_splits_slow_gradient_and_drops_specks():
    gray = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    labels = regions.gray_regions(gray, level_step=64)
    assert labels.max() == 4
    speckled = np.full((32, 32), 200, np.uint8)
    speckled[10, 10] = 0
    labels = regions.gray_regions(speckled, min_size=16)
    assert labels.max() == 1
    assert labels[10, 10] == 0


def test_background_mask_is_the_white_border_region():
    line = _two_boxes()
    labels = regions.label_regions(line)
    mask = regions.background_mask(labels, line)
    assert mask[0, 0] and mask[63, 63]
    assert not mask[15, 15] and not mask[30, 45]  # white insides, but not connected to the border
    assert not mask[5, 5]  # lines are never background
    color = np.stack([line] * 3, axis=2).copy()
    color[line > 128] = (255, 200, 0)  # a colored page is not the page
    assert not regions.background_mask(labels, color).any()


def test_propagate_values_fills_only_hinted_regions():
    line = _two_boxes()
    labels = regions.label_regions(line)
    hint_ab = np.zeros((2, 64, 64), np.float32)
    hint_mask = np.zeros((64, 64), bool)
    hint_ab[:, 15, 15] = (40.0, -20.0)
    hint_mask[15, 15] = True
    hint_mask[5, 5] = True  # on a line: ignored
    fill_ab, fill_mask = regions.propagate_values(labels, hint_ab, hint_mask)
    assert fill_ab.dtype == np.float32 and fill_mask.dtype == np.float32
    inside = labels == labels[15, 15]
    assert np.all(fill_mask[inside] == 1) and np.all(fill_mask[~inside] == 0)
    assert np.allclose(fill_ab[:, inside], [[40.0], [-20.0]])
    assert np.all(fill_ab[:, ~inside] == 0)


def test_propagate_values_uses_nearest_hint_within_region():
    labels = np.ones((10, 20), np.int32)
    labels[:, 10:] = 2
    hint_ab = np.zeros((2, 10, 20), np.float32)
    hint_mask = np.zeros((10, 20), bool)
    hint_ab[:, 5, 0] = (10, 10)
    hint_ab[:, 5, 9] = (-10, 30)
    hint_mask[5, 0] = hint_mask[5, 9] = True
    fill_ab, fill_mask = regions.propagate_values(labels, hint_ab, hint_mask)
    assert np.allclose(fill_ab[:, 0, 2], (10, 10))
    assert np.allclose(fill_ab[:, 9, 7], (-10, 30))
    # Region 2 is nearer to the hint at column 9 but holds no hint: it stays empty.
    assert np.all(fill_mask[:, 10:] == 0) and np.all(fill_ab[:, :, 10:] == 0)


def test_propagate_values_without_hints_is_empty():
    labels = regions.label_regions(_two_boxes())
    fill_ab, fill_mask = regions.propagate_values(labels, np.ones((2, 64, 64)), np.zeros((64, 64), bool))
    assert not fill_ab.any() and not fill_mask.any()


def test_region_mean_makes_regions_uniform_and_leaves_label_zero():
    labels = np.zeros((6, 6), np.int32)
    labels[:, :3] = 1
    labels[:, 4:] = 2
    ab = np.random.default_rng(0).normal(size=(2, 6, 6)).astype(np.float32)
    out = regions.region_mean(ab, labels)
    assert out.dtype == np.float32 and not np.shares_memory(out, ab)
    assert np.array_equal(out[:, :, 3], ab[:, :, 3])  # label 0 untouched
    for region in (1, 2):
        for channel in (0, 1):
            assert np.allclose(out[channel][labels == region], ab[channel][labels == region].mean(), atol=1e-6)
    assert np.array_equal(regions.region_mean(ab, np.zeros((6, 6), np.int32)), ab)


def test_nearest_region_index_points_line_pixels_at_the_closest_region():
    labels = np.array([
        [1, 1, 0, 0, 0, 2],
        [1, 1, 0, 0, 0, 2],
    ], dtype=np.int32)
    index = regions.nearest_region_index(labels)
    picked = labels.ravel()[index]
    assert picked.shape == labels.shape and (picked > 0).all()
    # Labelled pixels point at themselves; each line pixel at the region on its side.
    assert np.array_equal(index[labels > 0], np.flatnonzero(labels > 0))
    assert picked[0, 2] == 1 and picked[0, 4] == 2
    assert regions.nearest_region_index(np.zeros((3, 3), np.int32)) is None
    assert regions.nearest_region_index(np.ones((3, 3), np.int32)) is None


def _open_box(gap: int, size: int = 80) -> np.ndarray:
    """A closed box whose bottom side has a gap of ``gap`` pixels (line width 2)."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle([20, 20, 60, 60], outline=0, width=2)
    draw.rectangle([40 - gap // 2, 59, 40 - gap // 2 + gap - 1, 60], fill=255)
    return np.array(image)


def test_close_gaps_splits_a_leaking_region_from_the_page():
    line = _open_box(gap=6)
    labels = regions.label_regions(line)
    assert labels[40, 40] == labels[5, 5]  # the box leaks into the page
    closed = regions.close_gaps(labels, radius=4)
    assert closed.dtype == np.int32 and closed[40, 40] != closed[5, 5]
    assert np.array_equal(closed == 0, labels == 0)  # lines stay lines
    page = regions.background_mask(closed, line)
    assert page[5, 5] and not page[40, 40] and not page[35, 25]
    # Split only, never merged: every new region lies inside one old region.
    for value in np.unique(closed[closed > 0]):
        assert np.unique(labels[closed == value]).size == 1
    # A gap wider than twice the radius stays open; radius 0 changes nothing.
    assert regions.close_gaps(regions.label_regions(_open_box(gap=16)), radius=4)[40, 40] == \
        regions.close_gaps(regions.label_regions(_open_box(gap=16)), radius=4)[5, 5]
    assert np.array_equal(regions.close_gaps(labels, 0), labels)


def test_close_gaps_on_a_coarse_grid_splits_like_the_full_one():
    line = np.repeat(np.repeat(_open_box(gap=6), 4, axis=0), 4, axis=1)  # 320², gap 24 px
    labels = regions.label_regions(line)
    full = regions.close_gaps(labels, radius=16)
    coarse = regions.close_gaps(labels, radius=16, max_side=100)
    for out in (full, coarse):
        assert out[160, 160] != out[20, 20] and np.array_equal(out == 0, labels == 0)
    # The split runs through the gap on both grids; pixels away from it agree.
    assert np.mean((full == full[160, 160]) == (coarse == coarse[160, 160])) > 0.99


def _open_u(size: int = 120) -> np.ndarray:
    """A U open at the bottom (line width 3) beside a circle (line width 3): open shape and closed shape."""
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    draw.line([(20, 110), (20, 20), (60, 20), (60, 110)], fill=0, width=3)
    draw.ellipse([72, 30, 112, 70], outline=0, width=3)
    return np.array(image)


def test_segment_line_art_page_is_what_the_border_reaches_through_wide_gaps():
    seg = regions.segment_line_art(_open_u(), gap_radius=3)
    assert seg.labels.dtype == np.int32 and seg.page.dtype == bool
    assert seg.page[5, 5] and seg.page[60, 40]  # the paper, and the inside of the open U: no hull rule
    assert not seg.page[50, 92] and seg.labels[50, 92] > 0  # the closed circle is a shape
    assert not seg.page[20, 40] and seg.labels[20, 40] == 0  # lines are neither
    # A gap narrower than twice the radius is closed: the box is no page, and it is cut from the page only at the gap.
    box = _open_box(gap=6)
    seg = regions.segment_line_art(box, gap_radius=4)
    assert not seg.page[40, 40] and seg.page[5, 5]
    from sketchcolor.layers import closed_gaps_mask

    cut = np.argwhere(closed_gaps_mask(seg.labels))
    assert cut.size and np.all(np.abs(cut[:, 1] - 40) <= 8) and np.all(np.abs(cut[:, 0] - 60) <= 8)
    # With no gap closing the leaking box is page.
    assert regions.segment_line_art(box, gap_radius=0).page[40, 40]


def test_a_shape_the_frame_cuts_is_a_region_and_the_paper_around_it_page():
    # A bust whose outline runs into the bottom edge: what it encloses touches the border only between its ends.
    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.line([(40, 199), (45, 150), (80, 130), (70, 80), (100, 40), (130, 80), (120, 130), (155, 150), (160, 199)],
              fill=0, width=3)
    bust = np.asarray(img)
    seg = regions.segment_line_art(bust, gap_radius=3)
    assert not seg.page[170, 100] and seg.labels[170, 100] > 0 and seg.page[10, 10] and seg.page[190, 5]
    assert regions.segment_line_art(bust, gap_radius=3, frame_share=0.0).page[170, 100]
    # A horizon across the picture: sky and ground each hold far more than a side's worth of the border, both page.
    horizon = np.full((200, 200), 255, np.uint8)
    horizon[120:123] = 0
    seg = regions.segment_line_art(horizon, gap_radius=3)
    assert seg.page[50, 100] and seg.page[180, 100]


def test_frame_page_keeps_the_region_holding_most_of_the_border_when_none_holds_a_share():
    labels = np.zeros((100, 100), np.int32)
    labels[1:-1, 1:-1] = 1  # a frame drawn round the picture ...
    labels[0, 40:50] = labels[1:5, 40:50] = 2  # ... but for a small gap, and a smaller one
    labels[0, 70:73] = 3
    assert regions.frame_page(labels, 0.25).tolist() == [False, False, True, False]
    assert regions.frame_page(labels, 0.0).tolist() == [False, False, True, True]
    assert regions.frame_page(labels, 0.005).tolist() == [False, False, True, True]


def test_segment_line_art_merges_specks_into_the_lines():
    image = np.full((100, 100), 255, np.uint8)
    image[20:80:3, 20:80] = 0  # hatching: rows of 2 px gaps between 1 px lines
    image[20:80, 20:80:3] = 0
    image[[19, 80], 19:81] = 0
    image[19:81, [19, 80]] = 0
    seg = regions.segment_line_art(image, gap_radius=2, speck=9)
    assert (seg.labels[21:79, 21:79] == 0).all()  # 2x2 cells: too small to color on their own
    assert seg.labels[5, 5] > 0 and seg.page[5, 5]
    assert regions.segment_line_art(image, gap_radius=2, speck=1).labels[22, 22] > 0


def test_segment_line_art_handles_blank_and_black_pages():
    white = regions.segment_line_art(np.full((30, 40), 255, np.uint8))
    assert white.page.all() and (white.labels == 1).all()
    black = regions.segment_line_art(np.zeros((30, 40), np.uint8))
    assert not black.page.any() and not black.labels.any()


def test_a_hint_on_the_page_takes_the_open_shape_it_is_in_not_the_paper():
    image = Image.new("L", (160, 160), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([30, 30, 130, 130], outline=0, width=3)
    draw.rectangle([72, 120, 88, 135], fill=255)  # a 16 px mouth at the bottom: wider than twice the radius
    line = np.array(image)
    seg = regions.segment_line_art(line, gap_radius=3)
    assert seg.page[80, 80]  # the open circle is page
    seeds = np.zeros(line.shape, bool)
    seeds[80, 80] = True
    labels, page = regions.split_page_at_hints(seg.labels, seg.page, seeds, 3)
    shape = labels == labels[80, 80]
    assert not page[80, 80] and page[5, 5] and page[150, 80]  # the shape left the page; the paper did not
    assert shape[40:120, 45:115].mean() > 0.9 and not shape[:28].any() and not shape[:, :28].any()
    assert shape[120, 80] and not shape[140, 80]  # the cut runs across the mouth
    # A seed on the paper around the drawing leaves the page as it is, so the hint colors the paper.
    seeds[:] = False
    seeds[5, 5] = True
    same, same_page = regions.split_page_at_hints(seg.labels, seg.page, seeds, 3)
    assert np.array_equal(same, seg.labels) and np.array_equal(same_page, seg.page)


def _open_circle() -> tuple[np.ndarray, regions.Segmentation]:
    """A circle open at the bottom by a mouth wider than the gap closing, so its inside is page."""
    image = Image.new("L", (160, 160), 255)
    draw = ImageDraw.Draw(image)
    draw.ellipse([30, 30, 130, 130], outline=0, width=3)
    draw.rectangle([72, 120, 88, 135], fill=255)
    line = np.array(image)
    return line, regions.segment_line_art(line, gap_radius=3)


def test_shaded_shapes_takes_an_open_shape_the_estimate_shades():
    _, seg = _open_circle()
    yy, xx = np.mgrid[:160, :160]
    estimate = np.where(np.hypot(yy - 80, xx - 80) < 48, 60.0, 100.0)  # the nets shade the circle, not the paper
    shapes = regions.shaded_shapes(seg.labels, seg.page, estimate, 85, 3)
    assert shapes.max() == 1 and shapes[80, 80] == 1
    assert not shapes[5, 5] and not shapes[150, 80] and not (shapes & ~seg.page).any()
    # Lighter than the threshold, or switched off: nothing.
    assert not regions.shaded_shapes(seg.labels, seg.page, estimate, 50, 3).any()
    assert not regions.shaded_shapes(seg.labels, seg.page, estimate, 0, 3).any()
    # Its outline runs along the circle but for the mouth: enough for 0.75 of it, not for all of it.
    assert regions.shaded_shapes(seg.labels, seg.page, estimate, 85, 3, line_share=0.75)[80, 80] == 1
    assert not regions.shaded_shapes(seg.labels, seg.page, estimate, 85, 3, line_share=1.0).any()


def test_shaded_shapes_leaves_a_shaded_blob_on_the_paper_and_a_halo_along_the_lines():
    _, seg = _open_circle()
    yy, xx = np.mgrid[:160, :160]
    estimate = np.full((160, 160), 100.0)
    estimate[135:158, 5:60] = 60.0  # a blob beside the drawing, touching no line
    ring = np.abs(np.hypot(yy - 80, xx - 80) - 50) < 4  # a thin halo hugging the circle's line
    estimate[ring] = 60.0
    assert not regions.shaded_shapes(seg.labels, seg.page, estimate, 85, 3).any()


def test_shaded_shapes_on_a_coarse_grid_keeps_the_shape():
    line, _ = _open_circle()
    big = np.repeat(np.repeat(line, 4, axis=0), 4, axis=1)  # 640 px: worked out on a 320 px grid at max_side 320
    seg = regions.segment_line_art(big, gap_radius=12)
    yy, xx = np.mgrid[:640, :640]
    estimate = np.where(np.hypot(yy - 320, xx - 320) < 190, 60.0, 100.0)
    shapes = regions.shaded_shapes(seg.labels, seg.page, estimate, 85, 12, max_side=320)
    assert shapes.shape == big.shape and shapes[320, 320] > 0 and not shapes[20, 20]
    assert not (shapes & ~seg.page).any()


def test_on_border_counts_only_the_sides_asked_for():
    from sketchcolor.regions import border_values, on_border

    labels = np.zeros((6, 6), np.int32)
    labels[0, 2] = 1  # top
    labels[3, 5] = 2  # right
    labels[2:4, 2:4] = 3  # inside
    assert on_border(labels).tolist() == [False, True, True, False]
    assert on_border(labels, (False, True, True, False)).tolist() == [False, False, False, False]
    assert on_border(labels, (False, False, False, True)).tolist() == [False, False, True, False]
    assert border_values(labels, (False, False, False, False)).size == 0
    lab = np.zeros((4, 5, 3))
    assert border_values(lab).shape == (2 * 5 + 2 * 4, 3)
