"""`python -m sketchcolor.bench`: latency, throughput, peak memory, parameters and FLOPs of the shipped pipeline.

What it measures, each time beside the same-shape Zhang 2016 reference net (:mod:`sketchcolor.reference`) run on
the same machine in the same run, so ratios hold where absolute times do not (shared, noisy machines):

- the full pipeline (:meth:`sketchcolor.pipeline.Colorizer.colorize`, sketch and gray modes, a few hints) on
  synthetic N×N pictures: latency p50/p90 per size, and peak resident memory. Every (device, mode, size) runs in a
  fresh Python process that reports its own high-water mark (``VmHWM``), so one size's peak never hides another's;
  on CUDA also ``torch.cuda.max_memory_allocated``;
- each net at 256² (batch 1): parameters, FLOPs (``torch.utils.flop_counter`` convention: 2 FLOPs per
  multiply-add), latency, and batch throughput (images/s at batch 8);
- the headline ratio "sketch pipeline at 512² vs reference net at 256²", measured by alternating the two calls in
  one process and taking the median of the per-pair ratios; on the CPU also at one thread, the figure that holds
  when other processes share the cores (there, multi-thread timings of small ops swing by 10× with the load).

Timings are wall-clock p50/p90 over ``--repeats`` calls after ``--warmup`` calls. Speed does not depend on the
weight values, so ``--random-init`` (default-config nets, random weights) gives the same figures as trained ones.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_SIZES = (256, 512, 1024, 2048, 4096)
# "real": pencil on tinted, unevenly lit paper, colored with mode "auto"; "referenced": the line art colored after a
# mirrored colored version of itself (`colorize(reference=...)`, the alignment and matching's cost).
MODES = ("sketch", "gray", "real", "referenced")
DEFAULT_MODES = ("sketch", "gray", "real")
LAYER_FORMATS = ("ora", "psd")
DEFAULT_LAYER_SIZES = (4096,)  # layered files are measured against the pipeline's own peak memory at this size
NET_SIZE = 256  # side of the square net inputs for params / FLOPs / net latency / throughput
RATIO_SIZE = 512  # the pipeline size of the headline ratio (DESIGN.md performance budget)
RANDOM_INIT_LABEL = "random init (default-config nets; speed does not depend on weights)"
# Marks the worker's one result line on stdout, so library logging or warnings there cannot confuse the parent.
_RESULT_TAG = "SKETCHCOLOR_BENCH_RESULT "
_MIB = 1024 * 1024


@dataclass
class BenchConfig:
    """Everything one bench run needs; ``checkpoint`` None with ``random_init`` False means the bundled weights."""

    checkpoint: str | None = None
    random_init: bool = False
    sizes: tuple[int, ...] = DEFAULT_SIZES
    modes: tuple[str, ...] = DEFAULT_MODES
    devices: tuple[str, ...] = ("cpu",)
    threads: int = 1
    repeats: int = 10
    warmup: int = 1
    hints: int = 3
    batch: int = 8
    seed: int = 0
    layer_sizes: tuple[int, ...] = DEFAULT_LAYER_SIZES


@dataclass
class BenchReport:
    """Results of one run; ``pipeline``, ``nets`` and ``ratios`` are lists of plain dicts (JSON-ready)."""

    config: BenchConfig
    weights: str
    environment: dict[str, Any]
    pipeline: list[dict[str, Any]] = field(default_factory=list)
    nets: list[dict[str, Any]] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    command: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "weights": self.weights,
            "environment": self.environment,
            "config": asdict(self.config),
            "pipeline": self.pipeline,
            "nets": self.nets,
            "ratios": self.ratios,
            "layers": self.layers,
        }


# ---------------------------------------------------------------------------------------------------- timing
def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / mean in milliseconds of a list of durations in seconds (linear interpolation percentiles)."""
    ms = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": float(ms.mean()),
        "runs": int(ms.size),
    }


