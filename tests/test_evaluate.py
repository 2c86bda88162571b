"""Tests for sketchcolor.evaluate: hint sampling rules, summaries and an end-to-end run on a tiny manifest."""

import json
import math
import types

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchcolor import evaluate
from sketchcolor.errors import ConfigError

SIZE = 48


def _draw_pair(seed: int, size: int = SIZE) -> tuple[Image.Image, Image.Image]:
    """(line art "L", color "RGB"): two flat-filled outlined shapes on white."""
    rng = np.random.default_rng(seed)
    line = Image.new("L", (size, size), 255)
    color = Image.new("RGB", (size, size), (255, 255, 255))
    boxes = [[4, 4, 26, 30], [22, 14, 44, 42]]
    for box in boxes:
        fill = tuple(int(c) for c in rng.integers(30, 220, 3))
        ImageDraw.Draw(color).rectangle(box, fill=fill, outline=(0, 0, 0), width=2)
        ImageDraw.Draw(line).rectangle(box, outline=0, width=2)
    return line, color


def _write_manifest(folder, count: int = 3, broken: bool = False):
    (folder / "line").mkdir(parents=True)
    (folder / "color").mkdir()
    rows = []
    for i in range(count):
        line, color = _draw_pair(i)
        line.save(folder / "line" / f"p{i}.png")
        color.save(folder / "color" / f"p{i}.png")
        rows.append({"id": f"p{i}", "base": f"p{i}", "split": "test", "line": f"line/p{i}.png",
                     "color": f"color/p{i}.png", "flat": None, "source": "folder:test", "license": "CC0",
                     "extractor": None})
    rows.append({**rows[0], "id": "train0", "split": "train"})
    if broken:
        rows.append({**rows[0], "id": "missing", "line": "line/none.png"})
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def _picture(seed: int = 0) -> evaluate.Picture:
    line, color = _draw_pair(seed)
    return evaluate.Picture("x", np.asarray(line), np.asarray(color))


def test_hint_seed_is_stable_and_distinct():
    assert evaluate.hint_seed("abc", 5) == evaluate.hint_seed("abc", 5)
    seeds = {evaluate.hint_seed("abc", 5), evaluate.hint_seed("abc", 2), evaluate.hint_seed("abd", 5),
             evaluate.hint_seed("abc", 5, seed=1)}
    assert len(seeds) == 4


def test_hint_candidates_follow_the_protocol():
    picture = _picture()
    candidates = evaluate.hint_candidates(picture.color_u8, picture.line_u8)
    assert candidates.any()
    assert not candidates[picture.line_u8 <= 128].any()  # never on a line
    assert not candidates[np.all(picture.color_u8 >= 245, axis=2)].any()  # never on the page
    assert not candidates[:3].any() and not candidates[-3:].any()
    assert not candidates[:, :3].any() and not candidates[:, -3:].any()
    # Flat 5x5 patch: pixels next to an outline (within 2 px of it) are excluded.
    assert not candidates[8, 6] and candidates[15, 14]


def test_sample_hints_are_distinct_candidates_with_target_colors():
    picture = _picture()
    candidates = evaluate.hint_candidates(picture.color_u8, picture.line_u8)
    hints = evaluate.sample_hints(picture.color_u8, picture.line_u8, 10, seed=7)
    assert len(hints) == 10
    assert len({(h.x, h.y) for h in hints}) == 10
    for hint in hints:
        assert candidates[int(hint.y), int(hint.x)]
        assert tuple(hint.color) == tuple(picture.color_u8[int(hint.y), int(hint.x)])
    again = evaluate.sample_hints(picture.color_u8, picture.line_u8, 10, seed=7)
    assert [(h.x, h.y) for h in again] == [(h.x, h.y) for h in hints]
    assert evaluate.sample_hints(picture.color_u8, picture.line_u8, 0, seed=7) == []
    many = evaluate.sample_hints(picture.color_u8, picture.line_u8, 10**6, seed=7)
    assert len(many) == int(candidates.sum())


