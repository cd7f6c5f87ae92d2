"""`python -m train.export_model`: a run packaged with its measured card, health included."""

import json

from lmc import load_checkpoint
from lmc.analysis.health_check import health_path
from train import export_model, train

TINY = (
    "--preset tiny --img_size 32 --short_len 10 --long_len 14 --out_len 4 --batch_size 2 "
    "--iterations 2 --print_freq 2 --val_clips 4 --sample_clips 1 --workers 0"
).split()


def test_the_card_and_checkpoint_carry_test_metrics_health_and_departures(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    train.main([*TINY, "--align_weight", "0.5", "--temperature", "0.2", "--run_dir", str(run_dir)])
    out = tmp_path / "models" / "demo.safetensors"
    note = tmp_path / "note.md"
    note.write_text("\nStarted from a run of its own.\n\n")
    export_model.main(
        [
            "--run_dir",
            str(run_dir),
            "--out",
            str(out),
            "--command",
            "python -m train.train ...",
            "--test_clips",
            "8",
            "--health_clips",
            "6",
            "--note",
            str(note),
        ]
    )
    card = (out.parent / "MODEL_CARD.md").read_text()
    assert card.endswith("## Notes\n\nStarted from a run of its own.\n")
    assert "**Not the published recipe**" in card
    assert "addressing temperature 0.2" in card and "weight 0.5" in card
    assert "## Memory health" in card and "slots alive (top choice of some cell)" in card
    health = json.loads(health_path(out).read_text())
    assert health["clips"] == 6 and len(health["verdicts"]) == 7
    assert all(v in card for v in health["verdicts"])
    _, meta = load_checkpoint(out)
    assert meta["health"]["slots_alive"] == health["slots_alive"]
    assert meta["model_card"] == card


def test_a_published_recipe_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    train.main([*TINY, "--run_dir", str(run_dir)])
    out = tmp_path / "m.safetensors"
    export_model.main(
        [
            "--run_dir",
            str(run_dir),
            "--out",
            str(out),
            "--command",
            "c",
            "--test_clips",
            "4",
            "--health_clips",
            "0",
        ]
    )
    card = (out.parent / "MODEL_CARD.md").read_text()
    assert "Every setting of the memory is the published one." in card
    assert "## Memory health" not in card and not health_path(out).exists()


def test_departures_name_the_readout_term_and_the_initialising_checkpoint():
    lines = export_model.departures(
        {"readout_align_weight": 0.5, "checkpoint_load": True, "checkpoint_load_file": "a.pt"}, {}
    )
    assert len(lines) == 2
    assert lines[0].startswith("a readout alignment term in phase 2, weight 0.5:")
    assert lines[1].startswith("initialised from `a.pt`")
    # Loading weights is not a departure unless the run actually started from them.
    assert (
        export_model.departures({"checkpoint_load": False, "checkpoint_load_file": "a.pt"}, {})
        == []
    )


def test_departures_name_a_long_window_that_ends_with_the_input():
    lines = export_model.departures({"long_window": "input", "long_len": 10}, {"temperature": 0.2})
    assert lines[0] == "addressing temperature 0.2 (published: 1, none)"
    assert lines[1].startswith("phase 1's long window ends with the short input (10 frames,")
    assert export_model.departures({"long_window": "anywhere", "long_len": 20}, {}) == []
    (line,) = export_model.departures({"matching_learns": "alignment"}, {})
    assert line.startswith("the matching encoder learns from the phase-2 alignment terms alone")
    (line,) = export_model.departures({}, {"addressing": "standardized"})
    assert line.startswith("each query's cosines standardised over the slots before the softmax")


def test_departures_name_a_limited_predictor_and_reinitialised_parts():
    (line,) = export_model.departures({}, {"predictor_frames": 1})
    assert "reads only the last 1 input frame(s)" in line
    assert export_model.departures({}, {"predictor_frames": 0}) == []
    lines = export_model.departures(
        {"checkpoint_load": True, "checkpoint_load_file": "a.pt", "reinitialize": "fusion"}, {}
    )
    assert lines[-1] == "after that load, fresh initial weights for fusion"


def test_two_models_in_one_folder_each_keep_their_card_metrics_and_log(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    runs = {"memory": [], "twin": ["--no-memory"]}
    for name, flags in runs.items():
        train.main([*TINY, *flags, "--run_dir", str(tmp_path / name)])
    folder = tmp_path / "models"
    for name in runs:
        export_model.main(
            [
                *("--run_dir", str(tmp_path / name), "--out", str(folder / f"{name}.safetensors")),
                *("--command", f"train {name}", "--test_clips", "4", "--health_clips", "0"),
                "--shared_folder",
            ]
        )
    assert not (folder / "MODEL_CARD.md").exists()
    for name in runs:
        card = (folder / f"{name}.MODEL_CARD.md").read_text()
        assert f"train {name}" in card
        assert load_checkpoint(folder / f"{name}.safetensors")[1]["model_card"] == card
        metrics = json.loads((folder / f"{name}.test_metrics.json").read_text())
        assert set(metrics) >= {"model", "copy_last", "zeros"}
        log = (folder / f"{name}.metrics.jsonl").read_text()
        assert log == (tmp_path / name / "metrics.jsonl").read_text() and log.strip()


def test_a_run_without_its_training_log_is_refused_before_anything_is_written(
    tmp_path, monkeypatch
):
    import pytest

    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    train.main([*TINY, "--run_dir", str(run_dir)])
    (run_dir / "metrics.jsonl").unlink()
    out = tmp_path / "models" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        export_model.main(["--run_dir", str(run_dir), "--out", str(out), "--command", "c"])
    assert not out.parent.exists() or not any(out.parent.iterdir())
