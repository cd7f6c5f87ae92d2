"""What makes umap-learn quick to start and visible while it runs (used by `projection.umap`).

Three things, each measured on a 2-core CPU for 2,000 points of 512 dimensions:

- Exact distances. Below 4,096 points umap-learn finds the neighbours exactly, but for its own
  numba metric it asks scikit-learn for the distances, which calls that metric once per pair from
  Python: 2 million calls, about 10 s. Passing the matrix, computed with one matrix product per
  block, gives the same neighbours (and the same fuzzy graph, to float rounding) in milliseconds.
- Compilation on disk. umap-learn compiles its functions with numba without `cache=True`, so
  every new process compiled them again (15-30 s before the first map). `cache_compilation`
  switches numba's disk cache on for them: compiled once (`python -m lmc.warmup`, run by
  `make dashboard`), they load from NUMBA_CACHE_DIR afterwards.
- Epochs. umap-learn reports its optimisation epochs only through tqdm; `EpochWriter` is the file
  tqdm writes to, and turns each line into a `progress(done, total)` call.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

# umap-learn computes all distances (exact neighbours) below this many points and uses its
# approximate nearest-neighbour search (pynndescent) from here on; we follow the same split.
EXACT_LIMIT = 4096
_BLOCK = 512  # rows of the distance matrix per matrix product: 512 x 4,096 float64 is 16 MB
_COUNT = re.compile(r"(\d+)/(\d+)")

Progress = Callable[[int, int], None]


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) as float32, |a|^2 + |b|^2 - 2 a.b in float64 blocks.

    Where a row of `a` is also a row of `b` the rounding can leave a few 1e-4 instead of 0; the
    caller sets the diagonal of a square self-distance matrix to 0 (a point is its own nearest).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    b_sq = (b * b).sum(axis=1)
    for start in range(0, len(a), _BLOCK):
        block = a[start : start + _BLOCK]
        sq = (block * block).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        out[start : start + _BLOCK] = np.sqrt(np.maximum(sq, 0.0))
    return out


@functools.cache
def cache_compilation() -> int:
    """Switch numba's disk cache on for umap-learn's compiled functions (once per process).

    `Dispatcher.enable_caching` is what `@njit(cache=True)` does at definition; umap-learn leaves
    it off (pynndescent, which it imports, has it on). The cache lives in NUMBA_CACHE_DIR when set,
    else in `__pycache__` beside umap's sources; numba drops an entry when the source changes.
    Returns the number of functions switched on.
    """
    from numba.core.dispatcher import Dispatcher
    from umap import layouts, umap_, utils  # the modules whose functions a fit and transform call

    switched = 0
    for module in (umap_, layouts, utils):
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                value.enable_caching()
                switched += 1
    return switched


def cache_dir() -> Path:
    """Where numba keeps umap-learn's compiled functions, as numba itself located it (under
    NUMBA_CACHE_DIR when set, else umap's __pycache__); switches the cache on first."""
    from umap import layouts

    cache_compilation()
    return Path(layouts.clip._cache.cache_path)  # one folder for all of umap's sources


def cached_functions() -> list[str]:
    """The umap-learn functions with compiled code in `cache_dir()`, e.g. 'layouts.clip'."""
    folder = cache_dir()
    names = {p.name.split("-")[0] for p in folder.rglob("*.nbi")} if folder.is_dir() else set()
    return sorted(n for n in names if n.split(".")[0] in ("umap_", "layouts", "utils"))


class EpochWriter:
    """A file for tqdm that calls progress(done, total) each time the count it prints changes.

    Only tqdm's console bar writes to a file; under Jupyter (tqdm.auto picks the notebook widget)
    nothing is written and the callback is not called: the widget shows the epochs instead.
    """

    def __init__(self, progress: Progress):
        self.progress = progress
        self.last: tuple[int, int] | None = None

    def write(self, text: str) -> int:
        counts = _COUNT.findall(text)
        if counts:
            done, total = (int(v) for v in counts[-1])
            if (done, total) != self.last:
                self.last = (done, total)
                self.progress(done, total)
        return len(text)

    def flush(self) -> None:
        pass

    def tqdm_kwds(self) -> dict:
        """umap-learn's `tqdm_kwds`: print "done/total" to this writer after every epoch.

        miniters=1 also keeps tqdm's monitor thread away: it only refreshes a bar whose miniters
        grew, and a refresh from that thread would call `progress` outside the caller's thread.
        """
        return {
            "disable": False,
            "file": self,
            "bar_format": "{n}/{total}",
            "mininterval": 0,
            "miniters": 1,
        }
