"""`freeze`: parts kept exactly as loaded through training (not published; e.g. a motion query
taught elsewhere by `lmc.experiments.query_capacity`)."""

import pytest
import torch
from train_helpers import TINY_CLI

from lmc import ModelConfig, build_model, load_checkpoint, save_checkpoint
from lmc.errors import ConfigError
from lmc.model import freeze, trainable_parameters
from lmc.training.config import TrainConfig
from train import train

ENCODERS = "memory.matching_encoder,memory.context_encoder"


def test_freeze_stops_the_named_parts_asking_for_gradients():
    model = build_model("tiny")
    freeze(model, ["memory.matching_encoder", "memory.slots"])
    for name, parameter in model.named_parameters():
        frozen = name.startswith("memory.matching_encoder.") or name == "memory.slots"
        assert parameter.requires_grad != frozen, name
    assert len(trainable_parameters(model)) == sum(
        not n.startswith("memory.matching_encoder.") and n != "memory.slots"
        for n, _ in model.named_parameters()
    )
    with pytest.raises(ValueError, match=r"part 'encoder'"):
        freeze(model, ["encoder"])
    without = build_model(ModelConfig.preset("tiny", memory=False))
    with pytest.raises(ValueError, match=r"'memory.slots': this model was built with memory=False"):
        freeze(without, ["memory.slots"])


def test_train_config_checks_freeze():
    with pytest.raises(ConfigError, match=r"freeze='memory.slot'.*not among"):
        TrainConfig.from_settings({"preset": "tiny", "freeze": "memory.slot"})
    cfg = TrainConfig.from_settings({"preset": "tiny", "freeze": f" {ENCODERS}, "})
    assert cfg.parts("freeze") == ["memory.matching_encoder", "memory.context_encoder"]


def test_a_run_keeps_frozen_parts_exactly_as_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    start = build_model(ModelConfig.preset("tiny"))
    source = tmp_path / "start.safetensors"
    save_checkpoint(start, source)
    flags = [
        *TINY_CLI,
        "--print_freq",
        "2",
        "--checkpoint_load",
        "True",
        "--checkpoint_load_file",
        str(source),
        "--freeze",
        f"{ENCODERS},memory.slots",
        "--run_dir",
        str(tmp_path / "run"),
    ]
    train.main([*flags, "--iterations", "2"])
    # A resume reads an optimizer state that holds only the trainable parameters.
    train.main([*flags, "--iterations", "3", "--resume", "auto"])
    assert load_checkpoint(tmp_path / "run" / "last.safetensors")[1]["step"] == 3
    trained, _ = load_checkpoint(tmp_path / "run" / "last.safetensors")
    before, after = start.state_dict(), trained.state_dict()
    frozen = [k for k in before if k.startswith(("memory.matching_", "memory.context_"))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    assert torch.equal(before["memory.slots"], after["memory.slots"])
    moved = [k for k in before if k.startswith(("memory.embedder.", "convlstm."))]
    assert any(not torch.equal(before[k], after[k]) for k in moved)
