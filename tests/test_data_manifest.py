"""Tests for sketchcolor.data.manifest: the hash split, base ids, and JSONL reading/writing."""

import json
import os

import pytest

from sketchcolor.data.manifest import (
    HELD_OUT_SOURCES,
    ManifestEntry,
    held_out_entries,
    parse_entry,
    read_manifest,
    split_counts,
    split_for,
    write_manifest,
)
from sketchcolor.data.openmoji import base_id
from sketchcolor.errors import DataError

TONES = ("1F3FB", "1F3FC", "1F3FD", "1F3FE", "1F3FF")


def test_base_id_strips_skin_tones_and_variation_selectors():
    assert base_id("1F44B") == "1F44B"
    assert base_id("1F44B-1F3FD") == "1F44B"
    assert base_id("2764-FE0F") == "2764"
    assert base_id("1f3c3-1f3fb-200d-2640-fe0f") == "1F3C3-200D-2640"
    # A ZWJ sequence with a different skin tone per person maps to the toneless sequence.
    assert base_id("1F469-1F3FB-200D-1F91D-200D-1F468-1F3FC") == "1F469-200D-1F91D-200D-1F468"
    assert base_id("1F469-200D-1F91D-200D-1F468") == "1F469-200D-1F91D-200D-1F468"


def test_no_base_emoji_sits_in_two_splits():
    ids = []
    for i in range(3000):
        cp = f"{0x1F400 + i:X}"  # clear of the tone modifiers 1F3FB-1F3FF
        ids.append(cp)
        ids += [f"{cp}-{t}" for t in TONES]
        ids += [f"{cp}-{t}-200D-2640-FE0F" for t in TONES] + [f"{cp}-200D-2640-FE0F"]
    splits_of = {}
    for pic_id in ids:
        splits_of.setdefault(base_id(pic_id), set()).add(split_for(base_id(pic_id)))
    assert all(len(s) == 1 for s in splits_of.values())
    assert len(splits_of) == 6000  # every variant mapped onto one of the two bases of its code point


def test_split_shares_are_about_90_5_5_and_stable():
    bases = [f"base-{i}" for i in range(20000)]
    splits = [split_for(b) for b in bases]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert abs(share["train"] - 0.90) < 0.01 and abs(share["val"] - 0.05) < 0.01 and abs(share["test"] - 0.05) < 0.01
    # Stable: a function of the base alone, not of what else is in the set or the process.
    assert [split_for(b) for b in reversed(bases)] == splits[::-1]
    assert split_for("1F600") == split_for("1F600")


def entry(i: int, split: str = "train") -> ManifestEntry:
    return ManifestEntry(f"id{i}", f"b{i}", split, f"line/{i}.png", f"color/{i}.png", None, "openmoji", "CC BY-SA 4.0")


def test_manifest_round_trip_and_malformed_lines_are_skipped_and_counted(tmp_path):
    path = write_manifest(tmp_path / "m" / "manifest.jsonl", [entry(2, "val"), entry(1)])
    lines = path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["id1", "id2"]
    assert set(json.loads(lines[0])) == {
        "id", "base", "split", "line", "color", "flat", "source", "license", "extractor", "weight"
    }
    with path.open("a") as f:
        f.write("not json\n")
        f.write(json.dumps({"id": "x", "split": "train"}) + "\n")
        f.write(json.dumps({**json.loads(lines[0]), "id": "bad", "split": "holdout"}) + "\n")
    entries, bad = read_manifest(path)
    assert [e.id for e in entries] == ["id1", "id2"] and bad == 3
    val, _ = read_manifest(path, split="val")
    assert [e.id for e in val] == ["id2"]
    assert split_counts(entries) == {"train": 1, "val": 1, "test": 0}


def test_weight_defaults_to_one_round_trips_and_must_be_a_finite_positive_number(tmp_path):
    row = json.loads(entry(1).to_json())
    del row["weight"]  # manifests written before weights existed
    assert parse_entry(row).weight == 1.0
    assert parse_entry({**row, "weight": 2.5}).weight == 2.5
    three = parse_entry({**row, "weight": 3}).weight
    assert three == 3.0 and type(three) is float
    for bad in (0, -1.0, True, "2", None, [1], float("nan"), float("inf"), 10**400):
        with pytest.raises(DataError, match=r"'id1' has weight .*expected a finite number > 0"):
            parse_entry({**row, "weight": bad})
    heavy = ManifestEntry("id2", "b2", "train", "line/2.png", "color/2.png", weight=4.0)
    path = write_manifest(tmp_path / "manifest.jsonl", [entry(1), heavy])
    with path.open("a") as f:
        f.write(json.dumps({**row, "id": "zero", "weight": 0}) + "\n")
        f.write(json.dumps({**row, "id": "plain"}) + "\n")
    entries, bad = read_manifest(path)
    assert [(e.id, e.weight) for e in entries] == [("id1", 1.0), ("id2", 4.0), ("plain", 1.0)] and bad == 1


def test_held_out_entries_are_the_two_held_out_icon_sets():
    assert HELD_OUT_SOURCES == {"iconify:fxemoji", "iconify:streamline-freehand-color"}
    sources = ["openmoji", "iconify:fxemoji", "iconify:noto", "iconify:streamline-freehand-color", "iconify:fxemoji",
               "folder:iconify:fxemoji", ""]
    entries = [ManifestEntry(f"id{i}", f"b{i}", "test", "l.png", "c.png", source=s) for i, s in enumerate(sources)]
    assert [e.id for e in held_out_entries(entries)] == ["id1", "id3", "id4"]
    assert held_out_entries(iter(entries[:1])) == []


def test_missing_manifest_and_unknown_split_raise_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read manifest"):
        read_manifest(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="unknown split 'dev'"):
        read_manifest(tmp_path / "nope.jsonl", split="dev")


def test_failed_manifest_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = write_manifest(tmp_path / "manifest.jsonl", [entry(1)])
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="disk full"):
        write_manifest(path, [entry(1), entry(2)])
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.jsonl"]
    assert path.read_bytes() == before
