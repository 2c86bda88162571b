"""sketchcolor.transfer on tiny synthetic pictures, no nets: reading a reference, its color segments, aligning a
drawing with it, matching regions to segments, and the global regime's histogram and weights."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage

from sketchcolor.color import ab_bins, rgb_u8_to_lab_np
from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.transfer import (
    MIN_REFERENCE_SIDE,
    REFERENCE_SIDE,
    Alignment,
    align,
    check_reference_mode,
    color_segments,
    global_weights,
    line_edges,
    load_reference,
    match_regions,
    reference_histogram,
    silhouette_hull,
)

RED, BLUE, GREEN = (220, 40, 40), (40, 80, 210), (40, 170, 70)


def _lab(rgb_u8) -> np.ndarray:
    return rgb_u8_to_lab_np(np.ascontiguousarray(np.asarray(rgb_u8, np.uint8))).astype(np.float64)


def _lab_of(color) -> np.ndarray:
    return _lab(np.array([[color]], np.uint8))[0, 0]


# --- load_reference -----------------------------------------------------------------------------------------------

def test_load_reference_errors_start_with_reference(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    cases = [
        (text, "not an image file"),
        (tmp_path / "missing.png", "no such file"),
        (np.zeros((200, 200, 3), np.uint8), "too many pixels"),
        (np.zeros((MIN_REFERENCE_SIDE - 1, 40, 3), np.uint8), f"40×{MIN_REFERENCE_SIDE - 1} pixels"),
        (Image.new("RGB", (1, 1)), "at least 8 pixels on each side"),
    ]
    for source, fragment in cases:
        with pytest.raises(ImageError) as info:
            load_reference(source, max_pixels=1000)
        message = str(info.value)
        assert message.startswith("reference: ") and fragment in message, message


def test_a_gray_reference_is_accepted_and_a_small_one_is_read_as_it_is():
    img = Image.new("L", (40, 30), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle([4, 4, 18, 25], fill=128)
    draw.rectangle([24, 6, 36, 22], fill=40)
    reference = load_reference(img, max_pixels=None)
    assert reference.lab.shape == (30, 40, 3)
    assert np.abs(reference.lab[..., 1:]).max() < 1e-3  # gray: no color at all
    mid, dark = reference.segments[15, 10], reference.segments[15, 30]
    assert reference.segments[0, 0] == 0 and 0 < mid != dark > 0
    assert np.abs(reference.colors[[mid, dark], 1:]).max() < 1e-3
    assert reference.colors[mid, 0] > reference.colors[dark, 0] + 20
    edge = load_reference(np.full((MIN_REFERENCE_SIDE, MIN_REFERENCE_SIDE, 3), 90, np.uint8), max_pixels=None)
    assert edge.lab.shape == (MIN_REFERENCE_SIDE, MIN_REFERENCE_SIDE, 3)


def test_a_big_reference_is_read_at_most_reference_side_long():
    picture = np.full((1000, 600, 3), 255, np.uint8)
    picture[300:700, 100:500] = RED
    reference = load_reference(picture, max_pixels=None)
    height, width = reference.lab.shape[:2]
    assert height == REFERENCE_SIDE and width == round(600 * REFERENCE_SIDE / 1000)
    assert reference.segments.shape == reference.edges.shape == (height, width)
    assert reference.colors.shape == (int(reference.segments.max()) + 1, 3) and len(reference.areas) == len(
        reference.colors)
    # The red block is one segment whose mean is the block's red.
    red = reference.segments[height // 2, width // 2]
    assert red > 0 and np.abs(reference.colors[red] - _lab_of(RED)).max() < 1.0


def test_check_reference_mode():
    for mode in ("auto", "match", "global"):
        assert check_reference_mode(mode) == mode
    for bad in ("Match", "", None):
        with pytest.raises(ConfigError, match="unknown reference mode .*allowed: auto, match, global"):
            check_reference_mode(bad)


# --- color_segments -----------------------------------------------------------------------------------------------

def _disc_and_square(fringe: bool) -> Image.Image:
    """A red disc (with a 1-px pink antialias ring when ``fringe``) and a blue square with a thin black outline."""
    img = Image.new("RGB", (128, 128), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    if fringe:
        draw.ellipse([10, 10, 60, 60], fill=(255, 128, 128))  # half red, half page
    draw.ellipse([11, 11, 59, 59], fill=RED)
    draw.rectangle([70, 60, 115, 110], fill=BLUE, outline=(0, 0, 0), width=2)
    return img


@pytest.mark.parametrize("fringe", [False, True], ids=["clean", "fringe"])
def test_color_segments_of_a_flat_picture(fringe):
    img = _disc_and_square(fringe)
    lab = _lab(np.asarray(img))
    segments = color_segments(lab)
    assert segments.shape == (128, 128) and segments.dtype == np.int32
    disc, square = segments[35, 35], segments[85, 92]
    assert segments[0, 0] == 0 and segments[127, 127] == 0 and segments[5, 100] == 0  # the page
    assert disc > 0 and square > 0 and disc != square
    # Only the disc and the square: neither the 2-px outline nor a 1-px fringe is a color of the picture.
    assert set(np.unique(segments).tolist()) == {0, disc, square}
    for label, color in ((disc, RED), (square, BLUE)):
        mean = lab[segments == label].mean(0)
        assert np.linalg.norm(mean - _lab_of(color)) < 3.0
    if fringe:
        ring = (np.asarray(img) == (255, 128, 128)).all(-1)
        assert ring.sum() > 100 and (segments[ring] == 0).all()


def test_color_segments_of_a_supersampled_picture_keep_two_segments():
    # Drawn at 4x and box-filtered: every edge is antialiased, each with its own blends.
    big = Image.new("RGB", (512, 512), (255, 255, 255))
    draw = ImageDraw.Draw(big)
    draw.ellipse([40, 40, 240, 240], fill=RED)
    draw.rectangle([280, 240, 460, 440], fill=BLUE, outline=(0, 0, 0), width=8)
    segments = color_segments(_lab(np.asarray(big.resize((128, 128), Image.BOX))))
    assert len(np.unique(segments)) == 3 and segments[35, 35] != segments[85, 92]


def test_color_segments_of_a_blank_page_are_all_page():
    assert not color_segments(_lab(np.full((20, 30, 3), 255, np.uint8))).any()


# --- align --------------------------------------------------------------------------------------------------------

SIDE = 200
# An "L" of two colors and a dot, in (x, y) pixels of a SIDE² page: no mirror or turn of it looks the same.
BAR = [(50, 40), (80, 40), (80, 150), (50, 150)]
FOOT = [(80, 120), (150, 120), (150, 150), (80, 150)]
DOT = [(140 + 14 * np.cos(t), 60 + 14 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 48, endpoint=False)]


def _pose(points, mirror=False, degrees=0.0, scale=1.0, shift=(0.0, 0.0)) -> list[tuple[float, float]]:
    """(x, y) points mirrored left-right, then turned by ``degrees`` and scaled about the page's centre, shifted."""
    centre = (SIDE - 1) / 2
    theta = np.deg2rad(degrees)
    out = []
    for x, y in points:
        dx, dy = x - centre, y - centre
        dx = -dx if mirror else dx
        out.append((centre + scale * (np.cos(theta) * dx - np.sin(theta) * dy) + shift[0],
                    centre + scale * (np.sin(theta) * dx + np.cos(theta) * dy) + shift[1]))
    return out


