"""Tests for sketchcolor.data.files: PNGs of a pair dataset written atomically and read back as uint8."""

import os

import numpy as np
import pytest

from sketchcolor.data.files import read_gray_u8, read_rgb_u8, write_png
from sketchcolor.errors import DataError


def test_png_round_trip_creates_folders_and_leaves_only_the_picture(tmp_path):
    rng = np.random.default_rng(0)
    rgb_u8 = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    gray_u8 = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    assert write_png(tmp_path / "color" / "a.png", rgb_u8) == tmp_path / "color" / "a.png"
    write_png(tmp_path / "line" / "a.png", gray_u8)
    assert np.array_equal(read_rgb_u8(tmp_path / "color" / "a.png"), rgb_u8)
    assert np.array_equal(read_gray_u8(tmp_path / "line" / "a.png"), gray_u8)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.png", "a.png", "color", "line"]


def test_failed_write_keeps_the_old_picture_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = write_png(tmp_path / "a.png", np.zeros((2, 2), np.uint8))
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_png(path, np.full((2, 2), 255, np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    assert path.read_bytes() == before


def test_bad_arrays_and_missing_pictures_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="expects uint8"):
        write_png(tmp_path / "a.png", np.zeros((2, 2), np.float32))
    with pytest.raises(DataError, match="cannot read picture"):
        read_gray_u8(tmp_path / "missing.png")
    assert list(tmp_path.iterdir()) == []
