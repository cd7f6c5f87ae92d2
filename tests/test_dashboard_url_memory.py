"""The Search and Compare memories pages' views in the URL (dashboard/link_table.py), in
Streamlit's AppTest: a link opens its search (filters, sort, page, phase, clips) and its second
model, the page writes the same link back, and each bad value is named with its limit and left at
its default; a second model outside the checkpoint roots is never opened."""

import re

import numpy as np
import pytest
from dashboard_helpers import assert_clean, go, ignored, open_link, write_link_models

from dashboard import views
from dashboard.keys import Compare, Search
from dashboard.second_model import DEMO, FOLDERS
from dashboard.series import LONG_RECALL
from lmc.analysis import search as se
from lmc.analysis.dataset_pass import load_pass
from lmc.demos import DEMO_TITLES, DEMOS

CARD = re.compile(r"^slot (\d+): weight \d\.\d{4} .* · clip (\d+), cell (\d+) ")


@pytest.fixture
def models(tmp_path):
    return write_link_models(tmp_path)


def cards(at) -> list[tuple[int, int, int]]:
    """(slot, clip number, cell) of every search card, in order."""
    return [
        tuple(int(g) for g in m.groups())
        for image in at.get("image")
        for caption in image.captions
        if (m := CARD.match(caption)) is not None
    ]


def expected(sample, query: se.Query, page: int, sort: str, phase: str = "short"):
    found = se.search_pass(sample, query, phase, sort=sort, page=page)
    return [
        (int(s), int(sample.clip_index[c]), int(k))
        for c, k, s in zip(found.clip, found.cell, found.slot, strict=True)
    ]


