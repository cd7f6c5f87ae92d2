"""The dashboard's pages in Streamlit's AppTest: each runs, its widgets exist, bad input is met
with a message in the page, never a traceback, and the rest of the app keeps working."""

import io
import json

import numpy as np
import pytest
import torch
from dashboard_helpers import (
    assert_no_exception,
    errors,
    go,
    input_source,
    model_label,
    npy_bytes,
    sidebar_text,
    start_app,
    write_fixture,
)

from dashboard import views, widgets
from dashboard.keys import NAMESPACES, PAGES, Input, Model, Rollout, constants
from lmc import ModelConfig, build_model


class NotAllowed:
    """An object whose pickle would need this class: the loader must refuse to build it."""


@pytest.fixture
def app(tmp_path, monkeypatch):
    models = write_fixture(tmp_path)
    return start_app(monkeypatch, tmp_path, models / "demo.safetensors")


def test_every_key_lies_in_its_page_namespace():
    for page, namespace in zip(PAGES, NAMESPACES, strict=True):
        named = constants(page)
        assert named and all(key.startswith(namespace) for key in named.values()), page
    every = [key for page in PAGES for key in constants(page).values()]
    assert len(every) == len(set(every))  # no two names for one key


def test_animation_is_cached_by_content_not_by_name():
    """Two uploads with the same name on one clip are two animations (the cache key once was
    the method's name)."""
    frames = np.zeros((4, 16, 16, 3), np.uint8)
    other = frames.copy()
    other[2:] = 255
    first = widgets.animation([("uploaded method", frames)], short_len=2)
    second = widgets.animation([("uploaded method", other)], short_len=2)
    assert first != second
    assert widgets.animation([("uploaded method", other.copy())], short_len=2) == second


def test_every_page_of_the_menu_has_its_file():
    assert len({spec.file for spec in views.PAGES}) == len(views.PAGES) == 10
    assert [spec.file for spec in views.PAGES if not (views.DASHBOARD / spec.file).is_file()] == []


def test_model_page_shows_the_demo_and_what_it_is(app):
    assert app.title[0].value == "Model"
    assert "bundled demo" in sidebar_text(app) and "test clip 0" in sidebar_text(app)
    assert app.segmented_control(key=Model.SOURCE).value == "Bundled demo"
    assert any("Tiny test model" in m.value for m in app.markdown)  # the model card
    config, parts = app.table[0].value, app.table[-1].value  # st.table: DataFrames
    assert config.set_index("field")["value"]["`memory_size`"] == "10"
    assert parts.set_index("part")["parameters"]["`memory.slots`"] == "80"  # 10 slots x 8
    assert not app.error


def test_model_page_offers_every_bundled_demo_beside_the_start_checkpoint(app):
    """The start checkpoint (LMC_DEMO_CHECKPOINT) comes first, then the bundled demos on disk;
    choosing one and pressing the button opens it."""
    from lmc.demos import DEMO_TITLES, available_demos

    choice = app.radio(key=Model.DEMO_CHOICE)
    titles = [DEMO_TITLES[name] for name in available_demos()]
    assert list(choice.options) == ["opened at start: demo.safetensors", *titles]
    assert choice.value == "opened at start: demo.safetensors"  # the open model is chosen
    assert app.button(key=Model.DEMO_BUTTON).disabled
    assert titles  # the paper demo ships in the repository
    choice.set_value(DEMO_TITLES["paper"]).run()
    assert not app.button(key=Model.DEMO_BUTTON).disabled
    app.button(key=Model.DEMO_BUTTON).click().run()
    assert_no_exception(app)
    assert "(lmc-small-mnist.safetensors)" in model_label(app)
    assert app.button(key=Model.DEMO_BUTTON).disabled  # "This demo is open"


def test_every_page_runs_and_has_its_widgets(app):
    go(app, views.INPUT)
    assert app.title[0].value == "Input"
    assert app.slider(key=Input.TEST_INDEX).value == 0
    assert app.slider(key=Input.split("test_set")).value == 10
    go(app, views.ROLLOUT)
    assert app.title[0].value == "Rollout"
    assert app.number_input(key=Rollout.OUT_LEN).value == 10
    assert app.slider(key=Rollout.FRAME).value == 1
    assert app.selectbox(key=Rollout.COMPARE).value == "(none)"
    labels = [m.label for m in app.metric]
    assert "MSE per frame" in labels and "SSIM" in labels
    assert not app.error
    # Tables name their columns in words (a column config's label where one is set).
    for table in app.dataframe:
        config = json.loads(table.proto.columns) if table.proto.columns else {}
        shown = [config.get(str(c), {}).get("label", str(c)) for c in table.value.columns]
        assert not [c for c in shown if "_" in c], shown
    assert len(app.dataframe) == 2  # this frame's scores, and the means


