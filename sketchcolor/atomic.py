"""Atomic file writes: a file is written in full under a temporary name beside its target, then swapped in with
``os.replace``; an interrupted or failed write leaves the previous file (or none) and no temporary file behind.

Every writer in sketchcolor (pictures, manifests, checkpoints, trainer state, logs, plots, layered files, reports)
goes through :func:`atomic_path`, so there is one temporary-name scheme: ``.{stem}.{random}.tmp{suffix}`` in the
target's folder (the same file system, so the rename is atomic; the real suffix kept last, so writers that pick a
format by extension still do).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def temp_sibling(path: str | os.PathLike) -> Path:
    """A new, empty temporary file beside ``path`` (created exclusively, so two writers never share one)."""
    path = Path(path)
    while True:
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            # 0o666 lets the process umask decide the final permissions, as for a normally created file.
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue


@contextmanager
def atomic_path(path: str | os.PathLike, *, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; on a clean exit it replaces ``path``.

    On any exception the temporary file is removed and the exception propagates; ``path`` is untouched.
    """
    path = Path(path)
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk before the swap); returns the path."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, data: Any, *, sort_keys: bool = False) -> Path:
    """Write ``data`` as indented JSON (a trailing newline) to ``path`` atomically; returns the path."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=sort_keys) + "\n")


__all__ = ["atomic_path", "temp_sibling", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]
