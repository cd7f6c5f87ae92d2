"""lmc.analysis.dataset_pass: the recall over clips equals the model's own trace; disk cache."""

import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis import dataset_pass as dp
from lmc.data import cell_motion, generate_clips


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    return build_model("tiny")


@pytest.fixture(scope="module")
def clips():
    return generate_clips(5, 14, seed=3, split="test", image_size=32)


def test_pass_matches_the_model_trace(tiny, clips):
    calls = []
    result = dp.run_dataset_pass(
        tiny,
        clips.frames,
        10,
        batch_size=2,
        positions=clips.positions,
        velocities=clips.velocities,
        labels=clips.labels,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(2, 5), (4, 5), (5, 5)]
    s, d = tiny.config.memory_size, tiny.config.memory_dim
    assert result.short_weights.shape == (5, 4, s) and result.short_query.shape == (5, 4, d)
    assert result.short_weights.dtype == np.float32 and result.grid == (2, 2)
    assert result.has_long and result.long_readout.shape == (5, 4, d)
    assert result.last_frame.shape == (5, 32, 32) and result.energy.dtype == np.uint8
    np.testing.assert_array_equal(result.last_frame, clips.frames[:, 9])
    x = clips.to_tensor()
    short = tiny.predict(x[3:4, :10], 1).memory
    long = tiny.predict(x[3:4, :10], 1, long=x[3:4], phase=1).memory
    np.testing.assert_allclose(result.short_weights[3], short.weights[0].numpy(), rtol=1e-5)
    np.testing.assert_allclose(result.short_readout[3], short.readout[0].numpy(), rtol=1e-4)
    np.testing.assert_allclose(result.long_cosine[3], long.cosine[0].numpy(), atol=1e-5)
    motion = cell_motion(clips.positions, clips.velocities, 32, (2, 2), frames=slice(0, 10))
    np.testing.assert_allclose(result.speed, motion.speed, rtol=1e-5)
    np.testing.assert_array_equal(result.labels, clips.labels)
    np.testing.assert_array_equal(result.slots, tiny.memory.slots.detach().numpy())
    assert result.phase("long")["weights"] is result.long_weights


def test_pass_without_future_or_memory(tiny, clips):
    result = dp.run_dataset_pass(tiny, clips.to_tensor()[:, :10], 10)
    assert not result.has_long and result.direction is None
    with pytest.raises(ValueError, match="no long-term recall"):
        result.phase("long")
    with pytest.raises(ValueError, match="short_len=4"):
        dp.run_dataset_pass(tiny, clips.frames, 4)
    plain = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match="no memory"):
        dp.run_dataset_pass(plain, clips.frames, 10)


def test_cache_round_trip_and_reuse(tiny, clips, tmp_path):
    result = dp.run_dataset_pass(
        tiny, clips.frames, 10, actions=np.arange(5) % 2, action_names=("box", "walk")
    )
    result.selection = {"what": "test", "n": 5}
    path = dp.save_pass(result, tmp_path / "a.npz")
    back = dp.load_pass(path)
    for name in ("short_weights", "long_query", "energy", "actions", "slots"):
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    assert back.grid == (2, 2) and back.action_names == ("box", "walk")
    assert back.selection == {"what": "test", "n": 5} and back.labels is None
    assert dp.load_pass(tmp_path / "missing.npz") is None
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    assert dp.load_pass(tmp_path / "bad.npz") is None

    def fail():
        raise AssertionError("the stored pass should have been reused")

    again, cached = dp.cached_pass(path, fail)
    assert cached and again.num_clips == 5


def test_fixed_set_pass_is_cached_per_model_and_selection(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path))
    first, cached = dp.fixed_set_pass(tiny, 3, short_len=10, out_len=2, batch_size=2)
    assert not cached and first.num_clips == 3 and first.direction.shape == (3, 4)
    second, cached = dp.fixed_set_pass(tiny, 3, short_len=10, out_len=2)
    assert cached
    np.testing.assert_array_equal(second.short_weights, first.short_weights)
    files = sorted(p.name for p in (tmp_path / "analysis").iterdir())
    assert len(files) == 1 and files[0].startswith(dp.model_hash(tiny)[:16])
    # Another model (other weights) does not reuse it.
    torch.manual_seed(1)
    _, cached = dp.fixed_set_pass(build_model("tiny"), 3, short_len=10, out_len=2)
    assert not cached
    assert dp.model_hash(tiny) == dp.model_hash(tiny)


def test_cell_digit_is_the_digit_covering_the_cell_most(tiny):
    clips = generate_clips(6, 12, seed=4, split="test", image_size=64)  # 4 x 4 cells, some empty
    result = dp.run_dataset_pass(
        tiny, clips.frames, 10, positions=clips.positions, velocities=clips.velocities,
        labels=clips.labels,
    )  # fmt: skip
    assert result.cell_digit.shape == (6, 16) and result.cell_digit.dtype == np.int16
    coverage = [
        cell_motion(
            clips.positions[:, :, d : d + 1], clips.velocities[:, :, d : d + 1], 64, (4, 4),
            frames=slice(0, 10),
        ).coverage
        for d in range(2)
    ]  # fmt: skip
    for d in range(2):
        wins = coverage[d] > coverage[1 - d]
        expected = np.broadcast_to(clips.labels[:, d : d + 1], wins.shape)[wins]
        np.testing.assert_array_equal(result.cell_digit[wins], expected)
    empty = np.isnan(result.direction)
    assert empty.any() and (result.cell_digit[empty] == -1).all()
    assert (result.cell_digit[~empty] >= 0).all()


def test_a_pass_over_context_clips_knows_each_cells_family(tmp_path):
    from lmc.data.motion_contexts import cell_family

    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny", image_size=64))
    clips = generate_clips(3, 14, seed=4, split="test", motion="contexts")
    result = dp.run_dataset_pass(
        model,
        clips.frames,
        10,
        positions=clips.positions,
        velocities=clips.velocities,
        labels=clips.labels,
        families=clips.families,
    )
    family, coverage = cell_family(clips.positions, clips.families, 64, (4, 4), slice(0, 10))
    assert result.has_families and result.cell_family.dtype == np.int16
    np.testing.assert_array_equal(result.cell_family, family)
    np.testing.assert_allclose(result.family_coverage, coverage, rtol=1e-6)
    np.testing.assert_array_equal(result.families, clips.families)
    again = dp.load_pass(dp.save_pass(result, tmp_path / "p.npz"))
    np.testing.assert_array_equal(again.cell_family, result.cell_family)
    # a standard pass has none, and its cache key is unchanged by the new option
    assert not dp.run_dataset_pass(model, clips.frames, 10).has_families
    assert "motion" not in dp.fixed_set_selection(8)
    assert dp.fixed_set_selection(8, motion="contexts")["motion"] == "contexts"
