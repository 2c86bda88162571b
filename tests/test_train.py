"""Tests for sketchcolor.train: config handling, schedule, trainer state, run folders (refusing to replace a run,
--overwrite), the cached prior's key, exact resume and its refusals, NaN guard, a full disk, and (slow) overfitting a
handful of synthetic pairs on CPU. Stopping on signals: test_train_signals.py."""

from __future__ import annotations

import copy
import errno
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from sketchcolor import color as C
from sketchcolor import train as T
from sketchcolor.errors import CheckpointError, ConfigError
from sketchcolor.models import net_spec
from sketchcolor.models.configs import to_dict
from sketchcolor.train import prior as train_prior
from sketchcolor.train import stage as train_stage
from sketchcolor.train.data import ResumableSampler, make_dataset
from sketchcolor.train.distributed import Dist
from sketchcolor.train.state import rng_state, set_rng_state

TINY_SET = [
    "--set", "model.inversion.width=8", "--set", "model.inversion.stem_width=8", "--set", "model.inversion.levels=2",
    "--set", "model.inversion.max_width=16",
    "--set", "model.color.width=8", "--set", "model.color.levels=2", "--set", "model.color.max_width=16",
    "--set", "model.color.head_width=16",
    "--set", "data.size=32", "--set", "data.prior_samples=8", "--set", "data.val_samples=2",
    "--set", "optim.warmup_steps=2",
]

PALETTE = [(220, 40, 40), (40, 160, 60), (40, 80, 220), (240, 200, 30), (160, 60, 200), (250, 140, 20)]


