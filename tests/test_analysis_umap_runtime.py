"""UMAP's runtime helpers: exact distances, the epochs reported while it optimises, and the
compiled code kept on disk for the next process."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from lmc.analysis import projection as pj
from lmc.analysis import umap_runtime


def test_distances_match_scipy_in_blocks():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(1100, 40))  # more rows than one block (512)
    b = rng.normal(size=(70, 40)) * 3
    got = umap_runtime.distances(a, b)
    assert got.dtype == np.float32 and got.shape == (1100, 70)
    np.testing.assert_allclose(got, cdist(a, b), rtol=1e-5, atol=1e-5)
    # Rounding of |a|^2 + |a|^2 - 2 a.a never goes negative: no NaN on the diagonal.
    self_dist = umap_runtime.distances(a[:50] * 1e3, a[:50] * 1e3)
    assert np.isfinite(self_dist).all() and np.diag(self_dist).max() < 1e-3 * self_dist.max()


def test_epoch_writer_turns_tqdm_lines_into_counts():
    calls = []
    writer = umap_runtime.EpochWriter(lambda done, total: calls.append((done, total)))
    for text in ("\r0/200", "\r1/200", "\r1/200", "", "\r2/200  ", "\n"):
        writer.write(text)
    assert calls == [(0, 200), (1, 200), (2, 200)]  # a repeated count is not told twice


def test_the_epoch_writer_is_what_tqdm_writes_to():
    from tqdm.std import tqdm

    calls = []
    writer = umap_runtime.EpochWriter(lambda done, total: calls.append((done, total)))
    for _ in tqdm(range(30), **writer.tqdm_kwds()):
        pass
    assert calls == [(n, 30) for n in range(31)]


@pytest.mark.slow
def test_umap_reports_every_epoch_up_to_the_total():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 5))
    b = rng.normal(size=(40, 5)) + 20
    calls = []
    proj = pj.umap(
        np.vstack([a, b]),
        extra=b[:2] + 0.1,
        n_neighbors=5,
        n_epochs=60,
        progress=lambda done, total: calls.append((done, total)),
    )
    # The fit's epochs, 0 to 60, each once and in order; the slots' placement adds none.
    assert calls == [(n, 60) for n in range(61)]
    ca, cb = proj.contexts[:40].mean(0), proj.contexts[40:].mean(0)
    assert np.linalg.norm(ca - cb) > 3 * proj.contexts[:40].std(0).max()  # two clusters
    assert all(np.linalg.norm(s - cb) < np.linalg.norm(s - ca) for s in proj.slots)


@pytest.mark.slow
def test_the_neighbours_are_those_umap_learn_finds_itself():
    # The exact distances given as a precomputed metric build the same fuzzy graph as umap-learn's
    # own exact search with its Euclidean metric (the oracle), to float rounding.
    import umap

    x = np.random.default_rng(1).normal(size=(120, 16)).astype(np.float32)
    own = umap.UMAP(n_neighbors=10, random_state=0, n_jobs=1, n_epochs=5).fit(x)
    dist = umap_runtime.distances(x, x)
    np.fill_diagonal(dist, 0.0)
    with pytest.warns(UserWarning, match="precomputed"):
        ours = umap.UMAP(
            n_neighbors=10, metric="precomputed", random_state=0, n_jobs=1, n_epochs=5
        ).fit(dist)
    np.testing.assert_array_equal(ours.graph_.indices, own.graph_.indices)
    np.testing.assert_allclose(ours.graph_.data, own.graph_.data, atol=1e-5)


@pytest.mark.slow
def test_the_warm_up_leaves_umaps_compiled_functions_on_disk(capsys):
    from lmc import warmup

    names = warmup.main([])
    # The functions a fit and a transform of fewer than 4,096 points call.
    for name in (
        "layouts._optimize_layout_euclidean_single_epoch",
        "umap_.compute_membership_strengths",
        "umap_.smooth_knn_dist",
        "utils.fast_knn_indices",
    ):
        assert name in names
        assert list(umap_runtime.cache_dir().glob(f"{name}-*.nbi"))
    assert f"{len(names)} umap-learn functions compiled" in capsys.readouterr().out
