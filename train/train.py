"""Train LMC-Memory with memory alignment learning: `python -m train.train [flags]`.

The authors' flags (`--dataset`, `--img_size`, `--checkpoint_save_dir`, ...) and this project's
(`--preset`, `--config FILE`, `--resume auto`, ...): parse them, then run the library's training
(`lmc.training.run.run`). Launch with `torchrun` for several GPUs or machines. A bad flag, file or
checkpoint ends in one line on stderr and exit status 2 (`lmc.cli`); `--debug` adds the traceback.
"""

from __future__ import annotations

import sys

from lmc import cli
from lmc.training.config import parse_args
from lmc.training.run import TrainingStopped, run

__all__ = ["TrainingStopped", "main"]


def main(argv: list[str] | None = None) -> dict:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    return run(cfg)


if __name__ == "__main__":
    cli.run(main, prog="train.train")