def test_fit_on_page_centers_on_white():
    page = evaluate.fit_on_page(Image.new("RGB", (40, 20), (0, 0, 0)), 20)
    array = np.asarray(page)
    assert page.size == (20, 20)
    assert np.all(array[:5] == 255) and np.all(array[5:15] == 0) and np.all(array[15:] == 255)


def test_config_rejects_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="allowed: sketch, gray"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, tasks=("paint",))
    with pytest.raises(ConfigError, match=">= 0"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, hints=(-1,))
    with pytest.raises(ConfigError, match="sample must be a positive number of pictures, got 0"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, sample=0)
    with pytest.raises(ConfigError, match="pass limit or sample, not both"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, limit=2, sample=2)


def test_the_sample_is_seeded_stable_as_the_set_grows_and_spread_over_sources():
    entries = [types.SimpleNamespace(id=f"{source}-{i}", source=source)
               for source in ("openmoji", "iconify:noto", "iconify:twemoji", "folder:mine") for i in range(250)]
    order = evaluate.sample_order(entries, seed=0)
    assert sorted(e.id for e in order) == sorted(e.id for e in entries)
    assert [e.id for e in evaluate.sample_order(entries[::-1], seed=0)] == [e.id for e in order]  # input order
    assert [e.id for e in evaluate.sample_order(entries, seed=1)][:50] != [e.id for e in order][:50]
    # Manifest order would give the first source alone; the sample holds every source about equally.
    sample = order[:100]
    counts = {source: sum(e.source == source for e in sample) for source in {e.source for e in entries}}
    assert len(counts) == 4 and min(counts.values()) >= 12, counts
    # A grown set: new pictures come in where their keys fall; the old ones of the sample keep their order.
    new = [types.SimpleNamespace(id=f"new-{i}", source="new") for i in range(100)]
    kept = [e.id for e in evaluate.sample_order(entries + new, seed=0)[:100] if e.source != "new"]
    assert 80 < len(kept) < 100 and kept == [e.id for e in sample[: len(kept)]]
    assert evaluate.sample_key("abc", 0) != evaluate.sample_key("abc", 1) != evaluate.sample_key("abd", 1)


def test_default_tasks_stay_sketch_and_gray_and_sketch_real_is_allowed(tmp_path):
    cfg = evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path)
    assert cfg.tasks == ("sketch", "gray")
    cfg = evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, tasks=("sketch", "sketch-real", "gray"))
    assert cfg.tasks == ("sketch", "sketch-real", "gray")
    with pytest.raises(ConfigError, match="allowed: sketch, gray, sketch-real"):
        evaluate.EvalConfig(data=tmp_path / "m.jsonl", out=tmp_path, tasks=("sketch-rough",))


def test_style_seed_is_stable_and_distinct():
    assert evaluate.style_seed("abc") == evaluate.style_seed("abc", 0)
    seeds = {evaluate.style_seed("abc"), evaluate.style_seed("abd"), evaluate.style_seed("abc", 1),
             evaluate.hint_seed("abc", 0)}
    assert len(seeds) == 4


def test_add_real_lines_redraws_each_picture_the_same_way_every_time():
    pictures = [_picture(0), evaluate.Picture("y", *(np.asarray(im) for im in _draw_pair(1)))]
    evaluate.add_real_lines(pictures, seed=0)
    first = [p.real_u8.copy() for p in pictures]
    evaluate.add_real_lines(pictures, seed=0)
    for picture, real in zip(pictures, first):
        np.testing.assert_array_equal(picture.real_u8, real)
        assert real.shape == (SIZE, SIZE, 3) and real.dtype == np.uint8
        assert picture.task_input("sketch-real") is picture.real_u8
        assert picture.task_gray("sketch-real").shape == (SIZE, SIZE)
    evaluate.add_real_lines(pictures, seed=1)
    assert any(not np.array_equal(p.real_u8, r) for p, r in zip(pictures, first))


