import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis.probe import max_probe_speed, motion_probe
from lmc.analysis.probe_sweep import ProbeSweep, probe_sweep

DIRECTIONS = (0.0, 45.0, 90.0, 200.0)
SPEEDS = (0.0, 0.25, 0.5, 1.0)  # a 28-px digit has 4 px to move on the tiny preset's 32 px
LABELS = (1, 3, 8)


@pytest.fixture(scope="module")
def sweep_and_model():
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny"))
    return probe_sweep(model, DIRECTIONS, SPEEDS, LABELS, short_len=9), model


def test_probe_sweep_shapes_and_counts(sweep_and_model):
    sweep, model = sweep_and_model
    cells = 4  # 32 / 16 = 2 x 2 query cells
    assert sweep.top_slot.shape == (4, 4, 3, cells) and sweep.memory_size == 10
    assert sweep.counts.shape == sweep.shares.shape == (4, 4, 10)
    # A motion is probed when its 8 steps stay inside the 4 free pixels: 0.5 px/frame fits at
    # 45 deg (2.8 px a side) but not at 0 deg (4 px is the limit, 1.0 px/frame is 8).
    expected = np.array(
        [[v <= max_probe_speed(a, 9, 32) + 1e-9 for v in SPEEDS] for a in DIRECTIONS]
    )
    np.testing.assert_array_equal(sweep.fits, expected)
    assert sweep.fits[:, :2].all() and not sweep.fits[:, 3].any() and sweep.fits[1, 2]
    totals = sweep.counts.sum(axis=-1)
    np.testing.assert_array_equal(totals, np.where(sweep.fits, len(LABELS) * cells, 0))
    assert ((sweep.top_slot >= 0) == sweep.fits[:, :, None, None]).all()
    assert sweep.top_slot.max() < 10
    np.testing.assert_allclose(sweep.shares.sum(-1), sweep.fits.astype(float))


def test_probe_sweep_records_what_the_model_recalls_for_each_probe(sweep_and_model):
    """Oracle: the model's own prediction trace on one probe of the grid."""
    sweep, model = sweep_and_model
    clip = motion_probe([3], 45.0, 0.5, 9, short_len=9, image_size=32)
    weights = model.predict(torch.from_numpy(np.array(clip.frames))[None], 1).memory.weights[0]
    np.testing.assert_array_equal(sweep.top_slot[1, 2, 1], weights.argmax(-1).numpy())


def test_probe_sweep_table_lists_the_most_chosen_slots():
    top = np.full((1, 2, 2, 2), -1)
    top[0, 0] = [[4, 4], [4, 7]]
    sweep = ProbeSweep(
        directions=np.array([90.0]),
        speeds=np.array([1.0, 9.0]),
        labels=np.array([0, 1]),
        fits=np.array([[True, False]]),
        top_slot=top,
        memory_size=8,
    )
    first, second = sweep.table(k=3)
    assert first == {
        "direction_deg": 90.0,
        "speed_px": 1.0,
        "fits": True,
        "top_slots": [4, 7],
        "top_shares": [0.75, 0.25],
        "distinct_slots": 2,
    }
    assert second["fits"] is False and second["top_slots"] == [] and second["distinct_slots"] == 0
    assert sweep.table(k=1)[0]["top_slots"] == [4]


def test_probe_sweep_refuses_what_it_cannot_probe(tiny_config):
    model = build_model(tiny_config)
    with pytest.raises(ValueError, match="at least one direction"):
        probe_sweep(model, [], [1.0])
    with pytest.raises(ValueError, match="digits must be classes 0..9"):
        probe_sweep(model, [0.0], [0.5], [12], short_len=9)
    with pytest.raises(ValueError, match="at least 9 frames"):
        probe_sweep(model, [0.0], [0.5], short_len=5)
    without = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match="no memory"):
        probe_sweep(without, [0.0], [0.5])
