"""`python -m dashboard.bench_memory`: speed of the memory analyses behind the dashboard's memory pages.

Each section is a function `(args, context) -> list of rows` (`metric`, `value`, `unit`, `goal`,
`note`); `SECTIONS` lists them in the order they run. Goals, for the demo-size model (`small`
preset, 64x64, 10 input frames) on one CPU core:

- recall view: one clip's recall (both phases, with predictions) and its statistics within 0.5 s,
  and the Recall page's rerun after a cell click within 0.5 s (Streamlit AppTest, server side);
- dataset pass: 10 s per 500 clips (phase 2 and phase 1; 40 s for 2,000), with a progress
  callback (batches of 4 on a CPU: see `lmc.analysis.dataset_pass.CPU_BATCH`);
- UMAP of 2,000 recalled contexts within 10 s once numba has compiled;
- the first UMAP of a fresh process (2,000 points of 512 dimensions, import included) within
  15 s once `python -m lmc.warmup` has filled NUMBA_CACHE_DIR (`make dashboard` runs it);
- a lasso selection of 200 points shows its cells within 1 s (the Embeddings page's rerun).

Everything runs on one thread; times are medians where repeats are cheap. The model is the
checkpoint given (default: the bundled demo when present), else a randomly initialised `small`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dashboard import APP, views
from dashboard.keys import Embeddings, Recall
from dashboard.settings import DEFAULT_DEMO

Row = dict[str, Any]
DEMO = Path(DEFAULT_DEMO)  # relative to the working directory, as before the move


def _row(metric: str, value: float, unit: str, goal: float | None, note: str) -> Row:
    return {"metric": metric, "value": value, "unit": unit, "goal": goal, "note": note}


def _median(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _model(args: argparse.Namespace):
    from lmc import build_model, load_checkpoint

    if args.checkpoint and Path(args.checkpoint).is_file():
        model, _ = load_checkpoint(args.checkpoint)
        return model, str(args.checkpoint)
    torch.manual_seed(0)
    return build_model("small").eval(), "random small preset"


def measure_recall_view(args: argparse.Namespace, ctx: dict) -> list[Row]:
    """recall_view (phase 2 and phase 1, 10 -> 10 predictions) + statistics + alignment."""
    from lmc.analysis.alignment import alignment
    from lmc.analysis.inputs import Clip
    from lmc.analysis.recall import recall_stats, recall_view
    from lmc.data import generate_clips

    model = ctx["model"]
    clip = Clip(generate_clips(1, 20, seed=5, split="test").to_tensor()[0].numpy(), 10, "bench")

    def run():
        view = recall_view(model, clip, 10)
        recall_stats(view.short.weights, view.short.cosine)
        recall_stats(view.long.weights, view.long.cosine)
        alignment(view.long.weights, view.short.weights, view.long.readout, view.short.readout)

    seconds = _median(run, args.repeats)
    return [
        _row(
            "recall view (library)",
            seconds,
            "s",
            0.5,
            f"one clip, both phases, median of {args.repeats}",
        )
    ]


def measure_dataset_pass(args: argparse.Namespace, ctx: dict) -> list[Row]:
    """The pass over the fixed test set, computed (a fresh cache folder), then read back."""
    from lmc.analysis import dataset_pass as dp
    from lmc.data.fixed_sets import fixed_set

    n = args.clips
    start = time.perf_counter()
    fixed_set("test", max(n, 1000), 20)
    generate = time.perf_counter() - start
    calls = []
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        result, cached = dp.fixed_set_pass(
            ctx["model"], n, batch_size=args.batch_size, root=root, model_key="bench",
            progress=lambda done, total: calls.append(done),
        )  # fmt: skip
        seconds = time.perf_counter() - start
        assert not cached
        start = time.perf_counter()
        dp.fixed_set_pass(ctx["model"], n, root=root, model_key="bench")
        reread = time.perf_counter() - start
        size_mb = sum(p.stat().st_size for p in Path(root).iterdir()) / 2**20
    ctx["pass"] = result
    return [
        _row(
            "dataset pass",
            seconds,
            "s",
            10.0 * n / 500,
            f"{n} clips, phase 2 + phase 1, batch {args.batch_size or dp.CPU_BATCH}, {len(calls)} progress calls, {n / seconds:.0f} clips/s",
        ),
        _row(
            "test-set files (once)",
            generate,
            "s",
            None,
            f"fixed_set('test', {max(n, 1000)}, 20) read or generated",
        ),
        _row("stored pass read back", reread, "s", None, f"{size_mb:.0f} MB npz"),
    ]


def measure_umap(args: argparse.Namespace, ctx: dict) -> list[Row]:
    """UMAP of 2,000 readouts in the slots' basis, slots placed by transform: first and second."""
    from lmc.analysis import projection as pj

    result = ctx["pass"]
    flat = result.short_readout.reshape(-1, result.short_readout.shape[-1])
    index = np.sort(
        np.random.default_rng(0).choice(len(flat), min(args.points, len(flat)), replace=False)
    )
    points, slots = pj.readout_space(flat[index], result.slots)
    start = time.perf_counter()
    import umap  # noqa: F401

    imported = time.perf_counter() - start
    start = time.perf_counter()
    pj.umap(points, slots)
    first = time.perf_counter() - start
    start = time.perf_counter()
    pj.umap(points, slots, seed=1)
    second = time.perf_counter() - start
    start = time.perf_counter()
    pj.pca(points, slots)
    pca = time.perf_counter() - start
    return [
        _row("import umap", imported, "s", None, "numba cache: NUMBA_CACHE_DIR"),
        _row(
            "UMAP, first call",
            first,
            "s",
            None,
            f"{len(points)} points x {points.shape[1]} dims + {len(slots)} slots; numba code from "
            "NUMBA_CACHE_DIR, compiled first where it is missing (python -m lmc.warmup fills it)",
        ),
        _row("UMAP, after compilation", second, "s", 10.0, f"{len(points)} points, same process"),
        _row("PCA", pca, "s", None, f"{len(points)} points"),
    ]


