"""Evaluate a checkpoint: `python -m train.test --checkpoint_load_file PATH [flags]`.

Accepts the flags of the authors' `test.py` (`--make_frame`, `--evaluate`, `--test_data_dir`,
`--test_result_dir`, `--checkpoint_load_file`, the size flags) and reads their checkpoints too.
Without `--test_data_dir`, Moving-MNIST is evaluated on the built-in generated test set, and the
results say so. Writes to `--test_result_dir`:
  metrics.json     per-frame and mean MSE/MAE (per-frame sums over pixels), PSNR, SSIM (and LPIPS
                   where available) for the model, copy-last-frame and all-zero baselines
  metrics.csv      the same, one row per method x output frame, plus a "mean" row per method
  metrics.png      the per-frame curves
  predictions/     with --make_frame: video_00000/frame_00000.png ... (the original layout)
A bad flag or checkpoint ends in one line on stderr and exit status 2 (`lmc.cli`); `--debug` adds
the traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from lmc import cli
from lmc.checkpoint import load_checkpoint
from lmc.config import ModelConfig
from lmc.device import resolve_device
from lmc.errors import ConfigError
from lmc.evaluation import METHODS, batched, evaluate, finalize
from lmc.io import atomic_write
from lmc.metrics import lpips_available
from lmc.training.config import DATASET_PRESETS, parse_bool


def build_parser() -> argparse.ArgumentParser:
    p = cli.ArgumentParser(prog="python -m train.test", description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=sorted(DATASET_PRESETS), default="movingmnist")
    p.add_argument(
        "--checkpoint_load_file", required=True, help="ours (.safetensors/.pt) or the authors' .pt"
    )
    p.add_argument(
        "--test_data_dir", help="frame folders; default: the generated Moving-MNIST test set"
    )
    p.add_argument("--test_result_dir", default="results")
    p.add_argument(
        "--make_frame", nargs="?", const=True, default=False, type=parse_bool, metavar="True|False"
    )
    p.add_argument(
        "--evaluate", nargs="?", const=True, default=True, type=parse_bool, metavar="True|False"
    )
    p.add_argument("--img_size", type=int, help="frame side (default: the model's)")
    p.add_argument("--img_channel", type=int, help="must match the model")
    p.add_argument("--memory_size", type=int, help="checked against the checkpoint")
    p.add_argument("--short_len", type=int, default=10)
    p.add_argument("--out_len", type=int, default=10)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--num_clips", type=int, default=None, help="default: the whole test set")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--lpips",
        nargs="?",
        const=True,
        default=False,
        type=parse_bool,
        metavar="True|False",
        help="also compute LPIPS (needs the lpips package and its weights offline)",
    )
    return p


def load_test_clips(args, config: ModelConfig) -> tuple[torch.Tensor, str]:
    """(N, short+out, C, H, W) float clips and where they come from."""
    size = args.img_size or config.image_size
    clip_len = args.short_len + args.out_len
    if args.test_data_dir:
        from lmc.data.folders import FrameFolderDataset

        ds = FrameFolderDataset(
            args.test_data_dir, clip_len, split="test", channels=config.image_channels, size=size
        )
        n = len(ds) if args.num_clips is None else min(args.num_clips, len(ds))
        return torch.stack([ds[i] for i in range(n)]), f"frame folders {args.test_data_dir}"
    if args.dataset == "kth":
        raise ConfigError(
            "--dataset kth needs --test_data_dir (make it with `python -m lmc.data kth RAW OUT`)"
        )
    from lmc.data.fixed_sets import fixed_set

    clips = fixed_set("test", args.num_clips, clip_len, image_size=size)
    tensor = clips.to_tensor()
    if config.image_channels == 3:
        tensor = tensor.expand(-1, -1, 3, -1, -1).contiguous()
    return tensor, clips.source


def write_frames(out_dir: Path, preds: torch.Tensor, first_index: int) -> None:
    from lmc.viz import save_png, to_uint8

    for i, clip in enumerate(to_uint8(preds)):
        for t, frame in enumerate(clip):
            save_png(frame, out_dir / f"video_{first_index + i:05d}" / f"frame_{t:05d}.png")


def write_reports(result_dir: Path, report: dict) -> None:
    atomic_write(
        result_dir / "metrics.json",
        lambda tmp: Path(tmp).write_text(json.dumps(report, indent=2) + "\n"),
    )
    metric_names = list(report["model"])

    def write_csv(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["method", "frame", *metric_names])
            for method in METHODS:
                m = report[method]
                frames = len(m[metric_names[0]]["per_frame"])
                for t in range(frames):
                    writer.writerow([method, t + 1, *(m[k]["per_frame"][t] for k in metric_names)])
                writer.writerow([method, "mean", *(m[k]["mean"] for k in metric_names)])

    atomic_write(result_dir / "metrics.csv", write_csv)
    plot_metrics(report, result_dir / "metrics.png")


def plot_metrics(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["model"])
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), constrained_layout=True)
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        for method, style in zip(METHODS, ("-o", "--", ":"), strict=True):
            values = report[method][name]["per_frame"]
            ax.plot(range(1, len(values) + 1), values, style, label=method, markersize=3)
        ax.set_title(name.upper())
        ax.set_xlabel("output frame")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend()
    fig.suptitle(report["source"], fontsize=9)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    for name in ("short_len", "out_len", "batch_size"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name}={getattr(args, name)}: must be at least 1")
    if args.num_clips is not None and args.num_clips < 1:
        raise ConfigError(f"--num_clips={args.num_clips}: must be at least 1 (or left out: all)")
    device = resolve_device(args.device)
    model, metadata = load_checkpoint(args.checkpoint_load_file, dataset=args.dataset)
    cfg = model.config
    if args.img_channel is not None and args.img_channel != cfg.image_channels:
        raise ConfigError(
            f"--img_channel {args.img_channel}: the checkpoint's model has {cfg.image_channels} channels"
        )
    if args.memory_size is not None and cfg.memory and args.memory_size != cfg.memory_size:
        raise ConfigError(
            f"--memory_size {args.memory_size}: the checkpoint's memory has {cfg.memory_size} slots"
        )
    model.to(device)
    clips, source = load_test_clips(args, cfg)
    result_dir = Path(args.test_result_dir)
    result_dir.mkdir(parents=True, exist_ok=True)
    metrics = ("mse", "mae", "psnr", "ssim")
    lpips_note = "not requested"
    if args.lpips:
        ok, why = lpips_available(), ""
        if ok:
            metrics = (*metrics, "lpips")
            lpips_note = "computed"
        else:
            lpips_note = (
                "skipped: the lpips package or its AlexNet weights are not available offline"
            )
            print(f"note: LPIPS {lpips_note}{why}", file=sys.stderr)
    report: dict = {}
    start = time.perf_counter()
    if args.evaluate:
        from tqdm import tqdm

        with tqdm(total=len(clips), desc="evaluating", unit="clip", file=sys.stderr) as bar:
            sums = evaluate(
                model,
                batched(clips, args.batch_size),
                args.short_len,
                args.out_len,
                device=device,
                metrics=metrics,
                on_batch=bar.update,
            )
        report = finalize(sums)
    elapsed = time.perf_counter() - start
    if args.make_frame:
        for i, batch in enumerate(batched(clips, args.batch_size)):
            pred = model.predict(batch[:, : args.short_len].to(device), args.out_len).frames
            write_frames(result_dir / "predictions", pred.clamp(0, 1).cpu(), i * args.batch_size)
    if args.evaluate:
        report.update(
            source=source,
            checkpoint=str(args.checkpoint_load_file),
            checkpoint_format=metadata.get("format"),
            short_len=args.short_len,
            out_len=args.out_len,
            lpips=lpips_note,
            clips_per_s=len(clips) / max(elapsed, 1e-9),
            conventions="MSE/MAE: per-frame sums over pixels; PSNR: data range 1; SSIM: 7x7 uniform, data range 1; predictions clamped to [0, 1]",
        )
        write_reports(result_dir, report)
        print(f"{source}: {len(clips)} clips, {args.short_len} -> {args.out_len}")
        for method in METHODS:
            means = "  ".join(f"{k} {v['mean']:.4f}" for k, v in report[method].items())
            print(f"  {method:10s} {means}")
    return report


if __name__ == "__main__":
    cli.run(main, prog="train.test")