def make_manifest(folder: Path, n: int = 8, size: int = 64, seed: int = 0, val: int = 2) -> Path:
    """``n`` train + ``val`` val pairs: coloured shapes with black outlines on white, and their outlines alone."""
    rng = np.random.default_rng(seed)
    (folder / "line").mkdir(parents=True, exist_ok=True)
    (folder / "color").mkdir(exist_ok=True)
    lines = []
    for i in range(n + val):
        color = Image.new("RGB", (size, size), (255, 255, 255))
        line = Image.new("L", (size, size), 255)
        dc, dl = ImageDraw.Draw(color), ImageDraw.Draw(line)
        for _ in range(2):
            x0, y0 = (int(v) for v in rng.integers(2, size // 2, 2))
            x1, y1 = (int(v) for v in rng.integers(size // 2 + 4, size - 3, 2))
            fill = PALETTE[int(rng.integers(len(PALETTE)))]
            shape = dc.ellipse if rng.random() < 0.5 else dc.rectangle
            shape([x0, y0, x1, y1], fill=fill, outline=(0, 0, 0), width=2)
            (dl.ellipse if shape == dc.ellipse else dl.rectangle)([x0, y0, x1, y1], outline=0, width=2)
        pid = f"p{i:03d}"
        color.save(folder / "color" / f"{pid}.png")
        line.save(folder / "line" / f"{pid}.png")
        lines.append(json.dumps({"id": pid, "base": pid, "split": "train" if i < n else "val",
                                 "line": f"line/{pid}.png", "color": f"color/{pid}.png", "flat": None,
                                 "source": "folder:test", "license": "CC0", "extractor": None}))
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("data"), n=8, size=32)


def rewrite_manifest(manifest: Path, name: str, **changes: dict[str, object]) -> Path:
    """A copy of ``manifest`` named ``name`` in its folder, with ``changes`` (id -> fields) made to its rows."""
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    path = manifest.parent / name
    path.write_text("".join(json.dumps({**row, **changes.get(row["id"], {})}) + "\n" for row in rows))
    return path


def run_args(manifest: Path, out: Path, stage: str, steps: int, *extra: str) -> list[str]:
    return ["--stage", stage, "--data", str(manifest), "--out", str(out), "--max-steps", str(steps),
            "--batch-size", "4", "--workers", "0", "--device", "cpu", "--no-progress", *TINY_SET,
            "--set", "log_every=1", "--set", "sample_every=1000", "--set", "checkpoint_every=1000", *extra]


def weights(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "model.safetensors"))


# ------------------------------------------------------------------------------------------------- configs


def test_config_overrides_types_and_errors(tmp_path):
    parser = T.get_args_parser()
    args = parser.parse_args(["--out", str(tmp_path), "--set", "model.color.width=32", "--set",
                              "optim.betas=[0.8, 0.99]", "--lr", "1e-3", "--stage", "joint"])
    cfg = T.config_from_args(args)
    assert cfg.model.color["width"] == 32 and cfg.optim.betas == (0.8, 0.99)
    assert cfg.model.color["arch"] == "color-unet" and cfg.model.inversion["arch"] == "inversion-unet"
    assert cfg.optim.lr == 1e-3 and cfg.stage == "joint" and cfg.task == "mixed"
    bad = [
        (["--set", "model.color.widht=3"], r"unknown config key model.color.widht; allowed: \['width'"),
        (["--set", "model.color.arch=huge"], r"unknown color.arch 'huge'; allowed: \['color-unet'\]"),
        (["--set", "model.color.width=wide"], "model.color.width: expected an integer, got 'wide'"),
        (["--set", "stage=paint"], r"unknown stage 'paint'; allowed: \['inversion', 'color', 'joint'\]"),
        (["--set", "noequals"], "expected KEY=VALUE"),
        (["--set", "optim.lr=0"], "optim.lr must be > 0"),
        (["--config", str(tmp_path / "missing.json")], "no such config file"),
    ]
    for extra, message in bad:
        with pytest.raises(ConfigError, match=message):
            T.config_from_args(parser.parse_args(["--out", str(tmp_path), *extra]))


def test_config_file_round_trip(tmp_path):
    cfg = T.load_config({}, {"model.inversion.depth": 2, "data.hints.geometric_p": 0.25, "data.augment.p_hflip": 0.0})
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(to_dict(cfg)))
    again = T.config_from_args(T.get_args_parser().parse_args(["--out", str(tmp_path), "--config", str(path)]))
    assert again == cfg


def test_lr_schedule_warmup_then_cosine():
    cfg = T.load_config({}, {"max_steps": 100, "optim.warmup_steps": 10, "optim.lr": 1e-3, "optim.min_lr_ratio": 0.1})
    assert T.lr_at(0, cfg) == pytest.approx(1e-4)
    assert T.lr_at(9, cfg) == pytest.approx(1e-3)
    assert T.lr_at(10, cfg) == pytest.approx(1e-3)
    assert T.lr_at(55, cfg) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert T.lr_at(100, cfg) == pytest.approx(1e-4)
    lrs = [T.lr_at(s, cfg) for s in range(10, 101)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_rng_state_is_weights_only_loadable(tmp_path):
    torch.manual_seed(3)
    np.random.seed(3)
    state = {"rng": rng_state(), "step": 5}
    T.save_trainer_state(tmp_path / "s.pt", state)
    expected = (torch.rand(2), np.random.rand(2), __import__("random").random())
    torch.manual_seed(0)
    np.random.seed(0)
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    set_rng_state(loaded["rng"])
    again = (torch.rand(2), np.random.rand(2), __import__("random").random())
    assert torch.equal(expected[0], again[0]) and np.array_equal(expected[1], again[1]) and expected[2] == again[2]
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt or truncated trainer state"):
        T.load_trainer_state(tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="no trainer_state.pt to resume from"):
        T.load_trainer_state(tmp_path / "trainer_state.pt")


# ---------------------------------------------------------------------------------------------------- data


class Weighted(torch.utils.data.Dataset):
    """Indices with sampling weights: all that ResumableSampler reads of a dataset."""

    def __init__(self, weights) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.weights)

    def __getitem__(self, index: int) -> int:
        return index


def test_sampler_with_equal_weights_is_the_distributed_permutation():
    from torch.utils.data import DistributedSampler

    ds = Weighted(np.full(11, 2.0))
    for rank in range(2):
        sampler = ResumableSampler(ds, num_replicas=2, rank=rank, seed=5, batch_size=2)
        plain = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=5, drop_last=True)
        for epoch in range(3):
            sampler.set_position(epoch, 0)
            plain.set_epoch(epoch)
            assert list(sampler) == list(plain) and len(sampler) == len(plain) == 5
        sampler.set_position(1, 2)
        plain.set_epoch(1)
        assert list(sampler) == list(plain)[4:] and len(sampler) == 1