def _l_and_dot(filled: bool, **pose) -> Image.Image:
    """The colored reference (``filled``) or its drawing (black outlines only), posed."""
    img = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for points, color in ((BAR, RED), (FOOT, BLUE), (DOT, GREEN)):
        draw.polygon(_pose(points, **pose), fill=color if filled else None, outline=(0, 0, 0), width=3)
    return img


def _drawing(**pose) -> tuple[np.ndarray, np.ndarray]:
    """(silhouette, edges) of the posed drawing, as the pipeline hands them to align."""
    gray = np.asarray(_l_and_dot(False, **pose).convert("L"))
    return ndimage.binary_fill_holes(gray < 128), line_edges(gray)


# Landmarks: the dot's centre, the bar's top-left corner, the foot's far corner, inside the bar.
LANDMARKS = [(140, 60), (50, 40), (150, 150), (65, 130)]


@pytest.mark.parametrize("mirror, degrees, scale, shift", [
    (True, 12.0, 1.1, (8, -5)),
    (True, -7.0, 0.9, (-6, 4)),
    (False, 10.0, 1.0, (0, 0)),
])
def test_align_finds_the_mirror_the_turn_and_the_place(mirror, degrees, scale, shift):
    reference = load_reference(_l_and_dot(True), max_pixels=None)
    pose = dict(mirror=mirror, degrees=degrees, scale=scale, shift=shift)
    alignment = align(*_drawing(**pose), reference)
    assert alignment.mirror == mirror
    # Turning by θ in (x, y) is turning by -θ in align's (y, x) frame, so lining the drawing up again takes +θ;
    # a mirror reverses a turn's sense: -θ then (Alignment.to_reference mirrors before it turns).
    assert abs(alignment.angle - (-degrees if mirror else degrees)) < 3.0, alignment
    assert abs(alignment.scale - 1 / scale) < 0.05, alignment
    drawn = np.array([(y, x) for x, y in _pose(LANDMARKS, **pose)])
    landed = alignment.to_reference(drawn)
    assert np.abs(landed - np.array([(y, x) for x, y in LANDMARKS])).max() < 4.0, landed


