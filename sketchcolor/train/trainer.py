"""The training loop: :class:`Trainer` builds a run from a :class:`TrainConfig`, trains, logs and checkpoints it."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader

from sketchcolor import color as C
from sketchcolor.errors import CheckpointError, ConfigError
from sketchcolor.losses import gan_loss
from sketchcolor.models import PatchDiscriminator
from sketchcolor.models.configs import to_dict
from sketchcolor.pipeline import PipelineConfig
from sketchcolor.train.config import TrainConfig, lr_at, save_train_config
from sketchcolor.train.data import ResumableSampler, load_val_batch, make_dataset
from sketchcolor.train.distributed import all_true, any_true, init_distributed, max_each, resolve_device
from sketchcolor.train.folder import clear_run, existing_run_message, run_markers, write_failure
from sketchcolor.train.history import LOG_FILE, read_log, write_log
from sketchcolor.train.nets import build_stage_nets
from sketchcolor.train.plots import PLOT_FILE, plot_losses
from sketchcolor.train.prior import load_or_compute_prior
from sketchcolor.train.samples import SAMPLES_DIR, write_sample_grid
from sketchcolor.train.signals import StopRequests, loader_worker_init, signal_name
from sketchcolor.train.stage import StageModel, prepare_batch
from sketchcolor.train.state import (
    STATE_FILE,
    load_trainer_state,
    rng_state,
    save_trainer_state,
    seed_everything,
    set_rng_state,
)

log = logging.getLogger(__name__)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint was kept."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped the run after a whole step, whose checkpoint and trainer state were saved:
    ``--resume`` continues it exactly. ``signum``: the signal; ``step``: the saved step; ``out``: the run folder."""

    def __init__(self, message: str, *, signum: int, step: int, out: Path) -> None:
        super().__init__(message)
        self.signum, self.step, self.out = signum, step, out

    @property
    def exit_code(self) -> int:
        """128 + the signal number: the shell's code for a process that a signal ended (130 for SIGINT)."""
        return 128 + self.signum


