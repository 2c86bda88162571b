"""Tests for sketchcolor.linestyles: determinism, each style's effect, lines kept in place, config validation."""


import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchcolor.errors import ConfigError, ImageError
from sketchcolor.linestyles import STYLES, LineStyleConfig, realistic_lines

SIZE = 128


def line_art(size: int = SIZE, width: int = 5, seed: int = 0) -> np.ndarray:
    """(size, size) uint8: closed outlines (an ellipse, a rectangle, a triangle), ``width`` px, on white."""
    rng = np.random.default_rng(seed)
    image = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(image)
    jitter = [int(v) for v in rng.integers(-4, 5, 6)]
    s = size / 128
    draw.ellipse([10 * s + jitter[0], 10 * s + jitter[1], 60 * s, 70 * s], outline=0, width=width)
    draw.rectangle([60 * s + jitter[2], 50 * s + jitter[3], 118 * s, 115 * s], outline=0, width=width)
    draw.polygon([(20 * s, 118 * s), (50 * s + jitter[4], 80 * s + jitter[5]), (58 * s, 118 * s)], outline=0,
                 width=width)
    return np.asarray(image)


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def far_from_lines(line: np.ndarray, px: int = 12) -> np.ndarray:
    return ~grow(line <= 128, px)


def test_output_is_rgb_uint8_and_a_function_of_the_seed():
    line = line_art()
    a = realistic_lines(line, np.random.default_rng(3))
    b = realistic_lines(line, np.random.default_rng(3))
    assert a.shape == (SIZE, SIZE, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    others = [realistic_lines(line, np.random.default_rng(seed)) for seed in range(4, 8)]
    assert all(not np.array_equal(a, o) for o in others)
    # The input is not modified.
    np.testing.assert_array_equal(line, line_art())


def test_no_style_gives_the_input_back_as_rgb():
    line = cv2.GaussianBlur(line_art(), (0, 0), 0.8)  # anti-aliased grays survive exactly
    out = realistic_lines(line, np.random.default_rng(0), styles=())
    np.testing.assert_array_equal(out, np.repeat(line[:, :, None], 3, axis=2))


@pytest.mark.parametrize("style", STYLES)
def test_each_style_changes_the_drawing_and_keeps_its_lines_in_place(style):
    line = line_art()
    plain = realistic_lines(line, np.random.default_rng(1), styles=())
    out = realistic_lines(line, np.random.default_rng(1), styles=[style])
    assert not np.array_equal(out, plain)
    # Dark pixels (the main strokes; extra strokes are lighter) stay on the clean lines, 1 px of slack.
    dark = out.max(axis=2) < 60
    assert not (dark & ~grow(line <= 128, 1)).any()
    # Only "broken" removes whole pieces of line: everything else leaves most line pixels dark.
    if style not in ("broken", "pencil", "thin"):
        assert dark[line <= 128].mean() > 0.7


def test_thin_draws_narrow_antialiased_strokes_inside_the_old_ones():
    line = line_art(width=7)
    config = LineStyleConfig(thin_px=(1.0, 1.0), pressure=0.0)
    out = realistic_lines(line, np.random.default_rng(0), styles=["thin"], config=config)[:, :, 0]
    inked = out < 128
    assert inked.sum() < 0.35 * (line <= 128).sum()  # about 1 px of 7
    assert not (inked & ~(line <= 128)).any()
    assert ((out > 20) & (out < 235)).any()  # partial coverage at the edges
    # Still one connected outline per shape (centre lines, not fragments).
    count, _ = cv2.connectedComponents(inked.astype(np.uint8), connectivity=8)
    base, _ = cv2.connectedComponents((line <= 128).astype(np.uint8), connectivity=8)
    assert count <= base + 2


def test_broken_cuts_short_gaps_through_the_strokes():
    line = line_art(width=3)
    config = LineStyleConfig(gap_every_px=(20.0, 20.0), gap_px=(3.0, 3.0))
    out = realistic_lines(line, np.random.default_rng(0), styles=["broken"], config=config)[:, :, 0]
    strokes = (line <= 128).astype(np.uint8)
    base, _ = cv2.connectedComponents(strokes, connectivity=8)
    pieces, labels = cv2.connectedComponents((out <= 128).astype(np.uint8), connectivity=8)
    assert pieces > base + 3  # the closed outlines fall apart
    erased = (line <= 128) & (out > 200)
    assert 0 < erased.sum() < 0.3 * strokes.sum()  # gaps are short
    # A gap is a few pixels long: no erased run wider than gap + the stroke's width.
    n, _, stats, _ = cv2.connectedComponentsWithStats(erased.astype(np.uint8), connectivity=8)
    assert stats[1:, cv2.CC_STAT_WIDTH].max() <= 8 and stats[1:, cv2.CC_STAT_HEIGHT].max() <= 8


def test_sketchy_adds_lighter_strokes_beside_the_lines():
    line = line_art(width=3)
    config = LineStyleConfig(sketch_alpha=(0.6, 0.6), sketch_shift_px=(2.0, 2.0))
    out = realistic_lines(line, np.random.default_rng(2), styles=["sketchy"], config=config).max(axis=2)
    beside = grow(line <= 128, 5) & ~grow(line <= 128, 1)
    extra = beside & (out < 200)
    assert extra.sum() > 50
    assert out[extra].min() >= 60  # lighter than the main strokes
    assert not (out < 250)[far_from_lines(line, 8)].any()


def test_pencil_is_lighter_and_uneven():
    line = line_art(width=3)
    config = LineStyleConfig(pencil_darkness=(0.5, 0.5))
    out = realistic_lines(line, np.random.default_rng(0), styles=["pencil"], config=config)[:, :, 0]
    core = line <= 20
    assert 60 < np.median(out[core]) < 200
    assert out[core].std() > 8  # grain and pressure, not a flat gray


def test_paper_is_toned_and_textured():
    line = line_art()
    levels, tints = [], []
    for seed in range(12):
        out = realistic_lines(line, np.random.default_rng(seed), styles=["paper"]).astype(float)
        page = out[far_from_lines(line)]
        levels.append(page.mean())
        tints.append(page[:, 0].mean() - page[:, 2].mean())
        assert page.std(axis=0).max() > 0.5  # grain
        assert 140 <= page.mean() <= 255
    assert min(levels) < 230 and max(levels) > 200
    assert max(tints) > 8 and min(tints) < -3  # cream (blue lost) and bluish (red lost) papers both occur


def test_lighting_is_smooth_and_uneven():
    line = np.full((SIZE, SIZE), 255, np.uint8)
    config = LineStyleConfig(lighting=(0.25, 0.25))
    out = realistic_lines(line, np.random.default_rng(0), styles=["lighting"], config=config)[:, :, 0].astype(float)
    assert out.max() - out.min() > 30
    assert np.abs(np.diff(out, axis=0)).max() <= 2 and np.abs(np.diff(out, axis=1)).max() <= 2
    assert out.min() >= 255 * 0.75 - 1


def test_construction_lines_are_faint_color_near_the_lines():
    line = line_art(width=3)
    config = LineStyleConfig(construction_keep=(0.9, 0.9), construction_alpha=(0.8, 0.8))
    out = realistic_lines(line, np.random.default_rng(0), styles=["construction"], config=config).astype(int)
    chroma = out.max(axis=2) - out.min(axis=2)
    colored = chroma > 25
    assert colored.sum() > 30
    assert not (colored & ~grow(line <= 128, 8)).any()
    assert out.min(axis=2)[colored].min() > 40  # faint, not black


def test_jpeg_compresses():
    line = line_art()
    plain = realistic_lines(line, np.random.default_rng(0), styles=["paper"])
    jpeg = realistic_lines(line, np.random.default_rng(0), styles=["paper", "jpeg"])
    difference = np.abs(plain.astype(int) - jpeg.astype(int))
    assert difference.mean() > 0.3 and difference.mean() < 10


@pytest.mark.parametrize("shape", [(16, 16), (40, 90), (90, 40)])
def test_any_size_and_blank_pages(shape):
    blank = np.full(shape, 255, np.uint8)
    out = realistic_lines(blank, np.random.default_rng(0), styles=STYLES)
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    small = cv2.resize(line_art(), shape[::-1], interpolation=cv2.INTER_AREA)
    assert realistic_lines(small, np.random.default_rng(0), styles=STYLES).shape == (*shape, 3)


def test_default_mix_varies_between_drawings():
    line = line_art()
    outs = [realistic_lines(line, np.random.default_rng(seed)) for seed in range(16)]
    page_levels = {int(o[far_from_lines(line)].mean()) for o in outs}
    assert len(page_levels) > 4
    assert any(o[far_from_lines(line)].mean() > 252 for o in outs)  # some stay on white paper


def test_bad_input_and_unknown_styles():
    with pytest.raises(ImageError, match="uint8 \\(H, W\\)"):
        realistic_lines(np.zeros((8, 8, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ImageError, match="uint8 \\(H, W\\)"):
        realistic_lines(np.zeros((8, 8), np.float32), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown line style.*'charcoal'.*allowed: thin"):
        realistic_lines(line_art(), np.random.default_rng(0), styles=["thin", "charcoal"])


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"p_thin": 1.5}, "p_thin must be a probability"),
        ({"thin_px": (3.0, 1.0)}, "thin_px must be a \\(low, high\\) pair"),
        ({"thin_px": (0.1, 1.0)}, "thin_px must be widths >= 0.5 px"),
        ({"paper_level": (150, 300)}, "paper_level must be levels in \\[0, 255\\]"),
        ({"sketch_alpha": (0.5, 1.5)}, "sketch_alpha must be fractions"),
        ({"jpeg_quality": (0, 90)}, "jpeg_quality must be qualities"),
        ({"pressure": 1.0}, "pressure must be a fraction"),
    ],
)
def test_bad_config_values_raise_config_error(bad, message):
    with pytest.raises(ConfigError, match=message):
        LineStyleConfig(**bad)


def test_config_dict_round_trip_and_unknown_keys():
    from sketchcolor.models.configs import from_dict, to_dict

    config = LineStyleConfig(p_pencil=0.9, paper_level=(200.0, 240.0))
    assert from_dict(LineStyleConfig, to_dict(config)) == config
    assert from_dict(LineStyleConfig, {"paper_level": [200, 240]}).paper_level == (200, 240)
    with pytest.raises(ConfigError, match="unknown config key p_charcoal"):
        from_dict(LineStyleConfig, {"p_charcoal": 0.5})


def test_probabilities_pick_the_styles():
    line = line_art()
    never = LineStyleConfig(**{f"p_{s}": 0.0 for s in STYLES})
    np.testing.assert_array_equal(realistic_lines(line, np.random.default_rng(0), config=never),
                                  np.repeat(line[:, :, None], 3, axis=2))
    paper_only = LineStyleConfig(**{f"p_{s}": float(s == "paper") for s in STYLES})
    out = realistic_lines(line, np.random.default_rng(0), config=paper_only)
    assert out[far_from_lines(line)].mean() < 251
