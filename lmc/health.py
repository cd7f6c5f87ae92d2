"""Is this checkpoint's memory alive? `python -m lmc.health CHECKPOINT [--clips N] [--json]`.

Runs `lmc.analysis.health_check.health_check` on the generated Moving-MNIST test set (whose true
motion is known per cell) and prints each figure beside its control, then one verdict per
finding; `--json` prints one JSON object instead. A bad flag or checkpoint ends in one line on
stderr and exit status 2 (`lmc.cli`); `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import json

from lmc import cli
from lmc.analysis.health_check import health_check
from lmc.analysis.health_report import HealthReport, figure_rows
from lmc.config import MIN_MOTION_FRAMES
from lmc.errors import CheckpointError, ConfigError


def format_report(report: HealthReport, source: str) -> str:
    lines = [
        f"memory health of {source}",
        f"on {report.clips} clips, {report.short_len} -> {report.out_len} frames, "
        f"S = {report.memory_size}, temperature {report.temperature:g}; probes: 5-fold "
        f"{report.probe_method}",
        "",
    ]
    rows = figure_rows(report)
    width = max(len(row.label) for row in rows)
    lines += [f"  {row.label:<{width}}  {row.text or 'n/a'}" for row in rows]
    lines += ["", "verdicts:"] + [f"  - {v}" for v in report.verdicts]
    lines.append(f"\n({report.seconds:.1f} s)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.ArgumentParser(
        prog="python -m lmc.health",
        description="Measure whether a checkpoint's memory is alive: usage, tuning, probes, use, alignment.",
    )
    parser.add_argument("checkpoint", help="a .safetensors checkpoint of ours or the authors' .pt")
    parser.add_argument("--clips", type=int, default=256, help="generated test clips (default 256)")
    parser.add_argument("--short_len", type=int, default=10)
    parser.add_argument("--out_len", type=int, default=10)
    parser.add_argument(
        "--long_len",
        type=int,
        default=None,
        help="the long window, frames[0:long_len], behind the alignment and long-recall figures "
        "(default short_len + out_len; a model trained with --long_window input: its short_len)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffles and probe folds")
    parser.add_argument(
        "--dataset",
        choices=("movingmnist", "kth"),
        default=None,
        help="for the authors' .pt files: which of their models it is",
    )
    parser.add_argument(
        "--motion",
        choices=("standard", "contexts"),
        default=None,
        help="the test clips: standard Moving-MNIST, or with motion contexts (adds the family "
        "figures); default the motion the checkpoint was trained on, standard when unknown",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> dict:
    args = build_parser().parse_args(argv)
    if args.clips < 2:
        raise ConfigError(f"--clips {args.clips}: at least 2 clips are needed")
    for name in ("short_len", "out_len"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} {getattr(args, name)}: must be at least 1")
    long_len = args.long_len or args.short_len + args.out_len
    if not MIN_MOTION_FRAMES <= long_len <= args.short_len + args.out_len:
        raise ConfigError(
            f"--long_len {long_len}: must be between {MIN_MOTION_FRAMES} and short_len + out_len "
            f"= {args.short_len + args.out_len}"
        )
    if args.seed < 0:
        raise ConfigError(f"--seed {args.seed}: must be at least 0")
    from lmc.checkpoint import load_checkpoint
    from lmc.data.fixed_sets import fixed_set
    from lmc.data.moving_mnist import training_motion

    model, metadata = load_checkpoint(args.checkpoint, dataset=args.dataset)
    if model.memory is None:
        raise CheckpointError(
            f"{args.checkpoint} has no memory (memory=False): there is no memory health to measure"
        )
    motion = args.motion or training_motion(metadata)
    clips = fixed_set(
        "test",
        max(args.clips, 1000),
        args.short_len + args.out_len,
        image_size=model.config.image_size,
        motion=motion,
    ).subset(slice(0, args.clips))
    report = health_check(model, clips, args.short_len, args.out_len, long_len, seed=args.seed)
    values = report.to_dict()
    if args.json:
        print(json.dumps(values, indent=1))
    else:
        print(format_report(report, f"{args.checkpoint} on {clips.source}"))
    return values


if __name__ == "__main__":
    cli.run(main, prog="lmc.health")