def test_summarize_means_ignore_nan_and_psnr_stays_finite():
    base = {"task": "gray", "n_hints": 1, "method": "levin", "hints_used": 1, "sec": 1.0,
            "de2000": 2.0, "auc": 0.5, "ssim_l": 1.0, "colorfulness": 0.0, "colorfulness_target": 3.0}
    records = [{**base, "psnr": 30.0}, {**base, "psnr": math.inf, "de2000": math.nan, "sec": 3.0}]
    row = evaluate.summarize(records)["gray"]["1"]["levin"]
    # PSNR of the mean MSE: (MSE(30 dB) + 0) / 2 is 3 dB (10 log10 2) better than 30 dB.
    assert abs(row["psnr"] - (30.0 + 10 * math.log10(2))) < 1e-9
    assert row["de2000"] == 2.0 and row["sec_per_img"] == 2.0 and row["pictures"] == 2


def _check_outputs(results, out):
    for name in ("results.json", "results.md", "plot.png", "contact.png"):
        assert (out / name).is_file(), name
    stored = json.loads((out / "results.json").read_text())  # strict JSON: no NaN/Infinity tokens
    assert stored["n_pictures"] == results["n_pictures"]
    contact = Image.open(out / "contact.png")
    assert contact.width >= 3 * SIZE
    return stored


def test_run_evaluation_baselines_end_to_end(tmp_path):
    manifest = _write_manifest(tmp_path / "data", broken=True)
    out = tmp_path / "out"
    cfg = evaluate.EvalConfig(data=manifest, out=out, hints=(0, 2), size=SIZE, contact_count=2)
    results = evaluate.run_evaluation(cfg)
    stored = _check_outputs(results, out)
    assert results["n_pictures"] == 3 and [s["id"] for s in results["skipped"]] == ["missing"]
    assert "only the baselines" in results["note"]
    assert results["methods"] == {"sketch": ["identity", "regionfill"], "gray": ["identity", "levin"]}
    assert len(results["pictures"]) == 3 * 2 * 2 * 2
    summary = results["summary"]
    # Without hints the region fill is the line art itself.
    assert summary["sketch"]["0"]["regionfill"]["psnr"] == pytest.approx(summary["sketch"]["0"]["identity"]["psnr"])
    # Two hints in a two-region flat picture: the fill beats the bare line art, and Levin beats the gray.
    assert summary["sketch"]["2"]["regionfill"]["de2000"] < summary["sketch"]["2"]["identity"]["de2000"]
    assert summary["gray"]["2"]["levin"]["de2000"] < summary["gray"]["2"]["identity"]["de2000"]
    # The same hints go to every method of a picture, whatever the task.
    hints = {(r["id"], r["n_hints"]): r["hints"] for r in results["pictures"] if r["method"] == "identity"}
    for record in results["pictures"]:
        assert record["hints"] == hints[(record["id"], record["n_hints"])]
    assert stored["summary"]["gray"]["2"]["levin"]["pictures"] == 3
    markdown = (out / "results.md").read_text()
    assert "| gray | 2 | levin |" in markdown and "| sketch | 0 | regionfill |" in markdown


def _without_timing(records):
    return [{k: v for k, v in r.items() if k != "sec"} for r in records]


