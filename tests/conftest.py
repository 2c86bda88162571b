"""Shared fixtures: small synthetic pictures drawn with PIL under a fixed seed, and a tiny random checkpoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

# Configs small enough that a forward pass at 256² takes milliseconds; random weights, fixed seed.
TINY_CONFIGS = {
    "inversion": {"width": 8, "stem_width": 4, "levels": 2, "bottleneck_blocks": 1, "max_width": 16},
    "color": {"width": 8, "levels": 2, "bottleneck_blocks": 1, "max_width": 16, "head_width": 16},
}


def draw_line_art(width: int = 1000, height: int = 700, seed: int = 0, line_px: int = 4) -> Image.Image:
    """Black outlines of a few closed shapes on white paper (mode "L")."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = rng.integers(0, width * 3 // 4), rng.integers(0, height * 3 // 4)
        w, h = rng.integers(width // 8, width // 3), rng.integers(height // 8, height // 3)
        box = [int(x0), int(y0), int(min(width - 2, x0 + w)), int(min(height - 2, y0 + h))]
        if rng.random() < 0.5:
            draw.ellipse(box, outline=0, width=line_px)
        else:
            draw.rectangle(box, outline=0, width=line_px)
    return img


def draw_flat_color(width: int = 256, height: int = 256, seed: int = 0) -> Image.Image:
    """Flat colored shapes with black outlines on white (mode "RGB"): a cartoon-like target."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = rng.integers(0, width // 2), rng.integers(0, height // 2)
        w, h = rng.integers(width // 5, width // 2), rng.integers(height // 5, height // 2)
        fill = tuple(int(c) for c in rng.integers(30, 230, 3))
        draw.ellipse([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=fill, outline=(0, 0, 0), width=3)
    return img


@pytest.fixture
def line_art() -> Image.Image:
    return draw_line_art()


@pytest.fixture
def gray_picture() -> Image.Image:
    """A shaded grayscale picture: gradients and filled shapes (mode "L", 640×480)."""
    x = np.linspace(0, 1, 640)[None, :]
    y = np.linspace(0, 1, 480)[:, None]
    gray = (40 + 180 * (0.6 * x + 0.4 * y)).astype(np.uint8)
    img = Image.fromarray(gray, "L")
    draw = ImageDraw.Draw(img)
    draw.ellipse([100, 80, 300, 260], fill=90)
    draw.rectangle([380, 200, 600, 420], fill=200)
    return img


def make_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    from sketchcolor.checkpoint import save_checkpoint
    from sketchcolor.models import build_model

    torch.manual_seed(seed)
    models = {name: build_model(name, cfg) for name, cfg in TINY_CONFIGS.items()}
    return save_checkpoint(folder, models, meta={"note": "random weights for tests"}, extra_config={"working_size": 128})


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint folder with both nets, tiny and randomly initialized (shared by the whole session)."""
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny")


def write_png_header(path: Path, width: int, height: int, bit_depth: int = 1, color_type: int = 0) -> Path:
    """A PNG whose header claims ``width`` × ``height`` with a tiny IDAT: a decompression bomb, cheaply."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
                     + chunk(b"IEND", b""))
    return path
