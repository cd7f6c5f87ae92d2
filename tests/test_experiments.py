import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from lmc import ModelConfig, build_model, load_checkpoint, save_checkpoint
from lmc.experiments import (
    AXES,
    CURVE_COLUMNS,
    REFERENCE,
    TABLE_COLUMNS,
    Budget,
    Variant,
    ablation_grid,
    evaluation_frame,
    load_demo_model,
    load_grid,
    plot_motion_map,
    plot_summary,
    run_grid,
    standard_variants,
    summarize,
    train_seconds,
)

# A couple of iterations of the tiny model: the machinery, not the learning.
MICRO = Budget.tiny(
    name="micro",
    iterations=2,
    batch_size=2,
    out_len=3,
    long_len=12,
    val_clips=4,
    val_every=1,
    print_freq=1,
    sample_clips=1,
)
VARIANTS = [Variant("full", **REFERENCE), Variant("no-memory", memory=False)]
METRICS = ["mse", "mae", "psnr", "ssim"]


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("ablations")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMC_CACHE_DIR", str(root / "cache"))
        logs = []
        result = run_grid(VARIANTS, MICRO, seeds=(0,), root=root / "runs", log=logs.append)
    return root, result, logs


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))


def test_grid_gives_one_row_per_run_with_the_settings_and_finite_metrics(grid):
    _, result, logs = grid
    table = result.table
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert table["variant"].tolist() == ["full", "no-memory"]
    assert table["seed"].tolist() == [0, 0]
    assert table["memory"].tolist() == [True, False]
    assert table["memory_size"].tolist() == [100, 10]  # unset: the tiny preset's own size
    assert table["long_len"].tolist() == [12, 12]
    assert table["iterations"].tolist() == [2, 2]
    numbers = table[[*METRICS, *(f"copy_last_{m}" for m in METRICS), "train_s", "wall_s"]]
    assert np.isfinite(numbers.to_numpy(dtype=float)).all()
    # Same validation clips for every variant: the baseline does not depend on the variant.
    assert table["copy_last_mse"].nunique() == 1
    assert len(logs) == 2 and all("iterations in" in line for line in logs)


def test_run_dirs_are_normal_runs_that_load_checkpoint_opens(grid):
    _, result, _ = grid
    for run_dir, memory in zip(result.table["run_dir"], [True, False], strict=True):
        run_dir = Path(run_dir)
        for name in ("last.safetensors", "best.safetensors", "last.pt"):
            model, _ = load_checkpoint(run_dir / name)
            assert model.config.memory is memory
            assert model.config.image_size == 32
        config = json.loads((run_dir / "config.json").read_text())
        assert config["train"]["seed"] == 0 and config["train"]["iterations"] == 2
        assert list((run_dir / "samples").glob("*.png"))


def test_curves_are_long_format_with_losses_validation_and_baselines(grid):
    _, result, _ = grid
    curves = result.curves
    assert list(curves.columns) == list(CURVE_COLUMNS)
    assert set(curves["source"]) == {"train", "val", "copy_last", "zeros", "health"}
    losses = curves[curves["source"] == "train"].groupby("variant")["metric"].unique()
    assert sorted(losses["full"]) == ["phase1", "phase2"]  # memory alignment: two phases
    assert list(losses["no-memory"]) == ["loss"]
    val = curves[(curves["source"] == "val") & (curves["metric"] == "mse")]
    assert val.groupby("variant")["iteration"].apply(list).to_dict() == {
        "full": [1, 2],
        "no-memory": [1, 2],
    }
    assert np.isfinite(curves["value"]).all()


def test_resume_skips_finished_runs_and_says_so(grid):
    root, result, _ = grid
    mtimes = [(Path(d) / "last.safetensors").stat().st_mtime_ns for d in result.table["run_dir"]]
    logs = []
    again = run_grid(VARIANTS, MICRO, seeds=(0,), root=root / "runs", log=logs.append)
    assert len(logs) == 2 and all("skipped, already finished" in line for line in logs)
    assert [(Path(d) / "last.safetensors").stat().st_mtime_ns for d in again.table["run_dir"]] == (
        mtimes
    )
    pd.testing.assert_frame_equal(again.table, result.table)
    pd.testing.assert_frame_equal(load_grid(root / "runs").table, result.table)


