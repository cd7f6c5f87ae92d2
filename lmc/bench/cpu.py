"""`python -m lmc.bench cpu`: this tree's training, evaluation and dataset pass against an older
revision's, on CPU.

Each timing runs in a fresh subprocess that imports `lmc` from one source tree (this one, or
`--against REV` exported from git into a temporary folder) and builds the preset's model with the
same seed. `--tasks` names what is timed, each task per preset:

- `train`: `lmc.training.train_step` (phase 1 and phase 2, each forward, backward and Adam step)
  on one batch of random frames, 10 -> `--out_len`; seconds per iteration, lower is better.
- `eval`: `lmc.evaluation.evaluate` (model and baselines, all metrics), 10 -> 10, in batches of
  the preset's batch, over the first `--clips` clips of the fixed test set; clips/s.
- `pass`: the memory's dataset pass, `lmc.analysis.dataset_pass.fixed_set_pass` over `--clips`
  clips into a fresh folder each run (so computed and written, never read from its cache), in
  batches of the preset's batch; clips/s. The fixed set it reads is made before the timing.

Eval and pass use the model in eval mode and the fixed sets under $LMC_CACHE_DIR (default: this
tree's `.lmc-cache`, for both trees). The trees alternate round by round, so a load that comes and
goes on a shared machine falls on both; the table gives each tree's best median over the rounds
and the speed-up: old time / new time, which for eval and pass is new clips/s / old clips/s.
`--profile` adds a torch.profiler table of one run of this tree, by operator. `--authors` also
times, in the same rounds, the authors' form of the training iteration (`lmc.bench.authors_form`,
this tree's code, same seed, frames and windows) and gives this tree's time / the form's; it has no
eval or pass form. The form times slower than the authors' own code (docs/perf.md), so this ratio
is not issue 14's (<= 0.80 of the authors' time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from lmc.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
# The code of 2026-11-30, which issue 14's goal for the `small` preset is measured against.
BASELINE = "13d06e1"

# The name of the authors' form in the table and the record.
AUTHORS = "authors' form"

# Every child starts the same way: argv = tree preset batch amount steps threads profile, where
# amount is out_len for training and the number of clips for eval and pass; then it builds
# `step` (one training iteration, or one run over all the clips) and _CHILD_END times it.
_CHILD_START = r"""
import json, statistics, sys, tempfile, time
tree, preset, batch, amount, steps, threads, profile = sys.argv[1:8]
import torch
if int(threads):
    torch.set_num_threads(int(threads))
import lmc
assert lmc.__file__.startswith(tree), (lmc.__file__, tree)
try:  # the allocator settings as the tree's command lines apply them (trees before it: none)
    from lmc.allocator import keep_freed_memory
except ImportError:
    pass
else:
    keep_freed_memory()
from lmc import build_model
torch.manual_seed(0)
model = build_model(preset)
size, ch = model.config.image_size, model.config.image_channels
"""
_OURS = r"""from lmc.training import ClipWindows, train_step
opt = torch.optim.Adam(model.parameters(), lr=2e-4)
out_len = int(amount)
clip = torch.rand(int(batch), 10 + out_len, ch, size, size)
windows = ClipWindows(10, out_len, min(10 + out_len, 30))
step = lambda: train_step(model, opt, clip, windows, 0)
"""
# The same weights (converted to the authors' keys), seed, frames and windows as _OURS.
_AUTHORS = r"""from lmc.bench.authors_form import authors_parameters, authors_train_step
params = authors_parameters(model)
sigmoid = model.config.output_activation == "sigmoid"
del model
opt = torch.optim.Adam(params.values(), lr=2e-4)
out_len = int(amount)
clip = torch.rand(int(batch), 10 + out_len, ch, size, size)
long_len = min(10 + out_len, 30)
step = lambda: authors_train_step(params, opt, clip, 10, out_len, 0, long_len, sigmoid=sigmoid)
"""
# ... then the timing.
_CHILD_END = r"""step()
times = []
for _ in range(int(steps)):
    start = time.perf_counter(); step(); times.append(time.perf_counter() - start)
table = None
if profile == "1":
    from torch.profiler import ProfilerActivity, profile as prof
    with prof(activities=[ProfilerActivity.CPU]) as p:
        step()
    table = p.key_averages().table(sort_by="self_cpu_time_total", row_limit=15)
print(json.dumps({"median": statistics.median(times), "times": times,
                  "threads": torch.get_num_threads(), "table": table}))
