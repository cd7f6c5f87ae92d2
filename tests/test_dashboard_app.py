"""The dashboard's pages in Streamlit's AppTest: each runs, its widgets exist, bad input is met
with a message in the page, never a traceback, and the rest of the app keeps working."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from lmc import ModelConfig, build_model, save_checkpoint

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
TIMEOUT = 60  # seconds per run: generous, the machine may be shared


class NotAllowed:
    """An object whose pickle would need this class: the loader must refuse to build it."""


def write_fixture(root: Path) -> Path:
    """Two tiny 64x64 checkpoints (memory on and off, the second in a run folder with its
    training log), a corrupt one, a dataset file and another method's results."""
    models = root / "models"
    (models / "no-memory").mkdir(parents=True)
    torch.manual_seed(0)
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64)),
        models / "demo.safetensors",
        step=3,
        model_card="# Tiny test model\n\nRandom weights, for tests.",
    )
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64, memory=False)),
        models / "no-memory" / "best.safetensors",
        step=20,
    )
    records = [
        {
            "iteration": 10 * i,
            "phase1": 1.0 / i,
            "phase2": 1.1 / i,
            "lr": 1e-3,
            "clips_per_s": 4.0,
            "val": {"mse": 90.0 / i, "mae": 150.0 / i, "psnr": 14.0 + i, "ssim": 0.2 * i},
            "val_baselines": {
                "copy_last": {"mse": 120.0, "ssim": 0.5},
                "zeros": {"mse": 200.0, "ssim": 0.0},
            },
        }
        for i in range(1, 4)
    ]
    (models / "no-memory" / "metrics.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records)
    )
    (models / "corrupt.safetensors").write_bytes(b"\x00not a checkpoint" * 64)
    rng = np.random.default_rng(0)
    (models / "data").mkdir()
    np.save(
        models / "data" / "standard.npy", rng.integers(0, 255, (20, 24, 64, 64), dtype=np.uint8)
    )
    results = models / "results"
    results.mkdir()
    for name, t in (("inputs", 10), ("trues", 10), ("preds", 10)):
        np.save(results / f"{name}.npy", rng.random((2, t, 1, 64, 64), dtype=np.float32))
    return models


@pytest.fixture
def app(tmp_path, monkeypatch):
    models = write_fixture(tmp_path)
    monkeypatch.setenv("LMC_DEMO_CHECKPOINT", str(models / "demo.safetensors"))
    monkeypatch.setenv("LMC_CHECKPOINT_ROOTS", str(models))
    monkeypatch.setenv("LMC_TEST_CLIPS", "4")
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LMC_DASHBOARD_TRACE", str(tmp_path / "trace.txt"))
    # Streamlit's caches live in the process: start each app from empty ones.
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> str:
    return " | ".join(e.value for e in at.error)


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


# With a pages/ folder beside the main script, AppTest (1.67) restarts Streamlit's legacy
# multipage detection on every run and drops the sidebar's elements after a widget change; a
# real browser keeps them (the browser test checks it). After the first run, read the session.
def model_label(at: AppTest) -> str:
    return at.session_state["model.current"].label


def input_source(at: AppTest) -> str:
    return at.session_state["input.clip"].source


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def go(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"pages/{page}.py").run()
    assert_clean(at)
    return at


def test_model_page_shows_the_demo_and_what_it_is(app):
    assert app.title[0].value == "Model"
    assert "bundled demo" in sidebar_text(app) and "test clip 0" in sidebar_text(app)
    assert app.segmented_control(key="model.source").value == "Bundled demo"
    assert any("Tiny test model" in m.value for m in app.markdown)  # the model card
    tables = " ".join(m.value for m in app.markdown)
    assert "`memory_size` | 10 |" in tables  # the configuration
    assert "`memory.slots` | 80 |" in tables  # parameter counts: 10 slots x 8
    assert not app.error


def test_every_page_runs_and_has_its_widgets(app):
    go(app, "input")
    assert app.title[0].value == "Input"
    assert app.slider(key="input.test.index").value == 0
    assert app.slider(key="input.split.test_set").value == 10
    go(app, "rollout")
    assert app.title[0].value == "Rollout"
    assert app.number_input(key="rollout.out_len").value == 10
    assert app.slider(key="rollout.frame").value == 1
    assert app.selectbox(key="rollout.compare").value == "(none)"
    labels = [m.label for m in app.metric]
    assert "MSE per frame" in labels and "SSIM" in labels
    assert not app.error


def test_corrupt_and_pickled_uploads_show_errors_and_keep_the_model(app):
    app.segmented_control(key="model.source").set_value("Upload").run()
    app.file_uploader(key="model.file.upload").set_value(
        ("broken.safetensors", b"\x00garbage" * 100, "application/octet-stream")
    ).run()
    assert_clean(app)
    assert "Could not open broken.safetensors" in errors(app)
    assert "truncated or corrupted" in errors(app)
    assert "lmc-dashboard-uploads" not in errors(app)  # the user's name, not the temporary one
    assert "bundled demo" in model_label(app)  # the previous model stays loaded
    buffer = io.BytesIO()
    torch.save({"payload": NotAllowed()}, buffer)
    app.file_uploader(key="model.file.upload").set_value(
        ("evil.pt", buffer.getvalue(), "application/octet-stream")
    ).run()
    assert_clean(app)
    assert "was refused" in errors(app) and "unpickling" in errors(app)
    go(app, "rollout")  # the rest of the app keeps working
    assert not app.error


