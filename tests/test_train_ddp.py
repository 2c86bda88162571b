"""Two-process DistributedDataParallel training on CPU (gloo): both ranks finish, and only rank 0 writes.

Each rank runs in its own working directory with the same relative ``--out``: anything rank 1 wrote would
appear under its own directory, so an empty rank-1 directory proves rank 0 alone wrote files.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from test_train import TINY_SET, make_manifest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, manifest: str, cwds: list[str], results: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    os.chdir(cwds[rank])
    torch.set_num_threads(1)
    from sketchcolor import train as T

    args = ["--stage", "color", "--data", manifest, "--out", "runs/ddp", "--max-steps", "3", "--batch-size", "2",
            "--workers", "0", "--device", "cpu", "--no-progress", *TINY_SET, "--set", "log_every=1"]
    code = T.main(args)
    Path(results, f"rank{rank}.txt").write_text(str(code))


@pytest.mark.slow
def test_two_process_ddp_on_cpu(tmp_path):
    manifest = make_manifest(tmp_path / "data", n=8, size=32)
    cwds = [tmp_path / "rank0", tmp_path / "rank1"]
    for c in cwds:
        c.mkdir()
    results = tmp_path / "results"
    results.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), str(manifest), [str(c) for c in cwds], str(results)), nprocs=2,
             join=True)
    codes = {p.name: p.read_text() for p in results.iterdir()}
    assert codes == {"rank0.txt": "0", "rank1.txt": "0"}
    run = cwds[0] / "runs" / "ddp"
    assert (run / "model.safetensors").exists() and (run / "trainer_state.pt").exists()
    assert list(cwds[1].iterdir()) == [], f"rank 1 wrote {list(cwds[1].rglob('*'))}"
    meta = __import__("json").loads((run / "meta.json").read_text())
    assert meta["processes"] == 2 and meta["step"] == 3 and meta["samples_seen"] == 3 * 2 * 2
    rows = (run / "log.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # one header, one row a step: nothing written twice
