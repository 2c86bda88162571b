"""The run folder as a whole: which files make it a run, refusing to start over one by accident, clearing one on
purpose (``--overwrite``), and a failed write as one line."""

from __future__ import annotations

import shutil
from pathlib import Path

from sketchcolor.checkpoint import CONFIG_FILE, META_FILE, WEIGHTS_FILE
from sketchcolor.train.config import TRAIN_CONFIG_FILE
from sketchcolor.train.history import LOG_FILE
from sketchcolor.train.plots import PLOT_FILE
from sketchcolor.train.prior import PRIOR_FILE
from sketchcolor.train.samples import SAMPLES_DIR
from sketchcolor.train.state import STATE_FILE

# Any of these makes a folder a run (or a checkpoint) that a new run would replace.
RUN_MARKERS = (TRAIN_CONFIG_FILE, STATE_FILE, WEIGHTS_FILE)
# Everything a run writes; the samples folder besides.
RUN_FILES = (*RUN_MARKERS, CONFIG_FILE, META_FILE, PRIOR_FILE, LOG_FILE, PLOT_FILE)


def run_markers(out: Path) -> list[str]:
    """The files in ``out`` that show it holds a run; none for a missing, empty or unrelated folder."""
    return [name for name in RUN_MARKERS if (out / name).exists()]


def existing_run_message(out: Path, markers: list[str]) -> str:
    """The one-line message for starting a new run over the run in ``out`` (``markers``: what shows it)."""
    shown = f" ({', '.join(markers)})" if markers else ""
    return f"{out} already holds a run{shown}; continue it with --resume or replace it with --overwrite"


def clear_run(out: Path) -> list[str]:
    """Remove the files a run writes in ``out`` (weights, configs, trainer state, prior, log, plot, samples), so
    a new run's files never mix with an old one's; other files stay. Returns the names removed."""
    removed = [name for name in RUN_FILES if (out / name).is_file()]
    for name in removed:
        (out / name).unlink()
    if (out / SAMPLES_DIR).is_dir():
        shutil.rmtree(out / SAMPLES_DIR)
        removed.append(f"{SAMPLES_DIR}/")
    return removed


def write_failure(what: str, out: Path, exc: OSError) -> str:
    """The one-line message for an OSError while writing ``what`` into ``out``, e.g. ``cannot save the checkpoint
    to runs/x: No space left on device`` (the temporary file's name would only confuse)."""
    return f"cannot save {what} to {out}: {exc.strerror or exc}"
