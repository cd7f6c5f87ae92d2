"""Every page's download area (dashboard/downloads.py): the buttons each page offers, their file
names, and the files they hand out, decoded back (Pillow, ffmpeg, numpy, pandas, JSON)."""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from dashboard_helpers import assert_clean, figures_in, start_app, write_fixture

from dashboard import views
from dashboard.downloads import FIGURES_LABEL, input_items, rollout_items
from dashboard.keys import Health, Intervene, Model, Recall
from dashboard.series import MODEL
from lmc import ModelConfig, build_model, save_checkpoint
from lmc.analysis.inputs import Clip
from lmc.analysis.rollout import frame_scores, load_method_dir, run_rollout
from lmc.data import generate_clips

TIMEOUT = 90
DEMO_REPORT = (
    Path(__file__).resolve().parents[1] / "models" / "demo" / "lmc-small-mnist.health.json"
)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("downloads") / "tiny.safetensors"
    torch.manual_seed(0)
    config = ModelConfig.preset("tiny", image_size=64, output_activation="sigmoid")
    save_checkpoint(build_model(config), path)
    return path


def buttons(at, page: type) -> dict[str, str]:
    """{label: file name} of the page's download buttons, each in its page's namespace."""
    found = {}
    for button in at.download_button:
        assert button.key.startswith(f"{page.__name__.lower()}.download.")
        found[button.label] = button.help.strip("`")
    return found


def test_rollout_files_decode_to_what_the_page_shows(tmp_path):
    from PIL import Image

    torch.manual_seed(0)
    model = build_model("tiny")
    clips = generate_clips(1, 16, seed=2, split="test", image_size=32)
    clip = Clip(clips.frames[0, :, None] / np.float32(255), 10, "test clip 4")
    main = run_rollout(model, clip, 6)  # as many frames as the ground truth
    named = {
        MODEL: frame_scores(main.pred, main.target),
        "copy": frame_scores(main.pred, main.target),
    }
    items = {i.name: i for i in rollout_items("tiny", clip, main, {MODEL: main.pred}, named)}
    assert {"gif", "mp4", "inputs", "trues", "preds", "scores.csv"} <= set(items)
    assert items["gif"].file_name == "tiny_test-clip-4_rollout.gif"
    assert items["preds"].file_name == "tiny_test-clip-4_preds.npy"

    gif = Image.open(io.BytesIO(items["gif"].make()))
    assert gif.n_frames == 10 + 6  # the input, then the prediction beside the ground truth
    mp4 = items["mp4"].make()
    assert mp4[4:8] == b"ftyp"
    import imageio.v3 as iio

    video = iio.imread(mp4, extension=".mp4", plugin="FFMPEG")
    even = (gif.size[1] + gif.size[1] % 2, gif.size[0] + gif.size[0] % 2)
    assert video.shape[0] == 16 and video.shape[1:3] == even

    # Saved under the names other methods' results use, the three files open as such.
    for name in ("inputs", "trues", "preds"):
        (tmp_path / f"{name}.npy").write_bytes(items[name].make())
    results = load_method_dir(tmp_path)
    assert results.inputs.shape == (1, 10, 1, 32, 32) and results.trues.shape == (1, 6, 1, 32, 32)
    assert results.matches(clip, 0)
    np.testing.assert_array_equal(results.preds[0], main.pred)
    # Past the ground truth the prediction is whole, and the animation shows it.
    longer = run_rollout(model, clip, 8)
    more = {i.name: i for i in rollout_items("tiny", clip, longer, {MODEL: longer.pred}, {})}
    assert np.load(io.BytesIO(more["preds"].make())).shape == (1, 8, 1, 32, 32)
    assert Image.open(io.BytesIO(more["gif"].make())).n_frames == 18
    assert "scores.csv" not in more

    scores = pd.read_csv(io.BytesIO(items["scores.csv"].make()))
    assert len(scores) == 2 * 6 and {"method", "frame", "mse", "ssim"} <= set(scores.columns)
    np.testing.assert_allclose(scores["mse"][:6], named[MODEL]["mse"], rtol=1e-6)
    assert items["figures"].file_name == "tiny_test-clip-4_rollout_figures.zip"
    figures = figures_in(items["figures"].make())
    assert set(figures) == {"index.html", "per-frame scores"}
    assert '"name":"copy"' in figures["per-frame scores"]


