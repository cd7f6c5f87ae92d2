"""The view in the URL (dashboard/url_state.py) and clips by number (dashboard/clip_picker.py), in
Streamlit's AppTest: a link opens its view in a new session, widgets write the link, every bad
value is named with its limit and ignored, no link reads a file outside the checkpoint roots, and
previous / next / random move the clip within its bounds."""

import numpy as np
import pytest
from dashboard_helpers import (
    assert_clean,
    assert_no_exception,
    go,
    ignored,
    input_source,
    model_label,
    open_link,
    start_app,
    texts,
    write_link_models,
)

from dashboard import input_state, model_state, views
from dashboard.clip_picker import step
from dashboard.keys import Input, Intervene, Model, Recall, Rollout
from dashboard.series import LONG_RECALL, SHORT_RECALL
from lmc.demos import DEMOS


@pytest.fixture
def models(tmp_path):
    return write_link_models(tmp_path)


# ------------------------------------------------------------------------ a link opens its view
def test_a_link_opens_its_model_input_cell_and_phase(models, tmp_path, monkeypatch):
    link = {
        "model": str(models / "other" / "wide.safetensors"),
        "input": "test",
        "clip": "2",
        "cell": "5",
        "phase": "long",
    }
    at = open_link(monkeypatch, tmp_path, models, views.RECALL, link)
    assert_clean(at)
    assert not ignored(at)
    assert model_label(at) == f"{models.name}/other/wide.safetensors"
    assert input_source(at) == "test clip 2"
    assert at.selectbox(key=Recall.CELL).value == 5
    assert at.radio(key=Recall.PHASE).value == LONG_RECALL
    assert "Cell 5, top 5 slots" in texts(at)
    assert at.query_params == link  # written back as it came
    # The same model and clip on the Intervene page, with a slot only this model has (12 slots).
    at = open_link(monkeypatch, tmp_path, models, views.INTERVENE, {**link, "slot": "11"})
    assert_clean(at)
    assert not ignored(at)
    assert at.number_input(key=Intervene.SLOT).value == 11
    assert at.session_state[Intervene.CELL] == 5
    assert at.query_params["slot"] == "11" and at.query_params["clip"] == "2"


def test_widgets_write_the_link_and_it_restores_the_view(models, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)
    demo = str(models / "demo.safetensors")
    assert at.query_params == {"model": demo, "input": "test", "clip": "0"}
    at.slider(key=Input.TEST_INDEX).set_value(3).run()
    assert at.query_params == {"model": demo, "input": "test", "clip": "3"}
    at.segmented_control(key=Input.SOURCE).set_value("Motion probe").run()
    at.slider(key=Input.PROBE_DIRECTION).set_value(45)
    at.slider(key=Input.PROBE_SPEED).set_value(2.5).run()
    probe = {"digits": "3", "direction": "45", "speed": "2.5", "turn": "180", "future": "10"}
    assert at.query_params == {"model": demo, "input": "probe", **probe}
    go(at, views.RECALL)
    at.selectbox(key=Recall.CELL).set_value(7).run()
    assert at.query_params["cell"] == "7" and at.query_params["phase"] == "short"
    go(at, views.ROLLOUT)
    at.slider(key=Rollout.FRAME).set_value(4).run()
    link = dict(at.query_params)
    assert link == {"model": demo, "input": "probe", **probe, "frame": "4"}
    source, key = input_source(at), at.session_state[Input.CLIP].key
    # A new session opened by that link shows the same probe and frame.
    again = open_link(monkeypatch, tmp_path, models, views.ROLLOUT, link)
    assert_clean(again) and not ignored(again)
    assert input_source(again) == source == "motion probe: digit 3 at 45°, 2.5 px/frame"
    assert at.session_state[Input.CLIP].key == key
    assert again.slider(key=Rollout.FRAME).value == 4
    go(again, views.INPUT)
    assert again.segmented_control(key=Input.SOURCE).value == "Motion probe"
    assert again.slider(key=Input.PROBE_SPEED).value == 2.5


