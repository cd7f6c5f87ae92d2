"""Maps of recalled motion contexts and queries, with the memory slots in the same space.

A readout is r = w @ M, a blend of the S rows of the memory (Lee et al., CVPR 2021, eq. 2), so
every readout lies in the row space of M, of at most min(S, D) dimensions. Writing readouts and
slots in an orthonormal basis of that space keeps every distance and shrinks the vectors before
PCA or UMAP. Queries address the memory by cosine similarity, so their map uses unit vectors.

PCA is immediate; UMAP (imported lazily: the import alone takes seconds) fits the contexts and
places the slots with `transform`, i.e. next to the contexts that resemble them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def slot_basis(slots: np.ndarray, rtol: float = 1e-6) -> np.ndarray:
    """(S, D) slots -> (D, r) orthonormal columns spanning their row space (r = rank <= min(S, D))."""
    slots = np.asarray(slots, dtype=np.float64)
    _, sing, vt = np.linalg.svd(slots, full_matrices=False)
    rank = int((sing > rtol * max(sing.max(initial=0.0), 1e-300)).sum())
    return vt[:rank].T


def to_basis(x: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """(..., D) -> (..., r) coordinates in an orthonormal basis (D, r); exact for vectors in its span."""
    return np.asarray(x, dtype=np.float64) @ basis


def unit(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows scaled to unit length: the geometry the cosine addressing sees."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


@dataclass
class Projection:
    """2-D coordinates of the contexts (N, 2) and of the slots (S, 2) or None; method "pca" or
    "umap"; explained: the variance fraction of each PCA axis (None for UMAP)."""

    contexts: np.ndarray
    slots: np.ndarray | None
    method: str
    explained: np.ndarray | None = None


def pca(x: np.ndarray, extra: np.ndarray | None = None, dims: int = 2) -> Projection:
    """Principal axes of the contexts x (N, d); `extra` (e.g. the slots) projected on them."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"pca needs an (N >= 2, d) array, got shape {x.shape}")
    mean = x.mean(axis=0)
    _, sing, vt = np.linalg.svd(x - mean, full_matrices=False)
    axes = vt[:dims]
    if axes.shape[0] < dims:  # fewer dimensions than asked: pad with zero axes
        axes = np.vstack([axes, np.zeros((dims - axes.shape[0], x.shape[1]))])
    variance = sing**2
    total = variance.sum()
    explained = np.zeros(dims)
    explained[: min(dims, variance.size)] = (variance[:dims] / total) if total > 0 else 0.0
    placed = None if extra is None else (np.asarray(extra, dtype=np.float64) - mean) @ axes.T
    return Projection(contexts=(x - mean) @ axes.T, slots=placed, method="pca", explained=explained)


