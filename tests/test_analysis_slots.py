"""lmc.analysis.slots, .projection and .intervention against hand-computed small cases."""

import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis import intervention as iv
from lmc.analysis import projection as pj
from lmc.analysis import slots as sl
from lmc.analysis.inputs import Clip
from lmc.analysis.recall import trace_arrays


def constructed_weights() -> np.ndarray:
    """2 clips x 2 cells x 3 slots; top slots: clip 0 -> (0, 0), clip 1 -> (2, 0)."""
    return np.array(
        [
            [[0.6, 0.3, 0.1], [0.5, 0.2, 0.3]],
            [[0.2, 0.3, 0.5], [0.4, 0.35, 0.25]],
        ]
    )


def test_slot_usage_counts():
    usage = sl.slot_usage(constructed_weights())
    np.testing.assert_array_equal(usage.top1_count, [3, 0, 1])
    np.testing.assert_allclose(usage.top1_fraction, [0.75, 0.0, 0.25])
    np.testing.assert_allclose(usage.mean_weight, [1.7 / 4, 1.15 / 4, 1.15 / 4])
    np.testing.assert_allclose(usage.mean_centred, usage.mean_weight - 1 / 3)
    np.testing.assert_array_equal(usage.dead, [False, True, False])
    assert usage.num_dead == 1 and usage.queries == 4
    # A threshold also marks rarely chosen slots dead.
    assert sl.slot_usage(constructed_weights(), threshold=0.3).dead.tolist() == [False, True, True]


def test_top_cells_for_a_slot():
    top = sl.top_cells(constructed_weights(), slot=1, k=3)
    # slot 1 weights: (0,0) .3, (0,1) .2, (1,0) .3, (1,1) .35
    np.testing.assert_array_equal(top.clip, [1, 0, 1])
    np.testing.assert_array_equal(top.cell, [1, 0, 0])
    np.testing.assert_allclose(top.weight, [0.35, 0.3, 0.3])
    np.testing.assert_array_equal(top.rank, [1, 1, 1])
    assert sl.top_cells(constructed_weights(), slot=0, k=1).rank.tolist() == [0]
    with pytest.raises(ValueError, match="slot=3"):
        sl.top_cells(constructed_weights(), slot=3)


def test_cell_crops_and_boxes():
    images = np.arange(2 * 8 * 8).reshape(2, 8, 8)
    assert sl.cell_box(3, (2, 2), (8, 8)) == (4, 4, 4, 4)
    assert sl.cell_box(1, (2, 2), (8, 8)) == (0, 4, 4, 4)
    crops = sl.cell_crops(images, np.array([1, 0]), np.array([2, 1]), (2, 2))
    np.testing.assert_array_equal(crops[0], images[1, 4:8, 0:4])
    np.testing.assert_array_equal(crops[1], images[0, 0:4, 4:8])
    assert sl.cell_crops(images, np.array([], int), np.array([], int), (2, 2)).shape == (0, 4, 4)


def test_motion_energy():
    frames = np.zeros((1, 3, 2, 2), np.uint8)
    frames[0, 1:, 0, 0] = 255  # one pixel switches on after the first frame
    energy = sl.motion_energy(frames)
    assert energy.shape == (1, 2, 2)
    assert energy[0, 0, 0] == pytest.approx(0.5) and energy[0, 1, 1] == 0


# --------------------------------------------------------------------------------- projection


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


# --------------------------------------------------------------------------------- intervention


def test_frame_difference_hand_case():
    a = np.zeros((2, 1, 2, 2))
    b = np.zeros((2, 1, 2, 2))
    b[1, 0, 0, 0] = 1.0
    b[1, 0, 0, 1] = 2.0  # clamped to 1
    mae, mse = iv.frame_difference(a, b)
    np.testing.assert_allclose(mae, [0.0, 0.5])
    np.testing.assert_allclose(mse, [0.0, 0.5])


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model("tiny")


