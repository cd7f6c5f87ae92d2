"""`python -m lmc.warmup`: compile UMAP's numba code once, into numba's disk cache, so that the
first UMAP a user asks for does not wait for the compiler.

Importing umap-learn compiles pynndescent (cached by pynndescent itself); a first fit and
transform compile umap-learn's own functions, which `lmc.analysis.umap_runtime.cache_compilation`
lets numba keep on disk. A tiny UMAP through the same `projection.umap` the dashboard calls
compiles the same signatures as a map of 2,000 points (numba compiles per type, not per size).
`make dashboard` runs this once, with NUMBA_CACHE_DIR=.lmc-cache/numba, the folder the dashboard
reads. From a cold cache it takes about a minute on a 2-core CPU; after that, seconds.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main(argv: list[str] | None = None) -> list[str]:
    """Run the tiny UMAP; print and return the umap-learn functions now compiled on disk."""
    parser = argparse.ArgumentParser(
        prog="python -m lmc.warmup", description=__doc__.splitlines()[0]
    )
    parser.parse_args(argv)
    where = os.environ.get("NUMBA_CACHE_DIR") or "umap's __pycache__ (NUMBA_CACHE_DIR is not set)"
    print(
        f"Compiling UMAP's numba code into {where} (about a minute the first time) ...", flush=True
    )
    start = time.perf_counter()
    from lmc.analysis import projection, umap_runtime

    rng = np.random.default_rng(0)
    points = rng.normal(size=(64, 8)).astype(np.float32)
    projection.umap(points, points[:4] + 0.1, n_epochs=10)
    names = umap_runtime.cached_functions()
    print(
        f"done in {time.perf_counter() - start:.1f} s: {len(names)} umap-learn functions compiled "
        f"in {umap_runtime.cache_dir()}"
    )
    return names


if __name__ == "__main__":
    main()
