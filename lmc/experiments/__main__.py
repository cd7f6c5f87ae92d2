"""`lmc grid GRID.toml` (or `python -m lmc.experiments GRID.toml`): train a grid of variants x
seeds, here or on a Ray cluster, and print its table summarised over seeds.

The file says what to train (`lmc.experiments.grid_file`); a flag overrides the file's value. The
table is also written to ROOT/<budget>/table.csv. Rows that raised are in it with their error,
and make the command end with status 1 once the others are done.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lmc import cli
from lmc.errors import TrainingStopped
from lmc.experiments.grid import ExperimentResult, run_grid
from lmc.experiments.grid_file import load_grid_file
from lmc.experiments.tables import summarize

SHOWN = ("variant", "n", "mse_mean", "mse_std", "ssim_mean", "ssim_std", "train_s_mean")


def build_parser() -> cli.ArgumentParser:
    p = cli.ArgumentParser(prog="lmc grid", description=__doc__.splitlines()[0])
    p.add_argument("grid", help="the grid's TOML file (lmc/experiments/grid_file.py shows one)")
    p.add_argument(
        "--cluster",
        help="'local' (a Ray on this machine), 'auto' (the cluster this node belongs to), "
        "HOST:6379 or ray://HOST:10001; default: the file's, else the rows run here in turn",
    )
    p.add_argument("--root", help="the grid's folder (default: the file's)")
    p.add_argument("--seeds", type=int, nargs="+", help="the seeds (default: the file's)")
    p.add_argument("--cpus-per-row", type=int, help="CPUs a row's Ray task asks for")
    p.add_argument("--retries", type=int, help="attempts after a row's worker dies")
    return p


def main(argv: list[str] | None = None) -> ExperimentResult:
    args = build_parser().parse_args(argv)
    grid = load_grid_file(args.grid)
    flags = {
        "cluster": args.cluster,
        "root": args.root,
        "seeds": None if args.seeds is None else tuple(args.seeds),
        "cpus_per_row": args.cpus_per_row,
        "retries": args.retries,
    }
    settings = {
        "root": grid.root,
        "seeds": grid.seeds,
        "cluster": grid.cluster,
        "cpus_per_row": grid.cpus_per_row,
        "retries": grid.retries,
        **{k: v for k, v in flags.items() if v is not None},
    }
    print(f"budget: {grid.budget}", file=sys.stderr)
    print(f"variants: {', '.join(v.name for v in grid.variants)}", file=sys.stderr)
    print(", ".join(f"{k}: {v}" for k, v in settings.items()), file=sys.stderr, flush=True)
    result = run_grid(grid.variants, grid.budget, **settings)

    table_path = Path(settings["root"]) / grid.budget.name / "table.csv"
    result.table.to_csv(table_path, index=False)
    print(summarize(result.table)[list(SHOWN)].round(3).to_string(index=False))
    print(f"table: {table_path}")
    failed = result.table[result.table["error"].notna()]
    if len(failed):
        rows = "; ".join(f"{r.variant} seed {r.seed}: {r.error}" for r in failed.itertuples())
        raise TrainingStopped(f"{len(failed)} of {len(result.table)} rows failed ({rows})")
    return result


if __name__ == "__main__":
    cli.run(main, prog="lmc grid")