def test_sketch_real_task_end_to_end_is_deterministic(tmp_path):
    manifest = _write_manifest(tmp_path / "data", count=2)
    runs = []
    for name in ("a", "b"):
        cfg = evaluate.EvalConfig(data=manifest, out=tmp_path / name, hints=(0, 2), size=SIZE, contact_count=1,
                                  tasks=("sketch", "sketch-real", "gray"))
        runs.append(evaluate.run_evaluation(cfg))
    results = runs[0]
    _check_outputs(results, tmp_path / "a")
    assert results["methods"]["sketch-real"] == ["identity", "regionfill"]
    # Same drawings, hints and numbers in both runs.
    first, second = (json.loads((tmp_path / name / "results.json").read_text()) for name in ("a", "b"))
    assert _without_timing(first["pictures"]) == _without_timing(second["pictures"])
    records = results["pictures"]
    assert len(records) == 2 * 3 * 2 * 2
    for record in records:
        assert ("page_leak" in record) == (record["task"] != "gray")
    # Hints come from the clean line art: the same for both sketch tasks.
    by_task = {(r["task"], r["id"], r["n_hints"]): r["hints"] for r in records if r["method"] == "identity"}
    for (task, pic, n), hints in by_task.items():
        assert hints == by_task[("sketch", pic, n)]
    # The clean line art leaves the page white; a real drawing's toned paper usually does not.
    assert all(r["page_leak"] == 0.0 for r in records if r["task"] == "sketch" and r["method"] == "identity")
    sketch_identity = [r["psnr"] for r in records if r["task"] == "sketch" and r["method"] == "identity"]
    real_identity = [r["psnr"] for r in records if r["task"] == "sketch-real" and r["method"] == "identity"]
    assert sketch_identity != real_identity
    summary = results["summary"]
    assert summary["sketch-real"]["2"]["regionfill"]["pictures"] == 2
    assert 0.0 <= summary["sketch-real"]["0"]["identity"]["page_leak"] <= 1.0
    assert math.isnan(summary["gray"]["0"]["identity"]["page_leak"])
    assert results["line_styles"]["p_jpeg"] >= 0 and results["mode_detection"]["sketch-real"]["pictures"] == 2
    markdown = (tmp_path / "a" / "results.md").read_text()
    assert "page leak" in markdown and "| sketch-real | 2 | regionfill |" in markdown
    gray_row = next(line for line in markdown.splitlines() if line.startswith("| gray | 0 | identity |"))
    assert "n/a" in gray_row


def test_run_evaluation_with_model(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data", count=2)
    out = tmp_path / "out"
    cfg = evaluate.EvalConfig(data=manifest, out=out, checkpoint=tiny_checkpoint, hints=(0, 2), size=SIZE,
                              contact_count=1)
    results = evaluate.run_evaluation(cfg)
    _check_outputs(results, out)
    assert results["methods"]["sketch"] == ["identity", "regionfill", "net", "net+cleanup"]
    assert results["methods"]["gray"] == ["identity", "levin", "net", "net+cleanup"]
    assert set(results["summary"]["gray"]["2"]) == {"identity", "levin", "net", "net+cleanup"}
    assert set(results["inversion"]) == {"net", "model", "output", "identity"}
    assert 0 <= results["inversion"]["identity"]["ssim_l"] <= 1
    detection = results["mode_detection"]
    assert set(detection) == {"sketch", "gray"} and all(row["pictures"] == 2 for row in detection.values())
    assert "Mode detection" in (out / "results.md").read_text()


def test_pipeline_overrides_and_auto_mode(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data", count=2)
    base = dict(data=manifest, checkpoint=tiny_checkpoint, hints=(0,), size=SIZE, contact_count=0, tasks=("sketch",))
    plain = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "a", **base))
    changed = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "b", pipeline={"white_page": False},
                                                          auto_mode=True, **base))
    assert changed["methods"]["sketch"] == ["identity", "regionfill", "net", "net+cleanup", "net (auto)"]
    assert changed["config"]["pipeline"] == {"white_page": False}
    net = [r["psnr"] for r in plain["pictures"] if r["method"] == "net"]  # the page is outside ΔE2000
    assert net != [r["psnr"] for r in changed["pictures"] if r["method"] == "net"]
    with pytest.raises(ConfigError, match="unknown config key 'pocket'"):
        evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "c", pipeline={"pocket": 1}, **base))
    assert evaluate.main(["--data", str(manifest), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "d"),
                          "--tasks", "sketch", "--hints", "0", "--size", str(SIZE), "--set", "white_page=false",
                          "--auto-mode"]) == 0