def test_a_search_link_opens_its_filters_and_page(models, tmp_path, monkeypatch):  # noqa: F811
    at = open_link(monkeypatch, tmp_path, models, views.SEARCH, {"clips": "100"})
    assert at.slider(key=Search.CLIPS).value == 100
    at.button(key=Search.RUN_BUTTON).click().run()
    assert_clean(at)
    (stored,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    sample = load_pass(stored)
    top = sample.long_weights.argmax(-1)
    slot = int(np.bincount(top.ravel()).argmax())
    assert (top == slot).sum() > 2 * se.PAGE_SIZE  # three pages at least
    link = {"slot": str(slot), "sort": "clip", "page": "3", "phase": "long", "clips": "100"}
    at = open_link(monkeypatch, tmp_path, models, views.SEARCH, link)
    assert_clean(at)
    assert not ignored(at)
    assert at.selectbox(key=Search.SLOT).value == slot
    assert at.radio(key=Search.SORT).value == "clip, then cell"
    assert at.radio(key=Search.PHASE).value == LONG_RECALL
    assert at.number_input(key=Search.PAGE).value == 3
    assert cards(at) == expected(sample, se.Query(slot=slot), 3, "clip", "long")
    assert {k: at.query_params[k] for k in link} == link  # written back as it came

    # Motion, a digit and a place; the filters a link leaves out are "any".
    link = {"towards": "315..45", "speeds": "1..2.5", "digit": "3", "row": "1", "col": "2"}
    at = open_link(monkeypatch, tmp_path, models, views.SEARCH, {**link, "clips": "100"})
    assert_clean(at)
    assert not ignored(at)
    assert at.selectbox(key=Search.DIRECTION).value == "a range of degrees"
    assert (
        at.number_input(key=Search.DEGREES_FROM).value,
        at.number_input(key=Search.DEGREES_TO).value,
    ) == (315, 45)
    assert at.slider(key=Search.SPEED).value == (1.0, 2.5)
    assert at.selectbox(key=Search.SLOT).value is None
    query = se.Query(degrees=(315, 45), speed=(1.0, 2.5), digit=3, row=1, col=2)
    shown = cards(at)
    assert shown and shown == expected(sample, query, 1, "weight")
    assert at.number_input(key=Search.PAGE).value == 1
    assert {k: at.query_params[k] for k in link} == link
    assert "slot" not in at.query_params and "cell" not in at.query_params
    # A named direction, and the widgets write the link.
    at.selectbox(key=Search.DIRECTION).set_value("left").run()
    assert at.query_params["towards"] == "left"
    at.selectbox(key=Search.CELL).set_value(6).run()
    assert at.query_params["cell"] == "6"
    assert cards(at) == expected(
        sample,
        se.Query(direction="left", speed=(1.0, 2.5), digit=3, row=1, col=2, cell=6),
        1,
        "weight",
    )


def test_bad_search_values_are_named_and_ignored(models, tmp_path, monkeypatch):  # noqa: F811
    link = {
        "slot": "10",
        "cell": "x",
        "row": "4",
        "towards": "sideways",
        "speeds": "3..1",
        "digit": "12",
        "sort": "random",
        "page": "0",
        "phase": "both",
        "clips": "150",
    }
    at = open_link(monkeypatch, tmp_path, models, views.SEARCH, link)
    note = ignored(at)
    assert "`slot=10` is out of range: this model's memory has slots 0 .. 9" in note
    assert (
        "`cell=x` is not a whole number; this model's query grid has 4 rows and 4 columns, cells 0 .. 15"
        in note
    )
    assert (
        "`row=4` is out of range: this model's query grid has 4 rows and 4 columns, rows 0 .. 3"
        in note
    )
    assert "`towards=sideways` is not a direction: a direction is one of right, up-right," in note
    assert "`speeds=3..1`: the low end exceeds the high end; speeds are low..high px/frame" in note
    assert "`digit=12` is out of range: the digits are 0 .. 9" in note
    assert "`sort=random` is not a sort of the search; they are weight, clip" in note
    assert "`page=0` is out of range: pages count from 1" in note
    assert "`phase=both` is not a phase of this page; the phases are short, long" in note
    assert (
        "`clips=150` is not a setting of the slider: the clip slider is 100 .. 2000 in steps of 100"
        in note
    )
    at.query_params = {"towards": "10..400", "speeds": "0.3..1", "clips": "5000"}
    at.run()
    note = ignored(at)
    assert "`towards=10..400` is not a direction" in note
    assert (
        "`speeds=0.3..1` is not a setting of the slider: speeds are low..high px/frame, from 0 in steps of 0.5"
        in note
    )
    assert "`clips=5000` is out of range: the clip slider is 100 .. 2000 in steps of 100" in note
    # The defaults: the search over 500 clips (not yet run), every filter "any".
    assert at.slider(key=Search.CLIPS).value == 500
    at.slider(key=Search.CLIPS).set_value(100).run()
    at.button(key=Search.RUN_BUTTON).click().run()
    assert_clean(at)
    assert (
        at.selectbox(key=Search.SLOT).value is None
        and at.selectbox(key=Search.DIRECTION).value == "any"
    )
    # A page past the end: noted at the top with the pages the search has, page 1 shown.
    at.query_params = {"clips": "100", "digit": "3", "cell": "0", "page": "40"}
    at.run()
    assert_clean(at)
    (stored,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    total = se.search_pass(load_pass(stored), se.Query(digit=3, cell=0)).total
    pages = -(-total // se.PAGE_SIZE)
    assert f"`page=40` is out of range: this search has pages 1 .. {pages}" in ignored(at)
    assert at.number_input(key=Search.PAGE).value == 1 and at.query_params["page"] == "1"


def test_a_link_names_the_second_model(models, tmp_path, monkeypatch):  # noqa: F811
    wide = models / "other" / "wide.safetensors"
    link = {"second": str(wide), "clips": "200", "phase": "long"}
    at = open_link(monkeypatch, tmp_path, models, views.COMPARE, link)
    assert_clean(at)
    assert not ignored(at)
    assert at.segmented_control(key=Compare.SOURCE).value == FOLDERS
    assert at.session_state[Compare.OTHER].path == str(wide)
    assert "Right: wide.safetensors" in " ".join(m.value for m in at.markdown)
    assert at.slider(key=Compare.CLIPS).value == 200
    assert at.session_state[Compare.PHASE] == LONG_RECALL
    assert {k: at.query_params[k] for k in ("second", "clips")} == {
        "second": str(wide),
        "clips": "200",
    }
    # A bundled demo by name; the radio writes the link back.
    at = open_link(monkeypatch, tmp_path, models, views.COMPARE, {"second": "paper"})
    assert_clean(at)
    assert not ignored(at)
    assert at.segmented_control(key=Compare.SOURCE).value == DEMO
    assert at.radio(key=Compare.DEMO).value == DEMO_TITLES["paper"]
    at.radio(key=Compare.DEMO).set_value(DEMO_TITLES["live"]).run()
    assert at.query_params["second"] == "live"
    go(at, views.RECALL)
    assert "second" not in at.query_params  # a parameter of the Compare page only


def test_a_bad_second_model_is_named_and_never_opened(models, tmp_path, monkeypatch):  # noqa: F811
    from dashboard import model_state

    read = []
    digest = model_state.file_digest
    monkeypatch.setattr(model_state, "file_digest", lambda p: read.append(str(p)) or digest(p))
    outside = tmp_path / "outside" / "x.safetensors"
    for value, message in (
        (str(outside), "outside the folders the dashboard may read"),
        (str(models / "planted.safetensors"), "outside the folders the dashboard may read"),
        ("nonexistent", f"is neither a bundled demo ({', '.join(DEMOS)})"),
        (str(models / "data" / "standard.npy"), "is not a checkpoint: its name must end in"),
        (str(models / "corrupt.safetensors"), "could not be opened"),
    ):
        at = open_link(
            monkeypatch, tmp_path, models, views.COMPARE, {"second": value, "clips": "250"}
        )
        note = ignored(at)
        assert f"`second={value}`" in note and message in note, note
        assert "`clips=250` is not a setting of the slider" in note
        assert at.segmented_control(key=Compare.SOURCE).value == DEMO  # the default
    assert not [p for p in read if "outside" in p]
