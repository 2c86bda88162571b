"""Training: ``python -m sketchcolor.train --stage inversion|color|joint --data MANIFEST --out runs/NAME``.

One process or many (``torchrun --nproc-per-node N -m sketchcolor.train ...``: DistributedDataParallel, gloo on
CPU, nccl on GPU, rank 0 alone writes). The run folder is a checkpoint folder (``model.safetensors``,
``config.json``, ``meta.json``; :meth:`sketchcolor.Colorizer.from_pretrained` loads it) plus

- ``train_config.json``: the full :class:`TrainConfig` (``--config FILE`` reads one; ``--set a.b=v`` overrides);
- ``trainer_state.pt``: everything ``--resume`` needs to continue exactly (weights, optimizer state, step, RNG
  states) as plain tensors/dicts, loadable with ``torch.load(weights_only=True)``;
- ``prior.json``: the ab prior over the bins from the training targets (class rebalancing), computed once and
  computed again when what it was counted from changes (the manifest's bytes, ``data.prior_samples``, the crop
  size and task, the bins);
- ``log.csv``, ``loss.png`` and ``samples/step_NNNNNNN.png`` (val pictures: input | L | prediction | target).

A new run refuses an ``--out`` that already holds one (``train_config.json``, ``trainer_state.pt`` or
``model.safetensors``): ``--resume`` continues it, ``--overwrite`` replaces it (removing the old run's files so none
mix with the new ones). ``--resume`` keeps the run's architecture: a ``--set model.*`` that would change it is
refused, and trainer-state weights that do not fit the configured nets raise a
:class:`~sketchcolor.errors.CheckpointError` naming the net.

Ctrl-C (SIGINT) or SIGTERM finishes the current optimizer step, saves the checkpoint and trainer state
(``meta.json`` reason "interrupted"), logs where, and exits with 128 + the signal number (130 for Ctrl-C);
``--resume`` then continues exactly. Under torchrun a signal on any rank stops every rank at the same step. Further
signals are ignored while it finishes and saves (SIGKILL still ends it; the writes are atomic either way); the
previous signal handlers are restored when :meth:`Trainer.fit` returns or raises. A file that cannot be written
(disk full) stops the run with one line naming the folder and the reason, and leaves no temporary files.

Stages:

- ``inversion``: line art -> L (L1 + edge loss) on sketch samples.
- ``color``: (L, hints, propagated fills) -> ab. Gray-task samples get the true L. Sketch samples get the L
  estimate of a frozen inversion net (``--inversion PATH``, or the inversion net inside ``--init PATH``) so the
  color net learns on the imperfect L it meets at inference; with no inversion net they fall back to the true L.
  The frozen inversion net is saved with the run so the folder colors sketches on its own.
- ``joint``: line -> inversion -> L estimate -> color, end to end (color loss + ``loss.joint_inversion`` x the
  inversion loss, which keeps the L estimate an L); gray-task samples bypass the inversion net.

Batches are per process (global batch = batch_size x processes). Data order is a pure function of (seed,
epoch, index) — DistributedSampler permutations (or, when the manifest's entries differ in ``weight``, draws
with replacement in proportion to it) and :class:`sketchcolor.data.PairDataset` samples — so a resumed
run skips the batches it already saw and reproduces an uninterrupted one bit for bit on CPU. A train split that
holds pictures of the held-out-designer test (:data:`sketchcolor.data.manifest.HELD_OUT_SOURCES`) is refused
before anything is written.

Modules: :mod:`~sketchcolor.train.config` (the config and LR schedule), :mod:`~sketchcolor.train.distributed`
(process group, device, agreeing on flags), :mod:`~sketchcolor.train.data` (datasets, resumable sampler, val batch),
:mod:`~sketchcolor.train.prior` (ab prior), :mod:`~sketchcolor.train.nets` (which nets a stage trains, from where),
:mod:`~sketchcolor.train.stage` (nets + loss as one module), :mod:`~sketchcolor.train.state` (RNG and trainer
state), :mod:`~sketchcolor.train.history` (log.csv), :mod:`~sketchcolor.train.plots` (loss.png),
:mod:`~sketchcolor.train.samples` (sample grids), :mod:`~sketchcolor.train.folder` (what makes a folder a run,
``--overwrite``), :mod:`~sketchcolor.train.signals` (stopping on SIGINT/SIGTERM), :mod:`~sketchcolor.train.trainer`
(the loop) and :mod:`~sketchcolor.train.cli` (the command line).
"""

from sketchcolor.train.cli import config_from_args, get_args_parser, main
from sketchcolor.train.config import (
    STAGES,
    DataConfig,
    LossConfigs,
    ModelConfigs,
    OptimConfig,
    TrainConfig,
    load_config,
    lr_at,
)
from sketchcolor.train.state import load_trainer_state, save_trainer_state
from sketchcolor.train.trainer import Trainer, TrainingDiverged, TrainingInterrupted

__all__ = [
    "STAGES",
    "DataConfig",
    "LossConfigs",
    "ModelConfigs",
    "OptimConfig",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "config_from_args",
    "get_args_parser",
    "load_config",
    "load_trainer_state",
    "lr_at",
    "main",
    "save_trainer_state",
]
