"""lmc.analysis.recall and .alignment against hand-computed small cases."""

import math

import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis import alignment as al
from lmc.analysis import recall as rc
from lmc.analysis.inputs import Clip


def test_entropy_hand_cases():
    uniform = np.full(4, 0.25)
    assert rc.entropy(uniform) == pytest.approx(math.log(4))
    assert rc.entropy(np.array([1.0, 0, 0, 0])) == 0.0
    assert rc.entropy(np.array([0.5, 0.5, 0, 0])) == pytest.approx(math.log(2))
    assert rc.normalised_entropy(uniform) == pytest.approx(1.0)
    assert rc.normalised_entropy(np.array([0.5, 0.5, 0, 0])) == pytest.approx(0.5)
    assert rc.effective_slots(np.array([0.5, 0.5, 0, 0])) == pytest.approx(2.0)
    assert rc.effective_slots(uniform) == pytest.approx(4.0)
    # Row-wise over leading axes; a NaN row (an injected readout) stays NaN.
    batch = np.array([[[0.25] * 4, [np.nan] * 4]])
    out = rc.entropy(batch)
    assert out.shape == (1, 2)
    assert out[0, 0] == pytest.approx(math.log(4)) and np.isnan(out[0, 1])


def test_centred_ranks_and_top_slots():
    w = np.array([0.1, 0.4, 0.2, 0.3])
    np.testing.assert_allclose(rc.centred(w), [-0.15, 0.15, -0.05, 0.05])
    np.testing.assert_array_equal(rc.slot_ranks(w), [3, 0, 2, 1])
    np.testing.assert_array_equal(rc.slot_ranks(np.array([0.5, 0.5])), [0, 1])  # ties: index
    cos = np.array([-0.5, 0.9, 0.1, 0.4])
    top = rc.top_slots(w, cos, k=2)
    np.testing.assert_array_equal(top.slots, [1, 3])
    np.testing.assert_allclose(top.weights, [0.4, 0.3])
    np.testing.assert_allclose(top.cosines, [0.9, 0.4])
    assert rc.top_slots(w, cos, k=10).slots.shape == (4,)
    with pytest.raises(ValueError, match="k=0"):
        rc.top_slots(w, cos, k=0)


def test_recall_stats_of_a_softmax():
    cos = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    w = np.exp(cos) / np.exp(cos).sum(-1, keepdims=True)
    stats = rc.recall_stats(w, cos, k=1)
    assert stats.normalised_entropy[1] == pytest.approx(1.0)
    assert stats.effective_slots[1] == pytest.approx(3.0)
    assert stats.max_weight[0] == pytest.approx(math.e / (math.e + 1 / math.e + 1))
    assert stats.max_centred[1] == pytest.approx(0.0)
    assert stats.top.slots[:, 0].tolist() == [0, 0]


