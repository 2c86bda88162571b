"""Tests of the Zhang 2016 reference net's size and of `python -m sketchcolor.bench` (no assertion on speed)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from sketchcolor import bench
from sketchcolor.models import count_flops, count_parameters
from sketchcolor.reference import ZhangReferenceConfig, build_reference

PIPELINE_HEADER = "| " + " | ".join(bench.PIPELINE_COLUMNS) + " |"
NETS_HEADER = "| " + " | ".join(bench.NET_COLUMNS) + " |"


def test_reference_parameters_within_5_percent_of_32m():
    net = build_reference(device="meta")
    assert abs(count_parameters(net) - 32e6) / 32e6 < 0.05


def test_reference_flops_at_256_within_10_percent_of_84g():
    # Counted on the meta device: shapes only, so the 84-GFLOP forward never runs.
    net = build_reference(device="meta")
    flops = count_flops(net, torch.empty(1, 1, 256, 256, device="meta"))
    assert abs(flops - 84e9) / 84e9 < 0.10
    # 2 FLOPs per multiply-add: conv1_1 alone is 256²·9·64 multiply-adds (+ nothing else at full resolution).
    first = build_reference(device="meta").conv1[0]
    assert count_flops(first, torch.empty(1, 1, 256, 256, device="meta")) == 2 * 256 * 256 * 9 * 64


def test_reference_output_shape_and_flops_scale_with_pixels():
    net = build_reference(ZhangReferenceConfig(num_classes=313))
    with torch.inference_mode():
        logits = net(torch.zeros(2, 1, 32, 48))
    assert logits.shape == (2, 313, 8, 12)
    meta = build_reference(device="meta")
    small = count_flops(meta, torch.empty(1, 1, 64, 64, device="meta"))
    full = count_flops(meta, torch.empty(1, 1, 256, 256, device="meta"))
    assert full == 16 * small  # fully convolutional: cost is linear in pixels


def test_latency_stats_percentiles():
    stats = bench.latency_stats([0.001 * i for i in range(1, 11)])
    assert stats["p50_ms"] == pytest.approx(5.5)
    assert stats["p90_ms"] == pytest.approx(9.1)
    assert stats["runs"] == 10


def test_peak_rss_is_at_least_current():
    assert bench.peak_rss_bytes() >= bench.current_rss_bytes() > 10 * 1024 * 1024


@pytest.mark.parametrize("mode", bench.MODES)
def test_synthetic_picture_is_deterministic(mode):
    a = bench.synthetic_picture(96, mode, seed=3)
    b = bench.synthetic_picture(96, mode, seed=3)
    assert a.mode == "RGB" and a.size == (96, 96)
    assert a.tobytes() == b.tobytes()
    hints = bench.synthetic_hints(96, 4, seed=3)
    assert len(hints) == 4 and all(0 <= h.x < 96 and 0 <= h.y < 96 for h in hints)


def test_run_bench_in_process_makes_the_tables(tiny_checkpoint, monkeypatch, tmp_path):
    # Same orchestration as the CLI, but each "worker" runs in this process to keep the test fast.
    def in_process(task):
        task = dict(task)
        kind = task.pop("kind")
        # Nets at 64² rather than 256² (the reference's real 84-GFLOP forwards would dominate the test), and the
        # headline ratio's pipeline at 96² rather than 512².
        if kind == "pipeline":
            return bench.measure_pipeline(**task)
        if kind == "layers":
            return bench.measure_layers(**task)
        return bench.measure_nets(**task, net_size=64, ratio_size=96)

    monkeypatch.setattr(bench, "run_worker", in_process)
    config = bench.BenchConfig(checkpoint=str(tiny_checkpoint), sizes=(64, 96), threads=torch.get_num_threads(),
                               repeats=1, warmup=0, hints=2, batch=2, layer_sizes=(80,))
    report = bench.run_bench(config)
    text = bench.format_markdown(report)

    assert PIPELINE_HEADER in text and NETS_HEADER in text
    assert [(r["mode"], r["size"]) for r in report.pipeline] == [("sketch", 64), ("sketch", 96), ("gray", 64),
                                                                  ("gray", 96), ("real", 64), ("real", 96)]
    assert all("error" not in r and r["peak_rss_mib"] > 0 for r in report.pipeline)
    nets = {r["net"]: r for r in report.nets}
    assert set(nets) == {"inversion", "color", "zhang2016 reference"}
    assert nets["zhang2016 reference"]["params"] > nets["color"]["params"]
    assert abs(nets["zhang2016 reference"]["flops"] - 84e9 / 16) / (84e9 / 16) < 0.10
    assert "| cpu | zhang2016 reference | 64² | 32.235 |" in text
    # One paired ratio per thread count: the configured one, plus one thread when that was more.
    assert [r["threads"] for r in report.ratios] == sorted({config.threads, 1}, reverse=True)
    assert all(r["ratio"] > 0 and r["pairs"] == 1 for r in report.ratios)
    assert "shipped sketch pipeline at 96² = " in text and "reference net at 64²" in text
    assert [(r["format"], r["size"]) for r in report.layers] == [("ora", 80), ("psd", 80)]
    assert all(r["file_mib"] > 0 and r["ratio"] >= 1 for r in report.layers)
    assert "| " + " | ".join(bench.LAYER_COLUMNS) + " |" in text
    json.dumps(report.to_dict())  # JSON-ready


def test_missing_bundled_weights_message(monkeypatch, tmp_path):
    from sketchcolor import pipeline

    monkeypatch.setattr(pipeline, "BUNDLED_WEIGHTS", tmp_path / "none")
    with pytest.raises(SystemExit, match="--checkpoint PATH, or --random-init"):
        bench.main(["--sizes", "64", "--repeats", "1"])


def test_bad_sizes_are_refused(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--sizes", "abc"])
    assert "comma-separated pixel sizes" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_end_to_end_in_fresh_processes(tiny_checkpoint, tmp_path):
    out_md, out_json = tmp_path / "bench.md", tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "sketchcolor.bench", "--checkpoint", str(tiny_checkpoint), "--sizes", "64,96",
           "--modes", "sketch", "--repeats", "1", "--warmup", "0", "--batch", "2", "--device", "cpu",
           "--layer-sizes", "96", "--out", str(out_md), "--json", str(out_json)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = out_md.read_text()
    assert text in proc.stdout
    assert PIPELINE_HEADER in text and NETS_HEADER in text and "failed" not in text
    data = json.loads(out_json.read_text())
    assert [r["size"] for r in data["pipeline"]] == [64, 96]
    assert all(r["peak_rss_mib"] >= r["rss_loaded_mib"] > 0 for r in data["pipeline"])
    assert [(r["format"], r["size"]) for r in data["layers"]] == [("ora", 96), ("psd", 96)]


def test_the_real_picture_is_pencil_on_tinted_paper_that_reads_as_line_art():
    from sketchcolor.paper import clean_page
    from sketchcolor.pipeline import detect_mode

    picture = np.asarray(bench.synthetic_picture(256, "real"))
    assert picture.shape == (256, 256, 3) and picture[..., 2].mean() < picture[..., 0].mean() - 10  # cream
    assert (picture.mean(axis=2) > 240).mean() < 0.2  # no white paper to start from
    page = clean_page(picture)
    assert page.found and (page.gray == 255).mean() > 0.8 and detect_mode(page.gray) == "sketch"


def test_the_referenced_mode_colors_its_line_art_after_a_mirrored_colored_version():
    line = np.asarray(bench.synthetic_picture(128, "referenced", seed=3).convert("L")) < 128
    assert np.array_equal(line, np.asarray(bench.synthetic_picture(128, "sketch", seed=3).convert("L")) < 128)
    reference = np.asarray(bench.synthetic_reference(128, seed=3))
    assert np.array_equal(reference, np.asarray(bench.synthetic_reference(128, seed=3)))
    outline = reference[:, ::-1].max(axis=2) < 64  # mirrored back: its outlines are the line art's
    assert (outline & line).sum() > 0.8 * outline.sum()
    assert len(np.unique(reference.reshape(-1, 3), axis=0)) >= 6  # filled with colors
