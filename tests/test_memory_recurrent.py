import pytest
import torch
from train_helpers import TINY_CLI

from lmc import ModelConfig, build_model, load_checkpoint, save_checkpoint
from lmc.errors import ConfigError
from lmc.model import with_recurrent_memory
from lmc.nn.memory import MemoryOverride
from lmc.training.config import TrainConfig
from train import train


def tiny(**changes):
    torch.manual_seed(0)
    return build_model(ModelConfig.preset("tiny", **changes))


def clip(seed=0):
    return torch.rand(2, 10, 1, 32, 32, generator=torch.Generator().manual_seed(seed))


def test_the_convlstm_reads_the_memory_feature_beside_the_encoded_frame():
    published, recurrent = tiny(), tiny(memory_recurrent=True)
    f = published.config.feature_channels
    width = published.convlstm.cells[0].in_channels
    assert recurrent.convlstm.cells[0].in_channels == width + f
    # Only the first layer grows; the published model is unchanged.
    assert [c.in_channels for c in recurrent.convlstm.cells[1:]] == [
        c.in_channels for c in published.convlstm.cells[1:]
    ]
    out = recurrent.predict(clip(), 3)
    assert out.frames.shape == (2, 3, 1, 32, 32) and torch.isfinite(out.frames).all()


def test_growing_a_trained_model_keeps_its_function_until_it_trains():
    model = tiny()
    grown = with_recurrent_memory(model)
    assert grown.config.memory_recurrent and not model.config.memory_recurrent
    torch.testing.assert_close(grown.predict(clip(), 4).frames, model.predict(clip(), 4).frames)
    weight = grown.convlstm.cells[0].weight
    width = model.convlstm.cells[0].in_channels
    f = model.config.feature_channels
    assert weight[:, width : width + f].eq(0).all()
    torch.testing.assert_close(weight[:, :width], model.convlstm.cells[0].weight[:, :width])
    torch.testing.assert_close(weight[:, width + f :], model.convlstm.cells[0].weight[:, width:])
    with pytest.raises(ValueError, match="already reads the memory feature"):
        with_recurrent_memory(grown)
    with pytest.raises(ValueError, match="has no memory"):
        with_recurrent_memory(tiny(memory=False))


def test_once_its_weights_open_the_recall_steers_the_recurrence():
    model = with_recurrent_memory(tiny())
    with torch.no_grad():
        model.memory.slots.copy_(torch.randn_like(model.memory.slots) * 3)
        model.convlstm.cells[0].weight.normal_(0, 0.3)
        model.fusion.gate[-2].weight.zero_()  # a closed decoder gate: only the recurrence reads F
        model.fusion.gate[-2].bias.fill_(-50.0)
    cells = model.query_grid(32, 32)
    size = model.config.memory_size
    a = model.predict(clip(), 3, memory_override=MemoryOverride.slot(0, cells[0] * cells[1], size))
    b = model.predict(clip(), 3, memory_override=MemoryOverride.slot(1, cells[0] * cells[1], size))
    assert not torch.allclose(a.frames, b.frames, atol=1e-4)


def test_the_switch_needs_a_memory_and_a_boolean_and_the_training_flag_sets_it():
    with pytest.raises(ConfigError, match="memory_recurrent=True: needs memory=True"):
        ModelConfig.preset("tiny", memory=False, memory_recurrent=True)
    with pytest.raises(ConfigError, match="memory_recurrent=1: must be true or false"):
        ModelConfig.preset("tiny", memory_recurrent=1)
    assert TrainConfig(preset="tiny", memory_recurrent=True).model_config().memory_recurrent
    assert not TrainConfig(preset="tiny").model_config().memory_recurrent


def test_training_from_a_model_without_it_grows_the_model_and_starts_from_its_function(
    tmp_path, monkeypatch
):
    """--memory_recurrent True with --checkpoint_load of a published-design model: the loaded
    model is grown (zero weights on the new input), not refused for its ConvLSTM's shape."""
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    start = tmp_path / "start.safetensors"
    save_checkpoint(tiny(), start)
    run = tmp_path / "run"
    train.main(
        [*TINY_CLI, "--iterations", "1", "--print_freq", "1", "--run_dir", str(run)]
        + ["--checkpoint_load", "True", "--checkpoint_load_file", str(start)]
        + ["--memory_recurrent", "True", "--freeze", "convlstm"]
    )
    grown, _ = load_checkpoint(run / "last.safetensors")
    assert grown.config.memory_recurrent
    published = tiny()
    weight, before = grown.convlstm.cells[0].weight, published.convlstm.cells[0].weight
    width, f = published.convlstm.cells[0].in_channels, published.config.feature_channels
    assert weight[:, width : width + f].eq(0).all()  # frozen: still the growth's zeros
    torch.testing.assert_close(weight[:, :width], before[:, :width])
    torch.testing.assert_close(weight[:, width + f :], before[:, width:])
