"""`python -m lmc.health`: the JSON the issue names, the text report, clear errors."""

import json

import pytest

from lmc import ModelConfig, build_model, cli, health, save_checkpoint
from lmc.errors import CheckpointError, ConfigError

KEYS = (
    "slots_alive",
    "effective_slots",
    "max_weight",
    "max_weight_bound",
    "nmi_position",
    "nmi_direction",
    "nmi_direction_shuffled",
    "probe_direction_readout",
    "probe_direction_query",
    "probe_chance",
    "mse_own",
    "mse_other_recall",
    "mse_uniform",
    "alignment_top1",
    "alignment_top1_chance",
    "verdicts",
)


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    return save_checkpoint(build_model(ModelConfig.preset("tiny")), tmp_path / "tiny.safetensors")


def test_json_holds_every_key_and_parses(checkpoint, capsys):
    health.main([str(checkpoint), "--clips", "8", "--out_len", "4", "--json"])
    values = json.loads(capsys.readouterr().out)
    assert all(key in values for key in KEYS)
    assert values["clips"] == 8 and values["memory_size"] == 10
    assert len(values["verdicts"]) == 7 and all(isinstance(v, str) for v in values["verdicts"])


def test_long_len_sets_the_long_window_of_the_alignment(checkpoint, capsys):
    # A fresh model's context encoder is a copy of its matching encoder, so a long window equal
    # to the short input recalls exactly what the short input does.
    values = health.main([str(checkpoint), "--clips", "8", "--out_len", "4", "--long_len", "10"])
    capsys.readouterr()
    assert values["alignment_top1"] == 1.0 and values["alignment_kl"] == pytest.approx(0, abs=1e-6)
    assert values["readout_clip_correlation"] == pytest.approx(1.0)
    default = health.main([str(checkpoint), "--clips", "8", "--out_len", "4"])
    assert default["alignment_kl"] > 1e-4  # the long window of 14 frames recalls otherwise


def test_text_report_lists_figures_with_controls_and_verdicts(checkpoint, capsys):
    health.main([str(checkpoint), "--clips", "8", "--out_len", "4"])
    text = capsys.readouterr().out
    assert "slots alive (top choice of some cell)" in text and "of 10" in text
    assert "(shuffled " in text and "(chance " in text and "verdicts:" in text


def test_errors_name_the_value(checkpoint, tmp_path):
    with pytest.raises(ConfigError, match="--clips 1: at least 2 clips are needed"):
        health.main([str(checkpoint), "--clips", "1"])
    with pytest.raises(ConfigError, match="--long_len 15: must be between 9 and .* = 14"):
        health.main([str(checkpoint), "--out_len", "4", "--long_len", "15"])
    with pytest.raises(ConfigError, match="--seed -1: must be at least 0"):
        health.main([str(checkpoint), "--seed", "-1"])
    with pytest.raises(CheckpointError, match="checkpoint not found: .*missing.safetensors"):
        health.main([str(tmp_path / "missing.safetensors")])
    no_memory = save_checkpoint(
        build_model(ModelConfig.preset("tiny", memory=False)), tmp_path / "plain.safetensors"
    )
    with pytest.raises(CheckpointError, match="has no memory"):
        health.main([str(no_memory), "--clips", "4"])


def test_errors_end_in_one_line_and_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.run(health.main, [str(tmp_path / "missing.safetensors")], prog="lmc.health")
    assert stop.value.code == 2
    assert (
        capsys.readouterr().err
        == f"lmc.health: checkpoint not found: {tmp_path}/missing.safetensors\n"
    )


@pytest.mark.slow  # three health checks
def test_context_clips_add_the_family_figures_and_their_verdict(tmp_path, monkeypatch, capsys):
    """A model trained on motion contexts (its metadata says so) is measured on context clips by
    default, and the report gains the family group and the context verdict."""
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    model = build_model(ModelConfig.preset("tiny", image_size=64))
    path = save_checkpoint(model, tmp_path / "ctx.safetensors", motion="contexts")
    values = health.main([str(path), "--clips", "12", "--out_len", "4", "--json"])
    capsys.readouterr()
    family = values["family"]
    assert family["cells"] > 0 and 0.0 <= family["probe_readout"] <= 1.0
    assert 0.0 <= family["nmi_family"] <= 1.0 and family["chance"] >= 1 / 6
    assert len(values["verdicts"]) == 8
    assert any("motion context" in v for v in values["verdicts"])
    health.main([str(path), "--clips", "12", "--out_len", "4"])
    text = capsys.readouterr().out
    assert "Moving-MNIST with motion contexts" in text and "NMI top slot ~ motion family" in text
    # asked for standard clips, the same model has no family figures
    standard = health.main([str(path), "--clips", "12", "--out_len", "4", "--motion", "standard"])
    assert standard["family"] is None and len(standard["verdicts"]) == 7