def test_sampler_draws_in_proportion_to_unequal_weights_by_seed_and_epoch():
    weights = np.where(np.arange(1000) < 500, 1.0, 3.0)  # the second half weighs 3x: 3/4 of the draws
    ranks = [ResumableSampler(Weighted(weights), num_replicas=2, rank=r, seed=5, batch_size=4) for r in range(2)]

    def epoch(number: int, start_batch: int = 0) -> list[list[int]]:
        for sampler in ranks:
            sampler.set_position(number, start_batch)
        return [list(sampler) for sampler in ranks]

    first = epoch(3)
    assert [len(drawn) for drawn in first] == [len(sampler) for sampler in ranks] == [500, 500]
    drawn = np.array(first).T.reshape(-1)  # the ranks' strides interleaved back into the epoch's one list
    assert 0.70 < np.mean(drawn >= 500) < 0.80
    assert len(set(drawn.tolist())) < 900, "drawn with replacement"
    assert epoch(3) == first and epoch(4) != first
    # Resuming 10 batches into the epoch serves exactly the rest of it.
    assert epoch(3, 10) == [drawn_by_rank[40:] for drawn_by_rank in first]
    assert [len(sampler) for sampler in ranks] == [460, 460]
    # A different seed, a different draw.
    other = ResumableSampler(Weighted(weights), num_replicas=2, rank=0, seed=6, batch_size=4)
    other.set_position(3, 0)
    assert list(other) != first[0]


def test_the_train_dataset_brings_the_manifest_weights_to_the_sampler(manifest):
    cfg = T.load_config({}, {"data.manifest": str(manifest), "data.size": 32})
    plain = ResumableSampler(make_dataset(cfg, "train", train=True), num_replicas=1, rank=0, seed=0, batch_size=4)
    assert plain.weights is None
    weighted = rewrite_manifest(manifest, "weighted.jsonl", p001={"weight": 4.0}, p009={"weight": 9.0})
    cfg = T.load_config({}, {"data.manifest": str(weighted), "data.size": 32})
    sampler = ResumableSampler(make_dataset(cfg, "train", train=True), num_replicas=1, rank=0, seed=0, batch_size=4)
    assert sampler.weights.tolist() == [1.0, 4.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]  # p009 is a val pair


# ---------------------------------------------------------------------------------------------------- runs


def test_color_run_writes_a_loadable_checkpoint_folder(manifest, tmp_path):
    from sketchcolor.checkpoint import load_checkpoint

    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "color", 3)) == 0
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "meta.json", "train_config.json", "trainer_state.pt",
            "prior.json", "log.csv", "loss.png", "samples"} <= names
    loaded = load_checkpoint(out)
    assert set(loaded.models) == {"color"} and loaded.config["working_size"] == 32
    assert loaded.config["pipeline"]["working_size"] == 32 and loaded.config["pipeline"]["gap_closing"] > 0
    assert loaded.meta["step"] == 3 and loaded.meta["stage"] == "color"
    state = torch.load(out / "trainer_state.pt", weights_only=True)
    assert state["step"] == 3 and set(state["models"]) == {"color"}
    prior = json.loads((out / "prior.json").read_text())
    assert prior["samples"] == 8 and math.isclose(sum(prior["prior"]), 1.0, abs_tol=1e-4)
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert rows[0].startswith("step,epoch,lr,loss,ce,huber,gate") and len(rows) == 4
    assert len(list((out / "samples").glob("step_*.png"))) == 1


def test_a_registered_architecture_trains_by_its_name(manifest, tmp_path, monkeypatch):
    from dataclasses import dataclass

    from sketchcolor.checkpoint import load_checkpoint
    from sketchcolor.models import ARCHITECTURES, Architecture, ColorConfig, ColorNet

    @dataclass
    class TaggedConfig(ColorConfig):
        tag: int = 0

    class TaggedNet(ColorNet):
        pass

    monkeypatch.setitem(ARCHITECTURES, "color-tagged", Architecture("color", TaggedConfig, TaggedNet))
    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "color", 2, "--set", "model.color.arch=color-tagged",
                           "--set", "model.color.tag=7")) == 0
    saved = json.loads((out / "train_config.json").read_text())["model"]["color"]
    assert saved["arch"] == "color-tagged" and saved["tag"] == 7
    loaded = load_checkpoint(out).models["color"]
    assert isinstance(loaded, TaggedNet) and loaded.config.tag == 7
    # --resume rebuilds the named architecture from the saved config
    assert T.main(["--out", str(out), "--resume", "--max-steps", "3", "--no-progress"]) == 0
    assert json.loads((out / "meta.json").read_text())["step"] == 3
    assert isinstance(load_checkpoint(out).models["color"], TaggedNet)