class Trainer:
    """One run: builds data, nets and optimizer from a :class:`TrainConfig`, trains, logs and checkpoints.

    ``out`` is the run folder; ``init`` a checkpoint whose weights start the trained nets; ``inversion_path``
    a checkpoint with the frozen inversion net for the color stage; ``resume`` continues from ``out``. A new run
    refuses a folder that already holds one (:class:`ConfigError`) unless ``overwrite``, which clears the old
    run's files first.
    ``cfg`` is not changed: :attr:`cfg` is the run's own copy, which records the architecture of the nets an
    ``init`` checkpoint brings, and is what ``train_config.json`` holds.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        out: str | os.PathLike,
        *,
        init: str | None = None,
        inversion_path: str | None = None,
        resume: bool = False,
        overwrite: bool = False,
        argv: Sequence[str] | None = None,
        progress: bool = True,
    ) -> None:
        self.out = Path(out)
        self.argv = list(argv or [])
        self.progress = progress
        device = resolve_device(cfg.device, int(os.environ.get("LOCAL_RANK", 0)))
        self.dist = init_distributed(device)
        self.device = device
        if device.type == "cuda":
            torch.cuda.set_device(device)
        self.autocast_dtype = torch.bfloat16 if (
            cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")) else None
        self.channels_last = device.type == "cuda"
        if not cfg.data.manifest:
            raise ConfigError("no training data: pass --data MANIFEST (or data.manifest in --config)")
        if not Path(cfg.data.manifest).is_file():
            raise ConfigError(f"--data {cfg.data.manifest}: no such manifest file")
        # Rank 0 keeps the first failed write's message here; every rank raises it at the next agreement point.
        self._write_error: str | None = None
        if resume and overwrite:
            raise ConfigError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
        # Before the run folder is claimed (or cleared by --overwrite): unusable training data fails first.
        self.train_set = make_dataset(cfg, "train", train=True)
        self.sampler = ResumableSampler(self.train_set, num_replicas=self.dist.world, rank=self.dist.rank,
                                        seed=cfg.seed, batch_size=cfg.batch_size)
        self.steps_per_epoch = len(self.sampler) // cfg.batch_size
        if self.steps_per_epoch == 0:
            raise ConfigError(
                f"batch size {cfg.batch_size} x {self.dist.world} processes is larger than the "
                f"{len(self.train_set)} training pairs; lower --batch-size"
            )
        if not resume:
            self._claim_folder(overwrite)

        state = load_trainer_state(self.out / STATE_FILE) if resume else None
        seed_everything(cfg.seed)
        self.step = 0
        self.history: list[dict[str, Any]] = []

        nets = build_stage_nets(cfg, device, init=init, inversion_path=inversion_path, state=state)
        # From here on the run's own config: the init checkpoint's architectures in place of the caller's, so the
        # saved train_config.json (and a --resume from it) matches the weights.
        cfg = self.cfg = dataclasses.replace(cfg, model=nets.model)
        self.frozen = nets.frozen
        rebalance = None
        if nets.color is not None:
            if self.dist.main:
                self.out.mkdir(parents=True, exist_ok=True)
            prior = load_or_compute_prior(cfg, self.out, self.dist, device, nets.color.bins)
            rebalance = C.rebalance_weights(prior.double(), cfg.loss.color.rebalance_lambda).float()
        self.model = StageModel(cfg, nets.inversion, nets.color, nets.frozen, rebalance).to(device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        params = [p for p in self.model.parameters() if p.requires_grad]
        opt_cls = torch.optim.AdamW if cfg.optim.optimizer == "adamw" else torch.optim.Adam
        weight_decay = cfg.optim.weight_decay if cfg.optim.optimizer == "adamw" else 0.0
        self.optimizer = opt_cls(params, lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=weight_decay)

        self.disc = None
        if cfg.loss.adversarial > 0 and cfg.stage != "inversion":
            self.disc = PatchDiscriminator(cfg.loss.discriminator).to(device)
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas)

        if state is not None:
            self._restore(state)
        self.ddp_model: nn.Module = self.model
        if self.dist.enabled:
            ids = [device.index] if device.type == "cuda" else None
            self.ddp_model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
            if self.disc is not None:
                self.ddp_disc = nn.parallel.DistributedDataParallel(self.disc, device_ids=ids)
        elif self.disc is not None:
            self.ddp_disc = self.disc

        self._val_batch: dict[str, Any] | None = None

    def _claim_folder(self, overwrite: bool) -> None:
        """A new run's folder: refuse one that holds a run, or with ``overwrite`` clear that run's files (rank 0
        looks and clears; every rank raises together)."""
        markers = run_markers(self.out) if self.dist.main else []
        if any_true(bool(markers), self.dist, self.device) and not overwrite:
            raise ConfigError(existing_run_message(self.out, markers))
        if markers:
            removed = clear_run(self.out)
            log.info("--overwrite: removed the previous run's files from %s (%s)", self.out, ", ".join(removed))

    def _restore(self, state: dict[str, Any]) -> None:
        nets = self.model.trained_nets()
        if sorted(state["models"]) != sorted(nets):
            raise CheckpointError(
                f"{self.out}: trainer state holds {sorted(state['models'])}, "
                f"stage {self.cfg.stage} trains {sorted(nets)}"
            )
        for name, net in nets.items():
            try:
                net.load_state_dict(state["models"][name])
            except RuntimeError as exc:
                # torch's message: a header line, then one line per kind of mismatch; the first says enough.
                detail = next((line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc))
                raise CheckpointError(
                    f"{self.out}: cannot resume: the saved {name} net does not match the configured one "
                    f"({detail[:300]}); a resumed run keeps the architecture it started with"
                ) from None
        self.optimizer.load_state_dict(state["optimizer"])
        if self.disc is not None and "discriminator" in state:
            self.disc.load_state_dict(state["discriminator"])
            self.disc_opt.load_state_dict(state["discriminator_optimizer"])
        self.step = int(state["step"])
        set_rng_state(state["rng"])
        if self.dist.main:
            self.history = read_log(self.out / LOG_FILE, self.step)
        log.info("resumed %s at step %d", self.out, self.step)

    # -- saving

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "format": "sketchcolor-trainer-state",
            "version": 1,
            "stage": self.cfg.stage,
            "step": self.step,
            "models": {k: v.state_dict() for k, v in self.model.trained_nets().items()},
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(),
        }
        if self.frozen is not None:
            state["frozen_inversion"] = self.frozen.state_dict()
            state["frozen_inversion_config"] = dataclasses.asdict(self.frozen.config)
        if self.disc is not None:
            state["discriminator"] = self.disc.state_dict()
            state["discriminator_optimizer"] = self.disc_opt.state_dict()
        return state

    def save(self, reason: str) -> None:
        """Write the checkpoint folder and the trainer state. Every rank calls it and rank 0 writes; when rank 0
        cannot (disk full, read-only folder), every rank raises :class:`CheckpointError` with one line."""
        self._write("the checkpoint", lambda: self._write_checkpoint(reason))
        self._agree_on_writes()

    def _write_checkpoint(self, reason: str) -> None:
        from sketchcolor.checkpoint import save_checkpoint

        self.out.mkdir(parents=True, exist_ok=True)
        nets = dict(self.model.trained_nets())
        if self.frozen is not None:
            nets["inversion"] = self.frozen
        meta = {
            "stage": self.cfg.stage,
            "step": self.step,
            "epoch": self.step // self.steps_per_epoch,
            "samples_seen": self.step * self.cfg.batch_size * self.dist.world,
            "processes": self.dist.world,
            "reason": reason,
            "manifest": self.cfg.data.manifest,
            "command": self.argv,
            "last": self.history[-1] if self.history else {},
            "frozen_inversion": self.frozen is not None,
        }
        # The trainer state first: a crash between the two writes leaves a resumable state one save ahead of
        # the inference weights, never behind them.
        save_trainer_state(self.out / STATE_FILE, self._state())
        # The pipeline's settings travel with the weights, so a checkpoint colors the same way after a code change.
        pipeline = to_dict(PipelineConfig(working_size=min(max(self.cfg.data.size, 32), 2048)))
        save_checkpoint(self.out, nets, meta=meta, extra_config={"working_size": self.cfg.data.size,
                                                                 "pipeline": pipeline})
        save_train_config(self.out, self.cfg)

    def _write(self, what: str, write: Callable[[], object]) -> None:
        """Rank 0 runs ``write``. An OSError (disk full, read-only folder) is kept, not raised, so that every
        rank can learn of it at the next agreement point and stop together (no rank waits for one that left)."""
        if not self.dist.main or self._write_error is not None:
            return
        try:
            write()
        except OSError as exc:
            self._write_error = write_failure(what, self.out, exc)

    def _write_failed(self) -> CheckpointError:
        return CheckpointError(self._write_error or f"rank 0 could not write to {self.out}")

    def _agree_on_writes(self) -> None:
        """Raise :meth:`_write_failed` on every rank when rank 0 failed to write (one all-reduce)."""
        if any_true(self._write_error is not None, self.dist, self.device):
            raise self._write_failed()

    def _last_saved_step(self) -> int | str:
        path = self.out / "meta.json"
        try:
            return json.loads(path.read_text())["step"]
        except (OSError, ValueError, KeyError):
            return "none"

    # -- logging and samples

    def _log_row(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        self._write("the log", lambda: write_log(self.out / LOG_FILE, self.history))

    def write_samples(self) -> Path | None:
        """A grid of val pictures, one row each: input (line art or gray) | L fed/estimated | prediction | target."""
        if not self.dist.main:
            return None
        if self._val_batch is None:
            self._val_batch = load_val_batch(self.cfg)
        batch = prepare_batch(self._val_batch, self.device, False)
        path = self.out / SAMPLES_DIR / f"step_{self.step:07d}.png"
        return write_sample_grid(self.model, batch, path, temperature=self.cfg.temperature,
                                 autocast=self._autocast())

    def _write_progress(self) -> None:
        """The step's sample grid and the loss curves so far (rank 0)."""
        self._write("the sample grid", self.write_samples)
        self._write("the loss plot", lambda: plot_losses(self.history, self.out / PLOT_FILE))

    def _autocast(self):
        if self.autocast_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # -- the loop

    def _loader(self, epoch: int, start_batch: int) -> DataLoader:
        self.sampler.set_position(epoch, start_batch)
        # The dataset's epoch seed makes each sample a pure function of (seed, epoch, index), whatever worker.
        self.train_set.set_epoch(epoch)
        return DataLoader(
            self.train_set,
            batch_size=self.cfg.batch_size,
            sampler=self.sampler,
            num_workers=self.cfg.workers,
            worker_init_fn=loader_worker_init,
            pin_memory=self.device.type == "cuda",
            drop_last=True,
            persistent_workers=False,
        )

    def _train_step(self, batch: dict[str, Tensor], lr: float) -> tuple[Tensor, dict[str, float]]:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with self._autocast():
            loss, parts, preview = self.ddp_model(batch)
        if self.disc is not None:
            fake_ab = self.model.color.decode(preview["out"], preview["x"], self.cfg.temperature)
            fake = torch.cat((preview["l_norm"], fake_ab), dim=1)
            real = torch.cat((preview["l_norm"], C.ab_to_norm(batch["lab"][:, 1:])), dim=1).detach()
            # Generator term through the plain module with D frozen, so D's DDP hooks see no gradient here.
            self.disc.requires_grad_(False)
            adv = gan_loss(self.disc(fake), real=True)
            self.disc.requires_grad_(True)
            loss = loss + self.cfg.loss.adversarial * adv
            parts["adv"] = float(adv.detach())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        if self.disc is not None:
            for group in self.disc_opt.param_groups:
                group["lr"] = lr
            d_real = gan_loss(self.ddp_disc(real), real=True)
            d_loss = 0.5 * (d_real + gan_loss(self.ddp_disc(fake.detach()), real=False))
            self.disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.disc_opt.step()
            parts["disc"] = float(d_loss.detach())
        return loss, parts

    def fit(self) -> dict[str, Any]:
        """Train until ``max_steps`` or ``max_minutes``; returns the last logged row.

        SIGINT or SIGTERM (on any rank) stops every rank after the same whole step: the checkpoint and trainer
        state are saved (reason "interrupted") and :class:`TrainingInterrupted` is raised, with the previous
        signal handlers back in place. A NaN/inf loss raises :class:`TrainingDiverged` after keeping the last good
        checkpoint; a failed write (disk full), :class:`CheckpointError` on every rank."""
        d = self.dist
        if d.main:
            self.out.mkdir(parents=True, exist_ok=True)
        self._write("the run config", lambda: save_train_config(self.out, self.cfg))
        self.model.train()
        with StopRequests() as stop:
            stop_reason, signum, last = self._train_steps(stop)
            self.save(stop_reason)
            if stop_reason != "interrupted":
                self._write_progress()
                self._agree_on_writes()
            if d.enabled:
                # Leave together: a rank that tears the process group down while rank 0 still writes can abort it.
                dist.barrier()
        if stop_reason == "interrupted":
            message = (f"stopped by {signal_name(signum)}: saved the checkpoint and trainer state of step {self.step} "
                       f"in {self.out}")
            if d.main:
                log.info("%s", message)
            raise TrainingInterrupted(message, signum=signum, step=self.step, out=self.out)
        if d.main:
            log.info("stopped at step %d (%s); run folder %s", self.step, stop_reason, self.out)
        return last

    def _train_steps(self, stop: StopRequests) -> tuple[str, int, dict[str, Any]]:
        """The optimizer steps, logged, sampled and checkpointed periodically, until a reason to stop (every rank
        at the same step): returns the reason ("max_steps", "max_minutes" or "interrupted"), the signal number
        (0 for none) and the last logged row."""
        from tqdm import tqdm

        cfg, d = self.cfg, self.dist
        start_time = time.perf_counter()
        window_t, window_n = time.perf_counter(), 0
        sums: dict[str, float] = {}
        last: dict[str, Any] = {}
        stop_reason, signum = "max_steps", 0
        with tqdm(total=cfg.max_steps, initial=self.step, disable=not (d.main and self.progress),
                  desc=f"train {cfg.stage}", dynamic_ncols=True) as bar:
            while self.step < cfg.max_steps and stop_reason == "max_steps":
                epoch, start_batch = divmod(self.step, self.steps_per_epoch)
                for raw in self._loader(epoch, start_batch):
                    batch = prepare_batch(raw, self.device, self.channels_last)
                    loss, parts = self._train_step(batch, lr_at(self.step, cfg))
                    finite = all_true(bool(torch.isfinite(loss.detach()).item()), d, self.device)
                    if not finite:
                        raise TrainingDiverged(
                            f"loss became {float(loss.detach())} at step {self.step} (parts {parts}); stopped without "
                            f"saving, the last good checkpoint in {self.out} (step {self._last_saved_step()}) is "
                            "kept; try a lower --lr"
                        )
                    self.optimizer.step()
                    self.step += 1
                    window_n += cfg.batch_size * d.world
                    for k, v in {"loss": float(loss.detach()), **parts}.items():
                        sums[k] = sums.get(k, 0.0) + v
                    sums["_n"] = sums.get("_n", 0.0) + 1
                    bar.update(1)
                    if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                        elapsed = time.perf_counter() - window_t
                        n = sums.pop("_n")
                        last = {"step": self.step, "epoch": epoch, "lr": f"{lr_at(self.step - 1, cfg):.3e}",
                                **{k: f"{v / n:.5f}" for k, v in sums.items()},
                                "samples_per_s": f"{window_n / max(elapsed, 1e-9):.2f}",
                                "elapsed_s": f"{time.perf_counter() - start_time:.1f}"}
                        bar.set_postfix(loss=last["loss"], sps=last["samples_per_s"])
                        if d.main:
                            self._log_row(last)
                        sums, window_t, window_n = {}, time.perf_counter(), 0
                    if self.step % cfg.sample_every == 0:
                        self._write_progress()
                    # One all-reduce a step: every rank stops at the same step, whichever rank ran out of time, got
                    # a signal or (rank 0) failed to write.
                    out_of_time = cfg.max_minutes > 0 and time.perf_counter() - start_time > cfg.max_minutes * 60
                    out_of_time, signum, failed = max_each(
                        [out_of_time, stop.signum or 0, self._write_error is not None], d, self.device)
                    if failed:
                        raise self._write_failed()
                    if signum:
                        stop_reason = "interrupted"
                    elif out_of_time:
                        stop_reason = "max_minutes"
                    elif self.step % cfg.checkpoint_every == 0 and self.step < cfg.max_steps:
                        self.save("periodic")
                    if stop_reason != "max_steps" or self.step >= cfg.max_steps:
                        break
        return stop_reason, signum, last
