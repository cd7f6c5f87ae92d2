"""`python -m lmc.bench floor`: how close each task runs to the fastest this CPU could run it.

A speed-up has a ceiling that does not depend on code: the floating-point operations the function
needs, divided by the fastest rate this machine multiplies matrices at. This suite counts the
operations of each task with torch's FlopCounterMode (convolutions and matrix products, forward
and backward: everything else is a rounding error beside them), measures the CPU's rate as the
best of several 2048 x 2048 x 2048 single-precision matrix products (torch's sgemm, the same
kernels convolutions lower to), and times the task. Then

    floor = FLOPs / sgemm rate       (no code computing this function can take less)
    share = floor / measured time    (1.0 would be the whole task at the sgemm rate)
    most  = 1 / share                (the largest speed-up left to any implementation)

Tasks, each on random frames of the preset's size (what they compute does not depend on it):
- `train`: one `train_step` at the given batch (phase 1 and phase 2, each forward, backward and
  Adam step), 10 -> 10 with the whole clip as the long window;
- `eval`: a 10 -> 10 rollout of the batch without autograd, per clip;
- `pass`: the memory pass of one batch (both phases' motion queries and addressing), per clip.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lmc.errors import ConfigError

TASKS = ("train", "eval", "pass")
DEFAULT_SPECS = "train:small:16,train:paper-mnist:2,eval:small:32,pass:small:16"


def parse_specs(text: str) -> list[tuple[str, str, int]]:
    """ "task:preset:batch,..." -> [(task, preset, batch)], ConfigError naming a bad part."""
    from lmc.config import ModelConfig

    specs = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if len(fields) != 3:
            raise ConfigError(f"--specs {part!r}: must be task:preset:batch, e.g. train:small:16")
        task, preset, batch = fields
        if task not in TASKS:
            raise ConfigError(f"--specs {part!r}: task {task!r} must be one of {', '.join(TASKS)}")
        ModelConfig.preset(preset)  # ConfigError naming the valid presets
        if not batch.isdigit() or int(batch) < 1:
            raise ConfigError(f"--specs {part!r}: batch {batch!r} must be a positive integer")
        specs.append((task, preset, int(batch)))
    return specs


def sgemm_rate(size: int = 2048, repeats: int = 10) -> float:
    """The best FLOP/s of `repeats` (size x size) @ (size x size) float32 products."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up: threads, pages
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def task_runner(task: str, preset: str, batch: int) -> tuple[Callable[[], object], int]:
    """(a function running the task once, how many clips it covers: 1 for train's iteration)."""
    from lmc import build_model
    from lmc.training import ClipWindows, train_step

    torch.manual_seed(0)
    model = build_model(preset)
    size, channels = model.config.image_size, model.config.image_channels
    clip = torch.rand(batch, 20, channels, size, size)
    if task == "train":
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
        windows = ClipWindows(10, 10, 20)
        return (lambda: train_step(model, optimizer, clip, windows, 0)), 1
    model.eval()
    if task == "eval":
        return (lambda: model.predict(clip[:, :10], out_len=10)), batch

    @torch.inference_mode()
    def recall() -> None:
        for frames, phase in ((clip[:, :10], 2), (clip, 1)):
            query, _ = model.encode_motion(frames, phase)
            model.address(query)

    return recall, batch


def count_flops(run: Callable[[], object]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def measure(task: str, preset: str, batch: int, repeats: int, rate: float) -> dict:
    run, clips = task_runner(task, preset, batch)
    flops = count_flops(run)  # also the warm-up
    seconds = statistics.median(_seconds(run) for _ in range(repeats))
    floor = flops / rate
    return {
        "task": task,
        "preset": preset,
        "batch": batch,
        "gflop": flops / 1e9,
        "gflop_per_clip": flops / 1e9 / clips if task != "train" else None,
        "seconds": seconds,
        "floor_seconds": floor,
        "share_of_peak": floor / seconds,
        "clips_per_s": clips / seconds if task != "train" else None,
        "ceiling_clips_per_s": clips / floor if task != "train" else None,
    }


def table(rows: list[dict], rate: float, threads: int) -> str:
    lines = [
        f"sgemm 2048^3: {rate / 1e9:.1f} GFLOP/s (best of 10, {threads} threads)",
        "| task | preset, batch | GFLOP | measured | floor at the sgemm rate | share | speed-up left at most |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["task"] == "train":
            measured, floor = f"{r['seconds']:.2f} s", f"{r['floor_seconds']:.2f} s"
        else:
            measured = f"{r['clips_per_s']:.1f} clips/s"
            floor = f"{r['ceiling_clips_per_s']:.1f} clips/s"
        lines.append(
            f"| {r['task']} | `{r['preset']}`, {r['batch']} | {r['gflop']:.1f} | {measured} | "
            f"{floor} | {r['share_of_peak']:.2f} | x{1 / r['share_of_peak']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m lmc.bench floor", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--specs", default=DEFAULT_SPECS, help=f"task:preset:batch,... (tasks: {', '.join(TASKS)})"
    )
    p.add_argument("--repeats", type=int, default=3, help="timed runs per task (the median counts)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    p.add_argument("--out", default="runs/bench/floor.json")
    args = p.parse_args(argv)
    specs = parse_specs(args.specs)
    if args.repeats < 1:
        raise ConfigError(f"--repeats {args.repeats}: must be at least 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    rate = sgemm_rate()
    rows = [measure(task, preset, batch, args.repeats, rate) for task, preset, batch in specs]
    record = {"sgemm_flops_per_s": rate, "threads": torch.get_num_threads(), "rows": rows}
    print(table(rows, rate, record["threads"]), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2))
    return record
