"""Tests for sketchcolor.data.dataset.PairDataset: tensors, alignment, determinism, hints/fills, bad entries."""

import json
import logging
import sys
import types

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from sketchcolor.data.augment import AugmentConfig
from sketchcolor.data.dataset import PairDataset, rgb_u8_to_lab, worker_init_fn
from sketchcolor.data.files import write_png
from sketchcolor.data.manifest import ManifestEntry, write_manifest
from sketchcolor.errors import ConfigError, DataError

SIZE = 64
FILLS = [(250, 200, 40), (60, 120, 230), (230, 70, 70)]


def make_pair(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line_u8, color_u8, flat_u8): line pixels are exactly the black pixels of the color picture."""
    rng = np.random.default_rng(seed)
    flat = np.full((SIZE, SIZE, 3), 255, np.uint8)
    circles = []
    for fill in FILLS:
        center = tuple(int(v) for v in rng.integers(16, 48, 2))
        radius = int(rng.integers(7, 15))
        cv2.circle(flat, center, radius, fill, thickness=-1)
        circles.append((center, radius))
    color = flat.copy()
    for center, radius in circles:
        cv2.circle(color, center, radius, (0, 0, 0), thickness=2)
    line = np.where((color == 0).all(axis=2), 0, 255).astype(np.uint8)
    return line, color, flat


@pytest.fixture
def manifest(tmp_path):
    entries = []
    for i in range(6):
        line, color, flat = make_pair(i)
        for kind, image in (("line", line), ("color", color), ("flat", flat)):
            write_png(tmp_path / kind / f"p{i}.png", image)
        entries.append(ManifestEntry(f"p{i}", f"p{i}", "train", f"line/p{i}.png", f"color/p{i}.png", f"flat/p{i}.png",
                                     "test", "CC0"))
    return write_manifest(tmp_path / "manifest.jsonl", entries)


@pytest.fixture
def fake_hints(monkeypatch):
    """A stand-in for sketchcolor.hints.simulate_hints: 3 single-pixel hints at allowed places (records calls)."""
    calls = []

    def simulate_hints(lab, rng, cfg, allowed=None):
        h, w = lab.shape[1:]
        candidates = np.argwhere(allowed if allowed is not None else np.ones((h, w), bool))
        ab = torch.zeros(2, h, w)
        mask = torch.zeros(1, h, w)
        for y, x in candidates[rng.integers(len(candidates), size=3)]:
            ab[:, y, x] = lab[1:, y, x]
            mask[0, y, x] = 1.0
        calls.append(allowed)
        return ab, mask

    module = types.ModuleType("sketchcolor.hints")
    module.simulate_hints = simulate_hints
    monkeypatch.setitem(sys.modules, "sketchcolor.hints", module)
    return calls


def test_sample_has_the_documented_tensors(manifest):
    ds = PairDataset(manifest, split="train", size=SIZE, task="sketch", augment=AugmentConfig())
    assert len(ds) == 6
    s = ds[0]
    shapes = {"line": 1, "rgb": 3, "lab": 3, "hint_ab": 2, "hint_mask": 1, "fill_ab": 2, "fill_mask": 1}
    for key, channels in shapes.items():
        assert s[key].shape == (channels, SIZE, SIZE) and s[key].dtype == torch.float32, key
    assert 0 <= s["line"].min() and s["line"].max() <= 1 and 0 <= s["rgb"].min() and s["rgb"].max() <= 1
    assert 0 <= s["lab"][0].min() and s["lab"][0].max() <= 100.01 and s["lab"][1:].abs().max() < 128
    assert s["task"] == "sketch" and s["id"] == "p0"
    assert s["hint_mask"].sum() == 0 and s["fill_mask"].sum() == 0  # no hint config → no hints, no fills


def test_weights_are_the_split_entries_manifest_weights(manifest):
    rows = [json.loads(x) for x in manifest.read_text().splitlines()]
    rows[1]["weight"], rows[4]["weight"], rows[5]["split"] = 3, 0.5, "val"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = PairDataset(manifest, size=SIZE)
    assert ds.weights.dtype == np.float64
    np.testing.assert_array_equal(ds.weights, [1.0, 3.0, 1.0, 1.0, 0.5])
    with pytest.raises(AttributeError):
        ds.weights = np.ones(5)
    np.testing.assert_array_equal(PairDataset(manifest, split="val", size=SIZE).weights, [1.0])


def test_fast_lab_matches_the_color_module_and_skimage():
    from skimage.color import rgb2lab

    from sketchcolor.color import rgb_u8_to_lab_np

    rgb_u8 = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    rgb_u8[0, :4] = [[0, 0, 0], [255, 255, 255], [10, 10, 10], [128, 128, 128]]
    lab = rgb_u8_to_lab(rgb_u8)
    assert lab.dtype == np.float32 and lab.shape == (32, 32, 3)
    np.testing.assert_allclose(lab, rgb_u8_to_lab_np(rgb_u8), atol=1e-3)
    np.testing.assert_allclose(lab, rgb2lab(rgb_u8), atol=0.01)
    assert np.abs(lab[0, :4, 1:]).max() < 1e-3, "grays have a = b = 0"


def test_lab_is_the_target_in_cie_units(manifest):
    from skimage.color import rgb2lab

    s = PairDataset(manifest, size=SIZE, augment=AugmentConfig())[4]
    rgb_u8 = np.round(s["rgb"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    np.testing.assert_allclose(s["lab"].numpy().transpose(1, 2, 0), rgb2lab(rgb_u8), atol=0.02)
    white = s["rgb"].amin(0) == 1.0
    assert white.any() and s["lab"][1:, white].abs().max() < 1e-3, "the white page has a = b = 0"


def test_augmented_sample_keeps_line_on_the_dark_pixels_of_the_target(manifest):
    cfg = AugmentConfig.from_dict({**AugmentConfig.none().to_dict(), "p_hflip": 0.5, "p_affine": 1.0, "p_crop": 0.5})
    ds = PairDataset(manifest, size=SIZE, augment=cfg)
    for i in range(len(ds)):
        s = ds[i]
        line, rgb_max = s["line"][0], s["rgb"].amax(0)
        assert (line <= 0.25).sum() > 30
        assert (rgb_max[line <= 0.25] <= 0.26).all()
        assert (line[rgb_max <= 0.15] <= 0.81).all()


def test_samples_are_reproducible_and_change_with_the_epoch(manifest):
    ds = PairDataset(manifest, size=SIZE, task="mixed", augment=AugmentConfig(p_synthetic=0.5), seed=3)
    a, b = ds[2], ds[2]
    for key in ("line", "rgb", "lab"):
        assert torch.equal(a[key], b[key])
    assert a["task"] == b["task"]
    ds.set_epoch(1)
    differs = any(not torch.equal(ds[i]["line"], PairDataset(manifest, size=SIZE, task="mixed",
                                                             augment=AugmentConfig(p_synthetic=0.5), seed=3)[i]["line"])
                  for i in range(len(ds)))
    assert differs


def test_loader_with_workers_is_reproducible_under_torch_seed(manifest):
    ds = PairDataset(manifest, size=SIZE, augment=AugmentConfig())

    def epoch():
        torch.manual_seed(0)
        loader = DataLoader(ds, batch_size=3, num_workers=2, worker_init_fn=worker_init_fn)
        return torch.cat([batch["line"] for batch in loader])

    first, second = epoch(), epoch()
    assert first.shape == (6, 1, SIZE, SIZE) and torch.equal(first, second)
    torch.manual_seed(1)
    third = torch.cat([b["line"] for b in DataLoader(ds, batch_size=3, num_workers=2, worker_init_fn=worker_init_fn)])
    assert not torch.equal(first, third), "a new torch seed (a new epoch) gives new augmentations"


def test_hints_fall_off_lines_and_fills_cover_their_regions(manifest, fake_hints):
    pytest.importorskip("sketchcolor.regions")
    ds = PairDataset(manifest, size=SIZE, task="sketch", augment=AugmentConfig.none(), hints=object())
    s = ds[1]
    allowed = fake_hints[-1]
    assert allowed is not None and allowed.shape == (SIZE, SIZE)
    np.testing.assert_array_equal(allowed, s["line"][0].numpy() > 128 / 255)
    mask = s["hint_mask"][0] > 0
    assert 1 <= mask.sum() <= 3 and (s["line"][0][mask] > 0.5).all()
    # The fill covers at least the hinted pixels and carries the hinted colors there.
    assert (s["fill_mask"][0][mask] == 1).all()
    torch.testing.assert_close(s["fill_ab"][:, mask], s["hint_ab"][:, mask])
    assert s["fill_mask"].sum() > mask.sum()


def test_real_hint_simulation_centres_hints_off_lines(manifest):
    hints = pytest.importorskip("sketchcolor.hints")
    ds = PairDataset(manifest, size=SIZE, task="sketch", augment=AugmentConfig(), hints=hints.HintSimConfig())
    hinted = 0
    for i in range(len(ds)):
        s = ds[i]
        mask = s["hint_mask"][0] > 0
        if not mask.any():
            continue
        hinted += 1
        # Centres fall off the lines; a patch around one may overlap a line by a few pixels.
        assert (s["line"][0][mask] > 128 / 255).float().mean() >= 0.7
        assert s["hint_ab"].abs().max() <= 128 and s["fill_ab"].abs().max() <= 128
    assert hinted >= 3


def test_hue_rotation_applies_only_to_hinted_targets(manifest, fake_hints):
    pytest.importorskip("sketchcolor.regions")
    cfg = AugmentConfig.from_dict({**AugmentConfig.none().to_dict(), "p_hue": 1.0})
    plain = PairDataset(manifest, size=SIZE, augment=AugmentConfig.none())[0]
    hinted = PairDataset(manifest, size=SIZE, augment=cfg, hints=object())[0]
    assert not torch.allclose(hinted["rgb"], plain["rgb"])
    # The hints carry the rotated target's colors.
    mask = hinted["hint_mask"][0] > 0
    torch.testing.assert_close(hinted["hint_ab"][:, mask], hinted["lab"][1:, mask])
    unhinted = PairDataset(manifest, size=SIZE, augment=cfg)[0]  # no hint config: colors untouched
    assert torch.equal(unhinted["rgb"], plain["rgb"])


def test_gray_task_can_use_the_flat_render(manifest):
    cfg = AugmentConfig.from_dict({**AugmentConfig.none().to_dict(), "p_flat_gray": 1.0})
    s = PairDataset(manifest, size=SIZE, task="gray", augment=cfg)[0]
    assert s["task"] == "gray"
    assert (s["rgb"].amax(0) > 0.5).all(), "the flat render has no black outlines"
    assert (s["line"] < 0.5).any(), "the line art still comes along, aligned"


def test_corrupt_and_missing_entries_are_skipped_and_counted(manifest, caplog):
    (manifest.parent / "color" / "p1.png").write_bytes(b"garbage")
    (manifest.parent / "line" / "p2.png").unlink()
    with manifest.open("a") as f:
        f.write("{broken json\n")
    ds = PairDataset(manifest, size=SIZE)
    assert ds.bad_lines == 1 and len(ds) == 6
    with caplog.at_level(logging.WARNING, logger="sketchcolor.data.dataset"):
        ids = [ds[i]["id"] for i in range(len(ds))] + [ds[1]["id"]]
    assert ids == ["p0", "p3", "p3", "p3", "p4", "p5", "p3"]
    assert ds.skipped == 2
    assert sum("skipping dataset entry" in r.message for r in caplog.records) == 2  # logged once per entry


def test_bad_arguments(manifest, tmp_path):
    with pytest.raises(ConfigError, match="unknown task 'color'"):
        PairDataset(manifest, task="color")
    with pytest.raises(DataError, match="no usable entries"):
        PairDataset(manifest, split="test")
    with pytest.raises(DataError, match="cannot read manifest"):
        PairDataset(tmp_path / "missing.jsonl")
    (tmp_path / "all_bad").mkdir()
    rows = [json.loads(x) for x in manifest.read_text().splitlines()][:1]
    write = tmp_path / "all_bad" / "manifest.jsonl"
    write.write_text(json.dumps(rows[0]) + "\n")
    with pytest.raises(DataError, match="no readable entries"):
        PairDataset(write, size=SIZE)[0]
