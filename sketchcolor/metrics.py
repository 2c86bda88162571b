"""Image-quality metrics of the evaluation protocol (docs: /work/shared/EVALUATION.md), on uint8 RGB pictures.

Every function takes ``(H, W, 3) uint8`` RGB numpy pictures (prediction first, target second where there are
two) and returns a Python float. Foreground is the target's non-page pixels: any channel ``< 245``.
:func:`page_leak` also takes the clean line art, ``(H, W) uint8``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from skimage.color import deltaE_ciede2000, rgb2lab
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from sketchcolor.errors import ImageError
from sketchcolor.regions import LINE_THRESHOLD, PAGE_WHITE, on_border

AUC_MAX_THRESHOLD = 150
# A page pixel counts as tinted above this CIELAB chroma or below this L (paper white is L 100, chroma 0).
PAGE_LEAK_CHROMA = 6.0
PAGE_LEAK_L = 90.0


def _check_rgb(*pictures: np.ndarray) -> list[np.ndarray]:
    checked = []
    for picture in pictures:
        picture = np.asarray(picture)
        if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
            raise ImageError(f"expected an (H, W, 3) uint8 RGB picture, got {picture.dtype} {picture.shape}")
        checked.append(picture)
    if any(p.shape != checked[0].shape for p in checked):
        raise ImageError(f"pictures differ in shape: {[p.shape for p in checked]}")
    return checked


def foreground_mask(target_u8: np.ndarray) -> np.ndarray:
    """bool (H, W): target pixels that are not page white (any channel < 245)."""
    (target_u8,) = _check_rgb(target_u8)
    return np.any(target_u8 < PAGE_WHITE, axis=2)


def psnr(pred_u8: np.ndarray, target_u8: np.ndarray) -> float:
    """RGB PSNR in dB over the whole picture, data range 255; ``inf`` for identical pictures."""
    pred_u8, target_u8 = _check_rgb(pred_u8, target_u8)
    if np.array_equal(pred_u8, target_u8):
        return math.inf
    return float(peak_signal_noise_ratio(target_u8, pred_u8, data_range=255))


def _foreground_lab(pred_u8: np.ndarray, target_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Lab (N, 3) of prediction and target at the target's foreground pixels, or None if there are none."""
    pred_u8, target_u8 = _check_rgb(pred_u8, target_u8)
    mask = np.any(target_u8 < PAGE_WHITE, axis=2)
    if not mask.any():
        return None
    # Convert only the foreground pixels, as an (N, 1, 3) picture.
    pred_lab = rgb2lab(pred_u8[mask][:, None, :])[:, 0, :]
    target_lab = rgb2lab(target_u8[mask][:, None, :])[:, 0, :]
    return pred_lab, target_lab


def de2000(pred_u8: np.ndarray, target_u8: np.ndarray) -> float:
    """Mean CIEDE2000 color difference over the target's foreground; NaN when the target is all page."""
    labs = _foreground_lab(pred_u8, target_u8)
    if labs is None:
        return math.nan
    pred_lab, target_lab = labs
    return float(np.mean(deltaE_ciede2000(target_lab, pred_lab)))


def auc_from_distances(distances: np.ndarray, max_threshold: int = AUC_MAX_THRESHOLD) -> float:
    """Mean over thresholds t = 0, 1, ..., max_threshold of the fraction of ``distances <= t``."""
    distances = np.asarray(distances, dtype=np.float64).ravel()
    thresholds = np.arange(max_threshold + 1, dtype=np.float64)
    # For each distance, the number of thresholds it is within: those t >= d, i.e. t >= ceil(d).
    first = np.ceil(distances)
    within = np.clip(max_threshold + 1 - first, 0, thresholds.size)
    return float(within.sum() / (distances.size * thresholds.size))


def auc(pred_u8: np.ndarray, target_u8: np.ndarray) -> float:
    """Zhang et al. 2016 raw accuracy (AuC): ab L2 distance per foreground pixel, thresholds 0..150, mean.

    NaN when the target is all page.
    """
    labs = _foreground_lab(pred_u8, target_u8)
    if labs is None:
        return math.nan
    pred_lab, target_lab = labs
    distances = np.linalg.norm(pred_lab[:, 1:] - target_lab[:, 1:], axis=1)
    return auc_from_distances(distances)


def lightness(image_u8: np.ndarray) -> np.ndarray:
    """CIE L (H, W) float64 in [0, 100] of an (H, W, 3) uint8 RGB picture, or of an (H, W) uint8 gray one."""
    image_u8 = np.asarray(image_u8)
    if image_u8.ndim == 2:
        image_u8 = np.repeat(image_u8[:, :, None], 3, axis=2)
    (image_u8,) = _check_rgb(image_u8)
    return rgb2lab(image_u8)[:, :, 0]


def l_ssim(pred_l: np.ndarray, target_l: np.ndarray) -> float:
    """SSIM of two (H, W) CIE L planes in [0, 100]: Gaussian weights, sigma 1.5, no sample covariance."""
    pred_l = np.asarray(pred_l, dtype=np.float64)
    target_l = np.asarray(target_l, dtype=np.float64)
    if pred_l.ndim != 2 or pred_l.shape != target_l.shape:
        raise ImageError(f"expected two (H, W) L planes of one shape, got {pred_l.shape} and {target_l.shape}")
    return float(
        structural_similarity(
            target_l, pred_l, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=100.0
        )
    )