"""
CHILD = _CHILD_START + _OURS + _CHILD_END
AUTHORS_CHILD = _CHILD_START + _AUTHORS + _CHILD_END

# The eval and pass children: the model in evaluation mode, `n` clips in batches of `batch`.
_TASK_START = r"""from lmc.data.fixed_sets import fixed_set
model.eval()
n, batch = int(amount), int(batch)
"""
_EVAL = r"""from lmc.evaluation import batched, evaluate
frames = fixed_set("test", n, 20, image_size=size).to_tensor()[:n]
step = lambda: evaluate(model, batched(frames, batch), 10, 10)
"""
# Each run writes into a new folder (under one removed at exit), so none is read from the cache;
# the fixed set the pass reads (max(n, 1000) clips) is made here, before the timing.
_PASS = r"""from itertools import count
from lmc.analysis.dataset_pass import fixed_set_pass, fixed_set_selection
fixed_set("test", fixed_set_selection(n, 10, 10, size)["pool"], 20, image_size=size)
folders = tempfile.TemporaryDirectory(prefix="lmc-bench-pass-")
runs = count()
def step():
    root = f"{folders.name}/{next(runs)}"
    _, cached = fixed_set_pass(model, n, batch_size=batch, root=root, model_key="bench")
    assert not cached, root
"""
TASK_CHILDREN = {
    "eval": _CHILD_START + _TASK_START + _EVAL + _CHILD_END,
    "pass": _CHILD_START + _TASK_START + _PASS + _CHILD_END,
}
TASKS = ("train", *TASK_CHILDREN)
# What each task's row reads in the table.
_TASK_WORDS = {"eval": "evaluation", "pass": "dataset pass"}


def export_revision(rev: str, into: Path) -> Path:
    """The files of git revision `rev` of this repository, written under `into`."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or b""
        raise ConfigError(
            f"--against {rev}: cannot export it from git in {ROOT} "
            f"({detail.decode(errors='replace').strip() or err})"
        ) from None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def time_tree(
    tree: Path,
    preset: str,
    batch: int,
    amount: int,
    steps: int,
    threads: int,
    profile: bool = False,
    child: str = CHILD,
) -> dict:
    """Run `child` on `tree`'s `lmc`: CHILD (train_step) and AUTHORS_CHILD (the authors' form)
    with `amount` = out_len, TASK_CHILDREN["eval"] and ["pass"] with `amount` = clips."""
    args = [
        str(tree),
        preset,
        str(batch),
        str(amount),
        str(steps),
        str(threads),
        str(int(profile)),
    ]
    # The child runs in `tree` with it first on PYTHONPATH, so `import lmc` finds that tree's
    # package before the installed one; the child checks that it did. Both trees read the fixed
    # sets of one cache: $LMC_CACHE_DIR, else this tree's (the old tree's working folder is a
    # temporary export).
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")])),
        "LMC_CACHE_DIR": os.environ.get("LMC_CACHE_DIR") or str(ROOT / ".lmc-cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", child, *args], capture_output=True, text=True, cwd=tree, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"timing {preset} in {tree} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_presets(text: str) -> list[tuple[str, int]]:
    """ "small:16,paper-mnist:2" -> [("small", 16), ("paper-mnist", 2)]."""
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, _, batch = item.partition(":")
        if not batch.isdigit() or int(batch) < 1:
            raise ConfigError(f"--presets {item!r}: write PRESET:BATCH with a batch of at least 1")
        out.append((name, int(batch)))
    if not out:
        raise ConfigError("--presets: name at least one PRESET:BATCH")
    return out


