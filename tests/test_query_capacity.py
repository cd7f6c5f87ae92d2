import numpy as np
import pytest
import torch

from lmc import build_model, save_checkpoint
from lmc.config import ModelConfig
from lmc.data.motion_contexts import FAMILIES
from lmc.data.moving_mnist import generate_clips
from lmc.experiments.query_capacity import (
    CellSet,
    capacity,
    cell_set,
    format_capacity,
    train_family_query,
)
from lmc.nn.motion_encoder import MotionEncoder


@pytest.fixture(scope="module")
def context_clips():
    return generate_clips(6, 12, seed=3, split="test", motion="contexts")


def tiny_encoder() -> MotionEncoder:
    torch.manual_seed(0)
    return MotionEncoder(1, 2, 4, 8, 8)


def test_cell_set_holds_the_input_differences_and_labelled_families(context_clips):
    cells = cell_set(context_clips, short_len=10)
    assert cells.diffs.shape == (6, 1, 9, 64, 64)
    frames = torch.from_numpy(context_clips.frames[:, :10]).float() / 255
    torch.testing.assert_close(cells.diffs[:, 0, 3], frames[:, 4] - frames[:, 3])
    assert cells.family.shape == (6, 16)
    assert set(np.unique(cells.family)) <= set(range(-1, len(FAMILIES)))
    assert cells.labelled.any() and not cells.labelled.all()
    # Each labelled cell carries the family of one of its clip's digits.
    for clip, row in enumerate(cells.family):
        assert set(row[row >= 0]) <= set(context_clips.families[clip])
    assert cells.truth.shape[:2] == (6, 16)


def test_cell_set_refuses_clips_without_families():
    standard = generate_clips(2, 10, seed=0, split="test")
    with pytest.raises(ValueError, match="motion='contexts'"):
        cell_set(standard, short_len=10)


def test_only_labelled_cells_train_the_query(context_clips):
    cells = cell_set(context_clips, short_len=10)
    unlabelled = CellSet(cells.diffs, np.full_like(cells.family, -1), cells.truth)
    encoder = tiny_encoder()
    before = [p.detach().clone() for p in encoder.parameters()]
    _, losses = train_family_query(encoder, unlabelled, steps=2, batch=2)
    assert losses == []
    for old, new in zip(before, encoder.parameters(), strict=True):
        assert torch.equal(old, new)

    _, losses = train_family_query(encoder, cells, steps=2, batch=4)
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert any(not torch.equal(o, n) for o, n in zip(before, encoder.parameters(), strict=True))


def test_train_family_query_refuses_a_bad_step_count(context_clips):
    with pytest.raises(ValueError, match="steps=0"):
        train_family_query(tiny_encoder(), cell_set(context_clips, 10), steps=0)


@pytest.fixture(scope="module")
def taught(tmp_path_factory):
    """One tiny teaching run, saved: a fresh replicate-padded query from a zero-padded model."""
    from lmc.checkpoint import load_checkpoint

    root = tmp_path_factory.mktemp("taught")
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny", image_size=64))
    source, out = root / "tiny.safetensors", root / "taught.safetensors"
    save_checkpoint(model, source, motion="contexts", step=7)
    result = capacity(
        str(source),
        clips=8,
        test_clips=40,
        steps=2,
        save=str(out),
        from_scratch=True,
        query_padding="replicate",
    )
    return model, result, *load_checkpoint(out)


def test_capacity_from_a_checkpoint_measures_its_own_query_too(taught):
    _, result, _, _ = taught
    assert result["cells"] > 0
    names = ("head", "probe_trained_query", "probe_truth", "chance", "probe_checkpoint_query")
    for name in (*names, "cell_probe_trained_query", "cell_probe_checkpoint_query"):
        assert 0.0 <= result[name] <= 1.0, name
    # The place probe: 16 cells, each a class; chance is the commonest cell's share.
    assert 1 / 16 <= result["cell_chance"] <= 1.0
    text = format_capacity(result, "tiny")
    assert "checkpoint query" in text and f"{result['cells']} labelled test cells" in text
    assert capacity(clips=8, test_clips=8, steps=1, preset="tiny")["probe_checkpoint_query"] is None


def test_save_writes_the_checkpoint_with_both_encoders_taught(taught):
    model, _, saved, metadata = taught
    assert metadata["taught_query"]["steps"] == 2 and metadata["motion"] == "contexts"
    assert metadata["taught_query"]["from_scratch"] is True
    assert saved.config.query_padding == "replicate" and model.config.query_padding == "zeros"
    assert saved.memory.matching_encoder[0].padding_mode == "replicate"
    matching = saved.memory.matching_encoder.state_dict()
    context = saved.memory.context_encoder.state_dict()
    original = model.memory.matching_encoder.state_dict()
    assert all(torch.equal(matching[k], context[k]) for k in matching)
    assert any(not torch.equal(matching[k], original[k]) for k in matching)
    # Everything but the motion encoders is the source's.
    before, after = model.state_dict(), saved.state_dict()
    rest = [k for k in before if "_encoder." not in k or not k.startswith("memory.")]
    assert all(torch.equal(before[k], after[k]) for k in rest)


def test_capacity_refuses_too_few_clips():
    with pytest.raises(ValueError, match="clips=2: must be between 8"):
        capacity(clips=2, preset="tiny")


def test_save_needs_a_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="save needs a checkpoint"):
        capacity(clips=8, test_clips=8, steps=1, preset="tiny", save=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()
