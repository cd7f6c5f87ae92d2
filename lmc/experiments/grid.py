"""Run a grid of variants x seeds with the training CLI and read the results back as tables.

Every run is a normal run directory, made by calling `lmc.training.run.run` in-process, so the
dashboard and `lmc.load_checkpoint` open it like any other:

    root/<budget>/<variant>/seed<seed>/  config.json, metrics.jsonl, last.pt, last.safetensors,
                                         best.safetensors, samples/, train.log, experiment.json

`experiment.json` (written last) records the variant, seed, budget and wall time. All variants
of a grid draw the same training clips (the generator is seeded by the seed alone) and are
validated on the same fixed clips. A run whose directory already finished is skipped, an
interrupted one continues from its last checkpoint (`--resume auto`). A run that raises is a row
of the table with its error (and NaN metrics); the grid goes on with the next.

The rows run one after another in this process, or as Ray tasks on a cluster (`cluster=`, see
`lmc.experiments.cluster`); the table is the same either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lmc.cli import one_line
from lmc.config import MIN_MOTION_FRAMES
from lmc.errors import ConfigError
from lmc.experiments.variants import Budget, Variant
from lmc.training import check_windows, metrics_log
from lmc.training.config import TrainConfig
from lmc.training.metrics_log import train_seconds
from lmc.training.run import run as run_training

METRICS = ("mse", "mae", "psnr", "ssim")
SETTINGS = ("memory", "alignment", "query", "memory_size", "temperature", "long_len")
BASELINE = "copy_last"
TABLE_COLUMNS = (
    "variant",
    "seed",
    *SETTINGS,
    *METRICS,
    *(f"{BASELINE}_{m}" for m in METRICS),
    "iterations",
    "train_s",
    "wall_s",
    "run_dir",
    "error",
)
CURVE_COLUMNS = ("variant", "seed", "iteration", "source", "metric", "value")
EXPERIMENT_FILE = "experiment.json"
LOG_FILE = "train.log"


@dataclass
class ExperimentResult:
    """The results of a grid.

    table: one row per variant x seed, columns TABLE_COLUMNS: the variant and seed; the settings
    the ablations change, as the run resolved them (for a no-memory run the memory settings are
    unused); the validation mse/mae/psnr/ssim at the end of the budget and the copy-last-frame
    baseline on the same clips; iterations; train_s, the seconds spent in training iterations
    (from the run's log, validation excluded); wall_s, the wall time of the call that finished
    the run (NaN if unknown); run_dir; error, None for a run that finished, else what it raised
    (its metrics NaN, iterations the last one it logged; its traceback is in its train.log).
    curves: the learning curves in long format (CURVE_COLUMNS), `source` being "train" (the
    losses: phase1 and phase2, or loss for one-phase runs), "val", "copy_last", "zeros" or
    "health" (the memory's cheap health at each validation: slots alive, effective slots, the
    other-recall MSE ratio, the long/short agreement).
    """

    table: pd.DataFrame
    curves: pd.DataFrame


@dataclass(frozen=True)
class _Run:
    variant: Variant
    seed: int
    run_dir: Path
    train_config: TrainConfig
    config: dict[str, Any]  # the resolved TrainConfig as config.json will hold it


def _plan(variant: Variant, seed: int, budget: Budget, root: Path) -> _Run:
    """The run's config, checked now so that a bad variant fails before any training."""
    run_dir = root / budget.name / variant.name / f"seed{seed}"
    settings = {
        **budget.train_settings(),
        **variant.overrides,
        "seed": seed,
        "run_dir": str(run_dir),
        "resume": "auto",
    }
    try:
        cfg = TrainConfig.from_settings(settings, f"variant {variant.name!r}")
        check_windows(cfg.short_len, cfg.out_len, cfg.long_len, MIN_MOTION_FRAMES)
    except ValueError as err:
        message = str(err)
        prefix = f"variant {variant.name!r}: "
        raise ConfigError(message if message.startswith(prefix) else prefix + message) from None
    config = json.loads(json.dumps(cfg.to_dict()))
    return _Run(variant, seed, run_dir, cfg, config)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _records(run_dir: Path) -> list[dict[str, Any]]:
    return metrics_log.read_records(run_dir / metrics_log.FILE_NAME)


def _status(run: _Run) -> str:
    """The run's state: new, finished or partial; raises if the folder holds other settings."""
    config_path = run.run_dir / "config.json"
    if not config_path.exists():
        return "new"
    # A setting added to TrainConfig after the run was made reads as its default there.
    stored = {**TrainConfig().to_dict(), **_read_json(config_path).get("train", {})}
    # The folder is the one found at run_dir: whether it was named relative to the working
    # directory (a grid run here) or absolute (a grid on a cluster) makes no difference.
    stored["run_dir"] = run.config["run_dir"]
    differ = sorted(k for k in set(stored) | set(run.config) if stored.get(k) != run.config.get(k))
    if differ:
        details = ", ".join(
            f"{k} {stored.get(k)!r} there vs {run.config.get(k)!r} here" for k in differ
        )
        raise ValueError(
            f"{run.run_dir} holds a run with other settings ({details}); choose another root or "
            "budget name, or pass resume=False to replace it"
        )
    records = _records(run.run_dir)
    last = records[-1] if records else {}
    done = last.get("iteration") == run.config["iterations"] and "val" in last
    if done and (run.run_dir / "last.safetensors").exists():
        return "finished"
    return "partial"


def _clear(run_dir: Path) -> None:
    """Remove a run directory, but only one that looks like a run directory."""
    if not run_dir.exists():
        return
    # A run that failed before its config.json leaves its train.log alone.
    ours = {p.name for p in run_dir.iterdir()} <= {LOG_FILE}
    if not (run_dir / "config.json").exists() and not ours:
        raise ValueError(f"{run_dir} is not empty and is no run directory; refusing to delete it")
    shutil.rmtree(run_dir)


def _line_break(log: Path) -> str:
    """A line break if the log ends inside a line (the progress bar of an attempt that was
    killed), else nothing."""
    try:
        with open(log, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return "" if f.read(1) == b"\n" else "\n"
    except OSError:  # no log yet, or an empty one
        return ""


def train_row(run: _Run, budget: Budget, quiet: bool) -> str | None:
    """Train (or continue) one run and write its experiment.json; None when it finished, else
    what it raised, on one line (the traceback goes to its log). The same call serves the
    sequential grid and each Ray task of a grid on a cluster."""
    if not (run.run_dir / "last.pt").exists():
        _clear(run.run_dir)  # a run that died before its first checkpoint starts over, clean
    run.run_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        newline = ""
        if quiet:
            newline = _line_break(run.run_dir / LOG_FILE)
            log_file = stack.enter_context(open(run.run_dir / LOG_FILE, "a"))
            stack.enter_context(contextlib.redirect_stderr(log_file))
        # Which process ran each attempt: a row retried after its worker died has two lines.
        where = f"lmc grid: {socket.gethostname()} pid {os.getpid()}"
        print(newline + where, file=sys.stderr, flush=True)
        try:
            run_training(run.train_config)
        except Exception as err:
            traceback.print_exc(file=sys.stderr)
            return one_line(f"{type(err).__name__}: {err}")
    _write_info(run, budget, time.perf_counter() - start)
    return None


def _write_info(run: _Run, budget: Budget, wall: float | None) -> None:
    info = {
        "variant": run.variant.name,
        "overrides": run.variant.overrides,
        "seed": run.seed,
        "budget": dataclasses.asdict(budget),
        "wall_s": wall,  # None: unknown (the run finished outside run_grid)
    }
    (run.run_dir / EXPERIMENT_FILE).write_text(json.dumps(info, indent=2) + "\n")


def read_run(run_dir: str | Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """One finished run directory -> (its table row, its learning curves)."""
    run_dir = Path(run_dir)
    config = _read_json(run_dir / "config.json")
    train_cfg, model_cfg = config["train"], config["model"]
    info_path = run_dir / EXPERIMENT_FILE
    info = _read_json(info_path) if info_path.exists() else {}
    variant = info.get("variant", run_dir.parent.name)
    seed = info.get("seed", train_cfg["seed"])
    records = _records(run_dir)
    validated = [r for r in records if "val" in r]
    if not validated:
        raise ValueError(f"{run_dir} has no validation record yet: has the run finished?")
    final = validated[-1]
    row: dict[str, Any] = {
        "variant": variant,
        "seed": seed,
        "memory": model_cfg["memory"],
        "alignment": train_cfg["alignment"],
        "query": model_cfg["query"],
        "memory_size": model_cfg["memory_size"],
        "temperature": model_cfg["temperature"],
        "long_len": train_cfg["long_len"],
        **{m: final["val"].get(m, math.nan) for m in METRICS},
        **{f"{BASELINE}_{m}": final["val_baselines"][BASELINE].get(m, math.nan) for m in METRICS},
        "iterations": final["iteration"],
        "train_s": train_seconds(records, train_cfg["batch_size"]),
        "wall_s": math.nan if info.get("wall_s") is None else float(info["wall_s"]),
        "run_dir": str(run_dir),
        "error": None,
    }
    return row, _curves(records, variant, seed)


def _failed_row(run: _Run, error: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """The table row and learning curves of a run that raised: its settings, NaN metrics, the
    last iteration it logged and its error."""
    model_cfg = run.train_config.model_config()
    records = _records(run.run_dir)
    row: dict[str, Any] = {
        "variant": run.variant.name,
        "seed": run.seed,
        "memory": model_cfg.memory,
        "alignment": run.train_config.alignment,
        "query": model_cfg.query,
        "memory_size": model_cfg.memory_size,
        "temperature": model_cfg.temperature,
        "long_len": run.train_config.long_len,
        **dict.fromkeys(METRICS, math.nan),
        **dict.fromkeys((f"{BASELINE}_{m}" for m in METRICS), math.nan),
        "iterations": records[-1]["iteration"] if records else 0,
        "train_s": math.nan,
        "wall_s": math.nan,
        "run_dir": str(run.run_dir),
        "error": error,
    }
    return row, _curves(records, run.variant.name, run.seed)


def _curves(records: Iterable[dict[str, Any]], variant: str, seed: int) -> pd.DataFrame:
    rows = []
    for record in records:
        it = record["iteration"]
        for name in ("phase1", "phase2", "loss"):
            if name in record:
                rows.append((variant, seed, it, "train", name, record[name]))
        for metric, value in record.get("val", {}).items():
            rows.append((variant, seed, it, "val", metric, value))
        for method, values in record.get("val_baselines", {}).items():
            for metric, value in values.items():
                rows.append((variant, seed, it, method, metric, value))
        for metric, value in record.get("health", {}).items():
            rows.append((variant, seed, it, "health", metric, value))
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS))


def _collect(results: Iterable[tuple[dict[str, Any], pd.DataFrame]]) -> ExperimentResult:
    rows, curves = [], []
    for row, curve in results:
        rows.append(row)
        if len(curve):  # a run that failed before its first record has none
            curves.append(curve)
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    curves_df = (
        pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(columns=list(CURVE_COLUMNS))
    )
    return ExperimentResult(table=table, curves=curves_df)


def run_grid(
    variants: Iterable[Variant],
    budget: Budget,
    seeds: Iterable[int] = (0,),
    root: str | Path = "runs/ablations",
    resume: bool = True,
    *,
    cluster: str | None = None,
    cpus_per_row: int = 1,
    retries: int = 2,
    quiet: bool = True,
    log: Callable[[str], None] = print,
) -> ExperimentResult:
    """Train every variant with every seed under one budget and return their results.

    Runs go to root/<budget.name>/<variant>/seed<seed>. resume=True skips runs that finished and
    continues interrupted ones; resume=False trains every run again from scratch, replacing its
    directory. A directory made with other settings is an error, never silently reused. A run
    that raises is a row with its error (see ExperimentResult), not the end of the grid.
    quiet=True sends each run's own log (config, progress bar) to its train.log; `log` receives
    one line per run.

    cluster: None trains the rows one after another in this process. Otherwise each row to train
    is a Ray task (`pip install "lmc[cluster]"`) on: a Ray this process is already connected to;
    else "local", a Ray started on this machine for the grid; else a cluster's address ("auto",
    "host:6379", "ray://host:10001"). A task asks for one GPU where the cluster has GPUs and
    `cpus_per_row` CPUs; a task whose worker dies is retried `retries` times, each from the run's
    last checkpoint. The root must be a folder every node sees at the same path (a shared
    filesystem; checked before any row starts), and a driver's progress bar counts the rows and
    shows the latest validation of those running. See `lmc.experiments.cluster`.
    """
    variants = list(variants)
    names = [v.name for v in variants]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"variant names must be unique; repeated: {duplicated}")
    seeds = [int(s) for s in seeds]
    if not variants or not seeds:
        raise ValueError("run_grid needs at least one variant and one seed")
    if cluster is not None and (not isinstance(cluster, str) or not cluster.strip()):
        raise ConfigError(
            f"cluster={cluster!r}: give None (this process), 'local' (a Ray on this machine) or "
            "a Ray cluster's address such as 'auto', 'host:6379' or 'ray://host:10001'"
        )
    if cpus_per_row < 1 or retries < 0:
        raise ConfigError(
            f"cpus_per_row={cpus_per_row}, retries={retries}: a row needs at least 1 CPU, and "
            "retries must be 0 or more"
        )
    # On a cluster every node must find the runs at the same path, whatever its working folder.
    root = Path(root) if cluster is None else Path(root).resolve()
    runs = [_plan(v, s, budget, root) for v in variants for s in seeds]
    errors: dict[Path, str] = {}

    def finished(label: str, run: _Run, error: str | None) -> None:
        if error is not None:
            errors[run.run_dir] = error
            log(f"{label}: failed: {error} (its log: {run.run_dir / LOG_FILE})")
            return
        row, _ = read_run(run.run_dir)
        log(
            f"{label}: {row['iterations']} iterations in {row['wall_s']:.1f} s, "
            f"val mse {row['mse']:.2f}"
        )

    todo: list[tuple[str, _Run]] = []  # the rows for the cluster
    for i, run in enumerate(runs, 1):
        label = f"[{i}/{len(runs)}] {run.variant.name} seed {run.seed}"
        if not resume:
            _clear(run.run_dir)
        status = _status(run)
        if status == "finished":
            log(f"{label}: skipped, already finished in {run.run_dir}")
            if not (run.run_dir / EXPERIMENT_FILE).exists():
                _write_info(run, budget, None)
            continue
        if status == "partial":
            log(f"{label}: continuing the interrupted run in {run.run_dir}")
        if cluster is None:
            finished(label, run, train_row(run, budget, quiet))
        else:
            todo.append((label, run))
    if todo:  # only rows to train need a cluster
        from lmc.experiments.cluster import run_rows

        run_rows(
            todo,
            budget,
            cluster,
            train_row=train_row,
            root=root,
            done=len(runs) - len(todo),
            total=len(runs),
            cpus_per_row=cpus_per_row,
            retries=retries,
            quiet=quiet,
            finished=finished,
        )
    return _collect(
        _failed_row(run, errors[run.run_dir]) if run.run_dir in errors else read_run(run.run_dir)
        for run in runs
    )


def load_grid(root: str | Path) -> ExperimentResult:
    """The results of every run under `root` that finished (has an experiment.json), without
    training anything; `root` may be a grid's root or one budget's folder inside it."""
    paths = sorted(Path(root).rglob(EXPERIMENT_FILE))
    return _collect(read_run(p.parent) for p in paths)
