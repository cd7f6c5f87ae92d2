"""`python -m lmc.bench grid`: what running a grid on Ray costs against the sequential grid.

Times, on this machine: Ray's start (`start_local_ray`, import included) and stop; the check that
every node sees the grid's root; a task that does nothing (the floor of a row's overhead); and
the same rows (the tiny model, no memory, one seed each) trained twice, one after another in
this process, then as Ray tasks of one CPU each on a Ray with --cpus CPUs. Each row runs torch on
one thread either way (a one-CPU task does; here torch.set_num_threads(1)); with --cpus 1 the
tasks too run one at a time, so the difference of the two totals, per row, is Ray's overhead:
the task, a worker's start and its imports (torch, lmc), the driver's reading of each row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from lmc.errors import ConfigError


def _noop() -> None:
    return None


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m lmc.bench grid", description=__doc__.splitlines()[0]
    )
    p.add_argument("--rows", type=int, default=4, help="rows of each grid (seeds 0..rows-1)")
    p.add_argument("--iterations", type=int, default=20, help="training iterations of a row")
    p.add_argument("--cpus", type=int, default=1, help="the local Ray's CPUs (1: rows in turn)")
    p.add_argument("--out", default="runs/bench/grid.json")
    args = p.parse_args(argv)
    if args.rows < 1 or args.iterations < 1 or args.cpus < 1:
        raise ConfigError("--rows, --iterations and --cpus must each be at least 1")

    from lmc.experiments import Budget, Variant, run_grid
    from lmc.experiments.cluster import check_root, prepare_root, start_local_ray

    budget = Budget.tiny(
        name="bench",
        iterations=args.iterations,
        batch_size=4,
        val_clips=16,
        print_freq=args.iterations,
        val_every=args.iterations,
        sample_clips=0,
        device="cpu",
    )
    variants, seeds = [Variant("no-memory", memory=False)], range(args.rows)
    work = Path(tempfile.mkdtemp(prefix="lmc-bench-grid-"))
    # The Ray's workers inherit this environment: the same fixed sets' cache as this process.
    os.environ.setdefault("LMC_CACHE_DIR", str(work / "cache"))
    quiet = dict(log=lambda _: None)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_grid(variants, budget, seeds=[0], root=work / "warm-up", **quiet)  # caches, imports
        start = time.perf_counter()
        here = run_grid(variants, budget, seeds=seeds, root=work / "here", **quiet)
        sequential_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)

    # Ray gives its node 30 s to come up; on a loaded machine a start can fail, and how often
    # is part of the cost: each attempt is timed and reported.
    attempts = []
    for _ in range(3):
        start = time.perf_counter()
        try:
            start_local_ray(num_cpus=args.cpus)
        except Exception as err:
            attempts.append({"s": time.perf_counter() - start, "error": str(err)[:200]})
            continue
        attempts.append({"s": time.perf_counter() - start, "error": None})
        break
    else:
        raise RuntimeError(f"Ray did not start in 3 attempts: {attempts}")
    import ray

    start_s = attempts[-1]["s"]
    try:
        noop = ray.remote(_noop)
        ray.get(noop.remote())  # a worker up
        start = time.perf_counter()
        for _ in range(10):
            ray.get(noop.remote())
        noop_s = (time.perf_counter() - start) / 10
        start = time.perf_counter()
        check_root(ray, work / "probe", prepare_root(work / "probe"))
        probe_s = time.perf_counter() - start
        start = time.perf_counter()
        on_ray = run_grid(
            variants, budget, seeds=seeds, root=work / "ray", cluster="local", **quiet
        )
        ray_s = time.perf_counter() - start
    finally:
        start = time.perf_counter()
        ray.shutdown()
        stop_s = time.perf_counter() - start

    same = on_ray.table["mse"].tolist() == here.table["mse"].tolist()
    result = {
        "rows": args.rows,
        "iterations": args.iterations,
        "cpus": args.cpus,
        "ray_start_s": start_s,
        "ray_start_attempts": attempts,
        "ray_stop_s": stop_s,
        "noop_task_s": noop_s,
        "root_check_s": probe_s,
        "sequential_s": sequential_s,
        "ray_s": ray_s,
        "overhead_per_row_s": (ray_s - sequential_s) / args.rows,
        "row_median_here_s": statistics.median(here.table["wall_s"]),
        "row_median_on_ray_s": statistics.median(on_ray.table["wall_s"]),
        "same_mse": same,
        "load_average": os.getloadavg(),
    }
    print(f"grid of {args.rows} rows x {args.iterations} iterations, Ray with {args.cpus} CPUs")
    failed = [f"{a['s']:.1f} s" for a in attempts if a["error"]]
    print(
        f"  Ray start (import included) {start_s:8.2f} s    stop {stop_s:6.2f} s"
        + (f"    (after failed starts: {', '.join(failed)})" if failed else "")
    )
    print(f"  a task doing nothing        {noop_s * 1000:8.1f} ms   root check {probe_s:6.2f} s")
    print(f"  sequential grid             {sequential_s:8.2f} s")
    print(f"  grid on Ray (started)       {ray_s:8.2f} s")
    print(f"  overhead per row            {result['overhead_per_row_s']:8.2f} s")
    print(
        f"  a row's own wall (median)   {result['row_median_here_s']:8.2f} s here, "
        f"{result['row_median_on_ray_s']:.2f} s on Ray"
    )
    print(f"  same validation MSE         {same}")
    print(f"  load average                {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result
