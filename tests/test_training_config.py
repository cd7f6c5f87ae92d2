"""lmc.training.config: one typed config, file then flags, strict booleans, clear errors."""

import json

import pytest
import torch

from lmc import build_model
from lmc.errors import ConfigError
from lmc.training.config import RESUME_MAY_CHANGE, TrainConfig, parse_args, resume_changes


@pytest.mark.parametrize("value,expected", [("True", True), ("False", False), ("true", True)])
def test_booleans_parse_strictly(value, expected):
    assert (
        parse_args(["--checkpoint_load", value, "--checkpoint_load_file", "x"]).checkpoint_load
        is expected
    )
    assert parse_args(["--compile"]).compile is True
    assert parse_args(["--no-compile"]).compile is False


@pytest.mark.parametrize("value", ["yes", "1", "Flase", ""])
def test_anything_else_is_a_boolean_error(value):
    with pytest.raises(ConfigError, match=f"--compile: expected True or False, got '{value}'"):
        parse_args(["--compile", value])


def test_config_file_with_command_line_override(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": 4, "lr": 0.001, "memory": "off"}))
    cfg = parse_args(["--config", str(path), "--batch_size", "8"])
    assert (cfg.batch_size, cfg.lr, cfg.memory) == (8, 0.001, False)
    toml = tmp_path / "c.toml"
    toml.write_text('alignment = "off"\nquery = "global"\n')
    cfg = parse_args(["--config", str(toml)])
    assert cfg.alignment == "off" and cfg.model_config().query == "global"


def test_unknown_config_key_lists_the_valid_ones(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch": 4}))
    with pytest.raises(ConfigError, match=r"unknown keys \['batch'\]; valid keys: .*batch_size"):
        parse_args(["--config", str(path)])


def test_wrong_type_in_config_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": "many"}))
    with pytest.raises(ConfigError, match="batch_size must be int, got 'many'"):
        parse_args(["--config", str(path)])


def test_unknown_flags_and_bad_types_are_config_errors():
    with pytest.raises(ConfigError, match=r"^unrecognized arguments: --bogus .*--help\)$"):
        parse_args(["--bogus", "1"])
    with pytest.raises(ConfigError, match="argument --iterations: invalid int value: 'many'"):
        parse_args(["--iterations", "many"])


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--lr", "nan"], "lr=nan: must be a finite number > 0"),
        (
            ["--clip_align_weight", "1", "--batch_size", "1"],
            "clip_align_weight=1.0: needs batch_size >= 2",
        ),
        (["--lr", "inf"], "lr=inf: must be a finite number > 0"),
        (["--lr", "0"], "lr=0.0: must be a finite number > 0"),
        (["--device", "nonsense"], "device='nonsense': must be auto, cpu, cuda, cuda:N"),
        (["--device", "cuda:x"], "device='cuda:x': must be auto, cpu, cuda, cuda:N"),
        (["--seed", "-1"], r"seed=-1: must be between 0 and 4294967295 \(2\*\*32 - 1\)"),
        (["--seed", str(2**32)], "seed=4294967296: must be between 0 and 4294967295"),
        (["--val_every", "0"], "val_every=0: must be at least 1 .*print_freq=1000"),
        (["--sample_clips", "-1"], "sample_clips=-1: must be at least 0"),
        (["--workers", "-2"], "workers=-2: must be at least 0"),
        (["--iterations_warmup", "-1"], "iterations_warmup=-1: must be at least 0"),
        (
            ["--long_window", "input", "--long_len", "12"],
            r"long_window=input needs long_len <= short_len \(got long_len=12, short_len=10\)",
        ),
        (["--long_window", "past"], "long_window='past': must be one of"),
        (["--addressing", "dot"], "addressing='dot': must be one of"),
        (["--motion", "spiral"], "motion='spiral': must be one of"),
        (
            ["--motion", "contexts", "--train_data_dir", "somewhere"],
            "motion='contexts' is a setting of the built-in Moving-MNIST generator",
        ),
        (["--matching_learns", "alignment"], "matching_learns='alignment' needs an alignment term"),
        (["--temperature", "nan"], "invalid ModelConfig: temperature=nan: must be a finite number"),
    ],
)
def test_bad_values_name_the_value_and_the_limit(flags, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        parse_args(flags)


def test_limits_themselves_are_accepted():
    cfg = parse_args(["--seed", "0", "--val_every", "1", "--sample_clips", "0", "--device", "cpu"])
    assert (cfg.seed, cfg.resolved_val_every, cfg.sample_clips) == (0, 1, 0)
    assert parse_args(["--seed", str(2**32 - 1), "--device", "cuda:1"]).device == "cuda:1"


def test_a_resume_may_change_only_the_listed_settings():
    saved = TrainConfig(iterations=10, lr=2e-4).to_dict()
    now = TrainConfig(iterations=20, lr=1e-3, resume="auto", device="cpu")
    assert resume_changes(now, saved, "last.pt") == {
        "lr": (2e-4, 1e-3),
        "iterations": (10, 20),
        "device": ("auto", "cpu"),
    }
    with pytest.raises(
        ConfigError, match=r"^last\.pt was trained with other settings \(seed 1234 "
    ):
        resume_changes(TrainConfig(seed=3), saved, "last.pt")
    assert "seed" not in RESUME_MAY_CHANGE and "batch_size" not in RESUME_MAY_CHANGE
    # A setting the saved run predates reads as its default; one TrainConfig lost is ignored.
    older = {k: v for k, v in saved.items() if k != "balance_weight"} | {"gone": 1}
    assert resume_changes(TrainConfig(iterations=10), older, "last.pt") == {}


def test_ablation_switches_reach_the_model():
    cfg = parse_args(["--memory", "off"]).model_config()
    assert cfg.memory is False
    cfg = parse_args(
        ["--query", "global", "--temperature", "0.5", "--memory_size", "7"]
    ).model_config()
    assert (cfg.query, cfg.temperature, cfg.memory_size) == ("global", 0.5, 7)
    assert parse_args(["--addressing", "standardized"]).model_config().addressing == "standardized"
    assert parse_args([]).model_config().addressing == "cosine"


def test_query_padding_reaches_every_motion_convolution():
    cfg = parse_args(["--preset", "tiny", "--query_padding", "replicate"]).model_config()
    model = build_model(cfg)
    convs = [m for m in model.memory.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 12 and all(c.padding_mode == "replicate" for c in convs)
    assert {
        m.padding_mode for m in build_model("tiny").modules() if isinstance(m, torch.nn.Conv3d)
    } == {"zeros"}


@pytest.mark.parametrize(
    "name, text",
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ],
)
def test_a_config_file_nested_100000_deep_is_a_config_error(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=f"config file {path} cannot be parsed: maximum recursion"
    ):
        parse_args(["--config", str(path)])