def l_psnr(pred_l: np.ndarray, target_l: np.ndarray) -> float:
    """PSNR in dB of two (H, W) CIE L planes (data range 100); ``inf`` when they are identical."""
    pred_l = np.asarray(pred_l, dtype=np.float64)
    target_l = np.asarray(target_l, dtype=np.float64)
    if pred_l.ndim != 2 or pred_l.shape != target_l.shape:
        raise ImageError(f"expected two (H, W) L planes of one shape, got {pred_l.shape} and {target_l.shape}")
    if np.array_equal(pred_l, target_l):
        return math.inf
    return float(peak_signal_noise_ratio(target_l, pred_l, data_range=100.0))


def ssim_l(pred_u8: np.ndarray, target_u8: np.ndarray) -> float:
    """SSIM of the CIE L channel of two pictures (see :func:`l_ssim`).

    Either picture may be (H, W, 3) RGB or (H, W) gray (then its L is that of the gray RGB picture).
    """
    return l_ssim(lightness(pred_u8), lightness(target_u8))


def colorfulness(image_u8: np.ndarray) -> float:
    """Hasler & Suesstrunk 2003 colorfulness M = sigma_rgyb + 0.3 * mu_rgyb over the whole picture.

    rg = R - G and yb = (R + G) / 2 - B on the 0-255 scale (signed), sigma_rgyb = sqrt(sigma_rg^2 + sigma_yb^2)
    and mu_rgyb = sqrt(mu_rg^2 + mu_yb^2). Gray pictures score 0.
    """
    (image_u8,) = _check_rgb(image_u8)
    rgb = image_u8.astype(np.float64)
    rg = rgb[:, :, 0] - rgb[:, :, 1]
    yb = 0.5 * (rgb[:, :, 0] + rgb[:, :, 1]) - rgb[:, :, 2]
    sigma = math.hypot(float(rg.std()), float(yb.std()))
    mu = math.hypot(float(rg.mean()), float(yb.mean()))
    return sigma + 0.3 * mu


def page_pixels(target_u8: np.ndarray, line_u8: np.ndarray) -> np.ndarray:
    """bool (H, W): the target's paper: page white (every channel >= 245), off the clean line art's lines, and
    connected to the picture's border through such pixels (a white shape inside the drawing, an eye's white, is
    no paper).

    A line is line art ``<= LINE_THRESHOLD``, grown by 1 px (3x3) so anti-aliased stroke edges do not count.
    """
    (target_u8,) = _check_rgb(target_u8)
    line_u8 = np.asarray(line_u8)
    if line_u8.dtype != np.uint8 or line_u8.shape != target_u8.shape[:2]:
        raise ImageError(f"expected (H, W) uint8 line art of the target's size {target_u8.shape[:2]}, "
                         f"got {line_u8.dtype} {line_u8.shape}")
    on_line = ndimage.binary_dilation(line_u8 <= LINE_THRESHOLD, structure=np.ones((3, 3), bool))
    white = np.all(target_u8 >= PAGE_WHITE, axis=2) & ~on_line
    parts, _ = ndimage.label(white)
    return on_border(parts)[parts]


def page_leak_counts(pred_u8: np.ndarray, target_u8: np.ndarray, line_u8: np.ndarray) -> tuple[int, int]:
    """``(tinted, paper)``: how many of the target's paper pixels (:func:`page_pixels`) the prediction tints
    (CIELAB chroma > 6 or L < 90), and how many there are."""
    pred_u8, target_u8 = _check_rgb(pred_u8, target_u8)
    page = page_pixels(target_u8, line_u8)
    if not page.any():
        return 0, 0
    lab = rgb2lab(pred_u8[page][:, None, :])[:, 0, :]
    tinted = (np.hypot(lab[:, 1], lab[:, 2]) > PAGE_LEAK_CHROMA) | (lab[:, 0] < PAGE_LEAK_L)
    return int(tinted.sum()), int(page.sum())


def page_leak(pred_u8: np.ndarray, target_u8: np.ndarray, line_u8: np.ndarray) -> float:
    """Share of the target's paper pixels (:func:`page_pixels`) that the prediction tints: CIELAB chroma > 6 or
    L < 90. Measures color or gray spilling onto the paper (an outline gap, a toned paper left in); NaN when the
    target has no paper."""
    tinted, paper = page_leak_counts(pred_u8, target_u8, line_u8)
    return tinted / paper if paper else math.nan


def all_metrics(pred_u8: np.ndarray, target_u8: np.ndarray) -> dict[str, float]:
    """Every per-picture metric of the protocol: psnr, de2000, auc, ssim_l, colorfulness (pred and target)."""
    return {
        "psnr": psnr(pred_u8, target_u8),
        "de2000": de2000(pred_u8, target_u8),
        "auc": auc(pred_u8, target_u8),
        "ssim_l": ssim_l(pred_u8, target_u8),
        "colorfulness": colorfulness(pred_u8),
        "colorfulness_target": colorfulness(target_u8),
    }
