"""Checkpoint folders: round trip, atomic writes, strict loading with clear errors."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from sketchcolor.checkpoint import load_checkpoint, read_config, save_checkpoint
from sketchcolor.errors import CheckpointError
from sketchcolor.models import build_model

from conftest import TINY_CONFIGS, make_tiny_checkpoint


def test_round_trip_gives_identical_outputs(tmp_path):
    torch.manual_seed(1)
    inv = build_model("inversion", TINY_CONFIGS["inversion"]).eval()
    col = build_model("color", TINY_CONFIGS["color"]).eval()
    folder = save_checkpoint(tmp_path / "ck", {"inversion": inv, "color": col}, meta={"steps": 3})
    loaded = load_checkpoint(folder)
    line = torch.rand(1, 1, 64, 64)
    x = torch.randn(1, 7, 64, 64)
    with torch.no_grad():
        assert torch.equal(inv(line), loaded.models["inversion"](line))
        assert torch.equal(col.decode(col(x), x), loaded.models["color"].decode(loaded.models["color"](x), x))
    assert loaded.meta == {"steps": 3}
    assert loaded.config["format"] == "sketchcolor"
    assert set(loaded.config["normalization"]) >= {"l_shift", "l_scale", "ab_scale"}


def test_config_records_each_nets_architecture_and_version_1_still_loads(tmp_path, tiny_checkpoint):
    config = read_config(tiny_checkpoint)
    assert config["format_version"] == 2
    assert config["models"]["color"]["arch"] == "color-unet"
    assert config["models"]["inversion"]["arch"] == "inversion-unet"
    # Version 1 recorded no architecture names: each role's default architecture.
    old = tmp_path / "v1"
    shutil.copytree(tiny_checkpoint, old)
    for spec in config["models"].values():
        del spec["arch"]
    (old / "config.json").write_text(json.dumps(dict(config, format_version=1)))
    loaded = load_checkpoint(old)
    assert sorted(loaded.models) == ["color", "inversion"]
    x = torch.randn(1, 7, 32, 32)
    with torch.no_grad():
        new_net, old_net = load_checkpoint(tiny_checkpoint).models["color"], loaded.models["color"]
        assert torch.equal(new_net(x).logits, old_net(x).logits)


def test_save_leaves_no_temporary_files_and_keeps_neighbours(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "ck")
    (folder / "trainer_state.pt").write_bytes(b"x")
    make_tiny_checkpoint(folder, seed=2)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["config.json", "meta.json", "model.safetensors", "trainer_state.pt"]


def test_unwraps_wrapper_prefixes(tmp_path):
    class Wrapper(torch.nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    inv = build_model("inversion", TINY_CONFIGS["inversion"])
    folder = save_checkpoint(tmp_path / "ck", {"inversion": Wrapper(inv)})
    loaded = load_checkpoint(folder)
    assert list(loaded.models) == ["inversion"]


def test_load_only_some_nets(tiny_checkpoint):
    loaded = load_checkpoint(tiny_checkpoint, names=["color"])
    assert list(loaded.models) == ["color"]
    with pytest.raises(CheckpointError, match="holds no 'discriminator'"):
        load_checkpoint(tiny_checkpoint, names=["discriminator"])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: shutil.rmtree(f), "no such checkpoint folder"),
        (lambda f: (f / "config.json").unlink(), "missing config.json"),
        (lambda f: (f / "model.safetensors").unlink(), "missing model.safetensors"),
        (lambda f: (f / "config.json").write_text("{not json"), "corrupt config.json"),
        (lambda f: (f / "config.json").write_text("[1, 2]"), "must be a JSON object"),
        (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:200]),
         "corrupt or truncated"),
        (lambda f: (f / "model.safetensors").write_bytes(b""), "corrupt or truncated"),
        (lambda f: (f / "meta.json").write_text("nope"), "corrupt meta.json"),
    ],
    ids=["missing-folder", "no-config", "no-weights", "bad-json", "json-list", "truncated", "empty-weights",
         "bad-meta"],
)
def test_damaged_checkpoints_give_clear_errors(tmp_path, damage, message):
    folder = make_tiny_checkpoint(tmp_path / "ck")
    damage(folder)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def _edit_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


def test_mismatched_config_is_named(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "ck")
    _edit_config(folder, lambda c: c["models"]["color"].update(width=12))
    with pytest.raises(CheckpointError, match="color tensor .* has shape"):
        load_checkpoint(folder)


def test_missing_tensors_are_named(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "ck")
    _edit_config(folder, lambda c: c["models"]["inversion"].update(levels=3))
    with pytest.raises(CheckpointError, match="do not match its config"):
        load_checkpoint(folder)


def test_unknown_config_key_and_version(tmp_path):
    folder = make_tiny_checkpoint(tmp_path / "ck")
    _edit_config(folder, lambda c: c["models"]["color"].update(colour_depth=3))
    with pytest.raises(CheckpointError, match="bad config for 'color'"):
        load_checkpoint(folder)
    _edit_config(folder, lambda c: c.update(format_version=99))
    with pytest.raises(CheckpointError, match="format_version 99 is not supported"):
        read_config(folder)


def test_a_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(b"123")
    with pytest.raises(CheckpointError, match="a checkpoint is a folder"):
        load_checkpoint(path)


def test_export_keeps_outputs_within_fp16_rounding(tmp_path, tiny_checkpoint):
    from sketchcolor.checkpoint import export_checkpoint

    out = export_checkpoint(tiny_checkpoint, tmp_path / "shipped", meta={"note": "exported"})
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "meta.json", "model.safetensors"]
    a, b = load_checkpoint(tiny_checkpoint), load_checkpoint(out)
    assert b.meta["note"] == "exported" and b.config["working_size"] == a.config["working_size"]
    x = torch.randn(1, 7, 32, 32)
    with torch.no_grad():
        net_a, net_b = a.models["color"], b.models["color"]
        diff = (net_a.decode(net_a(x), x) - net_b.decode(net_b(x), x)).abs().max()
    assert diff < 5e-3
    assert (out / "model.safetensors").stat().st_size < 0.6 * (tiny_checkpoint / "model.safetensors").stat().st_size


def test_non_finite_weights_are_refused_at_load(tmp_path, tiny_checkpoint):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "nan"
    shutil.copytree(tiny_checkpoint, folder)
    tensors = load_file(str(folder / "model.safetensors"))
    key = next(k for k in tensors if k.startswith("color.") and tensors[k].is_floating_point())
    tensors[key] = torch.full_like(tensors[key], float("nan"))
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(CheckpointError, match=f"color weights hold NaN or infinite values .*{key[len('color.'):]}"):
        load_checkpoint(folder)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["models"]["color"].update(head_width=10**7), r"asks for [\d,]+ M parameters; at most 200 M"),
    (lambda c: c.update(working_size="big"), "working_size: expected an integer, got 'big'"),
    (lambda c: c.update(pipeline={"gap_closing": "dark"}), "gap_closing"),
])
def test_configs_that_would_break_or_exhaust_the_machine_are_refused(tmp_path, tiny_checkpoint, edit, message):
    from sketchcolor import Colorizer

    folder = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, folder)
    _edit_config(folder, edit)
    with pytest.raises(CheckpointError, match=message):
        Colorizer.from_pretrained(folder, device="cpu")
