"""`predictor_frames`: the ConvLSTM reads only the last N input frames while the memory's query
reads them all; and `reinitialize`, which gives chosen parts fresh weights after a checkpoint load.
"""

import pytest
import torch
from conftest import clip

from lmc import ModelConfig, build_model
from lmc.errors import ConfigError, InputError
from lmc.model import PARTS, reinitialize
from lmc.nn.memory import MemoryOverride
from lmc.training.config import TrainConfig


def _with_earlier_frames_changed(short: torch.Tensor, keep: int) -> torch.Tensor:
    changed = short.clone()
    changed[:, :-keep] = torch.rand_like(changed[:, :-keep])
    return changed


def test_the_predictor_reads_only_its_last_frames_and_the_query_reads_all():
    model = build_model(ModelConfig.preset("tiny", predictor_frames=2))
    short = clip(size=32)
    changed = _with_earlier_frames_changed(short, keep=2)
    # With the recall held fixed the prediction ignores every frame before the last two ...
    fixed = MemoryOverride(readout=torch.ones(1, 4, model.config.memory_dim))
    a = model.predict(short, out_len=3, memory_override=fixed).frames
    b = model.predict(changed, out_len=3, memory_override=fixed).frames
    assert torch.equal(a, b)
    # ... and it is exactly the rollout of those two frames.
    _, feature = model.recall(short=short, memory_override=fixed)
    with torch.no_grad():
        alone, _ = model.rollout(short[:, -2:], 3, feature)
    torch.testing.assert_close(a, alone)
    # The query still reads all ten, so the model's own recall (and prediction) changes.
    own_a = model.predict(short, out_len=3)
    own_b = model.predict(changed, out_len=3)
    assert not torch.equal(own_a.memory.query, own_b.memory.query)
    assert not torch.equal(own_a.frames, own_b.frames)


def test_the_published_predictor_reads_every_input_frame():
    model = build_model(ModelConfig.preset("tiny", memory=False))
    short = clip(size=32)
    a = model.predict(short, out_len=2).frames
    b = model.predict(_with_earlier_frames_changed(short, keep=2), out_len=2).frames
    assert not torch.equal(a, b)


def test_a_baseline_without_memory_is_limited_too():
    model = build_model(ModelConfig.preset("tiny", memory=False, predictor_frames=1))
    short = clip(size=32)
    a = model.predict(short, out_len=2).frames
    b = model.predict(_with_earlier_frames_changed(short, keep=1), out_len=2).frames
    assert torch.equal(a, b)


def test_bad_predictor_frames_name_the_value_and_the_limit():
    with pytest.raises(ConfigError, match=r"predictor_frames=-1: must be at least 0"):
        ModelConfig.preset("tiny", predictor_frames=-1)
    model = build_model(ModelConfig.preset("tiny", memory=False, predictor_frames=5))
    with pytest.raises(InputError, match=r"short has 3 frames.*predictor_frames=5"):
        model.predict(clip(t=3, size=32), out_len=1)
    with pytest.raises(ConfigError, match=r"predictor_frames=11: must be at most short_len=10"):
        TrainConfig.from_settings({"preset": "tiny", "predictor_frames": 11})


def test_reinitialize_renews_the_named_parts_and_leaves_the_rest():
    torch.manual_seed(1)
    model = build_model("tiny")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reinitialize(model, ["memory.embedder", "fusion"])
    after = model.state_dict()
    for name, value in after.items():
        renewed = name.startswith(("memory.embedder.", "fusion."))
        assert torch.equal(value, before[name]) != renewed, name
    reinitialize(model, ["memory.slots"])
    assert not torch.equal(model.memory.slots, before["memory.slots"])
    with pytest.raises(ValueError, match=r"part 'decoder'"):
        reinitialize(model, ["decoder"])
    without = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match=r"part 'fusion': this model was built with memory=False"):
        reinitialize(without, ["fusion"])


def test_train_config_checks_reinitialize():
    assert "memory.embedder" in PARTS
    with pytest.raises(ConfigError, match=r"reinitialize='memory.embeder'.*not among"):
        TrainConfig.from_settings(
            {
                "preset": "tiny",
                "reinitialize": "memory.embeder",
                "checkpoint_load": True,
                "checkpoint_load_file": "x",
            }
        )
    with pytest.raises(ConfigError, match=r"needs --checkpoint_load True"):
        TrainConfig.from_settings({"preset": "tiny", "reinitialize": "fusion"})
    cfg = TrainConfig.from_settings(
        {
            "preset": "tiny",
            "reinitialize": "fusion, memory.embedder",
            "checkpoint_load": True,
            "checkpoint_load_file": "x",
            "predictor_frames": 1,
        }
    )
    assert cfg.reinitialize_parts() == ["fusion", "memory.embedder"]
    assert cfg.model_config().predictor_frames == 1


def test_a_run_loads_the_checkpoint_then_renews_only_the_named_parts(tmp_path, monkeypatch):
    from lmc import load_checkpoint
    from lmc.training.state import load_train_state
    from tests.train_helpers import TINY_TRAIN
    from train import train

    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    base = [*TINY_TRAIN, "--val_clips", "2", "--print_freq", "1"]
    train.main([*base, "--iterations", "1", "--run_dir", str(tmp_path / "first")])
    start = tmp_path / "first" / "last.pt"
    # An Adam step moves every weight by about lr, so at lr 1e-12 what the run saves after one
    # step is what it started from, to 1e-9.
    train.main(
        [
            *base,
            "--iterations",
            "1",
            "--lr",
            "1e-12",
            "--predictor_frames",
            "1",
            "--checkpoint_load",
            "True",
            "--checkpoint_load_file",
            str(start),
            "--reinitialize",
            "memory.embedder",
            "--run_dir",
            str(tmp_path / "second"),
        ]
    )
    loaded, _ = load_checkpoint(start)
    before = loaded.state_dict()
    after = load_train_state(tmp_path / "second" / "last.pt")["model"]
    for name, value in after.items():
        same = torch.allclose(value.float(), before[name].float(), atol=1e-9)
        assert same != name.startswith("memory.embedder."), name
