"""A config read from a file is checked for types and size before anything is allocated."""

import json

import pytest
import torch

from lmc import ModelConfig, load_checkpoint, save_checkpoint
from lmc.checkpoint import CheckpointError
from lmc.model import build_model, check_parameter_budget
from lmc.official import ours_to_official


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("memory_size", 2.5, "memory_size=2.5: must be an integer"),
        ("image_channels", 1.0, "image_channels=1.0: must be an integer"),
        ("image_size", 32.0, "image_size=32.0: must be an integer"),
        ("lstm_layers", True, "lstm_layers=True: must be an integer"),
        ("memory", "no", "memory='no': must be true or false"),
        ("temperature", float("inf"), "temperature=inf: must be a finite number"),
        ("encoder_channels", 5, "encoder_channels=5: must be a list of widths"),
        ("motion_channels", [4, 4.5, 8], "motion_channels width 4.5: must be an integer"),
        ("query", ["local"], r"query=\['local'\]: must be a string"),
        ("lstm_layers", 10**6, "lstm_layers=1000000: must be at most 64"),
        ("image_size", 4096, "image_size=4096: must be at most 1024"),
    ],
)
def test_wrong_types_and_sizes_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig.preset("tiny", **{field: value})


def test_the_parameter_budget_is_counted_without_allocating():
    assert check_parameter_budget(ModelConfig.preset("paper-mnist")) == 33_911_825
    huge = ModelConfig.preset("tiny", memory_size=10**8, memory_dim=8)
    with pytest.raises(ValueError, match="800,0.*parameters: must be at most 500,000,000"):
        build_model(huge)


def _rewrite_config(path, **changes):
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["lmc"])
    meta["config"].update(changes)
    header["__metadata__"]["lmc"] = json.dumps(meta)
    new = json.dumps(header).encode()
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + size :])


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lstm_layers": 10**6}, "lstm_layers=1000000: must be at most 64"),
        ({"memory_size": 2.5}, "memory_size=2.5: must be an integer"),
        ({"memory_size": 10**8}, "parameters: must be at most"),
    ],
)
def test_a_small_file_cannot_ask_for_a_huge_or_mistyped_model(tmp_path, changes, message):
    path = save_checkpoint(build_model("tiny"), tmp_path / "m.safetensors")
    _rewrite_config(path, **changes)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_an_expanded_official_tensor_is_refused_before_it_is_copied(tmp_path):
    state = ours_to_official(build_model(ModelConfig.preset("tiny", image_size=64)))
    key = next(k for k in state if k.endswith("memory_w"))
    state[key] = torch.zeros(1, state[key].shape[1]).expand(10**7, -1)
    path = tmp_path / "authors.pt"
    torch.save(state, path)
    assert path.stat().st_size < 10**6
    with pytest.raises(CheckpointError, match=r"memory_w declares \(10000000, \d+\) over"):
        load_checkpoint(path)
