"""Train LMC-Memory with memory alignment learning: `python -m train.train [flags]`.

The authors' flags (`--dataset`, `--img_size`, `--checkpoint_save_dir`, ...) and this project's
(`--preset`, `--config FILE`, `--resume auto`, ...): parse them, then run the library's training
(`lmc.training.run.run`). Launch with `torchrun` for several GPUs or machines.
"""

from __future__ import annotations

import sys

from lmc.errors import LmcError
from lmc.training.config import parse_args
from lmc.training.run import TrainingStopped, run


def main(argv: list[str] | None = None) -> dict:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    return run(cfg)


if __name__ == "__main__":
    try:
        main()
    except TrainingStopped as err:
        raise SystemExit(f"training stopped: {err}") from None
    except LmcError as err:
        raise SystemExit(f"train.train: {err}") from None