def test_forcing_slot_k_recalls_exactly_that_slot(tiny):
    short = torch.rand(10, 1, 32, 32)
    size = tiny.config.memory_size
    result = iv.intervene(
        tiny, Clip(short.numpy(), 10, "test"), 3, iv.slot_override(4, 4, size, cells=[1])
    )
    slot = tiny.memory.slots.detach().numpy()
    rec = result.intervened_recall
    np.testing.assert_allclose(rec.readout[1], slot[4], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(rec.overridden, [False, True, False, False])
    # The other cells recall what they recalled before.
    np.testing.assert_allclose(rec.readout[[0, 2, 3]], result.original_recall.readout[[0, 2, 3]])
    assert result.mae.shape == (3,) and result.original.shape == (3, 1, 32, 32)
    whole = iv.intervene(tiny, Clip(short.numpy(), 10, "test"), 3, iv.slot_override(4, 4, size))
    np.testing.assert_allclose(
        whole.intervened_recall.readout, np.repeat(slot[4:5], 4, 0), rtol=1e-5, atol=1e-6
    )


def test_a_slot_at_the_softmax_limit_recalls_its_reachable_readout(tiny):
    short = torch.rand(10, 1, 32, 32)
    size = tiny.config.memory_size
    top = pj.max_weight(size)
    result = iv.intervene(
        tiny,
        Clip(short.numpy(), 10, "test"),
        2,
        iv.slot_override(3, 4, size, cells=[0, 2], weight=top),
    )
    reach = pj.reachable_slots(tiny.memory.slots.detach().numpy())
    np.testing.assert_allclose(result.intervened_recall.readout[[0, 2]], reach[[3, 3]], atol=1e-5)
    np.testing.assert_allclose(result.intervened_recall.weights[0].sum(), 1.0, rtol=1e-6)
    assert result.intervened_recall.weights[0, 3] == pytest.approx(top)
    with pytest.raises(ValueError, match="weight=2"):
        iv.slot_override(3, 4, size, weight=2)


def test_transplanting_a_recall(tiny):
    short, other = torch.rand(10, 1, 32, 32), torch.rand(10, 1, 32, 32)
    donor = trace_arrays(tiny.predict(other[None], 2).memory)
    moved = iv.intervene(
        tiny, Clip(short.numpy(), 10, "test"), 2, iv.transplant_override(donor, what="readout")
    )
    np.testing.assert_allclose(moved.intervened_recall.readout, donor.readout, rtol=1e-6)
    assert np.isnan(moved.intervened_recall.weights).all()
    weights = iv.intervene(
        tiny, Clip(short.numpy(), 10, "test"), 2, iv.transplant_override(donor, cells=[0, 3])
    )
    np.testing.assert_allclose(weights.intervened_recall.weights[[0, 3]], donor.weights[[0, 3]])
    # Transplanting a clip's own recall changes nothing.
    own = trace_arrays(tiny.predict(short[None], 2).memory)
    same = iv.intervene(tiny, Clip(short.numpy(), 10, "test"), 2, iv.transplant_override(own))
    np.testing.assert_allclose(same.mae, 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="out of range"):
        iv.transplant_override(donor, cells=[7])
    with pytest.raises(ValueError, match="what="):
        iv.transplant_override(donor, what="queries")


def test_intervene_refuses_a_model_without_memory():
    model = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match="no memory"):
        iv.intervene(
            model, Clip(np.random.rand(10, 1, 32, 32), 10, "test"), 2, iv.slot_override(0, 4, 10)
        )


def test_slot_motion_groups_cells_by_top_slot():
    top = np.array([[0, 0, 1, 2]])
    direction = np.array([[0.0, np.pi / 2, np.pi, np.nan]])
    speed = np.array([[2.0, 4.0, 1.0, np.nan]])
    motion = sl.slot_motion(top, direction, speed, size=3)
    np.testing.assert_array_equal(motion.count, [2, 1, 0])
    assert motion.mean_direction[0] == pytest.approx(np.pi / 4)
    assert motion.resultant[0] == pytest.approx(np.sqrt(2) / 2)  # |(1, 0) + (0, 1)| / 2
    assert motion.resultant[1] == pytest.approx(1.0) and np.isnan(motion.resultant[2])
    np.testing.assert_allclose(motion.mean_speed[:2], [3.0, 1.0])
    assert motion.tuning() == pytest.approx((2 * np.sqrt(2) / 2 + 1) / 3)
    # Rarely occupied cells are left out.
    rare = sl.slot_motion(top, direction, speed, 3, occupancy=np.array([[1, 0.2, 1, 0]]))
    np.testing.assert_array_equal(rare.count, [1, 1, 0])


def test_projection_round_trip(tmp_path):
    proj = pj.pca(np.random.default_rng(0).normal(size=(6, 3)), extra=np.eye(3))
    back = pj.load_projection(pj.save_projection(proj, tmp_path / "p.npz"))
    np.testing.assert_array_equal(back.contexts, proj.contexts)
    np.testing.assert_array_equal(back.slots, proj.slots)
    assert back.method == "pca" and pj.load_projection(tmp_path / "none.npz") is None
