"""Dispatch `python -m lmc.bench SUITE ...` to `lmc.bench.SUITE.main`.

Suites time one part of the toolkit and print a table plus a JSON file; compare ratios within one
run and quote medians, since the machines this runs on are shared and noisy. An expected failure
(an unknown suite; for `gpu`, a bad flag or no CUDA) ends in one line and status 2 (`lmc.cli`).
"""

import importlib
import sys

from lmc import cli
from lmc.errors import ConfigError

SUITES = {
    "model": "training iteration and rollout speed, peak memory, per preset",
    "data": "Moving-MNIST generator and cached frame-folder throughput, memory over a stream",
    "metrics": "batched torch SSIM/PSNR/MSE against scikit-image frame by frame",
    "train": "training clips/s of the CLI loop and evaluation throughput",
    "cpu": "training, evaluation and the memory pass of this tree against an older revision (2026-11-30)",
    "floor": "each task's FLOPs, the least time this CPU could take for them, the share reached",
    "health": "seconds of a full memory health check (256 clips of the small model)",
    "grid": "Ray's start and per-row overhead against the sequential experiment grid",
    "gpu": "the published recipes on CUDA: fp32, bf16, fp16, compiled or not, peak memory",
}


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    suite = "model"
    if argv and not argv[0].startswith("-"):
        suite = argv.pop(0)
    if suite not in SUITES:
        valid = ", ".join(f"{name} ({what})" for name, what in SUITES.items())
        raise ConfigError(f"unknown benchmark suite {suite!r}; valid suites: {valid}")
    importlib.import_module(f"lmc.bench.{suite}").main(argv)


if __name__ == "__main__":
    cli.run(main, prog="lmc.bench")
