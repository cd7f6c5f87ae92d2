"""What makes umap-learn quick to start and visible while it runs (used by `projection.umap`).

Three things, measured on a 2-core CPU (2,000 points of 512 dimensions unless said):

- Exact neighbours, computed here. Below 4,096 points umap-learn finds the neighbours exactly,
  but for its own numba metric it asks scikit-learn for the distances, which calls that metric
  once per pair from Python: 2 million calls, about 10 s. From 4,096 points on it uses
  pynndescent, whose search compiles code numba cannot keep on disk: 50 s before the first epoch
  of 8,000 points. Here one matrix product per block gives the distances and `argpartition` the
  k nearest; they go to umap-learn as a sparse precomputed metric (each point's k nearest, itself
  first at distance 0, made symmetric as umap-learn asks). Its fuzzy graph is the one its own
  exact search builds: 0.1 s instead of 10 for 2,000 points, 1-2 s for 8,000.
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
import scipy.sparse as sp

_BLOCK = 512  # rows of distances per matrix product: 512 x 8,000 float64 is 33 MB
_COUNT = re.compile(r"(\d+)/(\d+)")

Progress = Callable[[int, int], None]


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (len(a), len(b)) as float32, from |a|^2 + |b|^2 - 2 a.b in float64.

    Where a row of `a` is also a row of `b` the rounding can leave about 1e-7 of the norms instead
    of 0: `nearest` sets a point's distance to itself to exactly 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sq = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)


def nearest(
    a: np.ndarray, b: np.ndarray, k: int, same: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of b nearest each row of a, nearest first: (indices (len(a), k), distances).

    same: a is b, so each point is at distance exactly 0 from itself (and comes first unless a
    duplicate of it does). Memory: one block of _BLOCK x len(b) distances at a time."""
    if not 1 <= k <= len(b):
        raise ValueError(f"nearest: k={k} must be between 1 and the {len(b)} points")
    index = np.empty((len(a), k), dtype=np.int64)
    dist = np.empty((len(a), k), dtype=np.float32)
    for start in range(0, len(a), _BLOCK):
        block = distances(a[start : start + _BLOCK], b)
        if same:
            rows = np.arange(len(block))
            block[rows, start + rows] = 0.0
        part = np.argpartition(block, k - 1, axis=1)[:, :k]
        part_dist = np.take_along_axis(block, part, axis=1)
        order = np.argsort(part_dist, axis=1, kind="stable")
        index[start : start + _BLOCK] = np.take_along_axis(part, order, axis=1)
        dist[start : start + _BLOCK] = np.take_along_axis(part_dist, order, axis=1)
    return index, dist


def fit_matrix(x: np.ndarray, k: int) -> sp.csr_matrix:
    """(N, N) sparse distances from each point to its k nearest (itself included, an explicit 0 on
    the diagonal), symmetric in pattern and value: umap-learn's input for metric="precomputed",
    from which it takes each row's k smallest, as its exact search would have."""
    index, dist = nearest(x, x, k, same=True)
    n = len(x)
    rows = np.repeat(np.arange(n), k)
    r = np.concatenate([rows, index.ravel()])
    c = np.concatenate([index.ravel(), rows])
    v = np.concatenate([dist.ravel(), dist.ravel()])
    # A pair that is in both points' lists would be stored twice, and summed: keep it once.
    _, first = np.unique(r * n + c, return_index=True)
    return sp.csr_matrix((v[first], (r[first], c[first])), shape=(n, n))


def transform_matrix(new: np.ndarray, x: np.ndarray, k: int) -> sp.csr_matrix:
    """(S, N) sparse distances from each new point to its k nearest points of x: umap-learn's
    input to `transform` after a fit on `fit_matrix(x, k)`."""
    index, dist = nearest(new, x, k)
    indptr = np.arange(0, len(new) * k + 1, k)
    return sp.csr_matrix((dist.ravel(), index.ravel(), indptr), shape=(len(new), len(x)))


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