def test_methods_keeps_only_the_methods_asked_with_the_same_numbers(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data", count=2)
    base = dict(data=manifest, checkpoint=tiny_checkpoint, hints=(0, 2), size=SIZE, contact_count=0)
    full = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "a", **base))
    only = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "b", methods=("net", "levin"), **base))
    assert only["methods"] == {"sketch": ["net"], "gray": ["levin", "net"]}
    for task in ("sketch", "gray"):
        for method in only["methods"][task]:
            assert only["summary"][task]["2"][method]["de2000"] == full["summary"][task]["2"][method]["de2000"]
    assert full["by_source"] == {}  # one source: no breakdown
    with pytest.raises(ConfigError, match="unknown method"):
        evaluate.EvalConfig(out=tmp_path / "c", methods=("netty",), **base)
    assert evaluate.main(["--data", str(manifest), "--out", str(tmp_path / "d"), "--methods", "identity",
                          "--hints", "0", "--size", str(SIZE)]) == 0


def test_pictures_from_several_sources_get_a_table_by_source(tmp_path):
    manifest = _write_manifest(tmp_path / "data", count=3)
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[1]["source"] = "iconify:fxemoji"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    results = evaluate.run_evaluation(evaluate.EvalConfig(data=manifest, out=tmp_path / "out", hints=(0,), size=SIZE,
                                                          contact_count=0, tasks=("sketch",)))
    table = results["by_source"]["sketch"]["0"]["identity"]
    assert table["folder:test"]["pictures"] == 2 and table["iconify:fxemoji"]["pictures"] == 1
    mine = [r["de2000"] for r in results["pictures"] if r["source"] == "iconify:fxemoji" and r["method"] == "identity"]
    assert table["iconify:fxemoji"]["de2000"] == pytest.approx(mine[0])
    text = (tmp_path / "out" / "results.md").read_text()
    assert "By source" in text and "folder:test 2, iconify:fxemoji 1" in text