def test_a_folder_made_with_other_settings_is_an_error_not_reused(grid):
    root, _, _ = grid
    other = dataclasses.replace(MICRO, iterations=3)
    with pytest.raises(ValueError, match="other settings.*iterations 2 there vs 3 here"):
        run_grid(VARIANTS, other, root=root / "runs", log=lambda _: None)


def test_an_interrupted_run_continues_from_its_checkpoint_to_the_same_result(grid, tmp_path):
    from train import train

    _, result, _ = grid
    variants = [Variant("no-memory", memory=False)]
    run_dir = tmp_path / "micro" / "no-memory" / "seed0"
    # Stop after the first of the two iterations, as a killed run would have.
    settings = {**MICRO.train_settings(), "memory": False, "seed": 0, "run_dir": str(run_dir)}
    argv = [f"--{k}={v}" for k, v in settings.items()]
    train.main([*argv, "--iterations=1"])
    config = json.loads((run_dir / "config.json").read_text())
    config["train"]["iterations"] = 2
    config["train"]["resume"] = "auto"
    (run_dir / "config.json").write_text(json.dumps(config))
    logs = []
    resumed = run_grid(variants, MICRO, root=tmp_path, log=logs.append)
    assert "continuing the interrupted run" in logs[0] and "iterations in" in logs[1]
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [1, 2]
    uninterrupted = result.table.set_index("variant").loc["no-memory"]
    assert resumed.table["mse"][0] == pytest.approx(uninterrupted["mse"], rel=1e-6)


def test_resume_false_trains_again_from_scratch(tmp_path):
    variants = [Variant("no-memory", memory=False)]
    first = run_grid(variants, MICRO, root=tmp_path, log=lambda _: None)
    run_dir = Path(first.table["run_dir"][0])
    (run_dir / "stale.txt").write_text("from before")
    logs = []
    second = run_grid(variants, MICRO, root=tmp_path, resume=False, log=logs.append)
    assert "iterations in" in logs[0]
    assert not (run_dir / "stale.txt").exists()
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == [1, 2]  # no duplicated log
    assert second.table["mse"][0] == pytest.approx(first.table["mse"][0])  # same seed, same run


def test_a_bad_variant_fails_before_any_training(tmp_path):
    variants = [Variant("full"), Variant("too-long", long_len=50)]
    with pytest.raises(ValueError, match="'too-long'.*long_len=50"):
        run_grid(variants, MICRO, root=tmp_path, log=lambda _: None)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="unique"):
        run_grid([Variant("a"), Variant("a")], MICRO, root=tmp_path)


def test_variant_checks_its_name_and_settings():
    assert Variant("x", memory_size=50).overrides == {"memory_size": 50}
    with pytest.raises(ValueError, match="unknown settings.*memory_slots.*ablation axes"):
        Variant("x", memory_slots=50)
    with pytest.raises(ValueError, match="set by run_grid"):
        Variant("x", seed=3)
    with pytest.raises(ValueError, match="names a folder"):
        Variant("a/b")


def test_ablation_grid_changes_one_setting_at_a_time():
    budget = Budget.tiny()
    variants = ablation_grid(budget)
    names = [v.name for v in variants]
    assert names[:4] == ["full", "no-memory", "no-alignment", "global-query"]
    assert "memory_size=100" not in names  # the reference's value is the reference run
    assert {"memory_size=10", "memory_size=50", "memory_size=200"} <= set(names)
    assert {"long_len=10", "long_len=16"} <= set(names)
    reference = {**REFERENCE, "long_len": budget.long_len}
    for variant in variants[1:]:
        settings = {**reference, **variant.overrides}
        changed = [axis for axis in AXES if settings[axis] != reference[axis]]
        assert len(changed) == 1, variant
    assert [v.name for v in standard_variants()] == names[:4]
    only = ablation_grid(budget, axes=("temperature",), values={"temperature": (0.05,)})
    assert [v.name for v in only] == ["full", "temperature=0.05"]
    with pytest.raises(ValueError, match="valid axes"):
        ablation_grid(budget, axes=("memroy",))


