"""The dashboard on the clips with motion contexts, in Streamlit's AppTest: the session's test set
starts as the model's training data and is one choice for every page (in the link too); the
Input page names each digit's family and its probe draws a digit of a chosen family; the Slot
atlas shows each slot's family make-up and names it, its bars open the Search page on that
family; Search filters by family; Embeddings colours by family; Compare memories puts the family
figures side by side. Every value is checked against lmc.analysis over the pass the app stored.
"""

import base64
import hashlib
import json

import numpy as np
import pytest
import torch
from dashboard_helpers import (
    assert_clean,
    go,
    ignored,
    input_source,
    open_link,
    start_app,
    texts,
)

from dashboard import views
from dashboard.keys import Atlas, Compare, Embeddings, Input, Search
from dashboard.memory_widgets.family_figures import FAMILY_COLOURS
from lmc import ModelConfig, build_model, save_checkpoint
from lmc.analysis import compare as cp
from lmc.analysis import dataset_pass as dp
from lmc.analysis import search as se
from lmc.analysis.dataset_pass import load_pass
from lmc.analysis.families import (
    MIN_NAMING_CELLS,
    family_name,
    labelled_cells,
    slot_families,
    slot_name,
)
from lmc.analysis.probe import family_probe
from lmc.data.fixed_sets import fixed_set
from lmc.data.motion_contexts import FAMILIES

TIMEOUT = 120  # seconds per run: the machine may be shared
CLIPS = 100  # the least the clip slider allows


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny 64x64 memories: one whose checkpoint says it was trained on motion contexts,
    one that names no training data (read as standard), the `demo` of a link."""
    root = tmp_path_factory.mktemp("families-app")
    tiny = ModelConfig.preset("tiny", image_size=64)
    torch.manual_seed(0)
    save_checkpoint(build_model(tiny), root / "contexts.safetensors", step=3, motion="contexts")
    torch.manual_seed(1)
    save_checkpoint(build_model(tiny), root / "demo.safetensors", step=3)
    return root


def figure(at, title_start: str) -> dict:
    """The Plotly figure (as JSON) of the chart whose title starts with `title_start`."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        if title.startswith(title_start):
            return spec
    raise AssertionError(f"no chart titled {title_start!r}")