def test_corrupt_and_pickled_uploads_show_errors_and_keep_the_model(app):
    app.segmented_control(key=Model.SOURCE).set_value("Upload").run()
    app.file_uploader(key=Model.UPLOAD).set_value(
        ("broken.safetensors", b"\x00garbage" * 100, "application/octet-stream")
    ).run()
    assert_no_exception(app)
    assert "Could not open broken.safetensors" in errors(app)
    assert "truncated or corrupted" in errors(app)
    assert "lmc-dashboard-uploads" not in errors(app)  # the user's name, not the temporary one
    assert "bundled demo" in model_label(app)  # the previous model stays loaded
    buffer = io.BytesIO()
    torch.save({"payload": NotAllowed()}, buffer)
    app.file_uploader(key=Model.UPLOAD).set_value(
        ("evil.pt", buffer.getvalue(), "application/octet-stream")
    ).run()
    assert_no_exception(app)
    assert "was refused" in errors(app) and "unpickling" in errors(app)
    go(app, views.ROLLOUT)  # the rest of the app keeps working
    assert not app.error


def test_authors_checkpoint_upload_opens_with_the_chosen_dataset(app):
    from lmc.official import ours_to_official

    torch.manual_seed(1)
    buffer = io.BytesIO()
    torch.save(ours_to_official(build_model(ModelConfig.preset("tiny", image_size=64))), buffer)
    app.segmented_control(key=Model.SOURCE).set_value("Upload").run()
    assert app.radio(key=Model.UPLOAD_DATASET).value == "movingmnist"
    app.file_uploader(key=Model.UPLOAD).set_value(
        ("authors.pt", buffer.getvalue(), "application/octet-stream")
    ).run()
    assert_no_exception(app)
    assert not app.error and model_label(app) == "upload: authors.pt"
    assert any("format: official" in c.value for c in app.caption)
    go(app, views.ROLLOUT)
    assert not app.error


def test_checkpoint_folders_refuse_paths_outside_and_open_others(app):
    app.segmented_control(key=Model.SOURCE).set_value("Checkpoint folders").run()
    picker = app.selectbox(key=Model.PICK)
    assert any(o.endswith("no-memory/best.safetensors") for o in picker.options)
    app.text_input(key=Model.TYPED_PATH).input("/etc/passwd")
    app.button(key=Model.OPEN_BUTTON).click().run()
    assert "outside the folders the dashboard may read" in errors(app)
    app.text_input(key=Model.TYPED_PATH).input("")
    corrupt = next(o for o in picker.options if o.endswith("corrupt.safetensors"))
    app.selectbox(key=Model.PICK).set_value(corrupt)
    app.button(key=Model.OPEN_BUTTON).click().run()
    assert "truncated or corrupted" in errors(app) and "bundled demo" in model_label(app)
    best = next(o for o in picker.options if o.endswith("no-memory/best.safetensors"))
    app.selectbox(key=Model.PICK).set_value(best)
    app.button(key=Model.OPEN_BUTTON).click().run()
    assert_no_exception(app)
    assert not app.error and "best.safetensors" in model_label(app)
    assert any("step 20" in c.value for c in app.caption)
    assert app.get("plotly_chart")  # training curves from the run's metrics.jsonl


def test_bad_clips_show_their_messages(app):
    go(app, views.INPUT)
    app.segmented_control(key=Input.SOURCE).set_value("Upload").run()
    uploader = app.file_uploader(key=Input.UPLOAD)
    short = np.zeros((5, 64, 64), np.uint8)
    uploader.set_value(("short.npy", npy_bytes(short), "application/octet-stream")).run()
    assert "5 input frames; it needs at least 9" in errors(app)
    assert input_source(app) == "test clip 0"  # the input did not change
    rgb = np.zeros((12, 3, 64, 64), np.uint8)
    app.file_uploader(key=Input.UPLOAD).set_value(("rgb.npy", npy_bytes(rgb), "x")).run()
    assert "3 channels; this model expects 1" in errors(app)
    app.file_uploader(key=Input.UPLOAD).set_value(("broken.gif", b"GIF89a...", "image/gif")).run()
    assert "cannot be read as a GIF" in errors(app)
    odd = np.random.default_rng(0).integers(0, 255, (12, 60, 60), dtype=np.uint8)
    app.file_uploader(key=Input.UPLOAD).set_value(("odd.npy", npy_bytes(odd), "x")).run()
    assert "60x60 pixels; each side must be a positive multiple of 16" in errors(app)
    app.checkbox(key=Input.UPLOAD_RESIZE).check().run()
    assert_no_exception(app)
    assert not app.error and input_source(app) == "upload: odd.npy"
    go(app, views.ROLLOUT)
    assert not app.error


