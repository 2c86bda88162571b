"""Augmentation of (line art, color) pairs: one typed config, albumentations pipelines, and line-only effects.

Three groups, applied in this order by :class:`PairAugmenter`:

- geometric (flips, affine shift/scale/rotate, random resized crop), applied with identical parameters to the
  line art and the color picture (albumentations ``additional_targets``), new pixels filled white;
- line-only style: swap in a synthetic extractor's line art (``sketchcolor.sketch``), thickness, small gaps,
  contrast, blur, noise, JPEG; or instead of all of these, a real drawing's look (:func:`real_style`: thin, broken,
  sketchy, pencil lines on toned paper, photographed, cleaned back to a gray page as the pipeline cleans it);
- colour side: :func:`rotate_hue` of the target (the dataset applies it only to samples that carry hints, so a
  net learns to follow hints instead of its priors).

All randomness comes from the ``np.random.Generator`` passed per call, so a sample is a pure function of its seed.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from typing import Any

import albumentations as A
import cv2
import numpy as np

from sketchcolor import sketch
from sketchcolor.errors import ConfigError
from sketchcolor.regions import LINE_THRESHOLD

_RANGES = ("scale", "crop_scale", "blur_sigma", "noise_std", "jpeg_quality", "gaps", "gap_px")


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities (``p_*``, each in [0, 1]) and ranges of every augmentation; validated on creation.

    Geometric (line and color together): ``p_hflip``, ``p_vflip``, ``p_affine`` with ``scale`` (factor range),
    ``translate`` (max shift as a fraction of the side), ``rotate_deg`` (max rotation, degrees); ``p_crop`` with
    ``crop_scale`` (area fraction range of a random resized crop).
    Line only: ``p_real_style`` (redraw the line art as a real drawing and clean its paper, :func:`real_style`;
    when it fires, none of the other line-only effects do); ``p_synthetic`` (replace the real line art by a
    synthetic extractor's, one of ``synthetic_methods``); ``p_thickness`` (thicken or thin by 1..``thickness_px``
    pixels); ``p_gaps`` (erase ``gaps`` short pieces of line, each ``gap_px`` pixels across); ``p_contrast``
    (``contrast`` limit); ``p_blur`` (``blur_sigma`` pixels); ``p_noise`` (``noise_std`` as a fraction of 255);
    ``p_jpeg`` (``jpeg_quality``).
    Colour side: ``p_hue`` (rotate the target's hue by up to ``hue_deg`` degrees, hinted samples only);
    ``p_flat_gray`` (gray task: use the outline-free flat render as the target).
    """

    p_hflip: float = 0.5
    p_vflip: float = 0.0
    p_affine: float = 0.5
    scale: tuple[float, float] = (0.8, 1.15)
    translate: float = 0.08
    rotate_deg: float = 15.0
    p_crop: float = 0.25
    crop_scale: tuple[float, float] = (0.5, 1.0)
    p_real_style: float = 0.0
    p_synthetic: float = 0.25
    synthetic_methods: tuple[str, ...] = ("xdog", "canny", "regions")
    p_thickness: float = 0.3
    thickness_px: int = 1
    p_gaps: float = 0.3
    gaps: tuple[int, int] = (1, 6)
    gap_px: tuple[int, int] = (2, 5)
    p_contrast: float = 0.3
    contrast: float = 0.3
    p_blur: float = 0.15
    blur_sigma: tuple[float, float] = (0.3, 1.0)
    p_noise: float = 0.15
    noise_std: tuple[float, float] = (0.02, 0.08)
    p_jpeg: float = 0.15
    jpeg_quality: tuple[int, int] = (40, 95)
    p_hue: float = 0.5
    hue_deg: float = 180.0
    p_flat_gray: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.startswith("p_") and not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ConfigError(f"AugmentConfig.{f.name} must be a probability in [0, 1], got {value!r}")
            if f.name in _RANGES:
                if not (isinstance(value, (tuple, list)) and len(value) == 2 and value[0] <= value[1]):
                    raise ConfigError(f"AugmentConfig.{f.name} must be a (low, high) pair with low <= high, got {value!r}")
                if value[0] < 0:
                    raise ConfigError(f"AugmentConfig.{f.name} must not be negative, got {value!r}")
        checks = [
            ("scale", self.scale[0] > 0, "factors > 0"),
            ("crop_scale", 0 < self.crop_scale[0] and self.crop_scale[1] <= 1, "area fractions in (0, 1]"),
            ("translate", 0 <= self.translate <= 0.5, "a fraction in [0, 0.5]"),
            ("rotate_deg", 0 <= self.rotate_deg <= 180, "degrees in [0, 180]"),
            ("thickness_px", isinstance(self.thickness_px, int) and 0 <= self.thickness_px <= 4, "an int in [0, 4]"),
            ("gap_px", self.gap_px[0] >= 1, "pixels >= 1"),
            ("contrast", 0 <= self.contrast <= 1, "a limit in [0, 1]"),
            ("noise_std", self.noise_std[1] <= 1, "fractions of 255 in [0, 1]"),
            ("jpeg_quality", 1 <= self.jpeg_quality[0] and self.jpeg_quality[1] <= 100, "qualities in [1, 100]"),
            ("hue_deg", 0 <= self.hue_deg <= 180, "degrees in [0, 180]"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError(f"AugmentConfig.{name} must be {expected}, got {getattr(self, name)!r}")
        unknown = [m for m in self.synthetic_methods if m not in sketch.EXTRACTORS]
        if unknown or not self.synthetic_methods:
            raise ConfigError(
                f"AugmentConfig.synthetic_methods must be a non-empty subset of {sorted(sketch.EXTRACTORS)}, "
                f"got {list(self.synthetic_methods)!r}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AugmentConfig:
        """Build from a JSON-style dict (lists become tuples); unknown keys raise ConfigError naming the allowed ones."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(f"unknown AugmentConfig key(s) {unknown}; allowed: {sorted(allowed)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def none(cls) -> AugmentConfig:
        """Every probability zero: the pair passes through unchanged (evaluation)."""
        return cls(**{f.name: 0.0 for f in fields(cls) if f.name.startswith("p_")})


def rotate_hue(rgb_u8: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate the hue of an RGB uint8 (H, W, 3) picture by ``degrees``; grays (white page, black lines) stay put."""
    hsv = cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2HSV_FULL)
    # HSV_FULL stores hue as 0-255 for 0-360 degrees; uint8 addition wraps around exactly like the hue circle.
    shift = np.uint8(round(degrees / 360.0 * 256.0) % 256)
    hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)


def erase_gaps(line_u8: np.ndarray, rng: np.random.Generator, count: int, size_px: tuple[int, int]) -> np.ndarray:
    """Cut ``count`` short gaps into the lines: white discs of diameter in ``size_px`` centred on random line pixels."""
    ys, xs = np.nonzero(line_u8 <= LINE_THRESHOLD)
    if count <= 0 or len(ys) == 0:
        return line_u8
    out = line_u8.copy()
    picks = rng.integers(len(ys), size=count)
    diameters = rng.integers(size_px[0], size_px[1] + 1, size=count)
    for i, d in zip(picks, diameters):
        cv2.circle(out, (int(xs[i]), int(ys[i])), max(1, int(d) // 2), 255, thickness=-1)
    return out


def real_style(line_u8: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W) uint8 line art -> (H, W) uint8 gray page: redrawn by ``linestyles.realistic_lines`` (default styles),
    then its paper mapped to white by ``paper.clean_page``, so the nets train on what the pipeline feeds them."""
    from sketchcolor.linestyles import realistic_lines
    from sketchcolor.paper import clean_page

    return clean_page(realistic_lines(line_u8, rng)).gray


class PairAugmenter:
    """Applies an :class:`AugmentConfig` to square uint8 pairs of side ``size``.

    ``geometric(line_u8 (H, W), color_u8 (H, W, 3), rng)`` keeps them aligned; ``style_line(line_u8, source_u8, rng)``
    changes only the line art (``source_u8`` is the color picture a synthetic extractor may draw from).
    """

    def __init__(self, cfg: AugmentConfig, size: int) -> None:
        self.cfg = cfg
        self.size = size
        geometric = [
            A.HorizontalFlip(p=cfg.p_hflip),
            A.VerticalFlip(p=cfg.p_vflip),
            A.Affine(
                scale=cfg.scale,
                translate_percent=(-cfg.translate, cfg.translate),
                rotate=(-cfg.rotate_deg, cfg.rotate_deg),
                interpolation=cv2.INTER_LINEAR,
                border_mode=cv2.BORDER_CONSTANT,
                fill=255,
                p=cfg.p_affine,
            ),
            A.RandomResizedCrop(size=(size, size), scale=cfg.crop_scale, p=cfg.p_crop),
        ]
        # Only transforms that can fire are kept, so an all-zero config costs nothing per sample.
        self._geometric = A.Compose([t for t in geometric if t.p > 0], additional_targets={"color": "image"})
        style = [
            A.RandomBrightnessContrast(brightness_limit=0.0, contrast_limit=cfg.contrast, p=cfg.p_contrast),
            A.GaussianBlur(sigma_limit=cfg.blur_sigma, p=cfg.p_blur),
            A.GaussNoise(std_range=cfg.noise_std, p=cfg.p_noise),
            A.ImageCompression(quality_range=cfg.jpeg_quality, p=cfg.p_jpeg),
        ]
        self._style = A.Compose([t for t in style if t.p > 0])

    @staticmethod
    def _seed(pipeline: A.Compose, rng: np.random.Generator) -> None:
        # albumentations draws from the generators it is handed; giving it ours makes a sample a function of its seed.
        pipeline.set_random_state(rng, random.Random(int(rng.integers(2**63))))

    def geometric(
        self, line_u8: np.ndarray, color_u8: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Same flips/affine/crop on both; returns (line_u8 (size, size), color_u8 (size, size, 3))."""
        if not self._geometric.transforms:
            return line_u8, color_u8
        self._seed(self._geometric, rng)
        out = self._geometric(image=line_u8, color=color_u8)
        return out["image"], out["color"]

    def style_line(
        self, line_u8: np.ndarray, source_u8: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, str | None]:
        """Line-only effects; returns (line_u8, name of the synthetic extractor used or None)."""
        cfg = self.cfg
        if cfg.p_real_style > 0 and rng.random() < cfg.p_real_style:
            return real_style(line_u8, rng), None
        extractor = None
        if cfg.p_synthetic > 0 and rng.random() < cfg.p_synthetic:
            extractor, line_u8 = sketch.random_lines(source_u8, rng, cfg.synthetic_methods)
        if cfg.p_thickness > 0 and cfg.thickness_px > 0 and rng.random() < cfg.p_thickness:
            px = int(rng.integers(1, cfg.thickness_px + 1))
            line_u8 = sketch.thicken(line_u8, px) if rng.random() < 0.5 else sketch.thin(line_u8, px)
        if cfg.p_gaps > 0 and rng.random() < cfg.p_gaps:
            count = int(rng.integers(cfg.gaps[0], cfg.gaps[1] + 1))
            line_u8 = erase_gaps(line_u8, rng, count, cfg.gap_px)
        if self._style.transforms:
            self._seed(self._style, rng)
            line_u8 = self._style(image=line_u8)["image"]
        return line_u8, extractor

    def hue_degrees(self, rng: np.random.Generator) -> float | None:
        """Degrees to rotate a hinted target by, or None (no rotation this time)."""
        if self.cfg.p_hue > 0 and rng.random() < self.cfg.p_hue:
            return float(rng.uniform(-self.cfg.hue_deg, self.cfg.hue_deg))
        return None
