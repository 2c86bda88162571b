"""Stopping a run on SIGINT/SIGTERM (sketchcolor.train.signals and the loop): the step in progress finishes, the
checkpoint and trainer state are saved, the process exits with 128 + the signal number, ``--resume`` continues bit
for bit, a second signal cannot cut the save short, the previous handlers come back, and under DDP every rank
stops at the same step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_train import make_manifest, run_args, weights
from test_train_ddp import _free_port

from sketchcolor import train as T
from sketchcolor.train import trainer as train_trainer

REPO = Path(__file__).resolve().parents[1]

# The training command, with steps from the third on slowed down: the test has time to send its signal mid-run.
SLOWED_TRAINING = """
import sys, time
from sketchcolor.train import main, trainer

real_step = trainer.Trainer._train_step

def slow_step(self, batch, lr):
    if self.step >= 2:
        time.sleep(0.5)
    return real_step(self, batch, lr)

trainer.Trainer._train_step = slow_step
sys.exit(main(sys.argv[1:]))
"""


def log_steps(out: Path) -> list[int]:
    path = out / "log.csv"
    rows = path.read_text().strip().splitlines()[1:] if path.exists() else []
    return [int(row.split(",")[0]) for row in rows]


@pytest.mark.slow
def test_ctrl_c_saves_the_last_step_and_resume_matches_an_uninterrupted_run(tmp_path):
    manifest = make_manifest(tmp_path / "data", n=8, size=32)
    out, full, steps = tmp_path / "stopped", tmp_path / "full", 12
    # Its own session, signalled as a group like a terminal's Ctrl-C: the data-loader worker gets SIGINT too.
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOWED_TRAINING, *run_args(manifest, out, "color", steps, "--workers", "1")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(log_steps(out)) < 3 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()}"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    last_step = log_steps(out)[-1]
    assert err.strip().splitlines()[-1] == f"interrupted at step {last_step}; continue with --out {out} --resume"
    assert f"stopped by SIGINT: saved the checkpoint and trainer state of step {last_step} in {out}\n" in err
    meta = json.loads((out / "meta.json").read_text())
    state = torch.load(out / "trainer_state.pt", weights_only=True)
    # Saved at the last step that completed (every step is logged), before the end.
    assert meta["reason"] == "interrupted" and meta["step"] == state["step"] == last_step
    assert 3 <= meta["step"] < steps
    assert [p.name for p in out.iterdir() if ".tmp" in p.name] == []

    # In fresh processes like the interrupted run: torch's thread count (which earlier tests in this process may
    # have changed) decides the order of float sums, and so the last bits of the weights.
    for args in (["--out", str(out), "--resume", "--max-steps", str(steps), "--workers", "0", "--no-progress"],
                 run_args(manifest, full, "color", steps)):
        done = subprocess.run([sys.executable, "-m", "sketchcolor.train", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    a, b = weights(full), weights(out)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert log_steps(out) == list(range(1, steps + 1))


def test_fit_stops_after_the_step_ignores_a_second_signal_and_restores_the_handlers(tmp_path, monkeypatch):
    manifest = make_manifest(tmp_path / "data", n=8, size=32)
    out = tmp_path / "run"
    received: list[int] = []

    def previous(signum, frame):  # the host application's handler, e.g. a notebook's
        received.append(signum)

    real_step, real_save = train_trainer.Trainer._train_step, train_trainer.save_trainer_state

    def step(self, batch, lr):
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives during step 3 (0-based 2)
        return real_step(self, batch, lr)

    def save_state(path, state):
        os.kill(os.getpid(), signal.SIGINT)  # impatience while saving: ignored, the save completes
        real_save(path, state)

    monkeypatch.setattr(train_trainer.Trainer, "_train_step", step)
    monkeypatch.setattr(train_trainer, "save_trainer_state", save_state)
    cfg = T.config_from_args(T.get_args_parser().parse_args(run_args(manifest, out, "color", 10)))
    trainer = T.Trainer(cfg, out, progress=False)
    handlers = {s: signal.signal(s, previous) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(T.TrainingInterrupted, match="stopped by SIGTERM: saved .* of step 3 in") as info:
            trainer.fit()
        assert {s: signal.getsignal(s) for s in handlers} == {signal.SIGINT: previous, signal.SIGTERM: previous}
    finally:
        for s, handler in handlers.items():
            signal.signal(s, handler)
    assert received == []
    assert info.value.step == trainer.step == 3 and info.value.exit_code == 128 + signal.SIGTERM
    meta = json.loads((out / "meta.json").read_text())
    assert meta["reason"] == "interrupted" and meta["step"] == 3
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 3


def test_an_interrupt_while_building_the_run_is_one_line(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_trainer.Trainer, "__init__", interrupted)
    manifest = make_manifest(tmp_path / "data", n=8, size=32)
    try:
        code = T.main(run_args(manifest, tmp_path / "run", "color", 2))
    except KeyboardInterrupt:  # would end the whole pytest session
        pytest.fail("KeyboardInterrupt escaped main")
    assert code == 130
    assert capsys.readouterr().err == "interrupted before training began; nothing new was saved\n"


def _ddp_worker(rank: int, world: int, port: int, manifest: str, out: str, results: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    from sketchcolor.train import trainer

    real_step = trainer.Trainer._train_step
    ran: list[int] = []

    def step(self, batch, lr):
        ran.append(self.step)
        if rank == 1 and self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # only rank 1 is told to stop
        return real_step(self, batch, lr)

    trainer.Trainer._train_step = step
    code = T.main(run_args(Path(manifest), Path(out), "color", 6, "--batch-size", "2"))
    Path(results, f"rank{rank}.json").write_text(json.dumps({"code": code, "ran": ran}))


@pytest.mark.slow
def test_a_signal_on_one_ddp_rank_stops_every_rank_at_the_same_step(tmp_path):
    manifest = make_manifest(tmp_path / "data", n=8, size=32)
    out, results = tmp_path / "run", tmp_path / "results"
    results.mkdir()
    ctx = mp.spawn(_ddp_worker, args=(2, _free_port(), str(manifest), str(out), str(results)), nprocs=2,
                   join=False)
    deadline = time.monotonic() + 300
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:  # a rank left alone waits forever in its all-reduce
            for p in ctx.processes:
                p.kill()
            pytest.fail("the ranks did not stop together")
    ranks = [json.loads((results / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0] == ranks[1] == {"code": 128 + signal.SIGTERM, "ran": [0, 1, 2]}
    meta = json.loads((out / "meta.json").read_text())
    assert meta["reason"] == "interrupted" and meta["step"] == 3 and meta["processes"] == 2