def test_a_dataset_file_link_opens_its_clip_and_layout(models, tmp_path, monkeypatch):
    link = {"input": "file", "file": str(models / "data" / "standard.npy"), "layout": "TN"}
    at = open_link(monkeypatch, tmp_path, models, views.INPUT, {**link, "clip": "5"})
    assert_clean(at)
    assert not ignored(at)
    assert input_source(at) == "standard.npy clip 5"
    assert at.segmented_control(key=Input.SOURCE).value == "Dataset file"
    assert at.radio(key=Input.NPY_LAYOUT).value == "TN"
    assert at.slider(key=Input.NPY_INDEX).value == 5
    assert at.query_params["clip"] == "5" and at.query_params["file"] == link["file"]


# ---------------------------------------------------------------- bad values: named and ignored
def test_bad_values_on_the_recall_page_are_named_and_ignored(models, tmp_path, monkeypatch):
    link = {"model": "nonexistent", "clip": "4", "cell": "16", "phase": "sideways", "cel": "5"}
    at = open_link(monkeypatch, tmp_path, models, views.RECALL, link)
    note = ignored(at)
    assert f"`model=nonexistent` is neither a bundled demo ({', '.join(DEMOS)})" in note
    assert "`clip=4` is out of range: the test set has clips 0 .. 3" in note
    assert (
        "`cell=16` is out of range: this model's query grid on this input has cells 0 .. 15" in note
    )
    assert "`phase=sideways` is not a phase of this page; the phases are short, long, both" in note
    assert "`cel` is not a parameter of a link" in note
    # Each falls back to its default.
    assert model_label(at) == "bundled demo (demo.safetensors)"
    assert input_source(at) == "test clip 0"
    assert at.selectbox(key=Recall.CELL).value == 0
    assert at.radio(key=Recall.PHASE).value == SHORT_RECALL
    assert at.query_params == {
        "model": str(models / "demo.safetensors"),
        "input": "test",
        "clip": "0",
        "cell": "0",
        "phase": "short",
    }
    # Text where a number belongs, and a long-window phase for a probe without a future.
    at.query_params = {"input": "probe", "future": "0", "phase": "long", "cell": "two"}
    at.run()
    note = ignored(at)
    assert "`cell=two` is not a whole number; this model's query grid" in note
    assert "`phase=long`: the input has no frames after the 10 the model sees" in note
    assert input_source(at) == "motion probe: digit 3 at 0°, 3 px/frame"
    assert at.radio(key=Recall.PHASE).value == SHORT_RECALL
    go(at, views.INPUT)  # the note belongs to the page the link opened
    assert not ignored(at)


def test_bad_probe_values_fall_back_one_by_one(models, tmp_path, monkeypatch):
    link = {
        "input": "probe",
        "digits": "3,x",
        "direction": "7",
        "speed": "9",
        "turn": "20",
        "future": "99",
        "frame": "11",
    }
    at = open_link(monkeypatch, tmp_path, models, views.ROLLOUT, link)
    note = ignored(at)
    assert "`digits=3,x` is not a list of 1 .. 3 digits 0 .. 9" in note
    assert (
        "`direction=7` is not a setting of the slider: the direction (degrees) is 0 .. 355 in steps of 5"
        in note
    )
    assert "`speed=9` is out of range: the speed (pixels per frame) is 0.0 .. 8.0" in note
    assert "`turn=20` is not a setting of the slider: the turn of each further digit" in note
    assert "`future=99` is out of range: the number of future frames is 0 .. 20" in note
    assert "`frame=11` is out of range: the rollout predicts frames 1 .. 10" in note
    assert input_source(at) == "motion probe: digit 3 at 0°, 3 px/frame"  # the defaults
    assert at.slider(key=Rollout.FRAME).value == 1
    # A probe the input cannot hold without a bounce is refused whole: the input stays.
    at.query_params = {"input": "probe", "speed": "8", "direction": "0"}
    at.run()
    assert "the link's motion probe cannot be made" in ignored(at)
    assert "At 0° at most 4.00 px/frame fits" in ignored(at)
    assert input_source(at) == "motion probe: digit 3 at 0°, 3 px/frame"
    at.query_params = {"input": "webcam", "dataset": "imagenet"}
    at.run()
    assert "`input=webcam` is not an input of a link; the inputs are test, probe, file" in ignored(
        at
    )
    assert "`dataset=imagenet` is not a dataset; the datasets are movingmnist, kth" in ignored(at)


