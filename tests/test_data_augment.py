"""Tests for sketchcolor.data.augment: config validation, line/color alignment, line-only style, hue rotation."""

import cv2
import numpy as np
import pytest

from sketchcolor.data.augment import AugmentConfig, PairAugmenter, erase_gaps, rotate_hue
from sketchcolor.errors import ConfigError

SIZE = 96
# Fill colors all have a channel >= 200, so "dark in the color picture" can only mean "on a black line".
FILLS = [(250, 200, 40), (60, 120, 230), (230, 70, 70), (90, 210, 120)]


def synthetic_pair(seed: int = 0, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(line_u8, color_u8) where the line pixels are exactly the black pixels of the color picture."""
    rng = np.random.default_rng(seed)
    color = np.full((size, size, 3), 255, np.uint8)
    for fill in FILLS:
        center = tuple(int(v) for v in rng.integers(size // 5, 4 * size // 5, 2))
        radius = int(rng.integers(size // 10, size // 4))
        cv2.circle(color, center, radius, fill, thickness=-1)
        cv2.circle(color, center, radius, (0, 0, 0), thickness=3)
    line = np.where((color == 0).all(axis=2), 0, 255).astype(np.uint8)
    return line, color


def only(**kwargs) -> AugmentConfig:
    """A config where nothing fires except what is given."""
    return AugmentConfig.from_dict({**AugmentConfig.none().to_dict(), **kwargs})


def assert_aligned(line: np.ndarray, color: np.ndarray) -> None:
    dark_line = line <= 64
    color_max = color.max(axis=2)
    assert dark_line.sum() > 100
    # Linear interpolation mixes the same neighbours in both: >= 75% black weight on the line → the color
    # pixel is at most 25% of 255 in every channel, and vice versa (fills have a channel >= 200).
    assert (color_max[dark_line] <= 66).all()
    assert (line[color_max <= 40] <= 205).all()
    iou = ((line <= 128) & (color_max <= 128)).sum() / ((line <= 128) | (color_max <= 128)).sum()
    assert iou > 0.85


@pytest.mark.parametrize(
    "transform",
    [
        {"p_hflip": 1.0},
        {"p_vflip": 1.0},
        {"p_affine": 1.0, "rotate_deg": 30.0, "translate": 0.1, "scale": (0.7, 1.3)},
        {"p_crop": 1.0, "crop_scale": (0.3, 0.6)},
        {"p_hflip": 0.5, "p_affine": 1.0, "p_crop": 1.0},
    ],
    ids=["hflip", "vflip", "affine", "crop", "all"],
)
def test_geometric_transforms_keep_line_and_color_aligned(transform):
    aug = PairAugmenter(only(**transform), SIZE)
    changed = 0
    for seed in range(4):
        line, color = synthetic_pair(seed)
        line2, color2 = aug.geometric(line, color, np.random.default_rng(seed))
        assert line2.shape == (SIZE, SIZE) and color2.shape == (SIZE, SIZE, 3)
        assert line2.dtype == np.uint8 and color2.dtype == np.uint8
        assert_aligned(line2, color2)
        changed += not np.array_equal(line2, line)
    assert changed >= 2, "the transform must actually move pixels"


def test_affine_fills_new_pixels_white():
    aug = PairAugmenter(only(p_affine=1.0, translate=0.3, scale=(0.5, 0.5), rotate_deg=0.0), SIZE)
    line, color = synthetic_pair(1)
    line2, color2 = aug.geometric(line, color, np.random.default_rng(0))
    assert line2[0, 0] == 255 and (color2[0, 0] == 255).all() and (color2[-1, -1] == 255).all()


def test_geometric_is_deterministic_under_a_seed():
    aug = PairAugmenter(AugmentConfig(), SIZE)
    line, color = synthetic_pair(2)
    a = aug.geometric(line, color, np.random.default_rng(7))
    b = aug.geometric(line, color, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize(
    "effect",
    [{"p_thickness": 1.0}, {"p_gaps": 1.0}, {"p_contrast": 1.0}, {"p_blur": 1.0}, {"p_noise": 1.0},
     {"p_jpeg": 1.0}, {"p_synthetic": 1.0}],
    ids=["thickness", "gaps", "contrast", "blur", "noise", "jpeg", "synthetic"],
)
def test_line_style_effects_change_only_the_line(effect):
    aug = PairAugmenter(only(**effect), SIZE)
    line, color = synthetic_pair(3)
    color_before = color.copy()
    out, extractor = aug.style_line(line, color, np.random.default_rng(0))
    assert out.shape == line.shape and out.dtype == np.uint8
    assert not np.array_equal(out, line)
    np.testing.assert_array_equal(color, color_before)
    assert (extractor is not None) == ("p_synthetic" in effect)
    out2, _ = aug.style_line(line, color, np.random.default_rng(0))
    np.testing.assert_array_equal(out, out2)


def test_erase_gaps_only_removes_line_pixels():
    line, _ = synthetic_pair(4)
    out = erase_gaps(line, np.random.default_rng(0), 5, (3, 5))
    assert (out >= line).all() and (out > line).sum() >= 5


def test_rotate_hue_changes_colors_but_not_grays():
    _, color = synthetic_pair(5)
    rotated = rotate_hue(color, 120.0)
    gray = (color == color[..., :1]).all(axis=2)
    np.testing.assert_array_equal(rotated[gray], color[gray])
    assert np.abs(rotated.astype(int) - color)[~gray].mean() > 30
    np.testing.assert_allclose(rotate_hue(rotate_hue(color, 90.0), -90.0), color, atol=8)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"p_hflip": 1.5}, "p_hflip must be a probability"),
        ({"p_noise": -0.1}, "p_noise must be a probability"),
        ({"scale": (1.2, 0.8)}, "scale must be a \\(low, high\\) pair"),
        ({"crop_scale": (0.5, 1.5)}, "crop_scale must be area fractions"),
        ({"jpeg_quality": (0, 90)}, "jpeg_quality must be qualities"),
        ({"thickness_px": 9}, "thickness_px must be an int"),
        ({"synthetic_methods": ("pencil",)}, "synthetic_methods must be a non-empty subset"),
    ],
)
def test_bad_config_values_raise_config_error(bad, message):
    with pytest.raises(ConfigError, match=message):
        AugmentConfig(**bad)


def test_config_dict_round_trip_and_unknown_keys():
    cfg = AugmentConfig(p_vflip=0.2, scale=(0.9, 1.1))
    assert AugmentConfig.from_dict(cfg.to_dict()) == cfg
    assert AugmentConfig.from_dict({"scale": [0.9, 1.1]}).scale == (0.9, 1.1)
    with pytest.raises(ConfigError, match="unknown AugmentConfig key.*p_flip"):
        AugmentConfig.from_dict({"p_flip": 0.5})


def test_real_style_is_off_by_default():
    assert AugmentConfig().p_real_style == 0.0 and AugmentConfig.none().p_real_style == 0.0
    with pytest.raises(ConfigError, match="p_real_style must be a probability"):
        AugmentConfig(p_real_style=1.5)


def test_real_style_redraws_the_line_art_as_a_cleaned_gray_page():
    # Every other line effect is on too: when the real style fires it replaces them (no extractor is used).
    aug = PairAugmenter(only(p_real_style=1.0, p_synthetic=1.0, p_gaps=1.0, p_jpeg=1.0), SIZE)
    line, color = synthetic_pair(6)
    color_before = color.copy()
    outs = []
    for seed in range(4):
        out, extractor = aug.style_line(line, color, np.random.default_rng(seed))
        assert out.shape == line.shape and out.dtype == np.uint8
        assert extractor is None
        again, _ = aug.style_line(line, color, np.random.default_rng(seed))
        np.testing.assert_array_equal(out, again)
        outs.append(out)
    np.testing.assert_array_equal(color, color_before)
    assert all(not np.array_equal(out, line) for out in outs)
    assert len({out.tobytes() for out in outs}) == 4
    # The paper comes back white and the lines stay where they were (1 px of slack for thinning's rounding).
    far = cv2.dilate((line <= 128).astype(np.uint8), np.ones((13, 13), np.uint8)) == 0
    near = cv2.dilate((line <= 128).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for out in outs:
        assert np.median(out[far]) >= 250
        assert (out[line <= 128] < 200).mean() > 0.3
        assert not ((out < 60) & ~near).any()


def test_real_style_matches_the_shared_functions():
    from sketchcolor.data.augment import real_style
    from sketchcolor.linestyles import realistic_lines
    from sketchcolor.paper import clean_page

    line, _ = synthetic_pair(7)
    expected = clean_page(realistic_lines(line, np.random.default_rng(5))).gray
    np.testing.assert_array_equal(real_style(line, np.random.default_rng(5)), expected)