# A fresh process, as after `make dashboard`: imports umap, then maps random points (numba
# compiles per type, not per values, so random points cost what readouts do).
_FRESH_UMAP = """
import sys, time
start = time.perf_counter()
import numpy as np
from lmc.analysis import projection
n, d = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
projection.umap(rng.normal(size=(n, d)), rng.normal(size=(100, d)))
print(time.perf_counter() - start)
"""


def measure_umap_fresh(args: argparse.Namespace, ctx: dict) -> list[Row]:
    """The first UMAP of a new process (import included), with the compiled code numba keeps in
    NUMBA_CACHE_DIR: what a user waits for on a new dashboard once `make dashboard` set it up."""
    import subprocess
    import sys

    times = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", _FRESH_UMAP, str(args.points), str(args.dims)],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ,
        )
        times.append(float(done.stdout.split()[-1]))
    return [
        _row(
            "first UMAP of a fresh process",
            statistics.median(times),
            "s",
            15.0 if args.points <= 2000 else None,  # the goal is set for 2,000 points
            f"{args.points} points x {args.dims} dims + 100 slots, import included, median of 3 "
            f"processes ({', '.join(f'{t:.1f}' for t in times)} s); needs `python -m lmc.warmup` "
            "run once with the same NUMBA_CACHE_DIR",
        )
    ]


