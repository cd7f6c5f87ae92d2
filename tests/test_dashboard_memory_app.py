"""The memory pages (recall, slot atlas, embeddings, intervene) in Streamlit's AppTest: each runs
without exception, its widgets exist, a click injected through session state is answered, and a
model without memory (or no model) meets a clear message instead of a traceback."""

import base64
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from dashboard_helpers import (
    assert_clean,
    input_source,
    model_label,
    start_app,
    texts,
)
from streamlit.testing.v1 import AppTest

from dashboard import APP, views
from dashboard import memory_widgets as mw
from dashboard.keys import Atlas, Embeddings, Health, Intervene, Recall
from lmc import ModelConfig, build_model, save_checkpoint

TIMEOUT = 90  # seconds per run: the machine may be shared


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("memory-app")
    torch.manual_seed(0)
    # A sigmoid output keeps the untrained predictions inside [0, 1], where clamping for display
    # cannot hide what an intervention changes.
    tiny = ModelConfig.preset("tiny", image_size=64, output_activation="sigmoid")
    save_checkpoint(build_model(tiny), root / "tiny.safetensors")
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64, memory=False)),
        root / "plain.safetensors",
    )
    return root


# A kept report of a dead memory: the bundled paper-faithful demo's, as lmc.health wrote it.
DEMO_REPORT = (
    Path(__file__).resolve().parents[1] / "models" / "demo" / "lmc-small-mnist.health.json"
)


def start(checkpoint: Path, tmp_path: Path, monkeypatch, page: str):
    """The app on one memory page ("recall", "atlas", "embeddings", "intervene")."""
    spec = getattr(views, page.upper())
    at = start_app(monkeypatch, tmp_path, checkpoint, test_clips=8, page=spec, timeout=TIMEOUT)
    assert_clean(at)
    return at