def parse_tasks(text: str) -> list[str]:
    """ "eval, train,eval" -> ["eval", "train"]; an unknown name is a ConfigError."""
    out = list(dict.fromkeys(filter(None, (t.strip() for t in text.split(",")))))
    unknown = [t for t in out if t not in TASKS]
    if unknown or not out:
        what = f"unknown {', '.join(map(repr, unknown))}" if unknown else "name at least one task"
        raise ConfigError(f"--tasks {text!r}: {what}; valid tasks: {', '.join(TASKS)}")
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m lmc.bench cpu",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--tasks",
        default="train",
        help="comma-separated, of: train (seconds per training iteration), eval (clips/s of "
        "lmc.evaluation.evaluate over --clips fixed test clips), pass (clips/s of the memory's "
        "dataset pass, fixed_set_pass, over --clips clips); default: train",
    )
    parser.add_argument(
        "--presets",
        default="small:16,paper-mnist:2",
        help="PRESET:BATCH,... : the batch of the training iteration, and the batch evaluation "
        "and the pass run in (default small:16,paper-mnist:2)",
    )
    parser.add_argument("--against", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument(
        "--out_len", type=int, default=10, help="frames predicted by train (eval, pass: 10)"
    )
    parser.add_argument(
        "--clips", type=int, default=256, help="clips of eval and pass (default 256)"
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--steps",
        type=int,
        default=3,
        help="timed runs per round, after one untimed: training iterations, or for eval and "
        "pass runs over all --clips clips (default 3)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads, every task (0: torch's)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="a torch.profiler table of one run per row"
    )
    parser.add_argument(
        "--authors",
        action="store_true",
        help="also time the authors' form of the training iteration and give this tree's time "
        "/ theirs (train rows only)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    for name in ("out_len", "clips", "rounds", "steps"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} {getattr(args, name)}: must be at least 1")
    tasks = parse_tasks(args.tasks)
    if args.authors and "train" not in tasks:
        raise ConfigError("--authors times the training iteration: add train to --tasks")
    presets = parse_presets(args.presets)
    from lmc.config import PRESETS

    unknown = [p for p, _ in presets if p not in PRESETS]
    if unknown:
        raise ConfigError(f"--presets: unknown {unknown}; known: {', '.join(PRESETS)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lmc-bench-") as tmp:
        old = export_revision(args.against, Path(tmp))
        for task in tasks:
            for preset, batch in presets:
                if task == "train":
                    rows.append(_train_row(args, old, preset, batch))
                else:
                    rows.append(_task_row(args, task, old, preset, batch))
    record = {"against": args.against, "out_len": args.out_len, "tasks": tasks, "rows": rows}
    if any(task != "train" for task in tasks):
        record["clips"] = args.clips
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")
    return record


def _rounds(args, trees: dict[str, tuple[Path, str]], preset: str, batch: int, amount: int):
    """{tree name: [median of each round]}, the trees alternating round by round; and the torch
    threads of the last run."""
    runs = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, (tree, child) in trees.items():
            result = time_tree(tree, preset, batch, amount, args.steps, args.threads, child=child)
            runs[name].append(result["median"])
    return runs, result["threads"]


def _train_row(args, old: Path, preset: str, batch: int) -> dict:
    # name -> (source tree, child script); the authors' form runs on this tree's code.
    trees = {"this tree": (ROOT, CHILD), args.against: (old, CHILD)}
    if args.authors:
        trees[AUTHORS] = (ROOT, AUTHORS_CHILD)
    runs, threads = _rounds(args, trees, preset, batch, args.out_len)
    best = {name: min(values) for name, values in runs.items()}
    row = {
        "task": "train",
        "preset": preset,
        "batch": batch,
        "seconds": best,
        "rounds": runs,
        "speedup": best[args.against] / best["this tree"],
        "threads": threads,
    }
    print(
        f"{preset} batch {batch}, 10 -> {args.out_len}, {row['threads']} threads: "
        f"this tree {best['this tree']:.3f} s, {args.against} {best[args.against]:.3f} s "
        f"per iteration (best median of {args.rounds} rounds): x{row['speedup']:.2f}",
        flush=True,
    )
    if args.authors:
        row["authors_ratio"] = best["this tree"] / best[AUTHORS]
        print(
            f"  {AUTHORS} {best[AUTHORS]:.3f} s: this tree / {AUTHORS} "
            f"{row['authors_ratio']:.2f} (the form, slower than the authors' code: docs/perf.md)",
            flush=True,
        )
    if args.profile:
        table = time_tree(ROOT, preset, batch, args.out_len, 1, args.threads, profile=True)["table"]
        row["profile"] = table
        print(table)
    return row


def _task_row(args, task: str, old: Path, preset: str, batch: int) -> dict:
    """An eval or pass row: seconds per run over all the clips, clips/s, and the speed-up."""
    child = TASK_CHILDREN[task]
    trees = {"this tree": (ROOT, child), args.against: (old, child)}
    runs, threads = _rounds(args, trees, preset, batch, args.clips)
    best = {name: min(values) for name, values in runs.items()}
    rate = {name: args.clips / seconds for name, seconds in best.items()}
    row = {
        "task": task,
        "preset": preset,
        "batch": batch,
        "clips": args.clips,
        "seconds": best,
        "clips_per_s": rate,
        "rounds": runs,
        "speedup": rate["this tree"] / rate[args.against],
        "threads": threads,
    }
    print(
        f"{preset} batch {batch}, {_TASK_WORDS[task]} of {args.clips} clips, 10 -> 10, "
        f"{threads} threads: this tree {rate['this tree']:.1f} clips/s, {args.against} "
        f"{rate[args.against]:.1f} clips/s (best median of {args.rounds} rounds): "
        f"x{row['speedup']:.2f}",
        flush=True,
    )
    if args.profile:
        table = time_tree(ROOT, preset, batch, args.clips, 1, args.threads, True, child)["table"]
        row["profile"] = table
        print(table)
    return row