def test_input_files_hold_the_clip_and_its_true_motion():
    from PIL import Image

    clips = generate_clips(1, 12, seed=5, split="test", image_size=32)
    motion = __import__("lmc.analysis.inputs", fromlist=["TrueMotion"]).TrueMotion(
        clips.positions[0], clips.velocities[0], clips.labels[0]
    )
    clip = Clip(clips.frames[0, :, None] / np.float32(255), 10, "test clip 7", motion)
    items = {i.name: i for i in input_items(clip)}
    np.testing.assert_array_equal(np.load(io.BytesIO(items["frames"].make())), clip.frames)
    assert Image.open(io.BytesIO(items["gif"].make())).n_frames == 12
    table = pd.read_csv(io.BytesIO(items["true-motion.csv"].make()))
    digits = clips.positions.shape[2]
    assert len(table) == 12 * digits and table["input"].sum() == 10 * digits
    np.testing.assert_allclose(table["dx"], clips.velocities[0, :, :, 1].reshape(-1))


def test_model_page_offers_config_card_log_and_curves(tmp_path, monkeypatch, files):
    models = write_fixture(tmp_path)
    at = start_app(monkeypatch, tmp_path, models / "no-memory" / "best.safetensors", roots=models)
    assert "Download" in [e.label for e in at.expander]
    found = buttons(at, Model)
    assert found["configuration (JSON)"] == "no-memory-best_config.json"
    assert found["training log (CSV)"] == "no-memory-best_training-log.csv"
    assert found[FIGURES_LABEL] == "no-memory-best_model_figures.zip"
    config = json.loads(files["no-memory-best_config.json"]())
    assert config["memory"] is False and config["image_size"] == 64
    log = pd.read_csv(io.BytesIO(files["no-memory-best_training-log.csv"]()))
    assert log["iteration"].tolist() == [10, 20, 30] and "val.mse" in log.columns
    assert (
        "validation MSE"
        in figures_in(files["no-memory-best_model_figures.zip"]())["training curves"]
    )


def test_recall_page_offers_each_trace_and_every_figure(
    tiny_checkpoint, tmp_path, monkeypatch, files
):
    at = start_app(
        monkeypatch, tmp_path, tiny_checkpoint, test_clips=8, page=views.RECALL, timeout=TIMEOUT
    )
    assert_clean(at)
    found = buttons(at, Recall)
    stem = "tiny_test-clip-0"
    assert found["trace, short input (phase 2) (.npz)"] == f"{stem}_recall_phase2.npz"
    assert found["trace, long window (phase 1) (.npz)"] == f"{stem}_recall_phase1.npz"
    assert found["top slots per cell (CSV)"] == f"{stem}_top-slots.csv"
    figures = {
        "query grid",
        "cell distribution",
        "addressing",
        "entropy per cell",
        "attention gate",
    }
    assert found[FIGURES_LABEL] == f"{stem}_recall_figures.zip"
    titles = set(figures_in(files[f"{stem}_recall_figures.zip"]()))
    assert figures | {"same top-1 slot", "KL long-short", "readout cosine"} <= titles
    for name, phase in (("phase2", 2), ("phase1", 1)):
        with np.load(io.BytesIO(files[f"{stem}_recall_{name}.npz"]())) as trace:
            assert int(trace["phase"]) == phase and trace["grid"].tolist() == [4, 4]
            assert trace["weights"].shape == (16, 10) and trace["gates"].shape[0] == 10
            np.testing.assert_allclose(trace["weights"].sum(-1), 1.0, rtol=1e-5)
    table = pd.read_csv(io.BytesIO(files[f"{stem}_top-slots.csv"]()))
    assert table["cell"].tolist() == list(range(16))
    # A click on cell 5 reruns the cells panel alone; the figure downloaded is the one shown now.
    at.session_state[Recall.CELL] = 5
    at.run()
    shown = figures_in(files[f"{stem}_recall_figures.zip"]())
    assert "cell 5: its whole addressing" in shown["cell distribution"]
    assert shown["index.html"].count("<h2>") == 8


def test_health_page_offers_the_report_and_its_figures(
    tiny_checkpoint, tmp_path, monkeypatch, files
):
    from lmc.analysis.health_check import health_path

    report = json.loads(DEMO_REPORT.read_text())
    path = tmp_path / "kept.safetensors"
    path.write_bytes(tiny_checkpoint.read_bytes())
    health_path(path).write_text(json.dumps(report))
    at = start_app(monkeypatch, tmp_path, path, page=views.HEALTH, timeout=TIMEOUT)
    found = buttons(at, Health)
    name = f"kept_{report['clips']}-test-clips_health.json"
    assert found["health report (JSON)"] == name
    saved = json.loads(files[name]())
    assert saved["clips"] == report["clips"] and len(saved["findings"]) == len(report["findings"])
    table = pd.read_csv(io.BytesIO(files[name.replace("health.json", "health-figures.csv")]()))
    assert table.columns.tolist() == ["measure", "value"]
    assert table["measure"].tolist() == at.dataframe[0].value["measure"].tolist()


