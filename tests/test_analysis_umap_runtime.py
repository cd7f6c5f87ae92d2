"""UMAP's runtime helpers: exact distances, the epochs reported while it optimises, and the
compiled code kept on disk for the next process."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from lmc.analysis import projection as pj
from lmc.analysis import umap_runtime


def test_distances_match_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(60, 40)), rng.normal(size=(70, 40)) * 3
    got = umap_runtime.distances(a, b)
    assert got.dtype == np.float32 and got.shape == (60, 70)
    np.testing.assert_allclose(got, cdist(a, b), rtol=1e-5, atol=1e-5)
    # Rounding of |a|^2 + |a|^2 - 2 a.a never goes negative: no NaN on the diagonal.
    assert np.isfinite(umap_runtime.distances(a * 1e3, a * 1e3)).all()


def test_nearest_matches_a_brute_force_sort_across_blocks():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1100, 8))  # more rows than one block (512)
    index, dist = umap_runtime.nearest(x, x, 6, same=True)
    full = cdist(x, x)
    oracle = np.argsort(full, axis=1, kind="stable")[:, :6]
    np.testing.assert_array_equal(index, oracle)
    np.testing.assert_allclose(dist, np.take_along_axis(full, oracle, 1), atol=1e-5)
    assert (index[:, 0] == np.arange(1100)).all() and (dist[:, 0] == 0).all()  # itself, exactly
    with pytest.raises(ValueError, match="k=0 must be between 1 and the 1100 points"):
        umap_runtime.nearest(x, x, 0)


def test_the_fit_matrix_is_what_umap_learn_asks_of_a_precomputed_metric():
    x = np.random.default_rng(2).normal(size=(300, 5))
    m = umap_runtime.fit_matrix(x, 10)
    dense = m.toarray()
    np.testing.assert_array_equal(dense, dense.T)  # symmetric, values and pattern
    assert (m != m.T).nnz == 0
    assert (m.diagonal() == 0).all() and m.nnz - np.count_nonzero(m.data) == 300  # stored zeros
    assert (np.diff(m.indptr) >= 10).all()  # every row holds its own 10 nearest
    index, _ = umap_runtime.nearest(x, x, 10, same=True)
    for i in (0, 150, 299):  # a row's 10 smallest stored entries are the point's 10 nearest
        row = m.getrow(i)
        assert set(row.indices[np.argsort(row.data, kind="stable")[:10]]) == set(index[i])


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
def test_the_graph_is_the_one_umap_learn_builds_itself():
    # umap-learn's own exact search with its Euclidean metric is the oracle: the sparse
    # precomputed neighbours build the same fuzzy graph, to float rounding.
    import umap

    x = np.random.default_rng(1).normal(size=(120, 16)).astype(np.float32)
    own = umap.UMAP(n_neighbors=10, random_state=0, n_jobs=1, n_epochs=5).fit(x)
    with pytest.warns(UserWarning, match="precomputed"):
        ours = umap.UMAP(
            n_neighbors=10, metric="precomputed", random_state=0, n_jobs=1, n_epochs=5
        ).fit(umap_runtime.fit_matrix(x, 10))
    np.testing.assert_array_equal(ours.graph_.indices, own.graph_.indices)
    np.testing.assert_allclose(ours.graph_.data, own.graph_.data, atol=1e-5)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Spectral initialisation failed")  # umap-learn's, as its own
def test_umap_keeps_duplicates_together_and_apart_from_the_rest():
    # Empty cells recall the same context: many identical points, more than n_neighbors. They
    # form a clique of their own, as with umap-learn's own search (its map of this input has the
    # same shape: a small group 1.4 wide, 6 from the rest).
    rng = np.random.default_rng(3)
    x = np.vstack([np.zeros((40, 6)), rng.normal(size=(60, 6)) + 5])
    proj = pj.umap(x, extra=x[:1], n_neighbors=5, n_epochs=50)
    assert np.isfinite(proj.contexts).all() and np.isfinite(proj.slots).all()
    same, rest = proj.contexts[:40], proj.contexts[40:]
    spread = np.linalg.norm(same - same.mean(0), axis=1).max()
    assert cdist(same, rest).min() > 2 * spread


@pytest.mark.slow
def test_the_warm_up_leaves_umaps_compiled_functions_on_disk(capsys):
    from lmc import warmup

    names = warmup.main([])
    # The functions a fit and a transform of fewer than 4,096 points call.
    for name in (
        "layouts._optimize_layout_euclidean_single_epoch",
        "umap_.compute_membership_strengths",
        "umap_.smooth_knn_dist",
    ):
        assert name in names
        assert list(umap_runtime.cache_dir().glob(f"{name}-*.nbi"))
    assert f"{len(names)} umap-learn functions compiled" in capsys.readouterr().out


def test_a_slot_umap_could_not_place_goes_to_its_neighbours():
    import scipy.sparse as sp

    coords = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [9.0, 9.0]])
    # Slot 0's neighbours are points 0, 1, 2; slot 1 was placed by UMAP and stays where it is.
    matrix = sp.csr_matrix(
        (np.zeros(6), np.array([0, 1, 2, 3, 2, 1]), np.array([0, 3, 6])), shape=(2, 4)
    )
    placed = np.array([[np.nan, np.nan], [5.0, 5.0]], dtype=np.float32)
    out = pj.place_undefined(placed, coords, matrix)
    assert np.allclose(out, [[2.0 / 3.0, 4.0 / 3.0], [5.0, 5.0]])
    assert np.isnan(placed[0]).all()  # the input is left as it was