def test_slots_beyond_the_memory_and_a_model_without_memory(models, tmp_path, monkeypatch):
    at = open_link(monkeypatch, tmp_path, models, views.INTERVENE, {"slot": "10", "cell": "-1"})
    note = ignored(at)
    assert "`slot=10` is out of range: this model's memory has slots 0 .. 9" in note
    assert "`cell=-1` is out of range" in note
    assert at.number_input(key=Intervene.SLOT).value == 0
    plain = str(models / "no-memory" / "best.safetensors")
    at = open_link(monkeypatch, tmp_path, models, views.RECALL, {"model": plain, "cell": "3"})
    assert "`cell=3`: this model has no memory, so no cells" in ignored(at)
    assert at.session_state[Model.CURRENT].path == plain  # the link's model, not the demo
    assert at.query_params["model"] == plain and "cell" not in at.query_params


def test_a_link_never_opens_a_file_outside_the_roots(models, tmp_path, monkeypatch):
    """Absolute paths, `..` and a link planted inside the roots are refused before any read: the
    checkpoint loader and the dataset reader never see them."""
    read = []
    digest, npy = model_state.file_digest, input_state.open_npy
    monkeypatch.setattr(model_state, "file_digest", lambda p: read.append(str(p)) or digest(p))
    monkeypatch.setattr(input_state, "open_npy", lambda p, m: read.append(str(p)) or npy(p, m))
    outside = tmp_path / "outside"
    links = [
        {"model": str(outside / "x.safetensors")},
        {"model": f"{models}/../outside/x.safetensors"},
        {"model": str(models / "planted.safetensors")},
        {"model": "/etc/passwd"},
        {"input": "file", "file": str(outside / "clips.npy")},
        {"input": "file", "file": f"{models}/data/../../outside/clips.npy"},
    ]
    at = open_link(monkeypatch, tmp_path, models, views.RECALL, links[0])
    for link in links:
        at.query_params = link
        at.run()
        assert_no_exception(at)
        name, value = next(iter(link.items())) if "model" in link else ("file", link["file"])
        assert f"`{name}={value}`" in ignored(at)
        assert "outside the folders the dashboard may read" in ignored(at)
        assert model_label(at) == "bundled demo (demo.safetensors)"
        assert input_source(at) == "test clip 0"
    assert not [p for p in read if "outside" in p or p == "/etc/passwd"]
    # A checkpoint in the roots with another suffix, and a .npy file the picker does not list.
    at.query_params = {"model": str(models / "data" / "standard.npy")}
    at.run()
    assert "is not a checkpoint: its name must end in .safetensors, .pt, .pth" in ignored(at)


def test_a_link_to_a_symlink_loop_or_a_malformed_authors_file_is_noted_not_a_crash(
    models, tmp_path, monkeypatch
):
    import torch

    from lmc import ModelConfig, build_model
    from lmc.official import ours_to_official

    (tmp_path / "loop.pt").symlink_to(tmp_path / "loop.pt")  # outside the roots
    (models / "loop.pt").symlink_to(models / "loop.pt")  # inside them
    state = ours_to_official(build_model(ModelConfig.preset("tiny", image_size=64)))
    state["module.encoder.0.weight"] = torch.zeros(4)  # rank 1: its shape[1] does not exist
    torch.save(state, models / "rank1.pt")
    cases = [
        (str(tmp_path / "loop.pt"), "outside the folders the dashboard may read"),
        (str(models / "loop.pt"), "cannot be resolved"),
        (str(models / "rank1.pt"), "encoder.0.weight has shape (4,); expected 4 dimensions"),
    ]
    at = open_link(monkeypatch, tmp_path, models, views.RECALL, {"model": cases[0][0]})
    for value, message in cases:
        at.query_params = {"model": value}
        at.run()
        assert_no_exception(at)
        assert f"`model={value}`" in ignored(at) and message in ignored(at)
        assert model_label(at) == "bundled demo (demo.safetensors)"


