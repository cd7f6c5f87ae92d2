"""The `lmc` command: one entry point over every command line of the project.

    lmc train ...      python -m train.train ...        (the authors' flags)
    lmc test ...       python -m train.test ...
    lmc export ...     python -m train.export_model ...
    lmc health ...     python -m lmc.health ...
    lmc convert ...    python -m lmc.convert ...
    lmc data ...       python -m lmc.data ...
    lmc bench ...      python -m lmc.bench ...           (and `lmc bench dashboard|memory`)
    lmc grid ...       python -m lmc.experiments ...     (a grid of variants x seeds, or on Ray)
    lmc dashboard ...  streamlit run dashboard/app.py with its options (dashboard/launch.py)

It sits above the library and the applications (train/, dashboard/) and imports each only when
its subcommand runs, so `lmc --help` costs nothing; `applications` finds them in a checkout or,
in an installed wheel, inside this package (lmc_cli/apps), never as top-level packages. Every
subcommand fails the same way: one line on stderr, exit status 2 for bad input, 1 for a run that
failed (`lmc.cli`); `--debug` anywhere after the subcommand adds the traceback.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from lmc_cli import applications

# subcommand -> (module whose main(argv) runs it, what it does)
COMMANDS = {
    "train": ("train.train", "train with memory alignment learning (the authors' flags)"),
    "test": ("train.test", "evaluate a checkpoint (the authors' flags)"),
    "export": ("train.export_model", "package a finished run with its model card"),
    "health": ("lmc.health", "is a checkpoint's memory alive?"),
    "convert": ("lmc.convert", "convert the authors' checkpoints"),
    "data": ("lmc.data.__main__", "Moving-MNIST frame folders, KTH conversion"),
    "bench": ("lmc.bench.__main__", "benchmarks (model, data, metrics, train, health, gpu)"),
    "grid": ("lmc.experiments.__main__", "train a grid of variants x seeds, here or on Ray"),
    "dashboard": (None, "serve the dashboard on 127.0.0.1:8501 (--host, --port)"),
}
# Benchmarks that measure an application live beside it, not in the library.
APP_BENCHMARKS = {"dashboard": "dashboard.bench", "memory": "dashboard.bench_memory"}


def usage() -> str:
    width = max(map(len, COMMANDS))
    rows = "\n".join(f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items())
    return f"usage: lmc COMMAND [ARGS...]\n\ncommands:\n{rows}\n\n`lmc COMMAND --help` for each."


def serve_dashboard(argv: list[str]) -> int:
    """Serve the dashboard as `make dashboard` does: numba's compiled UMAP code kept in
    `.lmc-cache/numba` (under $LMC_CACHE_DIR when set; NUMBA_CACHE_DIR wins), filled once by
    `python -m lmc.warmup` before the first start. The stamp is the Makefile's, so either command
    reuses what the other compiled; unlike make, this one does not redo the warm-up when the UMAP
    code changes (delete the folder for that). A failed warm-up does not stop the dashboard.

    Streamlit then replaces this process (so a signal to `lmc dashboard` reaches the server),
    with the dashboard's options on its command line wherever it starts (dashboard/launch.py):
    127.0.0.1 unless --host says otherwise, XSRF protection, the upload cap, no error details."""
    applications.load("dashboard")  # from the checkout or the wheel's lmc_cli/apps
    from dashboard import launch

    command = launch.streamlit_command(argv)  # a bad --host or --port fails before the warm-up

    env = applications.child_env(dict(os.environ))  # the server's pages import `dashboard`
    if not env.get("NUMBA_CACHE_DIR"):
        base = Path(env["LMC_CACHE_DIR"]) if env.get("LMC_CACHE_DIR") else Path.cwd() / ".lmc-cache"
        env["NUMBA_CACHE_DIR"] = str(base / "numba")
    stamp = Path(env["NUMBA_CACHE_DIR"]) / ".umap-warm"
    if not stamp.exists():
        if subprocess.call([sys.executable, "-m", "lmc.warmup"], env=env) == 0:
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.touch()
        else:
            print(
                "UMAP warm-up failed: the dashboard's first UMAP will compile numba code (15-30 s)",
                file=sys.stderr,
            )
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 1  # not reached: execve returns only by raising OSError


def main(argv: list[str] | None = None) -> object:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return None
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:  # bad input: one line and status 2, as every subcommand
        print(
            f"lmc: unknown command {name!r}; the commands are {', '.join(COMMANDS)} (lmc --help)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    from lmc import cli

    # Expected failures: one line, exit status 2 for bad input (lmc.cli); --debug: the traceback.
    if name == "dashboard":
        return cli.run(serve_dashboard, rest, prog="lmc dashboard")
    module = COMMANDS[name][0]
    if name == "bench" and rest and rest[0] in APP_BENCHMARKS:
        module, rest = APP_BENCHMARKS[rest[0]], rest[1:]
    if module.split(".")[0] in applications.APPS:
        applications.load(module.split(".")[0])
    return cli.run(importlib.import_module(module).main, rest, prog=f"lmc {name}")


def console() -> int:
    """The console script's entry point: `main`'s result is for callers in Python, not an exit
    status (a console script passes what it returns to sys.exit)."""
    main()
    return 0