def test_motion_probe_and_dataset_file_become_the_input(app):
    go(app, views.INPUT)
    app.segmented_control(key=Input.SOURCE).set_value("Motion probe").run()
    app.slider(key=Input.PROBE_DIRECTION).set_value(90)
    app.slider(key=Input.PROBE_FUTURE).set_value(0).run()
    assert_no_exception(app)
    assert input_source(app) == "motion probe: digit 3 at 90°, 3 px/frame"
    assert any("no frames after the input" in i.value for i in app.info)
    go(app, views.ROLLOUT)
    assert any("No ground truth" in i.value for i in app.info) and not app.error
    go(app, views.INPUT)
    app.segmented_control(key=Input.SOURCE).set_value("Dataset file").run()
    assert app.radio(key=Input.NPY_LAYOUT).value == "TN"  # guessed from (20, 24, 64, 64)
    app.slider(key=Input.NPY_INDEX).set_value(2).run()
    assert_no_exception(app)
    assert input_source(app) == "standard.npy clip 2"


def test_rollout_compares_a_second_checkpoint_and_another_method(app, tmp_path):
    go(app, views.ROLLOUT)
    second = next(o for o in app.selectbox(key=Rollout.COMPARE).options if "no-memory/best" in o)
    app.selectbox(key=Rollout.COMPARE).set_value(second).run()
    assert_no_exception(app)
    methods = [row for row in app.dataframe[-1].value["method"]]
    assert methods == ["model", "copy last frame", "all-zero frames", "second model"]
    folder = next(o for o in app.selectbox(key=Rollout.METHOD_DIR).options if "results" in o)
    app.selectbox(key=Rollout.METHOD_DIR).set_value(folder).run()
    assert any("not clip 0" in w.value for w in app.warning)
    app.button(key=Rollout.METHOD_USE_BUTTON).click().run()
    assert_no_exception(app)
    assert input_source(app) == "results results, clip 0"
    methods = list(app.dataframe[-1].value["method"])
    assert methods == ["model", "copy last frame", "all-zero frames", "second model", "results"]


def test_moving_the_frame_slider_does_not_run_the_model_again(app, tmp_path):
    go(app, views.ROLLOUT)
    trace = tmp_path / "trace.txt"
    runs = trace.read_text().count("model rollout")
    assert runs == 1
    app.slider(key=Rollout.FRAME).set_value(5).run()
    assert_no_exception(app)
    assert trace.read_text().count("model rollout") == runs  # the rollout came from the cache
    assert "fragment rollout.viewer" in trace.read_text()


def gif_url(at) -> str:
    """The address of the Rollout page's animation (Streamlit names media by their content)."""
    [url] = [
        url
        for image in at.get("image")
        for url, caption in zip(image.value, image.captions, strict=True)
        if caption == "input, then prediction"
    ]
    return url


def test_two_uploads_with_one_name_get_their_own_animation(app):
    go(app, views.ROLLOUT)
    clip = app.session_state[Input.CLIP]
    rng = np.random.default_rng(2)

    def upload(preds: np.ndarray) -> None:
        arrays = {"inputs": clip.short[None], "trues": clip.future[None], "preds": preds}
        files = [(f"{k}.npy", npy_bytes(v.astype(np.float32)), "x") for k, v in arrays.items()]
        app.file_uploader(key=Rollout.METHOD_UPLOAD).set_value(files).run()
        assert_no_exception(app)
        assert "uploaded method" in list(app.dataframe[-1].value["method"])

    upload(rng.random(clip.future[None].shape))
    first = gif_url(app)
    upload(rng.random(clip.future[None].shape))
    assert gif_url(app) != first


def test_two_uploads_with_one_name_are_two_clips(app):
    go(app, views.INPUT)
    app.segmented_control(key=Input.SOURCE).set_value("Upload").run()
    rng = np.random.default_rng(1)
    first, second = (rng.integers(0, 255, (12, 64, 64), dtype=np.uint8) for _ in range(2))
    app.file_uploader(key=Input.UPLOAD).set_value(("clip.npy", npy_bytes(first), "x")).run()
    assert input_source(app) == "upload: clip.npy"
    app.file_uploader(key=Input.UPLOAD).set_value(("clip.npy", npy_bytes(second), "x")).run()
    assert_no_exception(app)
    frames = app.session_state[Input.CLIP].frames[:, 0]
    np.testing.assert_allclose(frames, second / 255.0, atol=1e-6)