def _unpack(values) -> np.ndarray:
    """An array of a figure's JSON: a list, or Plotly's base-64 {"dtype", "bdata"}."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def test_figures_carry_the_ids_their_clicks_return():
    assert [mw.arrow(a) for a in (0.0, math.pi / 2, math.pi, -math.pi / 4)] == ["→", "↑", "←", "↘"]
    assert mw.arrow(float("nan")) == "·"
    fig = mw.grid_figure(np.zeros((64, 64)), (4, 4), selected=[5])
    markers = [t for t in fig.data if t.type == "scatter"]
    assert list(markers[0].customdata) == list(range(16))  # one clickable marker per cell
    values = np.arange(160.0).reshape(16, 10) / 1000
    heat = mw.weights_heatmap(values, "w", 2)
    # Plotly heatmaps answer no selection: the markers over it take the hover and the click, each
    # carrying (cell, slot, value) and standing on its cell's row.
    assert heat.data[0].hoverinfo == "skip"
    cells = np.asarray(heat.data[1].customdata)  # sent as plain lists (dashboard/selection.py)
    assert cells.shape == (160, 3)
    assert cells[57].tolist() == [5, 7, 0.057] and heat.data[1].y[57] == 5


def test_the_map_is_filled_by_the_contexts_and_colours_every_cell_apart():
    rng = np.random.default_rng(0)
    # Readouts: a small cloud near the mean slot; the slots' markers far outside it.
    contexts = rng.normal(0.0, 0.01, (2000, 2))
    slots = rng.normal(0.0, 1.0, (100, 2))
    fig = mw.embedding_figure(contexts, np.ones(2000), "speed", "continuous", [""] * 2000, slots)
    (x0, x1), (y0, y1) = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert np.ptp(contexts[:, 0]) / (x1 - x0) > 0.85  # the cloud spans the plot, not a speck
    assert np.ptp(contexts[:, 1]) / (y1 - y0) > 0.85
    marks = next(t for t in fig.data if t.name == "memory slots")
    x, y = np.asarray(marks.x), np.asarray(marks.y)
    assert ((x0 < x) & (x < x1) & (y0 < y) & (y < y1)).all()
    outside = np.asarray(marks.marker.symbol) == "diamond-open"
    assert outside.sum() > 90 and list(marks.customdata[:3]) == [-1, -2, -3]
    # A slot beyond the contexts sits in the band around them, in its own direction from the
    # cloud's centre, well inside the plot (a mouse can click it).
    (b0, b1), (c0, c1) = mw.view_range(contexts, mw.PIN_MARGIN)
    centre = contexts.mean(axis=0)
    for k in np.flatnonzero(outside):
        to_slot, to_mark = slots[k] - centre, np.array([x[k], y[k]]) - centre
        assert to_slot @ to_mark > 0
        assert abs(to_slot[0] * to_mark[1] - to_slot[1] * to_mark[0]) < 1e-9
        assert np.isclose([x[k], x[k], y[k], y[k]], [b0, b1, c0, c1]).any()
    assert (np.minimum(x - x0, x1 - x) > 0.03 * (x1 - x0)).all()
    assert marks.hovertext[5] == "slot 5"
    # Coloured by cell: as many distinct colours as cells, for a 4 x 4 and an 8 x 8 grid.
    for cells in (16, 64):
        cell = np.arange(2000) % cells
        fig = mw.embedding_figure(contexts, cell.astype(str), "cell", "category", [""] * 2000)
        colours = [t.marker.color for t in fig.data]
        assert len(colours) == cells and len(set(colours)) == cells
    # No digit or a rare top slot is grey, every other value a colour of its own.
    digits = np.array(["3", "7", "none"] * 10)
    fig = mw.embedding_figure(contexts[:30], digits, "digit", "category", [""] * 30)
    assert [t.marker.color for t in fig.data] == [*mw.palette(2), "rgba(150,150,150,0.6)"]


def test_axes_start_where_the_quantity_means_something():
    from dashboard.widgets import per_frame_figure

    # Entropy / log S from 0 (one slot) to 1 (uniform), however close to 1 the cells are.
    bars = mw.cell_stats_figure(np.array([0.981, 0.985, 0.999]), np.array([9.6, 9.7, 9.9]))
    assert tuple(bars.layout.xaxis.range) == (0.0, 1.0)
    # A gate is a sigmoid: [0, 1], also on the Rollout page's per-frame panel.
    assert tuple(mw.gates_figure(np.full((5, 8), 0.53)).layout.yaxis2.range) == (0.0, 1.0)
    scores = {"model": {m: np.ones(5) for m in ("mse", "ssim", "psnr")}}
    per_frame = per_frame_figure(scores, {"model": np.linspace(0.522, 0.537, 5)})
    assert tuple(per_frame.layout.yaxis4.range) == (0.0, 1.0)
    # A difference of 1e-12 in frames of [0, 1] stays a flat zero on an axis of one grey level,
    # written as plain numbers (no "0.96p"); one y axis, no second one beside it.
    tiny = mw.difference_figure(np.full(5, 1e-12), np.full(5, 1e-24), None)
    assert tuple(tiny.layout.yaxis.range) == pytest.approx((0.0, 1.05 / 255))
    assert tiny.layout.yaxis.exponentformat == "e" and "yaxis2" not in tiny.layout.to_plotly_json()
    # The change and the model's own error: a panel each, on one shared scale that either sets.
    real = mw.difference_figure(np.array([0.1, 0.2]), np.array([0.01, 0.04]), np.array([0.3, 0.25]))
    assert [t.xaxis for t in real.data] == ["x", "x2"] and [t.yaxis for t in real.data] == [
        "y",
        "y2",
    ]
    assert real.layout.yaxis2.matches == "y" and real.layout.yaxis2.overlaying is None
    assert tuple(real.layout.yaxis.range) == pytest.approx((0.0, 1.05 * 0.3))
    assert list(real.data[0].customdata) == [0.01, 0.04]  # the MSE, in the hover
    nan = mw.difference_figure(np.array([np.nan, 0.1]), np.array([np.nan, 0.01]), None)
    assert tuple(nan.layout.yaxis.range) == pytest.approx((0.0, 1.05 * 0.1))


def test_recall_page_shows_cells_slots_and_both_phases(checkpoints, tmp_path, monkeypatch):
    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "recall")
    labels = [m.label for m in at.metric]
    assert {"entropy / log S", "effective slots", "same top-1", "KL long‖short"} <= set(labels)
    assert at.selectbox(key=Recall.CELL).value == 0
    assert (
        len(at.get("plotly_chart")) >= 6
    )  # grid, distribution, heatmap, entropy, alignment, gates
    # The page comes in sections: the cell and the addressing open, the rest on demand.
    sections = {e.label: e.proto.expanded for e in at.expander if e.label != "Download"}
    assert sections == {
        "One cell: the query grid and the cell's distribution over the slots": True,
        "The addressing of every cell (cells × slots)": True,
        "Top 5 slots per cell, as a table": False,
        "Long-term recall vs short-input recall, cell by cell": False,
        "The attention gate on the recalled motion": False,
    }
    charts = {e.label: len(e.get("plotly_chart")) for e in at.expander}
    assert all(charts[label] for label in sections if "table" not in label)
    cell, addressing = at.expander[0], at.expander[1]
    assert cell.selectbox(key=Recall.CELL).value == 0
    assert addressing.radio(key=Recall.MEASURE).value == "weight − 1/S"
    assert len(at.expander[2].dataframe) == 1 and not at.main.dataframe[0].value.empty
    # Above the sections, only the summary: no chart outside an expander.
    outside = len(at.get("plotly_chart")) - sum(len(e.get("plotly_chart")) for e in at.expander)
    assert outside == 0
    # A click on cell 5 (the chart's on_select writes this key) opens its distribution.
    at.session_state[Recall.CELL] = 5
    at.run()
    assert_clean(at)
    assert "Cell 5, top 5 slots" in texts(at)
    at.radio(key=Recall.MEASURE).set_value("cosine").run()
    at.radio(key=Recall.PHASE).set_value("long window (phase 1)").run()
    assert_clean(at)
    at.radio(key=Recall.MEASURE).set_value("weight − mean of the cells").run()
    at.radio(key=Recall.PHASE).set_value("both, side by side").run()
    assert_clean(at)
    assert "long window (phase 1)" in texts(at)


@pytest.mark.slow
def test_atlas_and_embeddings_over_a_sample(checkpoints, tmp_path, monkeypatch):
    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "atlas")
    assert any("has not been run" in i.value for i in at.info)
    at.slider(key=Atlas.CLIPS).set_value(100).run()
    at.button(key=Atlas.RUN_BUTTON).click().run()
    assert_clean(at)
    labels = [m.label for m in at.metric]
    assert "queries" in labels and "dead slots" in labels
    assert at.metric[0].value == "1,600"  # 100 clips x 16 cells
    assert "Every count above is over 100 clips × 16 cells = 1,600 queries" in texts(at)
    slots = next(t.value for t in at.dataframe if "slot" in t.value.columns)
    alive = int(slots.loc[slots["dead"] != "dead", "slot"].iloc[0])
    dead = int(slots.loc[slots["dead"] == "dead", "slot"].iloc[0])
    at.session_state[Atlas.SLOT] = alive
    at.run()
    assert_clean(at)
    assert f"Slot {alive}: top choice of" in texts(at)
    # Every gallery card is labelled with the slot, the cell's weight on it and the cell.
    mine = f"slot {alive}:"
    gallery = [c for image in at.get("image") for c in image.captions if c.startswith(mine)]
    assert len(gallery) == 16
    assert all("weight" in c and ", rank " in c and "· clip " in c for c in gallery)
    assert any("follows" in c or "no digit in the cell" in c for c in gallery)
    # Every table speaks words: no raw key (top1_agreement, kl_mean) as a column or a row.
    for table in at.dataframe:
        assert not [c for c in table.value.columns if "_" in str(c)]
        if "measure" in table.value:
            assert "same top-1 slot (share of cells)" in table.value["measure"].tolist()
            assert not [m for m in table.value["measure"] if "_" in m]
    assert len(at.dataframe) == 2  # all slots, and the alignment over the sample
    # A dead slot says so, instead of empty plots: the tiny memory has dead slots to pick.
    at.session_state[Atlas.SLOT] = dead
    at.run()
    assert_clean(at)
    said = [i.value for i in at.info]
    assert any(
        i.startswith(
            f"Slot {dead} is dead: no cell picks it as its top choice in these 100 clips "
            "(1,600 queries)"
        )
        for i in said
    ), said
    assert f"Slot {dead}: top choice of" not in texts(at)
    at.session_state[Atlas.SLOT] = alive
    at.run()
    at.radio(key=Atlas.PHASE).set_value("long window (phase 1)").run()
    assert_clean(at)
    stored = list((tmp_path / "cache" / "analysis").glob("*.npz"))
    assert len(stored) == 1

    # The embeddings page reuses the stored pass: no button, the PCA map at once.
    at.slider(key=Atlas.CLIPS).set_value(100)
    at.switch_page(views.EMBEDDINGS.file)
    at.session_state[Embeddings.CLIPS] = 100
    at.run()
    assert_clean(at)
    assert "Showing 1,600 of 1,600 recalled contexts" in texts(at)
    assert at.radio(key=Embeddings.MAP).options == ["PCA"]
    # The recalled contexts fill the map; the slots' markers do not shrink them to a speck.
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    x0, x1 = spec["layout"]["xaxis"]["range"]
    xs = np.concatenate([_unpack(t["x"]) for t in spec["data"] if t.get("name") != "memory slots"])
    assert np.ptp(xs) / (x1 - x0) > 0.85
    at.session_state[Embeddings.SELECTED] = [0, 1, 17]  # a lasso over three points
    at.run()
    assert_clean(at)
    assert "3 contexts selected" in texts(at)
    assert len(at.get("image")) >= 1
    at.session_state[Embeddings.SELECTED] = [4]  # a click on one point
    at.run()
    assert "nearest slots in the full space" in texts(at)
    at.session_state[Embeddings.SELECTED] = [-3]  # a click on slot 2's diamond
    at.run()
    assert "Slot 2" in texts(at)
    for colour in at.selectbox(key=Embeddings.COLOUR).options:
        at.selectbox(key=Embeddings.COLOUR).set_value(colour).run()
        assert_clean(at)
    at.radio(key=Embeddings.SPACE).set_value("queries").run()
    assert_clean(at)
    assert at.session_state[Embeddings.SELECTED] == []  # a new map drops the old selection


@pytest.mark.slow
def test_embeddings_umap_button_stores_the_map(checkpoints, tmp_path, monkeypatch):
    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "embeddings")
    at.slider(key=Embeddings.CLIPS).set_value(100).run()
    at.button(key=Embeddings.RUN_BUTTON).click().run()
    at.slider(key=Embeddings.POINTS).set_value(500).run()
    at.button(key=Embeddings.UMAP_BUTTON).click().run()
    assert_clean(at)
    assert at.radio(key=Embeddings.MAP).value == "UMAP"
    assert len(list((tmp_path / "cache" / "analysis").glob("*-umap.npz"))) == 1
    # The link names the map at once (the map panel reruns alone), and reopens it: the UMAP is
    # kept (tests/test_dashboard_url_pages.py covers every other value of the page's links).
    assert at.query_params["method"] == "umap"
    link = {k: at.query_params[k] for k in at.query_params}
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(link)
    at.switch_page("views/embeddings.py").run()
    assert_clean(at)
    assert at.radio(key=Embeddings.MAP).value == "UMAP"
    assert at.query_params["method"] == "umap"


def test_intervene_shows_large_frames_and_one_step_enlarged(checkpoints, tmp_path, monkeypatch):
    from dashboard.widgets import Row, grid_image

    # The strip: a 64-pixel frame drawn at 128 pixels; the enlarged view at 256.
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    sheet = grid_image([Row("a", frames), Row("b", frames)], 3, 1, min_side=128)
    assert sheet.shape[0] >= 2 * 128 + 128 // 3 and sheet.shape[1] >= 3 * 128
    assert mw.enlarged(frames[0], 256).shape == (256, 256, 3)
    assert mw.enlarged(np.zeros((128, 96, 3), np.uint8), 256).shape == (256, 192, 3)

    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "intervene")
    captions = [c for image in at.get("image") for c in image.captions]
    # The test clip: 10 input frames, 10 predicted; step 1 is frame 11.
    assert [c for c in captions if c.endswith(", frame 11")][:3] == [
        "truth, frame 11",
        "original, frame 11",
        "intervened, frame 11",
    ]
    assert any(c.startswith("|Δ| (white = ") for c in captions)
    at.slider(key=Intervene.STEP).set_value(4).run()
    assert_clean(at)
    captions = [c for image in at.get("image") for c in image.captions]
    assert "intervened, frame 14" in captions and "intervened, frame 11" not in captions


@pytest.mark.slow
def test_intervene_page_changes_the_prediction(checkpoints, tmp_path, monkeypatch):
    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "intervene")
    labels = [m.label for m in at.metric]
    assert "mean |Δ| per pixel" in labels
    assert float(at.metric[0].value) > 0  # forcing one slot everywhere moves the prediction
    at.radio(key=Intervene.WHERE).set_value("one cell").run()
    at.selectbox(key=Intervene.CELL).set_value(6).run()
    assert_clean(at)
    assert "cell 6 recalls slot 0 as strongly as the softmax allows" in texts(at)
    at.radio(key=Intervene.STRENGTH).set_value("the slot alone (one-hot)").run()
    assert_clean(at)
    assert "cell 6 recalls slot 0 alone (weight 1" in texts(at)
    at.radio(key=Intervene.SOURCE).set_value("another test clip's recall").run()
    at.number_input(key=Intervene.DONOR).set_value(3).run()
    at.radio(key=Intervene.DONOR_WHAT).set_value("its readout").run()
    assert_clean(at)
    assert "what test clip 3 recalled (readout)" in texts(at)


def test_health_page_measures_on_request_and_links_each_verdict_to_its_evidence(
    checkpoints, tmp_path, monkeypatch
):
    at = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "health")
    # The wait is promised as the atlas's pass promises it: six clip runs a clip (a pass and
    # five rollouts) at the benchmark's speed on one core, this model not having run yet.
    assert any(
        re.search(
            r"no health report for 256 clips \(Moving-MNIST\) yet: about .+ on one CPU core",
            i.value,
        )
        for i in at.info
    ), [i.value for i in at.info]
    at.radio(key=Health.CLIPS).set_value(64).run()
    at.button(key=Health.MEASURE_BUTTON).click().run()
    assert_clean(at)
    shown = texts(at)
    assert "**collapsed**" in shown or "**in use**" in shown  # the usage verdict, in words
    assert "Measured on the first 64 clips" in shown
    links = {link.proto.page for link in at.get("page_link")}  # each verdict links its page
    assert {"atlas", "embeddings", "intervene", "recall"} <= links
    figures = at.dataframe[0].value
    assert "slots alive (top choice of some cell)" in figures["measure"].tolist()
    assert "direction probe, true velocity (ceiling)" in figures["measure"].tolist()
    assert any(
        "linear classifiers (shrinkage LDA)" in c.value and "the ceiling is" in c.value
        for c in at.caption
    )
    # The report is kept on disk: a fresh session shows it without measuring again.
    again = start(checkpoints / "tiny.safetensors", tmp_path, monkeypatch, "health")
    again.radio(key=Health.CLIPS).set_value(64).run()
    assert "Measured on the first 64 clips" in texts(again) and not again.button


def test_health_page_shows_the_report_kept_beside_a_checkpoint(checkpoints, tmp_path, monkeypatch):
    import json

    from lmc.analysis.health_check import health_path

    report = json.loads(DEMO_REPORT.read_text())
    # As the report was written before the probe changed: no classifier named, no ceiling.
    for key in [k for k in report if k.startswith("probe_direction_truth")] + ["probe_method"]:
        report.pop(key)
    path = tmp_path / "kept.safetensors"
    path.write_bytes((checkpoints / "tiny.safetensors").read_bytes())
    health_path(path).write_text(json.dumps(report))
    at = start(path, tmp_path, monkeypatch, "health")
    shown = texts(at)
    assert "Kept with the checkpoint" in shown and "3 of 100 slots ever chosen" in shown
    # A report from before the probe changed names the classifier it was measured with.
    assert any("linear classifiers (one-hot ridge)" in c.value for c in at.caption)
    assert not any("the ceiling is" in c.value for c in at.caption)  # that report has none
    assert not at.button  # nothing to measure


@pytest.mark.parametrize("page", ["health", "recall", "atlas", "embeddings", "intervene"])
def test_model_without_memory_gets_a_message(page, checkpoints, tmp_path, monkeypatch):
    at = start(checkpoints / "plain.safetensors", tmp_path, monkeypatch, page)
    assert any("without a memory" in i.value for i in at.info)
    assert not at.get("plotly_chart")
    # The page stopped early; the sidebar still names the model and the input.
    assert model_label(at) == "bundled demo (plain.safetensors)"
    assert input_source(at) == "test clip 0"


@pytest.mark.parametrize("page", ["health", "recall", "atlas", "embeddings", "intervene"])
def test_no_model_gets_a_message(page, tmp_path, monkeypatch):
    at = start(tmp_path / "missing.safetensors", tmp_path, monkeypatch, page)
    assert any("No model is loaded" in i.value for i in at.info)
    assert model_label(at) is None
    assert "none loaded: open one on the Model page" in [c.value for c in at.sidebar.caption]


def test_a_cards_weight_says_how_far_it_is_above_uniform():
    from dashboard.memory_widgets import gallery

    assert gallery.weight_text(3, 0.0142, 100) == "slot 3: weight 0.0142 (+0.0042 over 1/S)"
    assert gallery.weight_text(7, 0.05, 10, rank=1) == (
        "slot 7: weight 0.0500 (-0.0500 over 1/S), rank 2 of 10"
    )


def test_a_motion_without_speed_has_no_direction():
    assert mw.motion_text(math.pi / 4, 2.0) == "↗ 45° 2.0 px/frame"
    assert mw.motion_text(math.pi / 4, 0.0) == "still (0.0 px/frame)"  # no arrow for no motion
    assert mw.motion_text(float("nan"), 0.0) == "no digit"