def test_authors_checkpoint_upload_opens_with_the_chosen_dataset(app):
    from lmc.official import ours_to_official

    torch.manual_seed(1)
    buffer = io.BytesIO()
    torch.save(ours_to_official(build_model(ModelConfig.preset("tiny", image_size=64))), buffer)
    app.segmented_control(key="model.source").set_value("Upload").run()
    assert app.radio(key="model.upload_dataset").value == "movingmnist"
    app.file_uploader(key="model.file.upload").set_value(
        ("authors.pt", buffer.getvalue(), "application/octet-stream")
    ).run()
    assert_clean(app)
    assert not app.error and model_label(app) == "upload: authors.pt"
    assert any("format: official" in c.value for c in app.caption)
    go(app, "rollout")
    assert not app.error


def test_checkpoint_folders_refuse_paths_outside_and_open_others(app):
    app.segmented_control(key="model.source").set_value("Checkpoint folders").run()
    picker = app.selectbox(key="model.pick")
    assert any(o.endswith("no-memory/best.safetensors") for o in picker.options)
    app.text_input(key="model.typed_path").input("/etc/passwd")
    app.button(key="model.open.button").click().run()
    assert "outside the folders the dashboard may read" in errors(app)
    app.text_input(key="model.typed_path").input("")
    corrupt = next(o for o in picker.options if o.endswith("corrupt.safetensors"))
    app.selectbox(key="model.pick").set_value(corrupt)
    app.button(key="model.open.button").click().run()
    assert "truncated or corrupted" in errors(app) and "bundled demo" in model_label(app)
    best = next(o for o in picker.options if o.endswith("no-memory/best.safetensors"))
    app.selectbox(key="model.pick").set_value(best)
    app.button(key="model.open.button").click().run()
    assert_clean(app)
    assert not app.error and "best.safetensors" in model_label(app)
    assert any("step 20" in c.value for c in app.caption)
    assert app.get("plotly_chart")  # training curves from the run's metrics.jsonl


def test_bad_clips_show_their_messages(app):
    go(app, "input")
    app.segmented_control(key="input.source").set_value("Upload").run()
    uploader = app.file_uploader(key="input.file.upload")
    short = np.zeros((5, 64, 64), np.uint8)
    uploader.set_value(("short.npy", npy_bytes(short), "application/octet-stream")).run()
    assert "5 input frames; it needs at least 9" in errors(app)
    assert input_source(app) == "test clip 0"  # the input did not change
    rgb = np.zeros((12, 3, 64, 64), np.uint8)
    app.file_uploader(key="input.file.upload").set_value(("rgb.npy", npy_bytes(rgb), "x")).run()
    assert "3 channels; this model expects 1" in errors(app)
    app.file_uploader(key="input.file.upload").set_value(
        ("broken.gif", b"GIF89a...", "image/gif")
    ).run()
    assert "cannot be read as a GIF" in errors(app)
    odd = np.random.default_rng(0).integers(0, 255, (12, 60, 60), dtype=np.uint8)
    app.file_uploader(key="input.file.upload").set_value(("odd.npy", npy_bytes(odd), "x")).run()
    assert "60x60 pixels; each side must be a positive multiple of 16" in errors(app)
    app.checkbox(key="input.upload.resize").check().run()
    assert_clean(app)
    assert not app.error and input_source(app) == "upload: odd.npy"
    go(app, "rollout")
    assert not app.error


def test_motion_probe_and_dataset_file_become_the_input(app):
    go(app, "input")
    app.segmented_control(key="input.source").set_value("Motion probe").run()
    app.slider(key="input.probe.direction").set_value(90)
    app.slider(key="input.probe.future").set_value(0).run()
    assert_clean(app)
    assert input_source(app) == "motion probe: digit 3 at 90 deg, 3 px/frame"
    assert any("no frames after the input" in i.value for i in app.info)
    go(app, "rollout")
    assert any("No ground truth" in i.value for i in app.info) and not app.error
    go(app, "input")
    app.segmented_control(key="input.source").set_value("Dataset file").run()
    assert app.radio(key="input.npy.layout").value == "TN"  # guessed from (20, 24, 64, 64)
    app.slider(key="input.npy.index").set_value(2).run()
    assert_clean(app)
    assert input_source(app) == "standard.npy clip 2"


def test_rollout_compares_a_second_checkpoint_and_another_method(app, tmp_path):
    go(app, "rollout")
    second = next(o for o in app.selectbox(key="rollout.compare").options if "no-memory/best" in o)
    app.selectbox(key="rollout.compare").set_value(second).run()
    assert_clean(app)
    methods = [row for row in app.dataframe[-1].value["method"]]
    assert methods == ["model", "copy last frame", "second model"]
    folder = next(o for o in app.selectbox(key="rollout.method_dir").options if "results" in o)
    app.selectbox(key="rollout.method_dir").set_value(folder).run()
    assert any("not clip 0" in w.value for w in app.warning)
    app.button(key="rollout.method_use.button").click().run()
    assert_clean(app)
    assert input_source(app) == "results results, clip 0"
    methods = list(app.dataframe[-1].value["method"])
    assert methods == ["model", "copy last frame", "second model", "results"]


def test_moving_the_frame_slider_does_not_run_the_model_again(app, tmp_path):
    go(app, "rollout")
    trace = tmp_path / "trace.txt"
    runs = trace.read_text().count("model rollout")
    assert runs == 1
    app.slider(key="rollout.frame").set_value(5).run()
    assert_clean(app)
    assert trace.read_text().count("model rollout") == runs  # the rollout came from the cache
    assert "fragment rollout.viewer" in trace.read_text()