def test_cell_specific_takes_out_what_every_cell_shares():
    shared = np.array([0.5, 0.3, 0.2])
    w = np.stack([shared, shared, [0.2, 0.3, 0.5]])
    out = rc.cell_specific(w)
    mean = w.mean(axis=0)
    np.testing.assert_allclose(out, w - mean)
    np.testing.assert_allclose(out.sum(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(rc.cell_specific(np.stack([w, 2 * w]))[1], 2 * out)  # per clip


def test_addressing_measures_by_name():
    cos = np.array([[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]])
    w = np.exp(cos) / np.exp(cos).sum(-1, keepdims=True)
    arrays = rc.TraceArrays(np.zeros((2, 4)), cos, w, np.zeros((2, 4)), (1, 2), 2)
    expected = {
        "centred": (w - 1 / 3, True),
        "cell-specific": (w - w.mean(axis=0), True),
        "cosine": (cos, True),
        "rank": (np.array([[0, 2, 1], [1, 0, 2]]), False),
        "weight": (w, False),
    }
    assert set(expected) == set(rc.ADDRESSING_MEASURES)
    for kind, (values, diverging) in expected.items():
        got, got_diverging = rc.addressing_measure(arrays, kind)
        assert got.dtype == np.float64 and got_diverging is diverging
        np.testing.assert_allclose(got, values)
    with pytest.raises(ValueError, match="unknown measure 'entropy': the measures are centred, "):
        rc.addressing_measure(arrays, "entropy")


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model("tiny")


def test_recall_view_short_and_long(tiny):
    clip = torch.rand(14, 1, 32, 32)
    view = rc.recall_view(tiny, Clip(clip.numpy(), 10, "test"), out_len=3)
    s = tiny.config.memory_size
    assert view.short.phase == 2 and view.long.phase == 1
    assert view.short.weights.shape == (4, s) and view.short.grid == (2, 2)
    np.testing.assert_allclose(view.short.weights.sum(-1), 1.0, rtol=1e-5)
    assert view.prediction.shape == (3, 1, 32, 32) and view.long_prediction.shape == (3, 1, 32, 32)
    assert view.future.shape == (4, 1, 32, 32)
    assert view.gates.shape == (3, tiny.config.feature_channels)
    # The short recall is the model's own trace for the input.
    short = tiny.predict(clip[None, :10], 3)
    np.testing.assert_allclose(view.short.weights, short.memory.weights[0].numpy(), rtol=1e-5)
    # Both rollouts run in one batch: the same frames and gates as two calls of predict.
    long = tiny.predict(clip[None, :10], 3, long=clip[None], phase=1)
    for got, pred in ((view.prediction, short), (view.long_prediction, long)):
        np.testing.assert_allclose(got, pred.frames[0].clamp(0, 1).numpy(), atol=1e-5)
    np.testing.assert_allclose(view.gates, short.memory.gates[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(view.long_gates, long.memory.gates[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(view.long.weights, long.memory.weights[0].numpy(), rtol=1e-5)
    # Without frames after the input there is no long-term recall.
    alone = rc.recall_view(tiny, Clip(clip[:10].numpy(), 10, "test"), out_len=2)
    assert alone.long is None and alone.future is None and alone.long_prediction is None


def test_recall_view_refuses_a_model_without_memory():
    model = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match="no memory"):
        rc.recall_view(model, Clip(np.random.rand(10, 1, 32, 32), 10, "test"), 2)


# --------------------------------------------------------------------------------- alignment


def test_alignment_of_identical_recalls():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(6), size=(3, 4))
    r = rng.normal(size=(3, 4, 5))
    a = al.alignment(w, w, r, r, k=3)
    assert a.agree.all()
    np.testing.assert_allclose(a.kl, 0.0, atol=1e-12)
    np.testing.assert_allclose(a.cosine, 1.0)
    np.testing.assert_allclose(a.overlap, 1.0)
    summary = al.summarise(a)
    assert summary["top1_agreement"] == 1.0 and summary["top3_overlap"] == 1.0
    # Tables show each key in words: no raw name with underscores.
    labels = {key: al.summary_label(key) for key in summary}
    assert labels["kl_mean"] == "KL(long ‖ short), mean over cells (nats)"
    assert labels["top3_overlap"] == "top-3 slots shared (share)"
    assert not any("_" in label for label in labels.values())


def test_alignment_hand_cases():
    p = np.array([0.5, 0.5])
    q = np.array([0.25, 0.75])
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert al.kl_divergence(p, q) == pytest.approx(expected)
    assert al.kl_divergence(np.array([1.0, 0.0]), q) == pytest.approx(math.log(4))
    assert al.readout_cosine(np.array([1.0, 0.0]), np.array([1.0, 1.0])) == pytest.approx(
        1 / math.sqrt(2)
    )
    long = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.3, 0.4]])
    short = np.array([[0.4, 0.1, 0.2, 0.3], [0.4, 0.3, 0.2, 0.1]])
    np.testing.assert_array_equal(al.top1_agreement(long, short), [True, False])
    # top-2: {0, 1} vs {0, 3} share one; {3, 2} vs {0, 1} share none.
    np.testing.assert_allclose(al.topk_overlap(long, short, k=2), [0.5, 0.0])


def test_mismatched_baseline_pairs_each_clip_with_the_next():
    w = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two clips, one cell, opposite top slots
    r = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    matched = al.alignment(w, w, r, r)
    mismatched = al.mismatched(w, w, r, r)
    assert matched.agree.all() and not mismatched.agree.any()
    np.testing.assert_allclose(mismatched.cosine, 0.0)
    with pytest.raises(ValueError, match="2 clips"):
        al.mismatched(w[:1], w[:1], r[:1], r[:1])
    with pytest.raises(ValueError, match="must match"):
        al.alignment(w, w[:, :, :1], r, r)
