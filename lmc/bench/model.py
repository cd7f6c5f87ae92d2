"""`python -m lmc.bench [model]`: speed and peak memory of the model, per preset.

For each preset: one training iteration of memory alignment learning (phase 1 and phase 2, each
forward + backward + Adam step) on a batch of 10 + out_len frames, and a 10 -> 30 rollout at batch
1 under inference mode. Prints clips/s and peak memory, writes JSON. Each (preset, task) runs in
its own subprocess so that peak memory (ru_maxrss on CPU, max_memory_allocated on CUDA) belongs to
that task alone. Medians over --repeats timed runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    preset: str,
    task: str,
    batch: int,
    out_len: int,
    repeats: int,
    device: str,
    amp: str,
    compile_model: bool,
) -> dict:
    """Run one task in this process and return its timings."""
    from lmc import build_model
    from lmc.training import ClipWindows, train_step

    dev = torch.device(device)
    torch.manual_seed(0)
    model = build_model(preset).to(dev)
    size, ch = model.config.image_size, model.config.image_channels
    autocast = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
    runner = torch.compile(model) if compile_model else model
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    if task == "train":
        opt = torch.optim.Adam(model.parameters(), lr=2e-4)
        clip = torch.rand(batch, 10 + out_len, ch, size, size, device=dev)
        windows = ClipWindows(10, out_len, min(10 + out_len, 30))

        def step():
            train_step(runner, opt, clip, windows, 0, autocast_dtype=autocast)

        clips_per_call = batch
    else:
        short = torch.rand(1, 10, ch, size, size, device=dev)

        def step():
            with (
                torch.inference_mode(),
                torch.autocast(dev.type, dtype=autocast, enabled=autocast is not None),
            ):
                runner(short, out_len=30)

        clips_per_call = 1
    step()  # warm-up (and compilation)
    _sync(dev)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        _sync(dev)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    if dev.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(dev) / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024
    return {
        "preset": preset,
        "task": task,
        "batch": batch if task == "train" else 1,
        "frames": f"10 -> {out_len}" if task == "train" else "10 -> 30",
        "median_s": median,
        "clips_per_s": clips_per_call / median,
        "peak_mb": peak_mb,
        "peak_kind": "cuda max_memory_allocated"
        if dev.type == "cuda"
        else "process max RSS growth",
        "device": str(dev),
        "amp": amp,
        "compile": compile_model,
        "repeats": repeats,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(
        prog="python -m lmc.bench model", description=__doc__.splitlines()[0]
    )
    p.add_argument("--presets", default="tiny,small,paper-mnist,paper-kth")
    p.add_argument("--tasks", default="train,rollout")
    p.add_argument(
        "--batch", type=int, default=4, help="training batch (the paper used 128 on GPUs)"
    )
    p.add_argument(
        "--out_len", type=int, default=10, help="frames predicted in the training iteration"
    )
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", choices=("off", "bf16", "fp16"), default="off")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--out", default="runs/bench/model.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.child:  # one measurement, in a fresh process, printed as JSON
        preset, task = args.child.split(":")
        print(
            json.dumps(
                measure(
                    preset,
                    task,
                    args.batch,
                    args.out_len,
                    args.repeats,
                    args.device,
                    args.amp,
                    args.compile,
                )
            )
        )
        return []
    rows = []
    for preset in args.presets.split(","):
        for task in args.tasks.split(","):
            cmd = [
                sys.executable,
                "-m",
                "lmc.bench",
                "model",
                "--child",
                f"{preset}:{task}",
                "--batch",
                str(args.batch),
                "--out_len",
                str(args.out_len),
                "--repeats",
                str(args.repeats),
                "--device",
                args.device,
                "--amp",
                args.amp,
            ]
            cmd += ["--compile"] if args.compile else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode:
                raise SystemExit(f"benchmark {preset}:{task} failed:\n{result.stderr[-2000:]}")
            row = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{preset:12s} {task:8s} {row['frames']:9s} batch {row['batch']:3d}  "
                f"{row['median_s'] * 1000:9.1f} ms  {row['clips_per_s']:8.2f} clips/s  "
                f"peak {row['peak_mb']:8.1f} MB",
                flush=True,
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": platform.machine(),
        "processor": platform.processor(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