def _synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def time_calls(fn: Callable[[], Any], *, repeats: int, warmup: int, device: str = "cpu") -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls (CUDA synchronized)."""
    for _ in range(warmup):
        fn()
    _synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return times


# ---------------------------------------------------------------------------------------------------- memory
def _proc_status_kib(key: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (Linux VmHWM; elsewhere ``getrusage`` ru_maxrss)."""
    kib = _proc_status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    import resource  # Unix only; imported here so the module still imports elsewhere

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * 1024  # macOS reports bytes, Linux KiB


def current_rss_bytes() -> int:
    """This process's resident memory now (Linux VmRSS; elsewhere falls back to the peak)."""
    kib = _proc_status_kib("VmRSS")
    return kib * 1024 if kib is not None else peak_rss_bytes()


# ---------------------------------------------------------------------------------------------------- inputs
def synthetic_picture(size: int, mode: str, seed: int = 0):
    """A deterministic size×size test picture, PIL RGB: line art ("sketch"), a shaded grayscale cartoon ("gray") or
    a real drawing's scan ("real": thin gray pencil lines with gaps on cream paper, lit unevenly, with grain).

    Closed shapes of several sizes (so region labelling and hint propagation do real work), strokes about 1/170
    of the side wide, as in a typical drawing (1/500 for "real").
    """
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    if mode == "referenced":
        mode = "sketch"  # the line art; its reference is synthetic_reference's
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    stroke = max(1, size // (500 if mode == "real" else 170))
    for _ in range(12):
        x0, y0 = rng.uniform(0.02, 0.7, 2) * size
        w, h = rng.uniform(0.1, 0.3, 2) * size
        box = (x0, y0, x0 + w, y0 + h)
        fill = int(rng.integers(60, 220)) if mode == "gray" else 255
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill, outline=0, width=stroke)
        else:
            draw.rectangle(box, fill=fill, outline=0, width=stroke)
    if mode == "gray":
        # Soft shading so the gray picture is not flat-only: a diagonal ramp of ±20 levels.
        ramp = np.linspace(-20, 20, size, dtype=np.float32)
        shaded = np.asarray(img, dtype=np.float32) + ramp[None, :] * 0.5 + ramp[:, None] * 0.5
        img = Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8), "L")
    if mode == "real":
        ink = 1 - np.asarray(img, dtype=np.float32) / 255  # 1 on the lines
        for _ in range(40):  # gaps of about 1% of the side
            y, x = rng.integers(0, size, 2)
            ink[max(0, y - size // 200):y + size // 200, max(0, x - size // 200):x + size // 200] = 0.0
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
        light = 0.95 - 0.15 * ((yy - 0.3) ** 2 + (xx - 0.4) ** 2)  # a photo's falloff
        grain = rng.normal(0, 0.015, (size, size)).astype(np.float32)
        paper = np.array([247, 240, 226], np.float32)  # cream
        rgb = paper * (light * (1 - 0.6 * ink) * (1 + grain))[:, :, None]  # pencil: 40% of the paper's light
        return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    return img.convert("RGB")


def synthetic_reference(size: int, seed: int = 0):
    """The "sketch" picture's shapes filled with colors and outlined, mirrored left to right, PIL RGB: a colored
    version of the line art in another pose, the reference of the "referenced" mode."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)  # the same draws as synthetic_picture's "sketch"
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    stroke = max(1, size // 170)
    colors = ((224, 48, 32), (32, 112, 224), (48, 176, 64), (240, 200, 40), (160, 64, 200), (250, 170, 120))
    for index in range(12):
        x0, y0 = rng.uniform(0.02, 0.7, 2) * size
        w, h = rng.uniform(0.1, 0.3, 2) * size
        box = (x0, y0, x0 + w, y0 + h)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape(box, fill=colors[index % len(colors)], outline=(0, 0, 0), width=stroke)
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def synthetic_hints(size: int, count: int, seed: int = 0) -> list:
    """``count`` hints at deterministic positions inside a size×size picture, with saturated colors."""
    from sketchcolor.hints import Hint

    rng = np.random.default_rng(seed + 1)
    palette = ((224, 48, 32), (32, 112, 224), (48, 176, 64), (240, 200, 40), (160, 64, 200))
    return [
        Hint(x=float(rng.uniform(0.1, 0.9) * (size - 1)), y=float(rng.uniform(0.1, 0.9) * (size - 1)),
             color=palette[i % len(palette)])
        for i in range(count)
    ]


# ---------------------------------------------------------------------------------------------------- measurements
def _setup_torch(device: str, threads: int):
    import torch

    torch.set_num_threads(threads)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    return torch


def load_colorizer(checkpoint: str | None, device: str):
    """``Colorizer.from_pretrained(checkpoint)`` on ``device`` (None = bundled weights)."""
    from sketchcolor.pipeline import Colorizer

    return Colorizer.from_pretrained(checkpoint, device=device)


def measure_pipeline(checkpoint: str | None, *, size: int, mode: str, device: str, threads: int, repeats: int,
                     warmup: int, hints: int, seed: int = 0) -> dict[str, Any]:
    """Latency and memory of ``Colorizer.colorize`` on one size×size synthetic picture, in this process.

    Returns a row dict: p50/p90 ms, RSS after loading (MiB), peak RSS of this process (MiB), CUDA peak (MiB).
    Peak RSS is only meaningful when this is the process's sole measurement (the CLI runs it in a fresh process).
    """
    torch = _setup_torch(device, threads)
    colorizer = load_colorizer(checkpoint, device)
    picture = synthetic_picture(size, mode, seed)
    hint_list = synthetic_hints(size, hints, seed)
    rss_loaded = current_rss_bytes()
    colorize_mode = {"real": "auto", "referenced": "sketch"}.get(mode, mode)
    options = {"reference": synthetic_reference(size, seed)} if mode == "referenced" else {}
    times = time_calls(lambda: colorizer.colorize(picture, hint_list, mode=colorize_mode, **options),
                       repeats=repeats, warmup=warmup, device=device)
    row = {"device": device, "mode": mode, "size": size, **latency_stats(times),
           "rss_loaded_mib": rss_loaded / _MIB, "peak_rss_mib": peak_rss_bytes() / _MIB, "cuda_peak_mib": None}
    if device.startswith("cuda"):
        row["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / _MIB
    return row


def measure_layers(checkpoint: str | None, *, size: int, fmt: str, device: str, threads: int, hints: int,
                   seed: int = 0) -> dict[str, Any]:
    """Time and memory of writing one layered file (``fmt`` "ora" | "psd") of a size×size synthetic line drawing,
    against the peak memory of coloring it, in this process (a fresh one: peak RSS only grows)."""
    _setup_torch(device, threads)
    colorizer = load_colorizer(checkpoint, device)
    result = colorizer.colorize(synthetic_picture(size, "sketch", seed), synthetic_hints(size, hints, seed),
                                mode="sketch")
    pipeline_peak = peak_rss_bytes()
    with tempfile.TemporaryDirectory(prefix="sketchcolor-bench-") as tmp:
        path = Path(tmp) / f"layers.{fmt}"
        start = time.perf_counter()
        result.save_layers(path)
        seconds = time.perf_counter() - start
        file_mib = path.stat().st_size / _MIB
    peak = peak_rss_bytes()
    return {"device": device, "format": fmt, "size": size, "seconds": seconds, "file_mib": file_mib,
            "pipeline_peak_mib": pipeline_peak / _MIB, "peak_rss_mib": peak / _MIB, "ratio": peak / pipeline_peak}


def _net_row(torch, name: str, net, example, *, device: str, repeats: int, warmup: int, batch: int,
             count_on: tuple | None = None) -> dict[str, Any]:
    """Params, FLOPs, batch-1 latency and batch throughput of one net whose input is shaped like ``example``.

    count_on: an optional (net, example) pair to count FLOPs on instead, e.g. a copy on the "meta" device.
    """
    from sketchcolor.models import count_flops, count_parameters

    flops = count_flops(*(count_on or (net, example)))
    with torch.inference_mode():
        times = time_calls(lambda: net(example), repeats=repeats, warmup=warmup, device=device)
        big = example.expand(batch, *example.shape[1:]).contiguous()
        batch_times = time_calls(lambda: net(big), repeats=max(1, repeats // 2), warmup=min(warmup, 1),
                                 device=device)
    return {"device": device, "net": name, "size": int(example.shape[-1]), "params": count_parameters(net),
            "flops": flops, **latency_stats(times), "batch": batch,
            "images_per_s": batch / statistics.median(batch_times)}


def measure_nets(checkpoint: str | None, *, device: str, threads: int, repeats: int, warmup: int, batch: int,
                 hints: int, seed: int = 0, net_size: int = NET_SIZE,
                 ratio_size: int = RATIO_SIZE) -> dict[str, Any]:
    """Per-net figures at net_size² (256²) for the shipped nets and the Zhang 2016 reference, plus the paired
    headline ratio. (Only tests pass smaller sizes, to stay fast.)

    The ratio alternates one ``colorize`` of a ratio_size² (512²) sketch and one reference forward at net_size²,
    ``repeats`` times, and reports the median of the per-pair ratios: load that varies over seconds hits both
    sides of a pair alike.
    """
    from sketchcolor.reference import build_reference

    torch = _setup_torch(device, threads)
    colorizer = load_colorizer(checkpoint, device)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for role, net in (("inversion", colorizer.inversion), ("color", colorizer.color)):
        if net is not None:
            rows.append(_net_row(torch, role, net, net.example_input(net_size), device=device, repeats=repeats,
                                 warmup=warmup, batch=batch))
    reference = build_reference(device=device)
    l_norm = (torch.rand(1, 1, net_size, net_size, generator=gen) * 2 - 1).to(device)
    # Its FLOPs are counted on a "meta" copy: shapes only, no 84-GFLOP forward just to count.
    meta = (build_reference(device="meta"), torch.empty(1, 1, net_size, net_size, device="meta"))
    rows.append(_net_row(torch, "zhang2016 reference", reference, l_norm, device=device, repeats=repeats,
                         warmup=warmup, batch=batch, count_on=meta))

    ratios = []
    if colorizer.inversion is not None and colorizer.color is not None:
        picture = synthetic_picture(ratio_size, "sketch", seed)
        hint_list = synthetic_hints(ratio_size, hints, seed)

        @torch.inference_mode()
        def reference_call():
            reference(l_norm)

        # Also at one thread on the CPU: where other processes share the cores, torch's worker threads wait on
        # each other at every op, which slows many small ops (our pipeline) far more than a few big convs (the
        # reference), so the multi-thread ratio drifts with load while the one-thread ratio holds.
        for n_threads in [threads] + ([1] if device == "cpu" and threads > 1 else []):
            torch.set_num_threads(n_threads)
            pipe_times, ref_times = [], []
            for i in range(warmup + repeats):
                t_pipe = time_calls(lambda: colorizer.colorize(picture, hint_list, mode="sketch"), repeats=1,
                                    warmup=0, device=device)[0]
                t_ref = time_calls(reference_call, repeats=1, warmup=0, device=device)[0]
                if i >= warmup:
                    pipe_times.append(t_pipe)
                    ref_times.append(t_ref)
            ratios.append({
                "device": device,
                "threads": n_threads,
                "pipeline_size": ratio_size,
                "reference_size": net_size,
                "pipeline_p50_ms": latency_stats(pipe_times)["p50_ms"],
                "reference_p50_ms": latency_stats(ref_times)["p50_ms"],
                "ratio": statistics.median(p / r for p, r in zip(pipe_times, ref_times)),
                "pairs": len(pipe_times),
            })
        torch.set_num_threads(threads)
    return {"nets": rows, "ratios": ratios}


# ---------------------------------------------------------------------------------------------------- processes
def _worker_main(task_json: str) -> int:
    """Run one measurement in this (fresh) process and print its result as one tagged JSON line."""
    task = json.loads(task_json)
    kind = task.pop("kind")
    measure = {"pipeline": measure_pipeline, "nets": measure_nets, "layers": measure_layers}[kind]
    result = measure(**task)
    sys.stdout.write(_RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


def run_worker(task: dict[str, Any]) -> dict[str, Any]:
    """Run ``task`` in a fresh ``python -m sketchcolor.bench`` process and return its result dict.

    A worker that fails (an exception, or killed e.g. for memory) gives ``{"error": "..."}`` rather than stopping
    the whole run, so a too-large size shows up as a failed row beside the sizes that worked.
    """
    cmd = [sys.executable, "-m", "sketchcolor.bench", "--worker", json.dumps(task)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith(_RESULT_TAG):
            return json.loads(line[len(_RESULT_TAG):])
    if proc.returncode < 0:
        return {"error": f"worker killed by signal {-proc.returncode} (out of memory?)"}
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"worker exited {proc.returncode}: {last}"}


def environment_info(threads: int, devices: Sequence[str]) -> dict[str, Any]:
    """Machine and library facts printed above the tables."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "threads": threads,
        "cuda": torch.cuda.get_device_name(0) if any(d.startswith("cuda") for d in devices) else None,
    }
    return info


def _random_init_checkpoint(folder: Path, seed: int) -> str:
    """Save default-config nets with random weights (seeded) as a checkpoint that every worker loads alike."""
    import torch

    from sketchcolor.checkpoint import save_checkpoint
    from sketchcolor.models import build_model

    torch.manual_seed(seed)
    models = {"inversion": build_model("inversion"), "color": build_model("color")}
    return str(save_checkpoint(folder, models, meta={"note": RANDOM_INIT_LABEL}))


def _check_weights(checkpoint: str | None) -> str:
    """Fail early, with a message saying what to pass, when the weights cannot be loaded; return their label."""
    from sketchcolor.errors import CheckpointError
    from sketchcolor.pipeline import BUNDLED_WEIGHTS, Colorizer

    try:
        Colorizer.from_pretrained(checkpoint, device="cpu")
    except CheckpointError as exc:
        if checkpoint is None:
            raise SystemExit(
                "sketchcolor.bench: no bundled weights installed; pass --checkpoint PATH, or --random-init to "
                "benchmark randomly initialised default-config nets (speed does not depend on weights)"
            ) from None
        raise SystemExit(f"sketchcolor.bench: {exc}") from None
    return str(checkpoint) if checkpoint is not None else f"bundled ({BUNDLED_WEIGHTS})"


def run_bench(config: BenchConfig, *, command: str = "") -> BenchReport:
    """Run every measurement of ``config`` (each in a fresh process) and collect the report."""
    with tempfile.TemporaryDirectory(prefix="sketchcolor-bench-") as tmp:
        if config.random_init:
            checkpoint = _random_init_checkpoint(Path(tmp) / "random-init", config.seed)
            weights = RANDOM_INIT_LABEL
        else:
            checkpoint = config.checkpoint
            weights = _check_weights(checkpoint)
        report = BenchReport(config=config, weights=weights,
                             environment=environment_info(config.threads, config.devices), command=command)
        common = {"checkpoint": checkpoint, "threads": config.threads, "repeats": config.repeats,
                  "warmup": config.warmup, "hints": config.hints, "seed": config.seed}
        for device in config.devices:
            log.info("nets and reference on %s", device)
            result = run_worker({"kind": "nets", "device": device, "batch": config.batch, **common})
            if "error" in result:
                report.nets.append({"device": device, "net": "(all)", "error": result["error"]})
            else:
                report.nets.extend(result["nets"])
                report.ratios.extend(result["ratios"])
            for mode in config.modes:
                for size in config.sizes:
                    log.info("pipeline %s %s %d²", device, mode, size)
                    row = run_worker({"kind": "pipeline", "device": device, "mode": mode, "size": size, **common})
                    report.pipeline.append(row if "error" not in row else
                                           {"device": device, "mode": mode, "size": size, **row})
            for size in config.layer_sizes:
                for fmt in LAYER_FORMATS:
                    log.info("layered file %s %s %d²", device, fmt, size)
                    row = run_worker({"kind": "layers", "device": device, "size": size, "fmt": fmt,
                                      "checkpoint": checkpoint, "threads": config.threads, "hints": config.hints,
                                      "seed": config.seed})
                    report.layers.append(row if "error" not in row else
                                         {"device": device, "format": fmt, "size": size, **row})
    return report


# ---------------------------------------------------------------------------------------------------- output
def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _reference_p50(report: BenchReport, device: str) -> float | None:
    for row in report.nets:
        if row["device"] == device and row["net"] == "zhang2016 reference" and "error" not in row:
            return row["p50_ms"]
    return None


PIPELINE_COLUMNS = ("device", "mode", "size", "p50 ms", "p90 ms", "p50 / ref p50", "RSS loaded MiB",
                    "peak RSS MiB", "CUDA peak MiB")
NET_COLUMNS = ("device", "net", "input", "params (M)", "GFLOPs", "p50 ms", "p90 ms", "batch", "images/s")
LAYER_COLUMNS = ("device", "format", "size", "seconds", "file MiB", "pipeline peak RSS MiB", "peak RSS MiB",
                 "peak / pipeline peak")


def _table(columns: Sequence[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def format_markdown(report: BenchReport) -> str:
    """The report as Markdown: settings, the headline ratio, the pipeline table and the nets table."""
    cfg, env = report.config, report.environment
    out = ["# sketchcolor bench", ""]
    if report.command:
        out.append(f"Command: `{report.command}`")
        out.append("")
    out += [
        f"- weights: {report.weights}",
        f"- machine: {env['cpu']}, {env['cores']} cores, torch threads {env['threads']}"
        + (f", CUDA {env['cuda']}" if env.get("cuda") else "")
        + f"; Python {env['python']}, torch {env['torch']}",
        f"- timing: wall-clock p50/p90 of {cfg.repeats} calls after {cfg.warmup} warm-up call(s); pipeline calls "
        f"`Colorizer.colorize` on a synthetic N×N picture with {cfg.hints} hints; each pipeline row ran in a fresh "
        "process (peak RSS = that process's VmHWM, including the Python + torch runtime)",
        "- nets: FLOPs counted as torch.utils.flop_counter does (2 per multiply-add) for one forward at the input "
        f"size shown, batch 1; latency at batch 1; throughput at batch {cfg.batch}",
        "",
        "## Headline ratio",
        "",
    ]
    if not report.ratios:
        out.append("(not measured: the checkpoint lacks one of the two nets, or the nets worker failed)")
    for r in report.ratios:
        out.append(
            f"- **{r['device']}, {r['threads']} thread(s): shipped sketch pipeline at {r['pipeline_size']}² = "
            f"{r['ratio']:.3f}× the Zhang 2016 reference net at {r['reference_size']}²** "
            f"(median of {r['pairs']} alternating pairs; "
            f"p50 {r['pipeline_p50_ms']:.1f} ms vs {r['reference_p50_ms']:.1f} ms)"
        )
    out += ["", "## Pipeline latency and memory", ""]
    rows = []
    for r in report.pipeline:
        if "error" in r:
            rows.append([r["device"], r["mode"], str(r["size"]), f"failed: {r['error']}"] + [""] * 5)
            continue
        ref = _reference_p50(report, r["device"])
        rows.append([r["device"], r["mode"], str(r["size"]), _fmt(r["p50_ms"]), _fmt(r["p90_ms"]),
                     _fmt(r["p50_ms"] / ref if ref else None, 3), _fmt(r["rss_loaded_mib"], 0),
                     _fmt(r["peak_rss_mib"], 0), _fmt(r["cuda_peak_mib"], 0)])
    out += _table(PIPELINE_COLUMNS, rows)
    out += ["", "## Nets", ""]
    rows = []
    for r in report.nets:
        if "error" in r:
            rows.append([r["device"], r["net"], f"failed: {r['error']}"] + [""] * 6)
            continue
        rows.append([r["device"], r["net"], f"{r['size']}²", _fmt(r["params"] / 1e6, 3), _fmt(r["flops"] / 1e9, 2),
                     _fmt(r["p50_ms"]), _fmt(r["p90_ms"]), str(r["batch"]), _fmt(r["images_per_s"])])
    out += _table(NET_COLUMNS, rows)
    if report.layers:
        out += ["", "## Layered files", "",
                "One `colorize` of a synthetic line drawing, then `save_layers` to one format, in a fresh process: "
                "peak RSS after the file against the peak of the coloring alone.", ""]
        rows = []
        for r in report.layers:
            if "error" in r:
                rows.append([r["device"], r["format"], str(r["size"]), f"failed: {r['error']}"] + [""] * 4)
                continue
            rows.append([r["device"], r["format"], f"{r['size']}²", _fmt(r["seconds"], 2), _fmt(r["file_mib"]),
                         _fmt(r["pipeline_peak_mib"], 0), _fmt(r["peak_rss_mib"], 0), _fmt(r["ratio"], 2)])
        out += _table(LAYER_COLUMNS, rows)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------- CLI
def _positive_int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated pixel sizes like 256,512, got {text!r}") from None
    if not values or any(v < 16 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be integers >= 16, got {text!r}")
    return values


def _size_list_or_none(text: str) -> tuple[int, ...]:
    return () if text.strip().lower() == "none" else _positive_int_list(text)


def _modes(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in values if v not in MODES]
    if not values or bad:
        raise argparse.ArgumentTypeError(f"modes must be among {', '.join(MODES)}, got {text!r}")
    return values


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sketchcolor.bench", description=__doc__.splitlines()[0])
    weights = p.add_mutually_exclusive_group()
    weights.add_argument("--checkpoint", help="checkpoint folder (default: the bundled weights)")
    weights.add_argument("--random-init", action="store_true",
                         help="benchmark randomly initialised default-config nets (speed does not depend on weights)")
    p.add_argument("--sizes", type=_positive_int_list, default=DEFAULT_SIZES,
                   help="pipeline picture sides in pixels, comma-separated (default: 256,512,1024,2048,4096)")
    p.add_argument("--modes", type=_modes, default=DEFAULT_MODES, help="pipeline modes, comma-separated (default: sketch,gray,real; "
                        "also referenced: line art colored after a mirrored colored version of itself)")
    p.add_argument("--layer-sizes", type=_size_list_or_none, default=DEFAULT_LAYER_SIZES,
                   help="sides at which writing the layered files is measured (default: 4096; 'none' skips it)")
    p.add_argument("--repeats", type=_positive, default=10, help="timed calls per measurement (default: 10)")
    p.add_argument("--warmup", type=_non_negative, default=1, help="untimed calls first (default: 1)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto = the CPU, plus CUDA when present (default: auto)")
    p.add_argument("--threads", type=_positive, default=None,
                   help="torch CPU threads (default: the number of cores available)")
    p.add_argument("--hints", type=_non_negative, default=3, help="hints per pipeline call (default: 3)")
    p.add_argument("--batch", type=_positive, default=8, help="batch size of the throughput figure (default: 8)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic pictures and random weights")
    p.add_argument("--out", type=Path, help="also write the Markdown report to this file")
    p.add_argument("--json", type=Path, help="also write the raw results as JSON to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one measurement in a fresh process
    return p


def _devices(choice: str) -> tuple[str, ...]:
    import torch

    if choice == "auto":
        return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)
    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("sketchcolor.bench: --device cuda was asked for but no CUDA device is available")
    return (choice,)


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.worker is not None:
        return _worker_main(args.worker)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    config = BenchConfig(checkpoint=args.checkpoint, random_init=args.random_init, sizes=args.sizes,
                         modes=args.modes, devices=_devices(args.device), threads=args.threads or cores,
                         repeats=args.repeats, warmup=args.warmup, hints=args.hints, batch=args.batch, seed=args.seed,
                         layer_sizes=args.layer_sizes)
    command = shlex.join(["python", "-m", "sketchcolor.bench", *(sys.argv[1:] if argv is None else argv)])
    report = run_bench(config, command=command)
    text = format_markdown(report)
    sys.stdout.write(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