def test_intervene_page_offers_both_predictions(tiny_checkpoint, tmp_path, monkeypatch, files):
    from PIL import Image

    at = start_app(
        monkeypatch, tmp_path, tiny_checkpoint, test_clips=8, page=views.INTERVENE, timeout=TIMEOUT
    )
    assert_clean(at)
    found = buttons(at, Intervene)
    stem = "tiny_test-clip-0_intervention"
    assert found["predictions and recalls (.npz)"] == f"{stem}.npz"
    assert {"frames (PNG)", FIGURES_LABEL} <= set(found)
    assert {"where", "change per frame"} <= set(figures_in(files[found[FIGURES_LABEL]]()))
    with np.load(io.BytesIO(files[f"{stem}.npz"]())) as saved:
        assert saved["original"].shape == saved["intervened"].shape == (10, 1, 64, 64)
        assert "recalls slot 0" in str(saved["what"])
        np.testing.assert_allclose(
            saved["mae"],
            np.abs(saved["intervened"] - saved["original"]).mean(axis=(1, 2, 3)),
            rtol=1e-5,
        )
        assert (
            saved["intervened_weights"][:, 0].min() > saved["original_weights"][:, 0].max() - 1e-6
        )
    strip = Image.open(io.BytesIO(files[f"{stem}.png"]()))
    assert strip.format == "PNG" and strip.width > strip.height


def test_atlas_and_embeddings_offer_the_pass_and_the_map(
    tiny_checkpoint, tmp_path, monkeypatch, files
):
    from dashboard.keys import Atlas, Embeddings

    at = start_app(
        monkeypatch, tmp_path, tiny_checkpoint, test_clips=8, page=views.ATLAS, timeout=TIMEOUT
    )
    at.slider(key=Atlas.CLIPS).set_value(100).run()
    at.button(key=Atlas.RUN_BUTTON).click().run()
    assert_clean(at)
    found = buttons(at, Atlas)
    stem = "tiny_100-test-clips"
    assert found["dataset pass, clip x cell (CSV)"] == f"{stem}_pass.csv"
    assert found["slots (CSV)"] == f"{stem}_slots.csv"
    assert {
        "slot usage",
        "true direction of the slot's cells",
        "where the slot is the top choice",
    } <= set(figures_in(files[found[FIGURES_LABEL]]()))
    table = pd.read_csv(io.BytesIO(files[f"{stem}_pass.csv"]()))
    assert len(table) == 100 * 16 and {"short_top_slot", "long_top_slot", "digit"} <= set(
        table.columns
    )
    slots = pd.read_csv(io.BytesIO(files[f"{stem}_slots.csv"]()))
    assert sorted(slots["slot"]) == list(range(10)) and slots["top-1 count"].sum() == 1600

    at.switch_page(views.EMBEDDINGS.file)
    at.session_state[Embeddings.CLIPS] = 100
    at.run()
    assert_clean(at)
    found = buttons(at, Embeddings)
    name = f"{stem}_pca_readout_short_embedding.csv"
    assert found["map: points and slots (CSV)"] == name
    assert "map" in figures_in(files[found[FIGURES_LABEL]]())
    points = pd.read_csv(io.BytesIO(files[name]()))
    assert (points["kind"] == "context").sum() == 1600 and (points["kind"] == "slot").sum() == 10
    assert set(points["map"]) == {"pca"}


def test_rollout_and_input_pages_offer_the_clip_and_the_rollout(
    tiny_checkpoint, tmp_path, monkeypatch, files
):
    from dashboard.keys import Input, Rollout

    at = start_app(monkeypatch, tmp_path, tiny_checkpoint, page=views.INPUT, timeout=TIMEOUT)
    assert_clean(at)
    found = buttons(at, Input)
    assert any(name.endswith(".npy") for name in found.values()), found
    at.switch_page(views.ROLLOUT.file).run()
    assert_clean(at)
    found = buttons(at, Rollout)
    by_name = {name.rsplit("_", 1)[-1]: name for name in found.values()}
    assert {"rollout.gif", "rollout.mp4", "preds.npy", "trues.npy", "inputs.npy"} <= set(by_name)
    preds = np.load(io.BytesIO(files[by_name["preds.npy"]]()))
    trues = np.load(io.BytesIO(files[by_name["trues.npy"]]()))
    assert preds.shape == trues.shape and preds.shape[:3] == (1, 10, 1)