def test_the_true_reference_scores_higher_than_an_unrelated_one():
    content, edges = _drawing(mirror=True, degrees=10.0)
    true = align(content, edges, load_reference(_l_and_dot(True), max_pixels=None))
    other = Image.new("RGB", (SIDE, SIDE), (255, 255, 255))
    draw = ImageDraw.Draw(other)
    draw.ellipse([20, 30, 180, 110], fill=(200, 180, 30), outline=(0, 0, 0), width=3)
    draw.rectangle([90, 120, 110, 190], fill=(130, 40, 160), outline=(0, 0, 0), width=3)
    unrelated = align(content, edges, load_reference(other, max_pixels=None))
    assert true.score > 1.5 and true.score > unrelated.score + 0.5, (true.score, unrelated.score)


@pytest.mark.parametrize("side", [200, 1100])
def test_silhouette_hull_fills_an_open_outline_and_keeps_thin_lines_on_a_coarse_grid(side):
    content = np.zeros((side, side), bool)
    a, b = side // 5, 4 * side // 5
    content[a:b, a] = content[a:b, b] = content[b, a:b + 1] = True  # a one-pixel U, open at the top
    hull = silhouette_hull(content)
    assert hull.shape == content.shape and hull[content].all()
    assert hull[(a + b) // 2, (a + b) // 2] and hull[a + 2, (a + b) // 2]  # inside the U, up to its mouth
    assert not hull[: a - side // 50].any() and not hull[:, : a - side // 50].any()  # nothing beyond it
    assert not silhouette_hull(np.zeros((side, side), bool)).any()


def test_align_without_a_drawing_is_the_identity_with_score_zero():
    reference = load_reference(_l_and_dot(True), max_pixels=None)
    alignment = align(np.zeros((SIDE, SIDE), bool), np.zeros((SIDE, SIDE)), reference)
    assert alignment.score == 0.0 and not alignment.mirror and alignment.scale == 1.0


def test_to_reference_follows_the_documented_formula():
    alignment = Alignment(True, 90.0, 2.0, np.array([10.0, 20.0]), np.array([100.0, 50.0]), 1.0,
                          np.array([1.0, -2.0]))
    # d = (y, x) + offset - centre = (1, 3) + (1, -2) - (10, 20) = (-8, -19); mirrored (-8, 19);
    # turned 90°: (c*dy - s*dx, s*dy + c*dx) = (-19, -8); scaled by 2 and moved to the reference's centre.
    assert np.allclose(alignment.to_reference(np.array([[1.0, 3.0]])), [[100.0 - 38.0, 50.0 - 16.0]])


# --- match_regions ------------------------------------------------------------------------------------------------

BOXES = [(10, 10, 50, 50), (65, 15, 110, 45), (30, 70, 100, 110)]  # (x0, y0, x1, y1) on a 120² page
BOX_COLORS = [(210, 50, 40), (50, 160, 70), (60, 80, 200)]


def _three_boxes() -> Image.Image:
    img = Image.new("RGB", (120, 120), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for box, color in zip(BOXES, BOX_COLORS):
        draw.rectangle(box, fill=color)
    return img


def _identity(offset=(0.0, 0.0)) -> Alignment:
    return Alignment(False, 0.0, 1.0, np.zeros(2), np.zeros(2), 2.0, np.asarray(offset, np.float64))


@pytest.mark.parametrize("shift", [(0, 0), (6, -4)], ids=["in-place", "shifted"])
def test_match_regions_gives_each_region_the_segment_at_its_place(shift):
    reference = load_reference(_three_boxes(), max_pixels=None)
    dy, dx = shift
    # Label 0: lines; 1: the page; 2-4: the boxes, drawn ``shift`` (y, x) away, inside 2-px outlines; 5: a shape on
    # the page that is not among the regions to match. The alignment takes the shift back.
    labels = np.ones((120, 120), np.int32)
    for i, (x0, y0, x1, y1) in enumerate(BOXES):
        labels[y0 + dy:y1 + 1 + dy, x0 + dx:x1 + 1 + dx] = 0
        labels[y0 + 2 + dy:y1 - 1 + dy, x0 + 2 + dx:x1 - 1 + dx] = i + 2
    labels[80:90, 5:20] = 5
    regions = np.array([False, False, True, True, True, False])
    segment, cost = match_regions(labels, regions, np.full(6, 50.0), _identity((-dy, -dx)), reference, sketch=True)
    want = [reference.segments[(y0 + y1) // 2, (x0 + x1) // 2] for x0, y0, x1, y1 in BOXES]
    assert len(set(want)) == 3 and min(want) > 0
    assert segment.tolist() == [0, 0, *want, 0]
    assert np.isfinite(cost[2:5]).all() and np.isinf(cost[[0, 1, 5]]).all()
    assert cost[2:5].max() < 1.0  # each lands wholly on its segment, as large, as light


def test_shapes_on_reference_are_those_mostly_on_its_drawing():
    from sketchcolor.transfer import shapes_on_reference

    reference = load_reference(_three_boxes(), max_pixels=None)
    shapes = np.zeros((120, 120), np.int32)
    shapes[20:40, 20:40] = 1  # inside the first box
    shapes[55:65, 20:40] = 2  # the page between the boxes
    shapes[40:60, 20:40] = 3  # half on the first box (40-50), half on the page: under the share asked
    assert shapes_on_reference(shapes, _identity(), reference).tolist() == [1]
    assert shapes_on_reference(np.zeros((120, 120), np.int32), _identity(), reference).size == 0


def test_match_regions_with_nothing_to_match():
    reference = load_reference(_three_boxes(), max_pixels=None)
    labels = np.ones((120, 120), np.int32)
    segment, cost = match_regions(labels, np.array([False, False]), np.zeros(2), _identity(), reference,
                                  sketch=True)
    assert segment.tolist() == [0, 0] and np.isinf(cost).all()


def test_a_region_on_a_segment_takes_it_however_many_unmatchable_regions_there_are():
    # A gray picture's regions include the outline's pieces: small, dark, matching no segment. A dark red segment
    # (left) and a light yellow one (right); region 2 lies wholly on the red one, region 3 on the yellow one, and
    # four dark outline pieces (4-7) lie on the red one. The pieces cost far more than MATCH_MAX_COST wherever
    # they go (their L is 0); they must not push region 2 off its segment.
    img = Image.new("RGB", (160, 100), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([10, 10, 75, 90], fill=(150, 30, 30))
    draw.rectangle([85, 10, 150, 90], fill=(240, 220, 120))
    reference = load_reference(img, max_pixels=None)
    red, yellow = reference.segments[50, 40], reference.segments[50, 120]
    labels = np.ones((100, 160), np.int32)
    labels[25:75, 25:60] = 2
    labels[25:75, 100:135] = 3
    for i, y in enumerate((12, 18, 80, 86)):
        labels[y:y + 2, 12:20] = 4 + i
    region_l = np.array([0.0, 100.0, reference.colors[red, 0], reference.colors[yellow, 0], 0.0, 0.0, 0.0, 0.0])
    regions = np.array([False, False] + [True] * 6)
    segment, cost = match_regions(labels, regions, region_l, _identity(), reference, sketch=False)
    assert segment[2] == red and segment[3] == yellow, (segment, cost)
    assert cost[2] < 1.0 and cost[3] < 1.0, cost


def test_line_art_whose_estimate_reads_a_band_black_still_takes_the_segment_it_lies_on():
    # A glass's rim drawn as two lines: the inversion net reads the band between them almost black (L 5), while
    # the reference colors it a light blue-gray. Line art's L is a guess, so where the band lands decides; a gray
    # picture's L is its own, so there the same L refuses the match.
    from sketchcolor.transfer import MATCH_MAX_COST, lightness_cost

    img = Image.new("RGB", (120, 120), (255, 255, 255))
    ImageDraw.Draw(img).rectangle([20, 40, 100, 60], fill=(180, 198, 210))
    reference = load_reference(img, max_pixels=None)
    band = reference.segments[50, 60]
    labels = np.ones((120, 120), np.int32)
    labels[42:59, 22:99] = 2
    region_l = np.array([0.0, 100.0, 5.0])
    regions = np.array([False, False, True])
    segment, cost = match_regions(labels, regions, region_l, _identity(), reference, sketch=True)
    assert segment[2] == band and cost[2] < MATCH_MAX_COST
    _, gray_cost = match_regions(labels, regions, region_l, _identity(), reference, sketch=False)
    assert gray_cost[2] > MATCH_MAX_COST
    # Near a match the two agree; far off, line art's grows only as the log.
    small, large = np.array([2.0]), np.array([75.0])
    assert lightness_cost(small, True) == pytest.approx(small**2 / (2 * 20.0**2), rel=0.01)
    assert lightness_cost(large, True) < 3.0 < lightness_cost(large, False)


# --- the global regime --------------------------------------------------------------------------------------------

def test_global_weights_favour_what_the_reference_has_and_the_reading_lacks():
    bins = ab_bins().double().numpy()

    def at(ab):
        return int(np.square(bins - np.asarray(ab, np.float64)).sum(1).argmin())

    red, blue, gray = at((60, 40)), at((-20, -50)), at((0, 0))
    hist, reading = np.zeros(len(bins)), np.zeros(len(bins))
    hist[[red, gray]] = [0.7, 0.3]  # the reference: red and gray, no blue
    reading[[blue, gray]] = [6.0, 4.0]  # the net's reading (unnormalized): blue and gray, no red
    weights = global_weights(hist, reading)
    assert weights.shape == (len(bins),)
    assert (weights > 0).all() and weights.max() == pytest.approx(1.0) and (weights <= 1.0).all()
    assert weights[red] > weights[gray] > weights[blue]
    assert weights[red] == pytest.approx(1.0)
    # No strength: no reweighting; half strength: the square root of full strength's ratios.
    assert np.allclose(global_weights(hist, reading, 0.0), 1.0)
    half = global_weights(hist, reading, 0.5)
    assert np.allclose(half, np.sqrt(weights))


def test_reference_histogram_sums_to_one_and_peaks_at_the_dominant_color():
    bins = ab_bins().double().numpy()
    img = Image.new("RGB", (100, 100), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([10, 10, 80, 80], fill=RED)  # red dominates
    draw.rectangle([60, 60, 90, 90], fill=BLUE)
    reference = load_reference(img, max_pixels=None)
    hist = reference_histogram(reference, bins)
    assert hist.shape == (len(bins),) and (hist >= 0).all() and hist.sum() == pytest.approx(1.0)
    red_ab = _lab_of(RED)[1:]
    assert hist.argmax() == np.square(bins - red_ab).sum(1).argmin()
    # The page is not counted: no mass near gray.
    assert hist[np.square(bins).sum(1).argmin()] < 1e-3
    # Blue holds mass too, less than red.
    blue_bin = np.square(bins - _lab_of(BLUE)[1:]).sum(1).argmin()
    assert 0.01 < hist[blue_bin] < hist.max()


def test_segments_are_numbered_in_reading_order():
    # color_segments' docstring: "numbered 1.. in reading order" (top to bottom, then left to right).
    img = Image.new("RGB", (160, 100), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle([10, 10, 75, 45], fill=(150, 30, 30))
    draw.rectangle([85, 10, 150, 45], fill=(240, 220, 120))
    draw.rectangle([10, 55, 150, 90], fill=(40, 80, 210))
    segments = color_segments(_lab(np.asarray(img)))
    assert [segments[30, 40], segments[30, 120], segments[70, 80]] == [1, 2, 3]
