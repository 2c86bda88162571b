"""The run's log, ``log.csv``: one row per logged step, rewritten whole, and read back on resume."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sketchcolor.atomic import write_text_atomic

LOG_FILE = "log.csv"


def write_log(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as CSV to ``path`` atomically; the first row's keys are the columns. Rewritten whole (it is
    small) so a resumed run's log never holds the steps it redid twice."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())


def read_log(path: Path, last_step: int) -> list[dict[str, str]]:
    """The rows of ``path`` up to step ``last_step`` (a resumed run redoes the steps after it); none when the
    file does not exist."""
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["step"]) <= last_step]
