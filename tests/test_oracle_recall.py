import json

import numpy as np
import pytest
import torch

from lmc import build_model, save_checkpoint
from lmc.checkpoint import load_checkpoint, read_header
from lmc.config import ModelConfig
from lmc.data.motion_contexts import FAMILIES
from lmc.experiments import oracle_recall as oracle
from lmc.nn.memory import MemoryOverride

SHORT, OUT = 9, 2


def tiny_model():
    torch.manual_seed(0)
    return build_model(ModelConfig.preset("tiny").replace(image_size=64))


def test_oracle_weights_put_each_family_on_its_own_slot_and_no_family_on_the_next():
    family = np.array([[0, 5, -1], [3, -1, 2]])
    weights = oracle.oracle_weights(family, memory_size=10)
    assert weights.shape == (2, 3, 10)
    assert weights.sum(-1).eq(1).all()
    assert weights.argmax(-1).tolist() == [[0, 5, len(FAMILIES)], [3, len(FAMILIES), 2]]
    with pytest.raises(ValueError, match="memory_size=6: the oracle needs at least 7 slots"):
        oracle.oracle_weights(family, memory_size=6)


def test_context_batch_gives_frames_in_unit_range_and_each_cells_family():
    frames, family = oracle.context_batch(3, SHORT, OUT, seed=1, split="test")
    assert frames.shape == (3, SHORT + OUT, 1, 64, 64)
    assert 0 <= float(frames.min()) and float(frames.max()) <= 1 and float(frames.max()) > 0.5
    assert family.shape == (3, 16) and set(np.unique(family)) <= set(range(-1, len(FAMILIES)))


def test_training_with_the_oracle_moves_only_the_slots_it_addresses_and_never_the_query():
    model = tiny_model()
    slots = model.memory.slots.detach().clone()
    query = [p.detach().clone() for p in model.memory.matching_encoder.parameters()]
    test = oracle.context_batch(3, SHORT, OUT, seed=2, split="test")
    rows = []
    history = oracle.train_oracle(
        model, 2, short_len=SHORT, out_len=OUT, batch=2, test=test, log=rows.append
    )
    assert [row["step"] for row in history] == [0, 2] and len(rows) == 2
    assert json.loads(rows[-1]) == pytest.approx(history[-1])
    for row in history:
        assert row["other_ratio"] == pytest.approx(row["mse_other_oracle"] / row["mse_oracle"])
        assert row["mse_oracle"] > 0
    assert history[0]["loss"] is None and history[1]["loss"] > 0
    moved = (model.memory.slots.detach() - slots).abs().sum(-1) > 0
    assert moved[: len(FAMILIES) + 1].any() and not moved[len(FAMILIES) + 1 :].any()
    for before, after in zip(query, model.memory.matching_encoder.parameters(), strict=True):
        torch.testing.assert_close(after.detach(), before)


def test_the_forced_recall_reaches_the_prediction():
    model = tiny_model()
    with torch.no_grad():
        model.memory.slots.copy_(torch.randn_like(model.memory.slots) * 5)
    frames, _ = oracle.context_batch(2, SHORT, OUT, seed=3, split="test")

    def predict(family: int) -> torch.Tensor:
        weights = oracle.oracle_weights(np.full((2, 16), family), model.config.memory_size)
        return model.predict(frames[:, :SHORT], OUT, memory_override=MemoryOverride(weights)).frames

    assert not torch.allclose(predict(0), predict(1))
    # Every clip given the same family: another clip's recall is the clip's own.
    same = oracle.evaluate(model, frames, np.zeros((2, 16), dtype=int), SHORT, OUT)
    assert same["other_ratio"] == pytest.approx(1.0)


def test_the_cli_trains_reports_and_saves_with_its_record(tmp_path):
    start = tmp_path / "start.safetensors"
    save_checkpoint(tiny_model(), start, step=5)
    out = tmp_path / "oracle.safetensors"
    flags = f"--steps 1 --batch 2 --short_len {SHORT} --out_len {OUT} --test_clips 2 --shuffle"
    history = oracle.main([str(start), *flags.split(), "--save", str(out)])
    record = read_header(out)["metadata"]["oracle_recall"]
    assert record["shuffle"] is True and record["steps"] == 1
    assert record["other_ratio"] == pytest.approx(history[-1]["other_ratio"])
    assert record["recurrent"] is False and record["from"] == str(start)
    load_checkpoint(out)  # a model the rest of the project opens
    # Trained on from its own save: a recurrent oracle stays recurrent, and says where it began.
    grown, again = tmp_path / "grown.safetensors", tmp_path / "again.safetensors"
    oracle.main([str(out), *flags.split(), "--recurrent", "--save", str(grown)])
    oracle.main([str(grown), *flags.split(), "--seed", "1", "--save", str(again)])
    record = read_header(again)["metadata"]["oracle_recall"]
    assert record["recurrent"] is True and record["from"] == str(grown)
    with pytest.raises(ValueError, match="test_clips=1: must be at least 2"):
        oracle.main([str(start), "--test_clips", "1"])
    with pytest.raises(ValueError, match="steps=0: must be between 1"):
        oracle.train_oracle(tiny_model(), 0)