def measure_pages(args: argparse.Namespace, ctx: dict) -> list[Row]:
    """Server-side rerun times of the Recall and Embeddings pages in Streamlit's AppTest."""
    if not ctx["checkpoint_file"]:
        return [
            _row(
                "pages", float("nan"), "s", None, "skipped: needs a checkpoint file (--checkpoint)"
            )
        ]
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    rows = []
    with tempfile.TemporaryDirectory() as root:
        os.environ["LMC_DEMO_CHECKPOINT"] = str(Path(ctx["checkpoint_file"]).resolve())
        os.environ["LMC_CACHE_DIR"] = root
        st.cache_data.clear()
        st.cache_resource.clear()
        at = AppTest.from_file(str(APP), default_timeout=300).run()
        at.switch_page(views.RECALL.file)
        start = time.perf_counter()
        at.run()
        rows.append(
            _row(
                "Recall page, first view",
                time.perf_counter() - start,
                "s",
                None,
                "runs the model on the input (cold cache)",
            )
        )
        times = []
        for cell in (5, 6, 9, 10, 3):
            at.session_state[Recall.CELL] = cell
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        rows.append(
            _row(
                "Recall page, cell click",
                statistics.median(times),
                "s",
                0.5,
                "rerun after a cell click, median of 5",
            )
        )
        at.switch_page(views.EMBEDDINGS.file).run()
        start = time.perf_counter()
        at.button(key=Embeddings.RUN_BUTTON).click().run()
        rows.append(
            _row(
                "Embeddings page, pass via the button",
                time.perf_counter() - start,
                "s",
                None,
                "500 clips (the default), then the PCA map",
            )
        )
        rng = np.random.default_rng(0)
        times = []
        for _ in range(5):
            at.session_state[Embeddings.SELECTED] = sorted(
                rng.choice(2000, 200, replace=False).tolist()
            )
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        assert not at.exception, [e.value for e in at.exception]
        rows.append(
            _row(
                "lasso of 200 points -> cells shown",
                statistics.median(times),
                "s",
                1.0,
                "Embeddings page rerun, 40 cards, median of 5 (server side)",
            )
        )
    return rows


SECTIONS = {
    "recall": measure_recall_view,
    "pass": measure_dataset_pass,
    "umap": measure_umap,
    "umap_fresh": measure_umap_fresh,
    "pages": measure_pages,
}


def main(argv: list[str] | None = None) -> list[Row]:
    p = argparse.ArgumentParser(
        prog="python -m dashboard.bench_memory", description=__doc__.splitlines()[0]
    )
    p.add_argument(
        "--checkpoint",
        default=str(DEMO) if DEMO.is_file() else "",
        help="default: the bundled demo if present, else a random small model",
    )
    p.add_argument("--clips", type=int, default=2000)
    p.add_argument("--points", type=int, default=2000)
    p.add_argument("--dims", type=int, default=512, help="of the random points of umap_fresh")
    p.add_argument(
        "--batch_size", type=int, default=None, help="default: the pass's own (4 on a CPU)"
    )
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, of {', '.join(SECTIONS)}"
    )
    p.add_argument("--out", default="runs/bench/memory.json")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(".lmc-cache/numba").resolve()))
    model, source = _model(args)
    ctx = {
        "model": model,
        "checkpoint_file": args.checkpoint if Path(args.checkpoint or "-").is_file() else "",
    }
    print(f"model: {source}; threads: {torch.get_num_threads()}", flush=True)
    names = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        raise SystemExit(f"unknown sections {unknown}; valid: {', '.join(SECTIONS)}")
    if "umap" in names and "pass" not in names:
        names.insert(names.index("umap"), "pass")
    rows = []
    for name in names:
        for row in SECTIONS[name](args, ctx):
            rows.append(row)
            goal = row["goal"]
            verdict = (
                ""
                if goal is None
                else (
                    "  ok" if row["value"] <= goal else f"  OVER the goal of {goal:g} {row['unit']}"
                )
            )
            print(
                f"{row['metric']:40s} {row['value']:9.3f} {row['unit']:3s}{verdict}  ({row['note']})",
                flush=True,
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "suite": "memory",
        "model": source,
        "threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "args": vars(args),
    }
    out.write_text(json.dumps({**meta, "rows": rows}, indent=1) + "\n")
    print(f"wrote {out}")
    return rows


if __name__ == "__main__":
    main()
