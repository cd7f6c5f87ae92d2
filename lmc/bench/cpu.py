"""`python -m lmc.bench cpu`: this tree's training iteration against an older revision's, on CPU.

Each timing runs in a fresh subprocess that imports `lmc` from one source tree (this one, or
`--against REV` exported from git into a temporary folder), builds the preset's model with the
same seed, and times `lmc.training.train_step` (phase 1 and phase 2, each forward, backward and
Adam step) on one batch of random frames, 10 -> `--out_len`. The trees alternate round by round,
so a load that comes and goes on a shared machine falls on both; the table gives each tree's
best median over the rounds and the speed-up, old time / new time. `--profile` adds a
torch.profiler table of one iteration of this tree, by operator. `--authors` also times, in the
same rounds, the authors' form of the iteration (`lmc.bench.authors_form`, this tree's code, same
seed, frames and windows) and gives this tree's time / the authors' (issue 14's goal: <= 0.80).
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

# Run in the child: argv = tree preset batch out_len steps threads profile
_CHILD_START = r"""
import json, statistics, sys, time
tree, preset, batch, out_len, steps, threads, profile = sys.argv[1:8]
import torch
if int(threads):
    torch.set_num_threads(int(threads))
import lmc
assert lmc.__file__.startswith(tree), (lmc.__file__, tree)
from lmc import build_model
from lmc.training import ClipWindows, train_step
torch.manual_seed(0)
model = build_model(preset)
size, ch = model.config.image_size, model.config.image_channels
"""
# ... then `step`, one training iteration, built by one of these two:
_OURS = r"""opt = torch.optim.Adam(model.parameters(), lr=2e-4)
out_len = int(out_len)
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
out_len = int(out_len)
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
    out_len: int,
    steps: int,
    threads: int,
    profile: bool = False,
    child: str = CHILD,
) -> dict:
    """Run `child` (CHILD: train_step; AUTHORS_CHILD: the authors' form) on `tree`'s `lmc`."""
    args = [
        str(tree),
        preset,
        str(batch),
        str(out_len),
        str(steps),
        str(threads),
        str(int(profile)),
    ]
    # The child runs in `tree` with it first on PYTHONPATH, so `import lmc` finds that tree's
    # package before the installed one; the child checks that it did.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")])),
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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m lmc.bench cpu", description=__doc__)
    parser.add_argument("--presets", default="small:16,paper-mnist:2")
    parser.add_argument("--against", default=BASELINE, help=f"git revision (default {BASELINE})")
    parser.add_argument("--out_len", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3, help="timed iterations per round")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--authors",
        action="store_true",
        help="also time the authors' form of the iteration; give this tree's time / theirs",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    for name in ("out_len", "rounds", "steps"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name} {getattr(args, name)}: must be at least 1")
    presets = parse_presets(args.presets)
    from lmc.config import PRESETS

    unknown = [p for p, _ in presets if p not in PRESETS]
    if unknown:
        raise ConfigError(f"--presets: unknown {unknown}; known: {', '.join(PRESETS)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="lmc-bench-") as tmp:
        old = export_revision(args.against, Path(tmp))
        # name -> (source tree, child script); the authors' form runs on this tree's code.
        trees = {"this tree": (ROOT, CHILD), args.against: (old, CHILD)}
        if args.authors:
            trees[AUTHORS] = (ROOT, AUTHORS_CHILD)
        for preset, batch in presets:
            runs = {name: [] for name in trees}
            for _ in range(args.rounds):
                for name, (tree, child) in trees.items():
                    result = time_tree(
                        tree, preset, batch, args.out_len, args.steps, args.threads, child=child
                    )
                    runs[name].append(result["median"])
            best = {name: min(values) for name, values in runs.items()}
            row = {
                "preset": preset,
                "batch": batch,
                "seconds": best,
                "rounds": runs,
                "speedup": best[args.against] / best["this tree"],
                "threads": result["threads"],
            }
            rows.append(row)
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
                    f"{row['authors_ratio']:.2f} (issue 14's goal: <= 0.80)",
                    flush=True,
                )
            if args.profile:
                table = time_tree(ROOT, preset, batch, args.out_len, 1, args.threads, profile=True)[
                    "table"
                ]
                row["profile"] = table
                print(table)
    record = {"against": args.against, "out_len": args.out_len, "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(record, indent=1) + "\n")
    return record
