"""`python -m lmc.bench health`: the seconds of a full memory health check.

The issue's target: 256 generated test clips of the `small` model in at most 60 s on the 2-core
CPU. Times the whole `health_check` (median of --repeats) and, once, each of its parts: the
recall pass, the three rollouts behind the MSE figures and the four linear probes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> dict:
    from lmc.analysis import health as hl
    from lmc.analysis.health_check import _pass, health_check, recall_mse
    from lmc.checkpoint import load_checkpoint
    from lmc.data.fixed_sets import fixed_set
    from lmc.demos import default_demo, demo_path

    p = argparse.ArgumentParser(
        prog="python -m lmc.bench health", description=__doc__.splitlines()[0]
    )
    p.add_argument("--checkpoint", default=str(demo_path(default_demo())))
    p.add_argument("--clips", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default="runs/bench/health.json")
    args = p.parse_args(argv)

    model, _ = load_checkpoint(args.checkpoint)
    clips = fixed_set("test", max(args.clips, 1000), 20).subset(slice(0, args.clips))
    health_check(model, clips.subset(slice(0, 8)))  # warm-up: imports, allocator, sklearn
    totals = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        health_check(model, clips)
        totals.append(time.perf_counter() - start)

    parts = {}
    start = time.perf_counter()
    sample = _pass(model, clips, 10, 20)
    parts["recall pass (both phases)"] = time.perf_counter() - start
    start = time.perf_counter()
    recall_mse(model, clips.to_tensor(), 10, 10)
    parts["one rollout MSE (of 3)"] = time.perf_counter() - start
    moving = hl.moving_cells(sample.direction, sample.occupancy)
    labels = hl.direction_bin(sample.direction)[moving]
    start = time.perf_counter()
    hl.probe(sample.short_readout[moving], labels)
    parts["one probe (of 4)"] = time.perf_counter() - start

    median = statistics.median(totals)
    print(
        f"health check of {args.checkpoint} on {args.clips} clips, {torch.get_num_threads()} threads"
    )
    print(
        f"  whole check     {median:7.2f} s  (median of {args.repeats}; target <= {TARGET_S:.0f} s)"
    )
    for name, seconds in parts.items():
        print(f"  {name:<26}{seconds:7.2f} s")
    result = {
        "clips": args.clips,
        "median_s": median,
        "runs_s": totals,
        "parts_s": parts,
        "target_s": TARGET_S,
        "threads": torch.get_num_threads(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result