def unpack(values) -> np.ndarray:
    """An array of a figure's JSON: a list, or Plotly's base-64 {"dtype", "bdata"}."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def stored(tmp_path, checkpoint, motion: str = "contexts"):
    """The pass the app stored for `checkpoint` over CLIPS clips of the test set `motion`
    (dashboard.model_state's key: the file's digest and the dataset)."""
    key = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16] + "-lmc"
    selection = dp.fixed_set_selection(CLIPS, image_size=64, motion=motion)
    return load_pass(dp.cache_path(key, selection, root=tmp_path / "cache" / "analysis"))


def test_the_test_set_starts_as_the_models_training_data(models, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, models / "contexts.safetensors", page=views.INPUT)
    assert_clean(at)
    assert at.radio(key=Input.TEST_MOTION).value == "contexts"
    assert input_source(at) == "motion-context test clip 0"
    clips = fixed_set("test", 4, image_size=64, motion="contexts")
    families = [FAMILIES[f] for f in clips.families[0]]
    named = [f"digit {d}: {f}" for d, f in zip(clips.labels[0], families, strict=True)]
    assert f"Motion families: {', '.join(named)}." in texts(at)
    assert at.dataframe[0].value["family"].tolist() == families
    assert "testset" not in at.query_params  # the model's own test set goes unnamed
    # The other test set: the input follows it, the link names it.
    at.radio(key=Input.TEST_MOTION).set_value("standard").run()
    assert_clean(at)
    assert input_source(at) == "test clip 0"
    assert "family" not in at.dataframe[0].value.columns
    assert at.query_params["testset"] == "standard"
    # A model whose checkpoint names no training data starts on standard Moving-MNIST.
    at = start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)
    assert at.radio(key=Input.TEST_MOTION).value == "standard"
    assert input_source(at) == "test clip 0"


def test_a_link_names_the_test_set(models, tmp_path, monkeypatch):
    link = {"testset": "contexts", "input": "test", "clip": "2"}
    at = open_link(monkeypatch, tmp_path, models, views.INPUT, link)
    assert_clean(at)
    assert not ignored(at)
    assert input_source(at) == "motion-context test clip 2"
    assert {k: v for k, v in at.query_params.items() if k != "model"} == link
    at = open_link(monkeypatch, tmp_path, models, views.INPUT, {"testset": "spiral"})
    assert "`testset=spiral` is not a test set; the test sets are standard, contexts" in ignored(at)
    assert input_source(at) == "test clip 0"
    # A search link's family on the standard test set is said, not applied.
    at = open_link(monkeypatch, tmp_path, models, views.SEARCH, {"family": "zigzag"})
    assert "`family=zigzag`: the test set is Moving-MNIST" in ignored(at)


def test_the_probe_draws_a_digit_of_a_chosen_family(models, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)
    at.segmented_control(key=Input.SOURCE).set_value("Motion probe").run()
    at.selectbox(key=Input.PROBE_FAMILY).set_value("orbit-cw").run()
    assert_clean(at)
    assert input_source(at) == "motion probe: digit 3, orbit-cw (mid-range parameters)"
    assert (
        "orbit-cw: phase 180 deg, radius 11 px, period 30 frames, centre y 18 px, centre x 18 px."
        in texts(at)
    )
    assert "Motion families: digit 3: orbit-cw." in texts(at)
    assert at.query_params == {
        "model": at.query_params["model"],
        "input": "probe",
        "family": "orbit-cw",
        "digits": "3",
        "future": "10",
    }
    at.radio(key=Input.PROBE_DRAW).set_value("seed").run()
    at.number_input(key=Input.PROBE_SEED).set_value(4).run()
    assert input_source(at) == "motion probe: digit 3, orbit-cw (parameters of seed 4)"
    want = family_probe(3, "orbit-cw", 20, seed=4)
    assert np.array_equal(at.session_state[Input.CLIP].frames, want.frames)
    assert at.query_params["seed"] == "4"
    # A link opens the same probe in a new session; a family that is none is said.
    link = {"input": "probe", "family": "zigzag", "digits": "7", "seed": "5", "future": "4"}
    at = open_link(monkeypatch, tmp_path, models, views.INPUT, link)
    assert not ignored(at)
    assert input_source(at) == "motion probe: digit 7, zigzag (parameters of seed 5)"
    assert at.session_state[Input.CLIP].frames.shape[0] == 14
    at = open_link(monkeypatch, tmp_path, models, views.INPUT, {**link, "family": "spin"})
    assert "`family=spin` is not a motion family; the families are bounce" in ignored(at)
    assert input_source(at).startswith("motion probe: digit 7 at 0°")


def test_atlas_search_and_embeddings_know_the_families(models, tmp_path, monkeypatch):
    at = start_app(
        monkeypatch,
        tmp_path,
        models / "contexts.safetensors",
        test_clips=8,
        page=views.ATLAS,
        timeout=TIMEOUT,
    )
    assert at.radio(key=Input.TEST_MOTION).value == "contexts"
    assert any("(motion contexts) with this model" in i.value for i in at.info)
    at.slider(key=Atlas.CLIPS).set_value(CLIPS).run()
    at.button(key=Atlas.RUN_BUTTON).click().run()
    assert_clean(at)
    sample = stored(tmp_path, models / "contexts.safetensors")
    assert sample.has_families and sample.num_clips == CLIPS
    top = sample.short_weights.argmax(-1)
    known = labelled_cells(sample.cell_family, sample.family_coverage)
    counts = slot_families(top, sample.cell_family, known, sample.memory_size)
    names = [slot_name(c) for c in counts]
    named = [k for k, name in enumerate(names) if name]
    alive = len(np.unique(top))
    assert any(
        e.label == f"Slots named by a motion family: {len(named)} of the {alive} ever top-1"
        for e in at.expander
    )
    # The slot shown (the busiest) with its family make-up: shares, cells and clips.
    slot = int(np.bincount(top.ravel()).argmax())
    assert at.selectbox(key=Atlas.SLOT).value == slot
    mine = known & (top == slot)
    title = f"family make-up: {int(mine.sum()):,} cells over {int(mine.any(axis=1).sum())} clips"
    bars = figure(at, title)["data"][0]
    np.testing.assert_allclose(unpack(bars["x"]), counts[slot] / counts[slot].sum())
    assert bars["y"] == list(FAMILIES)
    assert bars["marker"]["color"] == [FAMILY_COLOURS[f] for f in FAMILIES]
    cells = int(mine.sum())
    if names[slot]:
        heading = f"**Slot {slot}: {names[slot]}**"
    elif cells < MIN_NAMING_CELLS:
        heading = f"**Slot {slot}**: too few labelled cells to name it ({cells} of the 20"
    else:
        heading = f"**Slot {slot}**: no family dominates"
    assert heading in " ".join(m.value for m in at.markdown)
    table = next(d.value for d in at.dataframe if "named by family" in d.value.columns)
    assert table.set_index("slot")["named by family"].to_dict() == {
        k: name or "" for k, name in enumerate(names)
    }

    # A click on the make-up's bar of the slot's most common family: those cells on Search.
    family = int(np.argmax(counts[slot]))
    at.session_state[Atlas.FAMILY_REQUEST] = family
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Search"
    assert at.selectbox(key=Search.SLOT).value == slot
    assert at.selectbox(key=Search.FAMILY).value == FAMILIES[family]
    query = se.Query(slot=slot, family=FAMILIES[family])
    found = se.search_pass(sample, query)
    assert found.total == counts[slot, family]  # the bar's count, cell for cell
    assert f"**{found.total:,}** of the {CLIPS * 16:,} cells" in texts(at)
    captions = [c for image in at.get("image") for c in image.captions if c.startswith("slot ")]
    assert len(captions) == min(found.total, se.PAGE_SIZE)
    assert all(f" · {FAMILIES[family]} · clip's digits" in c for c in captions)
    assert at.query_params["family"] == FAMILIES[family]
    # Another family on the same page of filters (AppTest reruns the page it last switched to).
    at = go(at, views.SEARCH)
    assert at.selectbox(key=Search.FAMILY).value == FAMILIES[family]
    other = FAMILIES[(family + 1) % len(FAMILIES)]
    at.selectbox(key=Search.FAMILY).set_value(other).run()
    total = se.search_pass(sample, se.Query(slot=slot, family=other)).total
    said = f"**{total:,}** of the" if total else "No cell of the"
    assert said in texts(at) + " ".join(i.value for i in at.info)

    # Embeddings: coloured by family at once, one trace and one colour per family.
    at.session_state[Embeddings.CLIPS] = CLIPS
    at = go(at, views.EMBEDDINGS)
    assert_clean(at)
    assert at.selectbox(key=Embeddings.COLOUR).value == "motion family"
    families = se.pass_families(sample).reshape(-1)  # every one of the 1,600 cells is mapped
    spec = next(
        json.loads(c.proto.spec) for c in at.get("plotly_chart") if "dragmode" in c.proto.spec
    )
    traces = {t["name"]: t for t in spec["data"] if t["name"] != "memory slots"}
    want = {family_name(f): int((families == f).sum()) for f in np.unique(families)}
    assert {name: len(unpack(t["customdata"])) for name, t in traces.items()} == want
    assert {name: t["marker"]["color"] for name, t in traces.items()} == {
        name: FAMILY_COLOURS[name] for name in want
    }


def test_compare_puts_the_family_figures_side_by_side(models, tmp_path, monkeypatch):
    at = start_app(
        monkeypatch, tmp_path, models / "contexts.safetensors", page=views.COMPARE, timeout=TIMEOUT
    )
    at.segmented_control(key=Compare.SOURCE).set_value("Checkpoint folders").run()
    at.text_input(key=Compare.TYPED_PATH).set_value(str(models / "demo.safetensors")).run()
    at.button(key=Compare.OPEN_BUTTON).click().run()
    at.slider(key=Compare.CLIPS).set_value(CLIPS).run()
    at.button(key=Compare.RUN_BUTTON).click().run()
    assert_clean(at)
    names = ("contexts.safetensors", "demo.safetensors")
    samples = [stored(tmp_path, models / name) for name in names]
    assert all(s.has_families for s in samples)
    left, right = (cp.summarise(s) for s in samples)
    said = " ".join(m.value for m in at.markdown)
    sentence = cp.family_sentence(left, right, names)
    assert sentence.startswith("Top slot and the motion family (NMI): ") and sentence in said
    table = next(
        d.value for d in at.dataframe if "names the motion context" in d.value[""].tolist()
    )
    rows = table.set_index("")
    assert rows.loc["NMI of the top slot with the motion family"].tolist() == [
        f"{left.nmi_family:.2f}",
        f"{right.nmi_family:.2f}",
    ]
    assert rows.loc["  with the cell, over the same cells"].tolist() == [
        f"{left.nmi_family_cell:.2f}",
        f"{right.nmi_family_cell:.2f}",
    ]
    assert at.radio(key=Compare.MAP_COLOUR).value == "motion family"


def test_health_measures_on_the_models_own_clips_with_the_family_figures(
    models, tmp_path, monkeypatch
):
    from dashboard.keys import Health

    at = start_app(
        monkeypatch, tmp_path, models / "contexts.safetensors", page=views.HEALTH, timeout=TIMEOUT
    )
    assert at.radio(key=Input.TEST_MOTION).value == "contexts"  # its training data
    assert any("no health report for 256 clips (motion contexts) yet" in i.value for i in at.info)
    at.radio(key=Health.CLIPS).set_value(64).run()
    at.button(key=Health.MEASURE_BUTTON).click().run()
    assert_clean(at)
    shown = texts(at)
    assert "Measured on the first 64 clips of the generated test set (motion contexts" in shown
    # the context verdict, whichever it is ("names the motion context", "does not name the
    # motion context", "follows the cell more than the motion context"), in bold
    assert "motion context**" in shown
    measures = at.dataframe[0].value["measure"].tolist()
    assert "NMI top slot ~ motion family" in measures
    assert "family probe, true input motion (ceiling)" in measures
    # The same model on standard clips: another report, without the family figures.
    at.radio(key=Input.TEST_MOTION).set_value("standard").run()
    assert any("no health report for 64 clips (Moving-MNIST) yet" in i.value for i in at.info)
