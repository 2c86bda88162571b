"""Checkpoint folders: safetensors weights + JSON config (+ meta), written atomically, loaded strictly.

A checkpoint is a folder holding

- ``model.safetensors``: the weights of one or both nets, keys prefixed by their role (``inversion.`` / ``color.``);
- ``config.json``: ``{"format": "sketchcolor", "format_version": 2, "models": {role: {"arch": name, **config}},
  "normalization": {...}, ...}`` — everything needed to rebuild the nets (:mod:`sketchcolor.models`), never a
  pickled object. Version 1 (no ``"arch"``: each role's default architecture) still loads;
- ``meta.json`` (optional): how the weights were made (data, steps, commands, metrics).

Weights are never loaded through pickle. Saving writes each file in full under a temporary name
(:mod:`sketchcolor.atomic`) and swaps it in with ``os.replace``, so an interrupted save never leaves a half-written
file where a good one stood.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import torch
from torch import nn

from sketchcolor.atomic import temp_sibling
from sketchcolor.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

FORMAT = "sketchcolor"
FORMAT_VERSION = 2
# Versions this sketchcolor reads: 1 recorded no architecture names.
READABLE_VERSIONS = (1, 2)
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
META_FILE = "meta.json"
# Prefixes that torch wrappers add to state-dict keys; checkpoints always hold the unwrapped model.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")


class LoadedCheckpoint(NamedTuple):
    """What :func:`load_checkpoint` returns: built nets (eval mode), the config dict and the meta dict."""

    models: dict[str, nn.Module]
    config: dict[str, Any]
    meta: dict[str, Any]
    path: Path


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the plain module inside DistributedDataParallel / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _strip_prefixes(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                changed = True
    return key


def save_checkpoint(
    path: str | os.PathLike,
    models: dict[str, nn.Module],
    *,
    meta: dict[str, Any] | None = None,
    extra_config: dict[str, Any] | None = None,
    float_dtype: torch.dtype | None = None,
) -> Path:
    """Write ``models`` (role -> registered net, see :mod:`sketchcolor.models`) to the checkpoint folder ``path``
    atomically.

    Tensors are stored contiguous and detached, in their own dtype unless ``float_dtype`` is given (e.g.
    ``torch.float16`` to halve the size of shipped weights; loading casts back to the net's dtype).
    ``extra_config`` adds keys to config.json (e.g. ``working_size``); ``meta`` becomes meta.json. Returns the
    folder path.
    """
    from safetensors.torch import save_file

    from sketchcolor.color import NORMALIZATION
    from sketchcolor.models import ROLES, net_spec

    if not models:
        raise CheckpointError("nothing to save: no models given")
    unknown = sorted(set(models) - set(ROLES))
    if unknown:
        raise CheckpointError(f"unknown model names {unknown}; allowed: {sorted(ROLES)}")

    target = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    configs: dict[str, dict[str, Any]] = {}
    for name, model in models.items():
        plain = unwrap_model(model)
        configs[name] = net_spec(name, plain)
        for key, value in plain.state_dict().items():
            value = value.detach().to("cpu")
            if float_dtype is not None and value.is_floating_point():
                value = value.to(float_dtype)
            tensors[f"{name}.{_strip_prefixes(key)}"] = value.contiguous()

    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "models": configs,
        "normalization": dict(NORMALIZATION),
        **(extra_config or {}),
    }
    target.mkdir(parents=True, exist_ok=True)
    # Every file is first written in full beside its final name, then all are swapped in with os.replace:
    # an interrupted save leaves the previous files intact. Other files in the folder (trainer state, logs)
    # are left alone.
    staged: list[tuple[Path, Path]] = []
    try:
        weights_tmp = temp_sibling(target / WEIGHTS_FILE)
        staged.append((weights_tmp, target / WEIGHTS_FILE))
        save_file(tensors, str(weights_tmp), metadata={"format": FORMAT})
        for name, data in ((CONFIG_FILE, config), (META_FILE, meta)):
            if data is None:
                continue
            tmp = temp_sibling(target / name)
            staged.append((tmp, target / name))
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    log.info("saved checkpoint %s (%s)", target, ", ".join(sorted(models)))
    return target


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path.parent}: missing {path.name}; not a sketchcolor checkpoint") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: corrupt {what} ({exc})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: {what} must be a JSON object")
    return data


def read_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check a checkpoint folder's config.json without loading any weights."""
    folder = Path(path)
    if not folder.exists():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: a checkpoint is a folder with {WEIGHTS_FILE} and {CONFIG_FILE}")
    config = _read_json(folder / CONFIG_FILE, "config.json")
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{folder}: config.json is not a {FORMAT} checkpoint config")
    if config.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{folder}: checkpoint format_version {config.get('format_version')!r} is not supported "
            f"(this sketchcolor reads {', '.join(map(str, READABLE_VERSIONS))})"
        )
    if not isinstance(config.get("models"), dict) or not config["models"]:
        raise CheckpointError(f"{folder}: config.json lists no models")
    return config


