"""Tests for sketchcolor.metrics against hand-computed values."""

import math

import numpy as np
import pytest
from skimage.color import rgb2lab

from sketchcolor import metrics
from sketchcolor.errors import ImageError


def _picture(seed: int = 0, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picture = rng.integers(0, 240, size=(size, size, 3), dtype=np.uint8)
    picture[:4] = 255  # a strip of page white
    return picture


def test_identical_pictures():
    picture = _picture()
    assert metrics.psnr(picture, picture) == math.inf
    assert metrics.de2000(picture, picture) == 0.0
    assert metrics.auc(picture, picture) == 1.0
    assert metrics.ssim_l(picture, picture) == pytest.approx(1.0)
    lightness = metrics.lightness(picture)
    assert metrics.l_psnr(lightness, lightness) == math.inf
    assert metrics.l_ssim(lightness, lightness) == pytest.approx(1.0)


def test_psnr_of_a_constant_offset():
    target = np.full((8, 8, 3), 100, np.uint8)
    pred = target + np.uint8(5)
    # MSE = 25 on every channel: 10 log10(255^2 / 25).
    assert metrics.psnr(pred, target) == pytest.approx(10 * math.log10(255**2 / 25))


def test_auc_from_distances_counts_thresholds():
    # A constant ab distance d is within the thresholds t = ceil(d) .. 150: (150 - ceil(d) + 1) of 151.
    assert metrics.auc_from_distances(np.full(7, 10.5)) == pytest.approx((150 - 11 + 1) / 151)
    assert metrics.auc_from_distances(np.full(3, 10.0)) == pytest.approx((150 - 10 + 1) / 151)
    assert metrics.auc_from_distances(np.array([0.0, 200.0])) == pytest.approx(0.5)


def test_auc_on_pictures_matches_hand_computation_and_ignores_page():
    target = np.full((4, 4, 3), 255, np.uint8)
    target[:2] = (200, 60, 60)  # foreground: top half
    pred = target.copy()
    pred[:2] = (60, 60, 200)
    pred[2:] = (0, 255, 0)  # errors on the page do not count
    d = np.linalg.norm(rgb2lab(np.array([[[60, 60, 200]]], np.uint8))[0, 0, 1:]
                       - rgb2lab(np.array([[[200, 60, 60]]], np.uint8))[0, 0, 1:])
    assert metrics.auc(pred, target) == pytest.approx((150 - math.ceil(d) + 1) / 151)


def test_de2000_is_over_foreground_only():
    target = np.full((4, 4, 3), 255, np.uint8)
    target[0, 0] = (10, 10, 10)
    pred = np.zeros_like(target)  # everything wrong, but only pixel (0, 0) is foreground
    pred[0, 0] = (10, 10, 10)
    assert metrics.de2000(pred, target) == 0.0
    assert math.isnan(metrics.de2000(pred, np.full((4, 4, 3), 255, np.uint8)))


def test_de2000_known_pair():
    # Black against white: CIEDE2000 reduces to the lightness term, 100 / S_L with S_L at mean L = 50 equal to 1.
    target = np.zeros((2, 2, 3), np.uint8)
    pred = np.full((2, 2, 3), 255, np.uint8)
    assert metrics.de2000(pred, target) == pytest.approx(100.0, abs=1e-3)


def test_colorfulness_of_gray_is_zero_and_of_red_is_known():
    gray = np.full((5, 5, 3), 77, np.uint8)
    assert metrics.colorfulness(gray) == 0.0
    red = np.zeros((5, 5, 3), np.uint8)
    red[..., 0] = 255
    # rg = 255, yb = 127.5 everywhere: sigma 0, mu = hypot(255, 127.5).
    assert metrics.colorfulness(red) == pytest.approx(0.3 * math.hypot(255, 127.5))
    half = np.zeros((2, 1, 3), np.uint8)
    half[0, 0, 0] = 255  # rg in {255, 0}: std 127.5; yb in {127.5, 0}: std 63.75
    expected = math.hypot(127.5, 63.75) + 0.3 * math.hypot(127.5, 63.75)
    assert metrics.colorfulness(half) == pytest.approx(expected)


def test_ssim_l_of_flat_pictures_is_the_luminance_term():
    # Constant pictures have no variance: SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 100)^2.
    pred = np.full((16, 16), 128, np.uint8)  # gray input is accepted as its own L
    target = np.full((16, 16, 3), 200, np.uint8)
    a = rgb2lab(np.full((1, 1, 3), 128, np.uint8))[0, 0, 0]
    b = rgb2lab(np.full((1, 1, 3), 200, np.uint8))[0, 0, 0]
    assert metrics.ssim_l(pred, target) == pytest.approx((2 * a * b + 1) / (a**2 + b**2 + 1))


def test_ssim_l_drops_with_noise():
    ramp = np.tile(np.linspace(20, 230, 32).astype(np.uint8), (32, 1))
    picture = np.stack([ramp] * 3, axis=2)
    noisy = np.clip(picture.astype(int) + np.random.default_rng(2).integers(-40, 40, picture.shape), 0, 255)
    assert metrics.ssim_l(noisy.astype(np.uint8), picture) < 0.5


def test_l_psnr_of_a_constant_offset():
    target_l = np.full((8, 8), 50.0)
    assert metrics.l_psnr(target_l + 10.0, target_l) == pytest.approx(10 * math.log10(100**2 / 100))


def test_all_metrics_keys_and_bad_input():
    picture = _picture()
    values = metrics.all_metrics(picture, picture)
    assert set(values) == {"psnr", "de2000", "auc", "ssim_l", "colorfulness", "colorfulness_target"}
    with pytest.raises(ImageError, match="uint8"):
        metrics.psnr(picture.astype(np.float32), picture)
    with pytest.raises(ImageError, match="shape"):
        metrics.psnr(picture[:8], picture)


def _page_case(size: int = 20) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pred, target, line): a filled red square outlined by a 1 px line at rows/cols 5 and 14; page elsewhere."""
    line = np.full((size, size), 255, np.uint8)
    line[5, 5:15] = line[14, 5:15] = line[5:15, 5] = line[5:15, 14] = 0
    target = np.full((size, size, 3), 255, np.uint8)
    target[6:14, 6:14] = (220, 40, 40)
    target[line == 0] = 0
    return target.copy(), target, line


def test_page_pixels_leave_out_foreground_and_lines_grown_by_one_pixel():
    _, target, line = _page_case()
    page = metrics.page_pixels(target, line)
    assert not page[6:14, 6:14].any()  # foreground
    assert not page[4:16, 4:16].any()  # the outline and 1 px around it (inside it is foreground anyway)
    assert page[3, 3] and page[0, 0] and page[16, 10]
    assert page.sum() == 20 * 20 - 12 * 12


def test_page_leak_counts_tinted_page_pixels():
    pred, target, line = _page_case()
    assert metrics.page_leak(pred, target, line) == 0.0  # the target itself leaks nothing
    page_count = 20 * 20 - 12 * 12
    leaked = pred.copy()
    leaked[:2] = (255, 220, 200)  # a pale skin tone on the top two rows: chroma 17
    assert metrics.page_leak(leaked, target, line) == pytest.approx(40 / page_count)
    # Color inside the shape or on the outline's 1 px fringe is not a leak; 2 px out it is.
    inside = pred.copy()
    inside[4:16, 4:16] = (0, 0, 255)
    assert metrics.page_leak(inside, target, line) == 0.0
    inside[3, 8] = (0, 0, 255)
    assert metrics.page_leak(inside, target, line) == pytest.approx(1 / page_count)


@pytest.mark.parametrize("level, leaks", [(240, False), (235, False), (225, True), (128, True)])
def test_page_leak_of_a_gray_page_follows_lightness_90(level, leaks):
    # sRGB gray 235 is L 93.1 and 225 is L 89.5 (the threshold is L 90).
    pred, target, line = _page_case()
    pred[np.all(target == 255, axis=2)] = level
    assert metrics.page_leak(pred, target, line) == (1.0 if leaks else 0.0)


def test_page_leak_chroma_threshold():
    pred, target, line = _page_case()
    page = np.all(target == 255, axis=2)
    pred[page] = (255, 248, 235)  # cream: chroma 7.1 at L 97.8
    lab = rgb2lab(np.array([[[255, 248, 235]]], np.uint8))[0, 0]
    assert math.hypot(lab[1], lab[2]) > 6 and lab[0] > 90
    assert metrics.page_leak(pred, target, line) == 1.0
    pred[page] = (252, 248, 240)  # a paler cream: chroma 4.3
    assert metrics.page_leak(pred, target, line) == 0.0


def test_page_leak_undefined_without_page_and_checks_shapes():
    target = np.full((6, 6, 3), 100, np.uint8)
    line = np.full((6, 6), 255, np.uint8)
    assert math.isnan(metrics.page_leak(target, target, line))
    with pytest.raises(ImageError, match="line art"):
        metrics.page_leak(target, target, line[:5])
    with pytest.raises(ImageError, match="line art"):
        metrics.page_leak(target, target, line.astype(np.float32))


def test_page_is_the_white_connected_to_the_border_not_a_white_shape_inside():
    from sketchcolor.metrics import page_leak, page_pixels

    line = np.full((40, 40), 255, np.uint8)
    line[10, 10:30] = line[29, 10:30] = 0
    line[10:30, 10] = line[10:30, 29] = 0
    target = np.full((40, 40, 3), 255, np.uint8)  # white inside and outside the box
    page = page_pixels(target, line)
    assert page[2, 2] and not page[20, 20]
    pred = target.copy()
    pred[12:28, 12:28] = (200, 40, 40)  # the white shape inside is colored: no leak
    assert page_leak(pred, target, line) == 0.0
    pred[0:5] = (200, 40, 40)  # the paper at the top is
    assert 0 < page_leak(pred, target, line) < 0.5
