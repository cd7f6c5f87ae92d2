"""Convert an authors' LMC-Memory checkpoint into this project's format.

    python -m lmc.convert IN.pt OUT_DIR --dataset movingmnist|kth

Writes OUT_DIR/<IN stem>.safetensors. The input is read with torch.load(weights_only=True) only.
"""

from __future__ import annotations

from pathlib import Path

from lmc import cli
from lmc.checkpoint import save_checkpoint
from lmc.official import DATASETS, import_official


def main(argv: list[str] | None = None) -> Path:
    """Raises ConfigError for a bad flag and CheckpointError for a file that is no authors'
    checkpoint; `cli.run` turns each into one line and status 2."""
    parser = cli.ArgumentParser(prog="python -m lmc.convert", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="the authors' .pt file")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default="movingmnist",
        help="sets image size and output activation, which the weights do not record",
    )
    args = parser.parse_args(argv)
    model = import_official(args.checkpoint, dataset=args.dataset)
    out = save_checkpoint(
        model,
        args.out_dir / f"{args.checkpoint.stem}.safetensors",
        source=str(args.checkpoint),
        dataset=args.dataset,
        model_card=f"Imported from the authors' checkpoint {args.checkpoint.name} ({args.dataset}).",
    )
    print(out)
    return out


if __name__ == "__main__":
    cli.run(main, prog="lmc.convert")