def test_init_architecture_is_saved_with_the_run_and_the_callers_config_is_unchanged(manifest, tmp_path):
    from sketchcolor.checkpoint import load_checkpoint

    init = tmp_path / "init"
    assert T.main(run_args(manifest, init, "color", 1)) == 0  # a color net of width 8
    out = tmp_path / "run"
    args = T.get_args_parser().parse_args(run_args(manifest, out, "color", 1, "--set", "model.color.width=4"))
    cfg = T.config_from_args(args)
    before = copy.deepcopy(cfg)
    trainer = T.Trainer(cfg, out, init=str(init), progress=False)
    trainer.fit()
    assert cfg == before and cfg.model.color["width"] == 4
    init_color = net_spec("color", load_checkpoint(init).models["color"])
    assert init_color["width"] == 8 and trainer.cfg.model.color == init_color
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["model"]["color"] == init_color
    assert {k: v for k, v in saved.items() if k != "model"} == {k: v for k, v in to_dict(cfg).items() if k != "model"}
    # --resume rebuilds the init net's architecture from the saved config and continues on its weights
    assert T.main(["--out", str(out), "--resume", "--max-steps", "2", "--no-progress"]) == 0
    assert net_spec("color", load_checkpoint(out).models["color"]) == init_color


@pytest.mark.slow
def test_inversion_then_color_with_frozen_inversion_then_joint(manifest, tmp_path):
    from sketchcolor.checkpoint import load_checkpoint

    inv = tmp_path / "inv"
    assert T.main(run_args(manifest, inv, "inversion", 2)) == 0
    assert set(load_checkpoint(inv).models) == {"inversion"}
    col = tmp_path / "col"
    assert T.main(run_args(manifest, col, "color", 2, "--inversion", str(inv))) == 0
    loaded = load_checkpoint(col)
    assert set(loaded.models) == {"inversion", "color"} and loaded.meta["frozen_inversion"] is True
    # the frozen net is saved as it was given
    torch.testing.assert_close(weights(col)["inversion.head.2.weight"], weights(inv)["inversion.head.2.weight"])
    joint = tmp_path / "joint"
    assert T.main(run_args(manifest, joint, "joint", 2, "--init", str(col))) == 0
    state = torch.load(joint / "trainer_state.pt", weights_only=True)
    assert set(state["models"]) == {"inversion", "color"}
    assert not torch.equal(weights(joint)["inversion.head.2.weight"], weights(inv)["inversion.head.2.weight"])
    assert "inv_l1" in (joint / "log.csv").read_text().splitlines()[0]


@pytest.mark.parametrize("stage, weighted", [("color", False), ("color", True),
                                             pytest.param("joint", False, marks=pytest.mark.slow)])
def test_resume_reproduces_an_uninterrupted_run(manifest, tmp_path, stage, weighted):
    # 8 pairs / batch 4 = 2 steps an epoch: stopping at 3 resumes mid-epoch, and the run crosses epochs.
    if weighted:  # each epoch's pairs drawn with replacement, in proportion to the weights
        manifest = rewrite_manifest(manifest, "resume-weighted.jsonl", p002={"weight": 5.0}, p006={"weight": 0.25})
    full, part = tmp_path / "full", tmp_path / "part"
    assert T.main(run_args(manifest, full, stage, 6)) == 0
    assert T.main(run_args(manifest, part, stage, 3)) == 0
    assert T.main(["--out", str(part), "--resume", "--max-steps", "6", "--no-progress"]) == 0
    a, b = weights(full), weights(part)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"{key} differs after resume"
    sa = torch.load(full / "trainer_state.pt", weights_only=True)["optimizer"]["state"]
    sb = torch.load(part / "trainer_state.pt", weights_only=True)["optimizer"]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert (full / "log.csv").read_text().splitlines()[-1].split(",")[:4] == \
        (part / "log.csv").read_text().splitlines()[-1].split(",")[:4]


