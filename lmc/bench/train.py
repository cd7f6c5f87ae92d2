"""`python -m lmc.bench train`: clips/s of the training CLI's loop and of evaluation.

The loop number comes from a short in-process run of `lmc.training.run.run` (data generation,
both phases, logging included), read from its metrics.jsonl; the evaluation number from
`lmc.evaluation.evaluate` on the fixed test set (model + two baselines + four metrics).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch


def loop_clips_per_s(preset: str, iterations: int, batch: int, extra: dict) -> float:
    from lmc.training import metrics_log
    from lmc.training.config import TrainConfig
    from lmc.training.run import run

    with tempfile.TemporaryDirectory() as tmp:
        settings = {
            "preset": preset,
            "short_len": 10,
            "long_len": 20,
            "out_len": 10,
            "batch_size": batch,
            "iterations": iterations,
            "iterations_warmup": 0,
            "print_freq": max(iterations // 2, 1),
            "val_every": 10**9,
            "val_clips": 4,
            "run_dir": tmp,
            **extra,
        }
        run(TrainConfig.from_settings(settings, "the training benchmark"))
        records = metrics_log.read_records(Path(tmp, metrics_log.FILE_NAME))
    return records[-1]["clips_per_s"]  # the second half: warm caches, no start-up


def eval_clips_per_s(preset: str, clips: int, batch: int, repeats: int) -> float:
    from lmc import build_model
    from lmc.data.fixed_sets import fixed_set
    from lmc.evaluation import batched, evaluate

    model = build_model(preset)
    data = fixed_set("test", clips, 20, image_size=model.config.image_size).to_tensor()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate(model, batched(data, batch), 10, 10)
        times.append(time.perf_counter() - start)
    return clips / statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m lmc.bench train", description=__doc__.splitlines()[0]
    )
    p.add_argument("--presets", default="small,paper-mnist")
    p.add_argument("--iterations", type=int, default=6)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--eval_clips", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--amp", default="off")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--out", default="runs/bench/train.json")
    args = p.parse_args(argv)
    extra = {"device": args.device, "amp": args.amp, "compile": args.compile}
    rows = []
    for preset in args.presets.split(","):
        row = {
            "preset": preset,
            "train_loop_clips_per_s": loop_clips_per_s(preset, args.iterations, args.batch, extra),
            "eval_clips_per_s": eval_clips_per_s(preset, args.eval_clips, 32, args.repeats),
            "batch": args.batch,
            "device": args.device,
            "amp": args.amp,
            "compile": args.compile,
        }
        rows.append(row)
        print(
            f"{preset:12s} training loop {row['train_loop_clips_per_s']:7.2f} clips/s   "
            f"evaluation 10->10 {row['eval_clips_per_s']:7.2f} clips/s",
            flush=True,
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "threads": torch.get_num_threads()}, indent=2) + "\n")
    return {"rows": rows}


if __name__ == "__main__":
    main()
