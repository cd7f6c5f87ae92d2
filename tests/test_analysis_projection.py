"""lmc.analysis.projection: slots and queries in two dimensions, against hand-made geometry."""

import numpy as np
import pytest

from lmc.analysis import projection as pj


def test_slot_basis_keeps_readout_distances():
    rng = np.random.default_rng(0)
    slots = rng.normal(size=(3, 7))  # S < D: the readouts live in 3 dimensions
    readouts = rng.dirichlet(np.ones(3), size=20) @ slots
    basis = pj.slot_basis(slots)
    assert basis.shape == (7, 3)
    np.testing.assert_allclose(basis.T @ basis, np.eye(3), atol=1e-12)
    coords, slot_coords = pj.readout_space(readouts, slots)

    def pairwise(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(pairwise(coords), pairwise(readouts), atol=1e-10)
    reach = pj.reachable_slots(slots)
    np.testing.assert_allclose(np.linalg.norm(slot_coords, axis=-1), np.linalg.norm(reach, axis=-1))
    np.testing.assert_allclose(pj.to_basis(slots, basis) @ basis.T, slots, atol=1e-12)
    # A rank-deficient memory (two equal slots) gives a smaller basis.
    assert pj.slot_basis(np.vstack([slots[:2], slots[:1]])).shape == (7, 2)


def test_reachable_slots_are_the_most_concentrated_readouts():
    assert pj.max_weight(100) == pytest.approx(np.e**2 / (np.e**2 + 99))
    assert pj.max_weight(100) == pytest.approx(0.0695, abs=1e-4)
    # Standardized cosines: one slot sqrt(S-1) spreads up, the rest -1/sqrt(S-1), equal.
    z_top, z_rest = 2.0, -0.5  # S = 5
    bound = np.exp(z_top / 0.5) / (np.exp(z_top / 0.5) + 4 * np.exp(z_rest / 0.5))
    assert pj.max_weight(5, 0.5, "standardized") == pytest.approx(bound)
    slots = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    top = pj.max_weight(3)
    other = (1 - top) / 2
    np.testing.assert_allclose(pj.reachable_slots(slots)[0], [top - other, other])
    # It is the readout of the extreme addressing the softmax allows (cosine 1 vs -1).
    cos = np.array([1.0, -1.0, -1.0])
    w = np.exp(cos) / np.exp(cos).sum()
    np.testing.assert_allclose(pj.reachable_slots(slots)[0], w @ slots)


def test_pca_of_points_on_a_line():
    x = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    proj = pj.pca(x, extra=np.array([[1.5, 1.5], [0.0, 3.0]]))
    np.testing.assert_allclose(proj.explained, [1.0, 0.0], atol=1e-12)
    dist = np.abs(proj.contexts[:, 0] - proj.contexts[0, 0])
    np.testing.assert_allclose(dist, np.arange(4) * np.sqrt(2))
    np.testing.assert_allclose(proj.slots[0], 0.0, atol=1e-12)  # the mean sits at the origin
    assert abs(proj.slots[1, 1]) == pytest.approx(1.5 * np.sqrt(2))


def test_query_space_and_nearest():
    q, s = pj.query_space(np.array([[3.0, 4.0]]), np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(q, [[0.6, 0.8]])
    np.testing.assert_allclose(s, [[0.0, 1.0]])
    vectors = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [0.5, 0.0]])
    idx, dist = pj.nearest(vectors, vectors[0], k=2, exclude=0)
    np.testing.assert_array_equal(idx, [3, 1])
    np.testing.assert_allclose(dist, [0.5, 1.0])
    assert pj.nearest(vectors, vectors[0], k=10)[0].tolist() == [0, 3, 1, 2]


@pytest.mark.slow
def test_umap_separates_two_clusters_and_places_slots():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 5))
    b = rng.normal(size=(30, 5)) + 20
    proj = pj.umap(np.vstack([a, b]), extra=np.array([b[0] + 0.1]), n_neighbors=5, n_epochs=50)
    assert proj.contexts.shape == (60, 2) and proj.slots.shape == (1, 2)
    ca, cb = proj.contexts[:30].mean(0), proj.contexts[30:].mean(0)
    assert np.linalg.norm(proj.slots[0] - cb) < np.linalg.norm(proj.slots[0] - ca)


def test_projection_round_trip(tmp_path):
    proj = pj.pca(np.random.default_rng(0).normal(size=(6, 3)), extra=np.eye(3))
    back = pj.load_projection(pj.save_projection(proj, tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.contexts, proj.contexts)
    np.testing.assert_array_equal(back.slots, proj.slots)
    assert back.method == "pca" and pj.load_projection(tmp_path / "none.npz") is None


@pytest.mark.parametrize("addressing", ["cosine", "standardized"])
def test_the_bound_formula_shown_beside_the_number_computes_it(addressing):
    # The caption's symbols, read as Python: the text says what max_weight computes.
    text = pj.MAX_WEIGHT_FORMULA[addressing].replace("−", "-").replace(") e^(", ")*exp(")
    text = text.replace("e^(", "exp(").replace("√(", "sqrt(").replace(") T", ")*T")
    for size, temperature in [(100, 1.0), (10, 0.3), (2, 2.0)]:
        value = eval(text, {"exp": np.exp, "sqrt": np.sqrt, "S": size, "T": temperature})
        assert value == pytest.approx(pj.max_weight(size, temperature, addressing))
