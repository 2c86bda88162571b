"""The command line of ``python -m sketchcolor.train`` and ``sketchcolor train``: flags -> TrainConfig -> Trainer."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch.distributed as dist

from sketchcolor.errors import ConfigError, SketchcolorError
from sketchcolor.models.configs import parse_overrides
from sketchcolor.train.config import STAGES, TRAIN_CONFIG_FILE, ModelConfigs, TrainConfig, load_config
from sketchcolor.train.trainer import Trainer, TrainingDiverged, TrainingInterrupted


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sketchcolor.train",
        description="Train the sketch-inversion net, the color net, or both end to end.",
        epilog="Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves the checkpoint and exits with 130 "
               "(SIGTERM: 143); --resume continues exactly.",
    )
    p.add_argument("--stage", choices=STAGES, help="what to train (default: from --config, else color)")
    p.add_argument("--data", metavar="MANIFEST", help="pair manifest (JSONL)")
    p.add_argument("--out", required=True, metavar="DIR", help="run folder (becomes a checkpoint folder)")
    p.add_argument("--config", metavar="FILE", help="TrainConfig JSON (e.g. a run's train_config.json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
                   help="override a config key, e.g. --set model.color.width=32 (repeatable)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out exactly where it stopped")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (its weights, state, configs, prior, log and samples); "
                        "without it a new run refuses a folder that holds one")
    p.add_argument("--init", metavar="PATH", help="checkpoint whose weights start the trained nets")
    p.add_argument("--inversion", metavar="PATH", help="color stage: checkpoint with the frozen inversion net")
    p.add_argument("--max-steps", type=int, help="optimizer steps in total")
    p.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this many minutes")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--batch-size", type=int, help="samples per process per step")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--workers", type=int, help="data loader worker processes")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's config: the resumed run's saved config (``--resume``) or ``--config`` FILE, then ``--set``
    overrides, then the dedicated flags."""
    base: dict[str, Any] = {}
    source = Path(args.out) / TRAIN_CONFIG_FILE if args.resume else (Path(args.config) if args.config else None)
    if source is not None:
        try:
            base = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(base, dict):
            raise ConfigError(f"{source}: expected a JSON object")
    overrides = parse_overrides(args.overrides, example="model.color.width=32")
    flags = {"stage": args.stage, "data.manifest": args.data, "max_steps": args.max_steps,
             "max_minutes": args.max_minutes, "device": args.device, "batch_size": args.batch_size,
             "optim.lr": args.lr, "workers": args.workers, "seed": args.seed}
    overrides.update({k: v for k, v in flags.items() if v is not None})
    cfg = load_config(base, overrides)
    if args.resume:
        changed = model_changes(load_config(base).model, cfg.model)
        if changed:
            raise ConfigError(f"--resume continues the run with the nets it saved; --set would change "
                              f"{', '.join(changed)} (a new architecture needs a new run)")
    return cfg


def model_changes(saved: ModelConfigs, asked: ModelConfigs) -> list[str]:
    """``model.ROLE.KEY (old -> new)`` for each architecture key that differs."""
    changes = []
    for role in ("inversion", "color"):
        old, new = getattr(saved, role), getattr(asked, role)
        changes += [f"model.{role}.{k} ({old.get(k)!r} -> {new.get(k)!r})"
                    for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]
    return changes


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m sketchcolor.train`` and ``sketchcolor train``; returns the exit code: 0, 1 for an
    error (one line on stderr), 128 + the signal number when SIGINT/SIGTERM stopped the run (130 for Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.resume and (args.init or args.inversion):
            raise ConfigError("--resume continues a run as saved; it cannot take --init or --inversion")
        cfg = config_from_args(args)
        trainer = Trainer(cfg, args.out, init=args.init, inversion_path=args.inversion, resume=args.resume,
                          overwrite=args.overwrite, argv=argv, progress=not args.no_progress)
        trainer.fit()
    except (SketchcolorError, TrainingDiverged) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TrainingInterrupted as exc:
        if not dist.is_initialized() or dist.get_rank() == 0:
            print(f"interrupted at step {exc.step}; continue with --out {exc.out} --resume", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        # Before the training loop took over SIGINT (building the run): nothing new was saved.
        print("interrupted before training began; nothing new was saved", file=sys.stderr)
        return 130
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0