def test_budgets_check_the_long_window_and_keep_the_published_recipe():
    paper = Budget.paper()
    assert (paper.batch_size, paper.iterations, paper.short_len, paper.long_len, paper.out_len) == (
        128,
        300_000,
        10,
        30,
        30,
    )
    assert paper.lr == 2e-4 and paper.iterations_warmup == 5_000
    assert Budget.tiny(extra={"amp": "off"}).train_settings()["amp"] == "off"
    with pytest.raises(ValueError, match="long_len=30"):
        Budget.tiny(long_len=30)


def test_summarize_gives_mean_std_and_n_per_variant_in_table_order():
    table = pd.DataFrame(
        {
            "variant": ["b", "a", "b", "b"],
            "seed": [0, 0, 1, 2],
            "memory": [True, False, True, True],
            "mse": [1.0, 5.0, 3.0, 8.0],
            "ssim": [0.5, 0.25, 0.75, 1.0],
        }
    )
    summary = summarize(table)
    assert summary["variant"].tolist() == ["b", "a"]
    assert summary["n"].tolist() == [3, 1]
    assert summary["memory"].tolist() == [True, False]
    b = summary.iloc[0]
    assert b["mse_mean"] == pytest.approx(4.0)
    # sample std of 1, 3, 8 around 4: sqrt((9 + 1 + 16) / 2)
    assert b["mse_std"] == pytest.approx(math.sqrt(13.0))
    assert b["ssim_std"] == pytest.approx(0.25)
    assert summary.iloc[1]["mse_mean"] == 5.0 and math.isnan(summary.iloc[1]["mse_std"])
    with pytest.raises(ValueError, match="not in the table"):
        summarize(table, metrics=["psnr"])


def test_train_seconds_adds_each_interval_at_its_rate():
    records = [
        {"iteration": 10, "clips_per_s": 20.0},
        {"iteration": 30, "clips_per_s": 40.0, "val": {}},
    ]
    assert train_seconds(records, batch_size=4) == pytest.approx(10 * 4 / 20 + 20 * 4 / 40)


def test_evaluation_frame_is_long_and_keeps_the_means():
    final = {
        "model": {"mse": {"per_frame": [1.0, 3.0], "mean": 2.0}},
        "copy_last": {"mse": {"per_frame": [2.0, 2.0], "mean": 2.0}},
        "clips": 5,
    }
    frame = evaluation_frame(final)
    assert list(frame.columns) == ["method", "metric", "frame", "value"]
    assert frame["frame"].tolist() == [1, 2, 1, 2]
    means = frame.groupby(["method", "metric"])["value"].mean()
    assert means[("model", "mse")] == 2.0


def test_plot_summary_draws_one_bar_per_variant_with_spread_only_over_seeds():
    table = pd.DataFrame(
        {
            "variant": ["a", "a", "b", "b"],
            "seed": [0, 1, 0, 1],
            "mse": [1.0, 2.0, 3.0, 5.0],
            "copy_last_mse": [9.0] * 4,
        }
    )
    fig = plot_summary(summarize(table), "mse")
    assert list(fig.data[0].x) == ["a", "b"]
    assert fig.data[0].error_y.array is not None
    single = plot_summary(summarize(table[table["seed"] == 0]), "mse")
    assert single.data[0].error_y.array is None
    assert fig.layout.shapes[0].y0 == 9.0  # the copy-last baseline


def test_plot_motion_map_colours_contexts_by_direction_on_a_cyclic_scale_and_adds_slots():
    from lmc.analysis.projection import Projection

    projection = Projection(
        contexts=np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]),
        slots=np.array([[1.0, 1.0], [2.0, 2.0]]),
        method="umap",
    )
    fig = plot_motion_map(projection, np.array([0.0, np.pi / 2, -np.pi]), np.ones(3))
    points, slots = fig.data
    assert list(points.marker.color) == pytest.approx([0.0, 90.0, -180.0])
    assert fig.layout.coloraxis.cmin == -180 and fig.layout.coloraxis.cmax == 180
    assert list(slots.x) == [1.0, 2.0] and slots.name == "memory slots"
    with pytest.raises(ValueError, match="direction has shape"):
        plot_motion_map(projection, np.zeros(2))


