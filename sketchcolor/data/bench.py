"""Throughput of the augmented training loader: ``python -m sketchcolor.data.bench --data MANIFEST``.

Times a DataLoader over :class:`PairDataset` (augmentation, simulated hints and fills on) for each worker
count and prints a Markdown table of samples per second. Worker start-up and the first batch are excluded.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import cv2
import torch
from torch.utils.data import DataLoader

from sketchcolor.data.augment import AugmentConfig
from sketchcolor.data.dataset import TASKS, PairDataset, worker_init_fn
from sketchcolor.data.preview import default_hint_config
from sketchcolor.errors import SketchcolorError

log = logging.getLogger(__name__)


def measure(dataset: PairDataset, workers: int, *, batch_size: int, batches: int) -> tuple[int, float, float]:
    """(samples timed, wall seconds, main-process CPU seconds) for ``batches`` batches after one warm-up batch.

    With 0 workers the CPU seconds are the whole per-sample cost, a figure that does not depend on how busy
    the machine is (wall time does).
    """
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        worker_init_fn=worker_init_fn if workers else None,
        drop_last=True,
        prefetch_factor=4 if workers else None,
    )
    iterator = iter(loader)
    next(iterator)  # worker start-up and the first batch are not part of the steady state
    samples = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(batches):
        try:
            batch = next(iterator)
        except StopIteration:
            break
        samples += batch["line"].shape[0]
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    del iterator
    return samples, seconds, cpu_seconds


def markdown_table(rows: list[tuple[int, int, float, float]]) -> str:
    """Rows of (workers, samples, wall seconds, main-process CPU seconds)."""
    lines = [
        "| workers | samples | seconds | samples/s | CPU ms/sample (0 workers) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for workers, n, seconds, cpu in rows:
        cpu_ms = f"{1000 * cpu / n:.1f}" if workers == 0 else "–"
        lines.append(f"| {workers} | {n} | {seconds:.2f} | {n / seconds:.1f} | {cpu_ms} |")
    return "\n".join(lines)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Samples per second of the augmented loader.")
    parser.add_argument("--data", required=True, help="manifest.jsonl")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="worker counts (default 0 1 2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=15, help="timed batches per worker count")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--task", default="mixed", choices=list(TASKS))
    parser.add_argument("--no-hints", action="store_true", help="no simulated hints or fills")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # The main process only collates; leave the cores to the workers, as a training run would. OpenCV's own
    # thread pool is shrunk here, before the workers fork (a forked worker cannot resize it safely).
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        dataset = PairDataset(
            args.data,
            split="train",
            size=args.size,
            task=args.task,
            augment=AugmentConfig(),
            hints=None if args.no_hints else default_hint_config(),
        )
        rows = []
        for workers in args.workers:
            rows.append((workers, *measure(dataset, workers, batch_size=args.batch_size, batches=args.batches)))
    except SketchcolorError as exc:
        log.error("error: %s", exc)
        return 2
    hints = "off" if dataset.hints is None else "on"
    print(
        f"loader throughput: {args.size}² task={args.task} augment=default hints={hints} "
        f"batch={args.batch_size} cpus={os.cpu_count()}\n"
    )
    print(markdown_table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n1-minute load average at the end: {load:.1f} (other processes share the cores when it exceeds {os.cpu_count()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