# ---------------------------------------------------------------------------------- navigation
def test_step_stays_within_the_bounds_and_random_draws_another_clip():
    rng = np.random.default_rng(0)
    assert step(0, 5, "previous", rng) == 0 and step(3, 5, "previous", rng) == 2
    assert step(4, 5, "next", rng) == 4 and step(1, 5, "next", rng) == 2
    assert step(0, 1, "random", rng) == 0  # a single clip has nowhere to go
    draws = [step(2, 5, "random", np.random.default_rng(seed)) for seed in range(200)]
    assert 2 not in draws and set(draws) == {0, 1, 3, 4}
    # The same seed, the same draws: k of the 4 others, counted past the current clip.
    expected = int(np.random.default_rng(7).integers(4))
    assert step(2, 5, "random", np.random.default_rng(7)) == expected + (expected >= 2)
    with pytest.raises(ValueError, match="needs a generator"):
        step(2, 5, "random")
    with pytest.raises(ValueError, match="unknown move 'sideways'"):
        step(0, 5, "sideways", rng)


def test_test_clips_by_number_previous_next_and_random(models, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)
    assert at.button(key=Input.TEST_PREVIOUS).disabled  # clip 0 of 4
    at.button(key=Input.TEST_NEXT).click().run()
    assert at.slider(key=Input.TEST_INDEX).value == 1
    assert at.number_input(key=Input.TEST_NUMBER).value == 1
    assert input_source(at) == "test clip 1" and at.query_params["clip"] == "1"
    at.number_input(key=Input.TEST_NUMBER).set_value(3).run()
    assert at.slider(key=Input.TEST_INDEX).value == 3 and input_source(at) == "test clip 3"
    assert at.button(key=Input.TEST_NEXT).disabled  # the last clip
    assert not at.button(key=Input.TEST_PREVIOUS).disabled
    at.button(key=Input.TEST_PREVIOUS).click().run()
    assert at.slider(key=Input.TEST_INDEX).value == 2
    at.session_state[Input.RANDOM_SEED] = 11
    rng = np.random.default_rng(11)
    first = step(2, 4, "random", rng)
    second = step(first, 4, "random", rng)
    at.button(key=Input.TEST_RANDOM).click().run()
    assert at.slider(key=Input.TEST_INDEX).value == first != 2
    at.button(key=Input.TEST_RANDOM).click().run()
    assert at.slider(key=Input.TEST_INDEX).value == second != first
    assert input_source(at) == f"test clip {second}"
    assert at.number_input(key=Input.TEST_NUMBER).value == second


def test_dataset_file_clips_by_number(models, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)
    at.segmented_control(key=Input.SOURCE).set_value("Dataset file").run()
    standard = next(o for o in at.selectbox(key=Input.NPY_PICK).options if "standard" in o)
    at.selectbox(key=Input.NPY_PICK).set_value(standard).run()
    assert at.button(key=Input.NPY_PREVIOUS).disabled
    at.button(key=Input.NPY_NEXT).click().run()
    assert input_source(at) == "standard.npy clip 1"
    at.number_input(key=Input.NPY_NUMBER).set_value(23).run()  # (20, 24, 64, 64): 24 clips
    assert input_source(at) == "standard.npy clip 23"
    assert at.button(key=Input.NPY_NEXT).disabled
    assert at.query_params["input"] == "file" and at.query_params["clip"] == "23"