def load_checkpoint(
    path: str | os.PathLike,
    *,
    device: str | torch.device = "cpu",
    names: Iterable[str] | None = None,
) -> LoadedCheckpoint:
    """Build the nets of the checkpoint folder ``path`` and load their weights strictly.

    ``names`` restricts which nets are loaded (default: all in config.json). Raises :class:`CheckpointError`
    naming the folder and what is wrong: missing files, corrupt JSON or weights, unknown model names, missing or
    unexpected tensors, shape mismatches.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from sketchcolor.models import ROLES, build_model

    folder = Path(path)
    config = read_config(folder)
    wanted = list(config["models"]) if names is None else list(names)
    for name in wanted:
        if name not in config["models"]:
            raise CheckpointError(f"{folder}: holds no {name!r} net (it has {sorted(config['models'])})")
        if name not in ROLES:
            raise CheckpointError(f"{folder}: unknown net {name!r}; allowed: {sorted(ROLES)}")

    weights_path = folder / WEIGHTS_FILE
    if not weights_path.is_file():
        raise CheckpointError(f"{folder}: missing {WEIGHTS_FILE}")
    try:
        tensors = load_file(str(weights_path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{weights_path}: corrupt or truncated weights ({exc})") from None

    models: dict[str, nn.Module] = {}
    for name in wanted:
        try:
            model = build_model(name, config["models"][name])
        except ConfigError as exc:
            raise CheckpointError(f"{folder}: bad config for {name!r}: {exc}") from None
        prefix = f"{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise CheckpointError(
                f"{folder}: {name} weights do not match its config: "
                f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected (e.g. {unexpected[:3]})"
            )
        bad_shapes = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
        if bad_shapes:
            k = bad_shapes[0]
            raise CheckpointError(
                f"{folder}: {name} tensor {k} has shape {tuple(state[k].shape)}, "
                f"the config builds {tuple(expected[k].shape)} ({len(bad_shapes)} mismatched)"
            )
        broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if broken:
            raise CheckpointError(f"{folder}: {name} weights hold NaN or infinite values ({len(broken)} tensors, "
                                  f"e.g. {broken[0]}); the checkpoint is broken (a diverged run?)")
        # Weights may be stored in fp16 to keep the package small; the nets compute in their own dtype.
        state = {k: v.to(expected[k].dtype) for k, v in state.items()}
        model.load_state_dict(state, strict=True)
        models[name] = model.to(device).eval()

    meta_path = folder / META_FILE
    meta = _read_json(meta_path, "meta.json") if meta_path.exists() else {}
    return LoadedCheckpoint(models=models, config=config, meta=meta, path=folder)


def export_checkpoint(src: str | os.PathLike, dst: str | os.PathLike, *, fp16: bool = True,
                      meta: dict[str, Any] | None = None) -> Path:
    """Copy the nets of checkpoint ``src`` (e.g. a run folder) into a clean checkpoint folder ``dst``.

    Only weights, config and meta travel (no trainer state, logs or samples); ``fp16`` halves the stored size
    (the nets still compute in float32). ``meta`` entries are added to the source's meta.json.
    """
    loaded = load_checkpoint(src)
    extra = {k: v for k, v in loaded.config.items() if k not in ("format", "format_version", "models", "normalization")}
    merged_meta = {**loaded.meta, **(meta or {}), "exported_from": str(src)}
    return save_checkpoint(dst, loaded.models, meta=merged_meta, extra_config=extra,
                           float_dtype=torch.float16 if fp16 else None)


def main(argv: list[str] | None = None) -> int:
    """``python -m sketchcolor.checkpoint SRC DST [--fp32]``: export a run's nets as a clean checkpoint folder."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m sketchcolor.checkpoint", description=main.__doc__)
    parser.add_argument("src", help="checkpoint or run folder")
    parser.add_argument("dst", help="new checkpoint folder (e.g. sketchcolor/weights/default)")
    parser.add_argument("--fp32", action="store_true", help="store float32 weights (default: float16)")
    args = parser.parse_args(argv)
    try:
        export_checkpoint(args.src, args.dst, fp16=not args.fp32)
    except CheckpointError as exc:
        print(f"sketchcolor: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