def test_sketch_real_with_model_and_from_the_command_line(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data", count=1)
    cfg = evaluate.EvalConfig(data=manifest, out=tmp_path / "m", checkpoint=tiny_checkpoint, hints=(0, 2),
                              size=SIZE, contact_count=1, tasks=("sketch-real",), auto_mode=True)
    results = evaluate.run_evaluation(cfg)
    assert results["methods"]["sketch-real"] == ["identity", "regionfill", "net", "net+cleanup", "net (auto)"]
    net = [r for r in results["pictures"] if r["method"] == "net"]
    assert net and all(0.0 <= r["page_leak"] <= 1.0 for r in net)
    assert results["inversion"] is None  # the inversion table stays the clean sketch task's
    code = evaluate.main(["--data", str(manifest), "--out", str(tmp_path / "cli"), "--tasks", "sketch,sketch-real,gray",
                          "--hints", "1", "--size", str(SIZE)])
    assert code == 0
    assert set(json.loads((tmp_path / "cli" / "results.json").read_text())["summary"]) == {"sketch", "sketch-real",
                                                                                            "gray"}


def test_sample_evaluates_the_seeded_subset_and_says_so(tmp_path, capsys):
    manifest = _write_manifest(tmp_path / "data", count=6, broken=True)  # "missing": an unreadable test picture
    base = dict(data=manifest, hints=(0,), size=SIZE, contact_count=0, tasks=("gray",))

    def evaluated(results) -> list[str]:
        return [r["id"] for r in results["pictures"] if r["method"] == "identity"]

    # sha256("sample:2:<id>") orders the split missing, p3, p5, p4, ...: the unreadable one is skipped and the
    # sample still holds 3, as --limit does.
    results = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "a", sample=3, seed=2, **base))
    assert evaluated(results) == ["p3", "p5", "p4"] and results["n_pictures"] == 3
    assert [s["id"] for s in results["skipped"]] == ["missing"]
    stored = json.loads((tmp_path / "a" / "results.json").read_text())
    assert stored["config"]["sample"] == 3 and stored["config"]["limit"] is None
    assert "3 pictures (a seeded sample of 3, seed 2) at" in (tmp_path / "a" / "results.md").read_text()
    again = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "b", sample=3, seed=2, **base))
    assert _without_timing(again["pictures"]) == _without_timing(results["pictures"])
    other = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "c", sample=3, seed=1, **base))
    assert evaluated(other) == ["p5", "p2", "p3"]
    # More than the split holds: every readable picture once, in sample order.
    everything = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "d", sample=50, seed=2, **base))
    assert evaluated(everything) == ["p3", "p5", "p4", "p1", "p2", "p0"]
    limited = evaluate.run_evaluation(evaluate.EvalConfig(out=tmp_path / "e", limit=2, **base))
    assert evaluated(limited) == ["p0", "p1"]
    assert "2 pictures (the split's first 2) at" in (tmp_path / "e" / "results.md").read_text()

    args = ["--data", str(manifest), "--hints", "0", "--size", str(SIZE), "--tasks", "gray", "--seed", "2"]
    assert evaluate.main([*args, "--out", str(tmp_path / "cli"), "--sample", "3"]) == 0
    capsys.readouterr()
    assert evaluated(json.loads((tmp_path / "cli" / "results.json").read_text())) == ["p3", "p5", "p4"]
    assert evaluate.main([*args, "--out", str(tmp_path / "both"), "--sample", "3", "--limit", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: pass limit or sample, not both") and "\n" not in err
    assert not (tmp_path / "both").exists()


def test_main_reports_bad_input_in_one_line(tmp_path, capsys):
    manifest = _write_manifest(tmp_path / "data", count=1)
    assert evaluate.main(["--data", str(manifest), "--out", str(tmp_path / "o"), "--tasks", "paint"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    code = evaluate.main(["--data", str(manifest), "--out", str(tmp_path / "o"), "--hints", "1", "--size", "32",
                          "--tasks", "sketch"])
    assert code == 0 and (tmp_path / "o" / "results.json").is_file()


def test_mean_psnr_stays_finite_with_a_perfect_picture():
    import math

    from sketchcolor.evaluate import _psnr_of_mean_mse

    # MSEs 0 and 2*x average to x: the PSNR of x.
    psnr_x = 30.0
    mse_x = 255.0**2 / 10 ** (psnr_x / 10)
    twice = 10 * math.log10(255.0**2 / (2 * mse_x))
    assert abs(_psnr_of_mean_mse([math.inf, twice]) - psnr_x) < 1e-9
    assert _psnr_of_mean_mse([math.inf, math.inf]) == math.inf


def test_target_palette_is_the_targets_own_dominant_colors_and_seeded():
    picture = _picture()
    fills = {tuple(int(c) for c in picture.color_u8[15, 14]), tuple(int(c) for c in picture.color_u8[35, 35])}
    everything = evaluate.target_palette(picture.color_u8, 8, seed=1)
    # Fewer distinct foreground colors than k: all of them (two fills and the black outline), never the page.
    assert {tuple(int(c) for c in rgb) for rgb in everything} == fills | {(0, 0, 0)}
    two = evaluate.target_palette(picture.color_u8, 2, seed=1)
    assert len(two) == 2 and {tuple(int(c) for c in rgb) for rgb in two} <= fills | {(0, 0, 0)}
    assert np.array_equal(two, evaluate.target_palette(picture.color_u8, 2, seed=1))
    # A gradient has many colors: k entries, each one of the target's own colors.
    ramp = np.stack([np.tile(np.arange(40, 200, dtype=np.uint8), (8, 1))] * 3, axis=-1)
    ramp[..., 2] = 90
    entries = evaluate.target_palette(ramp, 4, seed=0)
    assert entries.shape == (4, 3) and all((ramp.reshape(-1, 3) == rgb).all(1).any() for rgb in entries)
    assert evaluate.palette_seed("a") != evaluate.palette_seed("b") != evaluate.palette_seed("a", 1)


def test_palette_exact_counts_skip_the_page():
    flat = np.array([[[1, 2, 3], [255, 255, 255]], [[1, 2, 3], [9, 9, 9]]], np.uint8)
    page = np.array([[False, True], [False, False]])
    assert evaluate.palette_exact_counts(flat, page, np.array([[1, 2, 3]], np.uint8)) == (2, 3)
    assert evaluate.palette_exact_counts(flat, None, np.array([[9, 9, 9]], np.uint8)) == (1, 4)


def test_palette_lock_is_measured_end_to_end(tmp_path, tiny_checkpoint, capsys):
    manifest = _write_manifest(tmp_path / "data", count=2)
    cfg = evaluate.EvalConfig(data=manifest, out=tmp_path / "out", checkpoint=tiny_checkpoint, hints=(0, 2),
                              size=SIZE, contact_count=0, palette_k=8, methods=("net", "net+palette"))
    results = evaluate.run_evaluation(cfg)
    assert results["methods"] == {"sketch": ["net", "net+palette"], "gray": ["net", "net+palette"]}
    locked = [r for r in results["pictures"] if r["method"] == "net+palette"]
    assert len(locked) == 2 * 2 * 2
    for record in locked:
        assert record["palette_exact"] == 1.0 and record["palette_flat_px"] > 0
        assert record["palette"].count("#") >= 2
    summary = results["summary"]
    assert summary["gray"]["2"]["net+palette"]["palette_exact"] == 1.0
    assert math.isnan(summary["gray"]["2"]["net"]["palette_exact"])
    markdown = (tmp_path / "out" / "results.md").read_text()
    assert "Palette lock" in markdown and "| sketch | 0 |" in markdown.split("Palette lock")[1]
    with pytest.raises(ConfigError, match="palette_k must be a whole number from 1 to 64"):
        evaluate.EvalConfig(data=manifest, out=tmp_path / "x", palette_k=0)
    code = evaluate.main(["--data", str(manifest), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "cli"),
                          "--tasks", "sketch", "--hints", "0", "--size", str(SIZE), "--palette-k", "3",
                          "--methods", "net+palette"])
    assert code == 0
    stored = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert stored["config"]["palette_k"] == 3
    assert all(r["palette_exact"] == 1.0 and r["palette"].count("#") <= 3 for r in stored["pictures"])


def test_best_of_k_variations_is_measured_and_never_worse_than_the_single_result(tmp_path, tiny_checkpoint):
    manifest = _write_manifest(tmp_path / "data", count=3)
    cfg = evaluate.EvalConfig(data=manifest, out=tmp_path / "out", checkpoint=tiny_checkpoint, hints=(0, 2),
                              size=SIZE, contact_count=0, variations=3, methods=("net", "net best-of-3"),
                              tasks=("sketch", "gray", "sketch-real"))
    results = evaluate.run_evaluation(cfg)
    assert results["methods"]["gray"] == ["net", "net best-of-3"]
    records = results["pictures"]
    single = {(r["id"], r["task"], r["n_hints"]): r["de2000"] for r in records if r["method"] == "net"}
    best = [r for r in records if r["method"] == "net best-of-3"]
    assert len(best) == len(single) == 3 * 3 * 2
    for record in best:
        scores = record["variations_de2000"]
        assert len(scores) == 3 and record["de2000"] == pytest.approx(min(scores))
        assert scores[record["variation"]] == pytest.approx(record["de2000"])
        # Variation 0 is the single automatic result, so the best of them is never worse.
        assert scores[0] == pytest.approx(single[(record["id"], record["task"], record["n_hints"])])
    assert any(r["variation"] > 0 for r in best)
    markdown = (tmp_path / "out" / "results.md").read_text()
    assert "oracle pick" in markdown and "| gray | 0 |" in markdown.split("Variations:")[1]
    with pytest.raises(ConfigError, match="variations: the number of variations must be a whole number"):
        evaluate.EvalConfig(data=manifest, out=tmp_path / "x", variations=0)
    with pytest.raises(ConfigError, match="unknown method"):
        evaluate.EvalConfig(data=manifest, out=tmp_path / "x", variations=3, methods=("net best-of-4",))
    code = evaluate.main(["--data", str(manifest), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "cli"),
                          "--tasks", "gray", "--hints", "0", "--size", str(SIZE), "--variations", "2",
                          "--methods", "net best-of-2"])
    assert code == 0
    stored = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert stored["config"]["variations"] == 2
    assert all(len(r["variations_de2000"]) == 2 for r in stored["pictures"])
