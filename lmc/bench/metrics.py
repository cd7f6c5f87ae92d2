"""Batched torch SSIM and PSNR against scikit-image called frame by frame, on the CPU.

    python -m lmc.bench metrics [--clips 32] [--frames 10] [--sizes 64 128] [--threads 2 1]

Each row times one metric over clips x frames grayscale frames of one size under one torch thread
count: the median of several repeats, after one warm-up call. The load average is recorded with
the numbers: on a shared machine busy cores slow multi-threaded torch far more than scikit-image.
The speedup is scikit-image's time over torch's, and the largest per-frame difference between the
two checks that both measured the same thing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np
import skimage
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lmc.metrics import psnr, ssim


def _median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: first-call allocations and lazy initialisation
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _skimage_per_frame(metric, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N, H, W) x 2 -> (N,): the oracle called once per frame, as an evaluation loop would."""
    pairs = zip(pred, target, strict=True)
    if metric == "ssim":
        return np.array([structural_similarity(p, t, win_size=7, data_range=1.0) for p, t in pairs])
    return np.array([peak_signal_noise_ratio(t, p, data_range=1.0) for p, t in pairs])


def _frames(clips: int, frames: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A target in [0, 1] and a noisy prediction of it, (clips, frames, 1, size, size) float32."""
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(clips, frames, 1, size, size, generator=g)
    noise = 0.2 * torch.rand(clips, frames, 1, size, size, generator=g) - 0.1
    return (target + noise).clamp(0, 1), target


def _time_size(args, size: int, threads: list[int]) -> list[dict]:
    """Rows for one frame side: each metric under each torch thread count, beside scikit-image
    (single-threaded, timed once per metric)."""
    pred, target = _frames(args.clips, args.frames, size)
    pred_np = pred[:, :, 0].flatten(0, 1).numpy()
    target_np = target[:, :, 0].flatten(0, 1).numpy()
    rows = []
    for name, metric in {"ssim": ssim, "psnr": psnr}.items():
        oracle_call = partial(_skimage_per_frame, name, pred_np, target_np)
        diff = np.abs(metric(pred, target).flatten().numpy() - oracle_call()).max()
        skimage_s = _median_seconds(oracle_call, args.repeats)
        for n in threads:
            torch.set_num_threads(n)
            torch_s = _median_seconds(partial(metric, pred, target), args.repeats)
            rows.append(
                {
                    "metric": name,
                    "size": size,
                    "frames": args.clips * args.frames,
                    "threads": n,
                    "torch_ms": 1e3 * torch_s,
                    "skimage_ms": 1e3 * skimage_s,
                    "speedup": skimage_s / torch_s,
                    "max_abs_diff": float(diff),
                }
            )
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m lmc.bench metrics", description=__doc__)
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--frames", type=int, default=10, help="frames per clip")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="frame sides")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[2, 1],
        help="torch.set_num_threads values to time; 1 shows what is left when other processes "
        "hold the cores (2 threads then wait on each other at every operation)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench/metrics.json"))
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    previous_threads = torch.get_num_threads()
    try:
        rows = [row for size in args.sizes for row in _time_size(args, size, args.threads)]
    finally:
        torch.set_num_threads(previous_threads)
    load_after = os.getloadavg()[0]

    print(
        f"{'metric':<7}{'size':>6}{'frames':>8}{'threads':>9}{'torch ms':>10}{'skimage ms':>12}"
        f"{'speedup':>9}{'max |diff|':>12}"
    )
    for r in rows:
        print(
            f"{r['metric']:<7}{r['size']:>6}{r['frames']:>8}{r['threads']:>9}{r['torch_ms']:>10.1f}"
            f"{r['skimage_ms']:>12.1f}{r['speedup']:>8.1f}x{r['max_abs_diff']:>12.1e}"
        )
    print(f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after")
    result = {
        "suite": "metrics",
        "config": {
            "clips": args.clips,
            "frames": args.frames,
            "sizes": args.sizes,
            "repeats": args.repeats,
            "threads": args.threads,
            "torch": torch.__version__,
            "scikit-image": skimage.__version__,
            "cpu_count": os.cpu_count(),
            "load_average_1min": [load_before, load_after],
        },
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result