def test_demo_model_falls_back_to_an_untrained_preset_only_when_asked(tmp_path):
    missing = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError, match="fallback='tiny'"):
        load_demo_model(missing)
    state = torch.get_rng_state()
    model, meta = load_demo_model(missing, fallback="tiny")
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random state is left alone
    assert meta["format"] == "untrained" and model.config == ModelConfig.preset("tiny")
    assert not model.training
    saved = build_model("tiny")
    save_checkpoint(saved, tmp_path / "demo.safetensors", step=7)
    loaded, meta = load_demo_model(tmp_path / "demo.safetensors", fallback="tiny")
    assert meta["step"] == 7
    for key, value in saved.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_with_health_adds_the_memory_figures_and_keeps_them_beside_the_run(grid, monkeypatch):
    from lmc.analysis import health_check as hc
    from lmc.experiments import HEALTH_COLUMNS, with_health

    root, result, _ = grid
    monkeypatch.setenv("LMC_CACHE_DIR", str(root / "cache"))
    table = with_health(result.table, clips=6)
    assert list(table.columns) == [*TABLE_COLUMNS, *HEALTH_COLUMNS]
    full, plain = table.iloc[0], table.iloc[1]
    assert 1 <= full["slots_alive"] <= 100 and np.isfinite(full["other_recall_change"])
    assert all(math.isnan(plain[c]) for c in HEALTH_COLUMNS)  # no memory, no health
    assert (Path(full["run_dir"]) / "health-best-val6.json").is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("the kept report should have been reused")

    monkeypatch.setattr(hc, "health_check", refuse)
    again = with_health(result.table, clips=6)
    assert again.iloc[0]["slots_alive"] == full["slots_alive"]


def test_curves_carry_the_health_of_every_validation(grid):
    _, result, _ = grid
    health = result.curves[
        (result.curves["source"] == "health") & (result.curves["variant"] == "full")
    ]
    assert set(health["metric"]) == {
        "slots_alive",
        "effective_slots",
        "other_recall_mse_ratio",
        "alignment_top1",
        "alignment_top1_chance",
    }
    assert sorted(health["iteration"].unique()) == [1, 2]


def test_a_row_that_raises_is_a_row_with_its_error_and_the_grid_goes_on(tmp_path):
    from lmc.experiments import with_health

    on_cpu = dataclasses.replace(MICRO, device="cpu")
    variants = [Variant("bf16", amp="bf16"), Variant("no-memory", memory=False)]
    logs = []
    result = run_grid(variants, on_cpu, root=tmp_path, log=logs.append)
    failed, finished = result.table.iloc[0], result.table.iloc[1]
    assert failed["error"] == "ConfigError: amp=bf16 needs a CUDA device (this run is on cpu)"
    assert failed["variant"] == "bf16" and bool(failed["memory"]) and failed["iterations"] == 0
    assert all(math.isnan(failed[c]) for c in [*METRICS, "train_s", "wall_s"])
    assert pd.isna(finished["error"]) and finished["iterations"] == 2
    assert np.isfinite(finished[METRICS].to_numpy(dtype=float)).all()
    assert logs[0].startswith("[1/2] bf16 seed 0: failed: ConfigError: amp=bf16")
    assert "iterations in" in logs[1]  # the grid went on
    log = (Path(failed["run_dir"]) / "train.log").read_text()
    assert "Traceback" in log and "amp=bf16 needs a CUDA device" in log
    summary = summarize(result.table)
    assert summary["n"].tolist() == [0, 1] and math.isnan(summary["mse_mean"][0])
    assert with_health(result.table, clips=6)["slots_alive"].isna().all()  # nothing to measure
    again = []
    run_grid(variants, on_cpu, root=tmp_path, log=again.append)  # tried again, not refused
    assert "failed: ConfigError" in again[0] and "skipped, already finished" in again[1]
