"""lmc.analysis.intervention: a forced or transplanted recall changes exactly what it should."""

import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis import intervention as iv
from lmc.analysis import projection as pj
from lmc.analysis.inputs import Clip
from lmc.analysis.recall import trace_arrays


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model("tiny")


def test_frame_difference_hand_case():
    a = np.zeros((2, 1, 2, 2))
    b = np.zeros((2, 1, 2, 2))
    b[1, 0, 0, 0] = 1.0
    b[1, 0, 0, 1] = 2.0  # clamped to 1
    mae, mse = iv.frame_difference(a, b)
    np.testing.assert_allclose(mae, [0.0, 0.5])
    np.testing.assert_allclose(mse, [0.0, 0.5])


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


def test_a_kept_own_prediction_gives_the_same_intervention(tiny):
    clip = Clip(torch.rand(10, 1, 32, 32).numpy(), 10, "test")
    override = iv.slot_override(2, 4, tiny.config.memory_size, cells=[0, 3])
    fresh = iv.intervene(tiny, clip, 3, override)
    own = iv.own_prediction(tiny, clip, 3)
    kept = iv.intervene(tiny, clip, 3, override, own)
    for name in ("original", "intervened", "mae", "mse"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name))
    np.testing.assert_array_equal(kept.original_recall.weights, fresh.original_recall.weights)
    with pytest.raises(ValueError, match="must predict 4 frames of the same clip"):
        iv.intervene(tiny, clip, 4, override, own)  # kept for 3 frames
