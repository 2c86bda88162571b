"""Tests for the data tools: the contact sheet (sketchcolor.data.preview) and the loader bench (sketchcolor.data.bench)."""

import numpy as np
import pytest
from PIL import Image

from sketchcolor.data import bench, preview
from sketchcolor.data.dataset import PairDataset
from sketchcolor.data.files import write_png
from sketchcolor.data.manifest import ManifestEntry, write_manifest

SIZE = 48


@pytest.fixture
def manifest(tmp_path):
    entries = []
    for i in range(5):
        color = np.full((SIZE, SIZE, 3), 255, np.uint8)
        color[8:40, 8:40] = (200 - 30 * i, 80, 40 + 40 * i)
        color[8:40, 8:10] = 0
        line = np.where((color == 0).all(axis=2), 0, 255).astype(np.uint8)
        write_png(tmp_path / "line" / f"{i}.png", line)
        write_png(tmp_path / "color" / f"{i}.png", color)
        entries.append(ManifestEntry(str(i), str(i), "train", f"line/{i}.png", f"color/{i}.png"))
    return write_manifest(tmp_path / "manifest.jsonl", entries)


def test_preview_writes_a_contact_sheet(manifest, tmp_path):
    out = tmp_path / "sheet" / "preview.png"
    assert preview.main(["--data", str(manifest), "--out", str(out), "--n", "5", "--size", str(SIZE)]) == 0
    sheet = Image.open(out)
    assert sheet.mode == "RGB"
    # 4 samples per row, 4 panels of 128 px each (+ gaps): two rows for five samples.
    assert sheet.width == 4 * (4 * 128 + 6) and sheet.height == 2 * (128 + preview.CAPTION_PX + 6) + preview.CAPTION_PX
    pixels = np.asarray(sheet)
    assert pixels.std() > 20, "panels are drawn, not a blank page"


def test_sample_panels_show_hints_and_fill(manifest):
    pytest.importorskip("sketchcolor.hints")
    ds = PairDataset(manifest, size=SIZE, hints=preview.default_hint_config(), seed=1)
    sample = next(s for s in (ds[i] for i in range(len(ds))) if s["hint_mask"].sum() > 0)
    panels = preview.sample_panels(sample, SIZE)  # panel size = sample size: no resampling
    assert [p.shape for p in panels] == [(SIZE, SIZE, 3)] * 4
    unfilled = sample["fill_mask"][0].numpy() == 0
    assert (panels[3][unfilled] == preview.UNFILLED).all() and not (panels[3][~unfilled] == preview.UNFILLED).all()
    np.testing.assert_array_equal(panels[0][..., 0], np.round(sample["line"][0].numpy() * 255))


def test_missing_manifest_is_a_clean_error(tmp_path):
    assert preview.main(["--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "p.png")]) == 2
    assert bench.main(["--data", str(tmp_path / "none.jsonl")]) == 2


def test_bench_measures_and_prints_a_markdown_table(manifest, capsys):
    ds = PairDataset(manifest, size=SIZE)
    samples, seconds, cpu = bench.measure(ds, 0, batch_size=2, batches=1)
    assert samples == 2 and seconds > 0 and cpu >= 0
    assert bench.main(["--data", str(manifest), "--workers", "0", "--batch-size", "2", "--batches", "1",
                       "--size", str(SIZE), "--no-hints"]) == 0
    out = capsys.readouterr().out
    assert "| workers | samples | seconds | samples/s |" in out and "\n| 0 | 2 |" in out