def umap(
    x: np.ndarray,
    extra: np.ndarray | None = None,
    *,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 0,
    n_epochs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Projection:
    """UMAP of the contexts x (N, d) to 2-D; `extra` (the slots) placed by `transform`.

    Seeded, hence single-threaded and reproducible. Needs N > n_neighbors (it is lowered for
    small samples). The exact neighbours are found here and given to UMAP as a sparse
    precomputed metric: the graph umap-learn's own exact search builds, without its slow paths
    (lmc/analysis/umap_runtime.py). progress(done, total) follows the fit's optimisation epochs
    (0 ... total; the slots' placement after it takes a fraction of a second).
    """
    import warnings

    import umap as umap_lib  # lazy: importing umap compiles numba code and takes seconds

    from lmc.analysis import umap_runtime

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(f"umap needs an (N >= 4, d) array, got shape {x.shape}")
    if extra is not None:
        extra = np.asarray(extra, dtype=np.float32)
        if extra.ndim != 2 or extra.shape[1] != x.shape[1]:
            raise ValueError(
                f"umap: extra points need shape (S, {x.shape[1]}) like x, got {extra.shape}"
            )
    umap_runtime.cache_compilation()
    k = min(n_neighbors, x.shape[0] - 1)
    reducer = umap_lib.UMAP(
        n_components=2,
        n_neighbors=k,
        min_dist=min_dist,
        metric="precomputed",
        random_state=seed,
        n_jobs=1,  # a seed makes UMAP single-threaded anyway; saying so avoids its warning
        n_epochs=n_epochs,
        transform_seed=seed,
        tqdm_kwds=None if progress is None else umap_runtime.EpochWriter(progress).tqdm_kwds(),
    )
    with warnings.catch_warnings():
        # "inverse_transform will be unavailable" and "assuming the input is distances": both
        # are what we mean by a precomputed metric.
        warnings.filterwarnings("ignore", message=".*precomputed metric", category=UserWarning)
        coords = reducer.fit_transform(umap_runtime.fit_matrix(x, k))
        placed = None
        if extra is not None:
            reducer.tqdm_kwds = {"disable": True}  # the progress told is the fit's
            matrix = umap_runtime.transform_matrix(extra, x, k)
            placed = place_undefined(reducer.transform(matrix), coords, matrix)
    return Projection(
        contexts=coords.astype(np.float64),
        slots=None if placed is None else placed.astype(np.float64),
        method="umap",
    )


def place_undefined(placed: np.ndarray, coords: np.ndarray, matrix) -> np.ndarray:
    """UMAP's transform of a point at distance 0 from all its neighbours can come out as NaN (seen
    once in a CI run, for a point equal to 40 others; not reproduced in 30 tries): such a point
    goes to the mean of its neighbours' places, where UMAP's transform starts every new point.
    matrix: the (S, N) sparse neighbour matrix given to transform."""
    placed = np.array(placed, dtype=np.float64)
    for row in np.flatnonzero(~np.isfinite(placed).all(axis=1)):
        neighbours = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        placed[row] = np.asarray(coords, dtype=np.float64)[neighbours].mean(axis=0)
    return placed


# max_weight's bound in symbols, by addressing, for a caption beside the number.
MAX_WEIGHT_FORMULA = {
    "cosine": "e^(2/T) / (e^(2/T) + S − 1)",
    "standardized": "1 / (1 + (S − 1) e^(−S / (√(S − 1) T)))",
}


def max_weight(memory_size: int, temperature: float = 1.0, addressing: str = "cosine") -> float:
    """The largest weight the addressing can give one slot.

    Published ("cosine"): cosine 1 to it and -1 to every other slot, e^(2/T) / (e^(2/T) + S - 1);
    0.0695 for S = 100 at T = 1. "standardized" (cosines over their spread): one slot sqrt(S - 1)
    spreads above the others, which sit together, 1 / (1 + (S - 1) e^(-S / (sqrt(S - 1) T)));
    all but 1 for S = 100 below T = 1.
    """
    if memory_size < 2:
        return 1.0
    if addressing == "standardized":
        gap = memory_size / np.sqrt(memory_size - 1) / temperature
        return float(1.0 / (1.0 + (memory_size - 1) * np.exp(-gap)))
    top = np.exp(2.0 / temperature)
    return float(top / (top + memory_size - 1))


def reachable_slots(
    slots: np.ndarray, temperature: float = 1.0, addressing: str = "cosine"
) -> np.ndarray:
    """(S, D): for each slot k, the readout closest to it that the addressing can produce, with
    the largest possible weight on k and the rest shared evenly. A readout is a blend near the
    mean slot, so the slots themselves lie far outside any cloud of readouts; these points lie
    at its scale and mark each slot's direction."""
    slots = np.asarray(slots, dtype=np.float64)
    size = slots.shape[0]
    if size < 2:
        return slots.copy()
    top = max_weight(size, temperature, addressing)
    weights = np.full((size, size), (1.0 - top) / (size - 1))
    np.fill_diagonal(weights, top)
    return weights @ slots


def readout_space(
    readouts: np.ndarray, slots: np.ndarray, temperature: float = 1.0, addressing: str = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """Readouts (..., D) in the slots' orthonormal basis (..., r), and the slots' markers there
    (`reachable_slots`, (S, r)). Every distance between readouts is kept."""
    basis = slot_basis(slots)
    return to_basis(readouts, basis), to_basis(
        reachable_slots(slots, temperature, addressing), basis
    )


def query_space(queries: np.ndarray, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Queries and slots as unit vectors, where Euclidean distance ranks like the cosine."""
    return unit(queries), unit(slots)


def nearest(
    vectors: np.ndarray, point: np.ndarray, k: int = 5, exclude: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The k rows of vectors (N, d) closest to point (d,) in Euclidean distance, nearest first:
    (indices (k,), distances (k,)). `exclude` leaves one row out (the point itself)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    dist = np.linalg.norm(vectors - np.asarray(point, dtype=np.float64), axis=-1)
    if exclude is not None:
        dist[exclude] = np.inf
    k = min(k, vectors.shape[0] - (exclude is not None))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    best = np.sort(np.argpartition(dist, k - 1)[:k])  # sorted first: ties go to lower indices
    best = best[np.argsort(dist[best], kind="stable")]
    return best, dist[best]


def save_projection(proj: Projection, path: str | Path) -> Path:
    """Write a projection as one .npz (no pickles), atomically."""
    from lmc.io import atomic_write

    arrays = {"contexts": proj.contexts, "method": np.asarray(proj.method)}
    if proj.slots is not None:
        arrays["slots"] = proj.slots
    if proj.explained is not None:
        arrays["explained"] = proj.explained

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)

    return atomic_write(path, write)


def load_projection(path: str | Path) -> Projection | None:
    """The projection stored at `path`, or None if it is missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return Projection(
                contexts=data["contexts"],
                slots=data["slots"] if "slots" in data.files else None,
                method=str(data["method"]),
                explained=data["explained"] if "explained" in data.files else None,
            )
    except (OSError, ValueError, KeyError):
        return None
