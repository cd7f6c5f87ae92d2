"""lmc.training.config: one typed config, file then flags, strict booleans, clear errors."""

import json

import pytest
import torch

from lmc import build_model
from lmc.training.config import parse_args


@pytest.mark.parametrize("value,expected", [("True", True), ("False", False), ("true", True)])
def test_booleans_parse_strictly(value, expected):
    assert (
        parse_args(["--checkpoint_load", value, "--checkpoint_load_file", "x"]).checkpoint_load
        is expected
    )
    assert parse_args(["--compile"]).compile is True
    assert parse_args(["--no-compile"]).compile is False


@pytest.mark.parametrize("value", ["yes", "1", "Flase", ""])
def test_anything_else_is_a_boolean_error(value, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--compile", value])
    assert "expected True or False" in capsys.readouterr().err


def test_config_file_with_command_line_override(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": 4, "lr": 0.001, "memory": "off"}))
    cfg = parse_args(["--config", str(path), "--batch_size", "8"])
    assert (cfg.batch_size, cfg.lr, cfg.memory) == (8, 0.001, False)
    toml = tmp_path / "c.toml"
    toml.write_text('alignment = "off"\nquery = "global"\n')
    cfg = parse_args(["--config", str(toml)])
    assert cfg.alignment == "off" and cfg.model_config().query == "global"


def test_unknown_config_key_lists_the_valid_ones(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch": 4}))
    with pytest.raises(SystemExit):
        parse_args(["--config", str(path)])
    err = capsys.readouterr().err
    assert "unknown keys ['batch']; valid keys:" in err and "batch_size" in err


def test_wrong_type_in_config_file(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": "many"}))
    with pytest.raises(SystemExit):
        parse_args(["--config", str(path)])
    assert "batch_size must be int, got 'many'" in capsys.readouterr().err


def test_ablation_switches_reach_the_model():
    cfg = parse_args(["--memory", "off"]).model_config()
    assert cfg.memory is False
    cfg = parse_args(
        ["--query", "global", "--temperature", "0.5", "--memory_size", "7"]
    ).model_config()
    assert (cfg.query, cfg.temperature, cfg.memory_size) == ("global", 0.5, 7)


def test_query_padding_reaches_every_motion_convolution():
    cfg = parse_args(["--preset", "tiny", "--query_padding", "replicate"]).model_config()
    model = build_model(cfg)
    convs = [m for m in model.memory.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 12 and all(c.padding_mode == "replicate" for c in convs)
    assert {
        m.padding_mode for m in build_model("tiny").modules() if isinstance(m, torch.nn.Conv3d)
    } == {"zeros"}