def test_resume_errors(manifest, tmp_path, capsys):
    assert T.main(["--out", str(tmp_path / "nothing"), "--resume", "--no-progress"]) == 1
    assert "no such config file" in capsys.readouterr().err
    assert T.main(run_args(manifest, tmp_path / "r", "color", 1, "--resume", "--init", "x")) == 1
    assert "cannot take --init" in capsys.readouterr().err
    assert T.main(["--out", str(tmp_path / "r2"), "--data", str(tmp_path / "none.jsonl"), "--no-progress"]) == 1
    assert "no such manifest file" in capsys.readouterr().err


def test_nan_guard_keeps_last_good_checkpoint(manifest, tmp_path, capsys, monkeypatch):
    out = tmp_path / "nan"
    assert T.main(run_args(manifest, out, "inversion", 2)) == 0
    good = weights(out)
    real = train_stage.inversion_loss

    def poisoned(*args, **kwargs):
        loss, parts = real(*args, **kwargs)
        return loss * float("nan"), parts

    monkeypatch.setattr(train_stage, "inversion_loss", poisoned)
    assert T.main(["--out", str(out), "--resume", "--max-steps", "4", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "loss became nan at step 2" in err and "last good checkpoint" in err and "(step 2)" in err
    after = weights(out)
    assert all(torch.equal(good[k], after[k]) for k in good)
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 2


def test_max_minutes_stops_with_a_checkpoint(manifest, tmp_path):
    out = tmp_path / "timed"
    assert T.main(run_args(manifest, out, "inversion", 1000, "--max-minutes", "0.0001")) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["reason"] == "max_minutes" and 1 <= meta["step"] < 1000


def test_adversarial_term_runs(manifest, tmp_path):
    out = tmp_path / "gan"
    extra = ["--set", "loss.adversarial=0.1", "--set", "loss.discriminator.width=8", "--set",
             "loss.discriminator.layers=2"]
    assert T.main(run_args(manifest, out, "color", 2, *extra)) == 0
    header = (out / "log.csv").read_text().splitlines()[0]
    assert "adv" in header and "disc" in header
    assert "discriminator" in torch.load(out / "trainer_state.pt", weights_only=True)


def one_line_error(capsys) -> str:
    """The CLI's stderr, checked to be a single ``error: ...`` line with no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: "), err
    return last


def test_an_existing_run_is_refused_unless_overwrite(manifest, tmp_path, capsys):
    assert "--overwrite" in T.get_args_parser().format_help()
    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "color", 3, "--set", "sample_every=1")) == 0
    before = weights(out)
    (out / "notes.txt").write_text("mine")
    assert T.main(run_args(manifest, out, "color", 1)) == 1
    line = one_line_error(capsys)
    assert str(out) in line and "already holds a run" in line and "--resume" in line and "--overwrite" in line
    assert all(torch.equal(before[k], v) for k, v in weights(out).items())
    assert T.main(run_args(manifest, out, "color", 1, "--resume", "--overwrite")) == 1
    assert "pass one of them" in one_line_error(capsys)
    # Any one marker file is a run: a checkpoint folder without a training run is not replaced either.
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    shutil.copy(out / "model.safetensors", shipped / "model.safetensors")
    assert T.main(run_args(manifest, shipped, "color", 1)) == 1
    assert "model.safetensors" in one_line_error(capsys)

    # --overwrite: a fresh run, with none of the old run's files left to mix in (the 3-step run wrote 3 grids
    # and 3 log rows); files that are not the run's stay.
    assert T.main(run_args(manifest, out, "color", 1, "--overwrite")) == 0
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step_0000001.png"]
    assert len((out / "log.csv").read_text().strip().splitlines()) == 2
    assert json.loads((out / "meta.json").read_text())["step"] == 1
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 1
    assert (out / "notes.txt").read_text() == "mine"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert T.main(run_args(manifest, empty, "color", 1)) == 0
    assert T.main(run_args(manifest, tmp_path / "new" / "deep", "color", 1)) == 0


def test_a_train_split_with_held_out_pictures_is_refused_before_the_run_folder_is_touched(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "inversion", 1)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    held = rewrite_manifest(manifest, "held-out.jsonl", p000={"source": "iconify:fxemoji"},
                            p003={"source": "iconify:fxemoji"}, p005={"source": "iconify:streamline-freehand-color"})
    for extra in (["--overwrite"], ["--resume"]):
        assert T.main(run_args(held, out, "inversion", 2, *extra)) == 1
        line = one_line_error(capsys)
        assert (f"--data {held}: the manifest's train split holds 3 pictures from held-out sources iconify:fxemoji, "
                "iconify:streamline-freehand-color (the held-out-designer test is never trained on)") in line
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before, extra
    # Held-out pictures outside the train split are what the test is for: training takes the rest.
    in_val = rewrite_manifest(manifest, "held-out-val.jsonl", p008={"source": "iconify:fxemoji"},
                              p009={"source": "iconify:streamline-freehand-color"})
    assert T.main(run_args(in_val, tmp_path / "val", "inversion", 1)) == 0


def test_the_cached_prior_is_keyed_to_what_it_was_counted_from(manifest, tmp_path, monkeypatch):
    counted = []
    real = train_prior.compute_prior
    monkeypatch.setattr(train_prior, "compute_prior", lambda cfg, bins: counted.append(1) or real(cfg, bins))
    data = tmp_path / "data"
    shutil.copytree(manifest.parent, data)
    cfg = T.load_config({}, {"stage": "color", "data.manifest": str(data / "manifest.jsonl"), "data.size": 32,
                             "data.prior_samples": 8})
    bins = C.ab_bins()
    out = tmp_path / "run"
    out.mkdir()

    def prior(cfg: T.TrainConfig) -> torch.Tensor:
        return train_prior.load_or_compute_prior(cfg, out, Dist(), torch.device("cpu"), bins)

    first = prior(cfg)
    assert len(counted) == 1
    assert torch.equal(prior(cfg), first) and len(counted) == 1  # the same data: the cache, exactly
    moved = tmp_path / "moved.jsonl"
    shutil.copy(data / "manifest.jsonl", moved)  # the same bytes elsewhere: still the cache
    prior(with_override(cfg, "data.manifest", str(moved)))
    assert len(counted) == 1
    # The manifest now lists the training pictures in another order and without one: counted again. (Before, a
    # cache was reused whenever its bins matched.)
    lines = (data / "manifest.jsonl").read_text().splitlines()
    train, val = lines[:8], lines[8:]
    (data / "manifest.jsonl").write_text("\n".join([*train[1:][::-1], *val]) + "\n")
    changed = prior(cfg)
    assert len(counted) == 2 and not torch.equal(changed, first)
    cached = json.loads((out / "prior.json").read_text())
    assert cached["samples"] == 7 and cached["manifest_sha256"] == train_prior.file_sha256(data / "manifest.jsonl")
    for n, (key, value) in enumerate((("data.prior_samples", 4), ("data.size", 48), ("data.task", "gray")), 3):
        prior(with_override(cfg, key, value))  # counted again ...
        prior(with_override(cfg, key, value))  # ... then cached
        assert len(counted) == n, key


def with_override(cfg: T.TrainConfig, key: str, value) -> T.TrainConfig:
    return T.load_config(to_dict(cfg), {key: value})


def test_resume_refuses_a_changed_architecture(manifest, tmp_path, capsys):
    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "color", 1)) == 0
    assert T.main(["--out", str(out), "--resume", "--set", "model.color.width=16", "--no-progress"]) == 1
    line = one_line_error(capsys)
    assert "--resume" in line and "model.color.width (8 -> 16)" in line
    # The run's own command again, its --set flags unchanged, with --resume: accepted.
    assert T.main(run_args(manifest, out, "color", 2, "--resume")) == 0
    # The library checks too (a hand-edited train_config.json, a caller's config): the net and what differs.
    saved = json.loads((out / "train_config.json").read_text())
    cfg = T.load_config(saved, {"model.color.width": 16})
    with pytest.raises(CheckpointError, match=r"the saved color net does not match the configured one "
                                              r"\(size mismatch for [\w.]+: copying a param with shape"):
        T.Trainer(cfg, out, resume=True, progress=False)


@pytest.mark.parametrize("writer", ["torch.save", "safetensors.torch.save_file"])
def test_a_full_disk_while_saving_gives_one_line_and_no_temporary_files(manifest, tmp_path, capsys, monkeypatch,
                                                                        writer):
    out = tmp_path / "run"
    assert T.main(run_args(manifest, out, "color", 2)) == 0
    good = weights(out)

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"half a file")  # the disk fills up part-way through the write
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer, full_disk)
    assert T.main(["--out", str(out), "--resume", "--max-steps", "4", "--no-progress"]) == 1
    assert one_line_error(capsys) == f"error: cannot save the checkpoint to {out}: No space left on device"
    assert [p.name for p in out.rglob("*") if ".tmp" in p.name] == []
    monkeypatch.undo()
    # The previous checkpoint still stands whole.
    after = weights(out)
    assert all(torch.equal(good[k], after[k]) for k in good)
    assert json.loads((out / "meta.json").read_text())["step"] == 2


# ---------------------------------------------------------------------------------------------------- slow


@pytest.mark.slow
def test_overfits_eight_pairs(tmp_path):
    """Color stage on 8 fixed pairs (no augmentation, no hints): the loss falls by at least 80%. (How long it
    takes is a benchmark's business, not a test's.)"""
    data = make_manifest(tmp_path / "data", n=8, size=64, seed=1, val=0)  # no val split: grids show the 8
    out = tmp_path / "overfit"
    args = ["--stage", "color", "--data", str(data), "--out", str(out), "--max-steps", "150", "--batch-size", "8",
            "--workers", "0", "--device", "cpu", "--no-progress", "--lr", "3e-3",
            "--set", "data.size=64", "--set", "data.task=gray", "--set", "data.use_augment=false",
            "--set", "data.use_hints=false", "--set", "data.prior_samples=8", "--set", "data.val_samples=8",
            "--set", "model.color.width=16", "--set", "model.color.levels=2", "--set", "model.color.logits_stride=2",
            "--set", "model.color.max_width=64", "--set", "optim.warmup_steps=10",
            "--set", "optim.weight_decay=0", "--set", "log_every=10", "--set", "sample_every=150"]
    assert T.main(args) == 0
    rows = [line.split(",") for line in (out / "log.csv").read_text().splitlines()]
    col = rows[0].index("loss")
    first, last = float(rows[1][col]), float(rows[-1][col])
    assert last < 0.2 * first, f"loss fell only from {first} to {last}"
    grid = out / "samples" / "step_0000150.png"
    assert grid.exists()
    Image.open(grid).save(Path("/tmp") / "sketchcolor_overfit_grid.png")


def test_a_weighted_manifest_counts_its_prior_over_a_weighted_draw(manifest):
    # Four of the eight training pairs carry almost all the weight: the prior counts only them.
    heavy = {f"p{i:03d}": {"weight": 1000.0} for i in (0, 2, 4, 6)}
    light = {f"p{i:03d}": {"weight": 1e-6} for i in (1, 3, 5, 7)}
    weighted = rewrite_manifest(manifest, "prior-weighted.jsonl", **heavy, **light)
    base = {"stage": "color", "data.size": 32, "data.prior_samples": 4}
    bins = C.ab_bins()
    got, n = train_prior.compute_prior(T.load_config({}, {**base, "data.manifest": str(weighted)}), bins)
    heavy_only = rewrite_manifest(manifest, "prior-heavy.jsonl",
                                  **{k: {"split": "val"} for k in light})  # the heavy four alone, unweighted
    want, _ = train_prior.compute_prior(T.load_config({}, {**base, "data.manifest": str(heavy_only)}), bins)
    assert n == 4 and torch.allclose(got, want, atol=1e-6)
    first_four, _ = train_prior.compute_prior(T.load_config({}, {**base, "data.manifest": str(manifest)}), bins)
    assert not torch.allclose(first_four, want, atol=1e-3)  # unweighted: the first four, not the heavy four