def test_labels_drawn_into_pictures_have_their_glyphs():
    from PIL import ImageFont

    from dashboard.widgets import Row, _font, grid_image

    def mask(font, text: str) -> np.ndarray:
        m = font.getmask(text)
        return np.asarray(m).reshape(m.size[1], m.size[0])

    def drawn(font, char: str) -> bool:
        """Whether `font` has a glyph for `char`, not the box of a missing one (U+FFFF)."""
        box, glyph = mask(font, "\uffff"), mask(font, char)
        return box.shape != glyph.shape or bool((box != glyph).any())

    # Pillow's own font draws Δ as a box (the missing glyph on Intervene); ours draws it.
    assert not drawn(ImageFont.load_default(size=21), "Δ")
    assert all(drawn(_font(21), c) for c in "Δ→×‖")
    # The Intervene strip's row label is drawn in that font: its left column holds ink.
    sheet = grid_image([Row("|Δ| (max 0.5)", np.zeros((2, 64, 64, 3), np.uint8))], 2, 1)
    assert (sheet[:, :40] < 128).any()


def test_training_figure_plots_the_memory_health_beside_the_losses():
    from dashboard.widgets import training_figure

    base = {"val": {"mse": 100.0, "ssim": 0.5}, "val_baselines": {"zeros": {"mse": 180.0}}}
    plain = [{"iteration": i, "phase1": 0.1, "phase2": 0.1, **base} for i in (1, 2)]
    assert len(training_figure(plain).layout.annotations) == 3  # one title per panel
    health = {
        "slots_alive": 7,
        "effective_slots": 9.0,
        "other_recall_mse_ratio": 1.05,
        "alignment_top1": 0.4,
        "alignment_top1_chance": 0.1,
    }
    watched = [{**r, "health": health} for r in plain]
    fig = training_figure(watched)
    titles = [a.text for a in fig.layout.annotations]
    assert titles[3:] == [
        "slots alive (of S)",
        "another clip's recall: MSE ratio",
        "long/short top-1",
    ]
    alive = next(t for t in fig.data if t.name == "slots alive")
    assert list(alive.y) == [7, 7] and alive.xaxis == "x4"
    # Two rows of three panels: six titles in one row ran into each other.
    rows = sorted({round(a.y, 3) for a in fig.layout.annotations}, reverse=True)
    assert len(rows) == 2
    for y in rows:
        assert len([a for a in fig.layout.annotations if round(a.y, 3) == y]) == 3
    assert fig.layout.height == 720


def test_training_curves_each_have_a_colour_and_a_legend_entry():
    from dashboard.widgets import training_figure

    records = [
        {
            "iteration": i,
            "phase1": 1.0 / i,
            "phase2": 1.1 / i,
            "loss": 2.0 / i,
            "val": {"mse": 90.0 / i, "ssim": 0.2 * i},
            "val_baselines": {"copy_last": {"mse": 120.0, "ssim": 0.5}, "zeros": {"mse": 200.0}},
            "health": {"slots_alive": 7, "other_recall_mse_ratio": 1.0, "alignment_top1": 0.4},
        }
        for i in (1, 2, 3)
    ]
    fig = training_figure(records)

    def colour(trace):
        return trace.line.color

    losses = [t for t in fig.data if t.xaxis == "x"]
    assert len(losses) == 3 and len({colour(t) for t in losses}) == 3
    entries = [t for t in fig.data if t.showlegend is not False]
    names = [t.name for t in entries]
    assert len(names) == len(set(names))  # MSE and SSIM panels share one entry per series
    assert {"model (validation)", "copy last frame", "all-zero frames"} <= set(names)
    solid = [t for t in entries if t.line.dash in (None, "solid")]
    assert len({colour(t) for t in solid}) == len(solid)  # every solid curve its own colour
    assert len({(colour(t), t.line.dash) for t in entries}) == len(entries)
    # A series hidden from the legend shares its group with the entry that names it.
    for t in fig.data:
        if t.showlegend is False:
            assert any(e.legendgroup == t.legendgroup and colour(e) == colour(t) for e in entries)


def test_a_hostile_model_card_fetches_nothing_and_bad_metrics_do_not_break_the_page(
    tmp_path, monkeypatch
):
    from lmc import save_checkpoint

    path = tmp_path / "models" / "hostile.safetensors"
    path.parent.mkdir()
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64)),
        path,
        model_card="# Card\n\n![who opened me](https://tracker.example/p.png)\n",
        metrics={"mse": "very good", "ssim": 0.5},
    )
    app = start_app(monkeypatch, tmp_path, path)
    assert_no_exception(app)
    shown = " ".join(m.value for m in app.markdown)
    assert "https://tracker.example/p.png" in shown and "image not shown: who opened me" in shown
    assert "![" not in shown
    scores = app.table[1].value  # st.table of the validation scores saved with it
    assert scores.to_dict("records") == [{"MSE": "not a number", "SSIM": "0.5"}]
