"""The Search page in Streamlit's AppTest: the cards it shows are the pages of
lmc.analysis.search over the stored pass (filters set, pages turned forward and back, a new
filter starting again at page 1), a card opens its clip and cell on the Recall page, and the
Slot atlas's button opens the search for its slot."""

import re

import numpy as np
import pytest
from dashboard_helpers import (
    assert_clean,
    input_source,
    model_label,
    start_app,
    texts,
    write_search_checkpoint,
)

from dashboard import views
from dashboard.keys import Atlas, Recall, Search
from dashboard.series import SHORT_RECALL
from lmc.analysis import search as se
from lmc.analysis.dataset_pass import load_pass

TIMEOUT = 90  # seconds per run: the machine may be shared
CLIPS = 100
CARD = re.compile(r"^slot (\d+): weight (\d\.\d{4}) .* · clip (\d+), cell (\d+) ")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_search_checkpoint(tmp_path_factory.mktemp("search-app"))


def cards(at) -> list[tuple[int, str, int, int]]:
    """(slot, weight as shown, clip number, cell) of every search card, in order."""
    found = []
    for image in at.get("image"):
        for caption in image.captions:
            if (match := CARD.match(caption)) is not None:
                slot, weight, clip, cell = match.groups()
                found.append((int(slot), weight, int(clip), int(cell)))
    return found


def expected(sample, query, page, sort="weight") -> list[tuple[int, str, int, int]]:
    found = se.search_pass(sample, query, sort=sort, page=page)
    return [
        (int(s), f"{w:.4f}", int(sample.clip_index[c]), int(k))
        for c, k, s, w in zip(found.clip, found.cell, found.slot, found.weight, strict=True)
    ]


def test_search_pages_through_the_matches_and_opens_one_on_recall(
    checkpoint, tmp_path, monkeypatch
):
    at = start_app(
        monkeypatch, tmp_path, checkpoint, test_clips=8, page=views.SEARCH, timeout=TIMEOUT
    )
    assert any("has not been run" in i.value for i in at.info)
    at.slider(key=Search.CLIPS).set_value(CLIPS).run()
    at.button(key=Search.RUN_BUTTON).click().run()
    assert_clean(at)
    (stored,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    sample = load_pass(stored)
    # No filter: every cell matches, sorted by its weight on its top slot.
    assert f"**{CLIPS * 16:,}** of the {CLIPS * 16:,} cells" in texts(at)
    assert cards(at) == expected(sample, se.Query(), 1)

    # The busiest top slot, with more than two pages of cells.
    top = sample.short_weights.argmax(-1)
    slot = int(np.bincount(top.ravel()).argmax())
    count = int((top == slot).sum())
    assert count > 2 * se.PAGE_SIZE, "the tiny model's busiest slot should fill 3 pages"
    at.selectbox(key=Search.SLOT).set_value(slot).run()
    assert_clean(at)
    assert f"**{count:,}** of the {CLIPS * 16:,} cells" in texts(at)
    first = expected(sample, se.Query(slot=slot), 1)
    assert cards(at) == first and len(first) == 16 and {c[0] for c in first} == {slot}
    at.button(key=Search.NEXT).click().run()
    assert at.number_input(key=Search.PAGE).value == 2
    second = expected(sample, se.Query(slot=slot), 2)
    assert cards(at) == second and second != first
    assert "matches 17 .. 32" in texts(at)
    at.number_input(key=Search.PAGE).set_value(3).run()
    assert cards(at) == expected(sample, se.Query(slot=slot), 3)
    at.button(key=Search.PREVIOUS).click().run()
    assert cards(at) == second
    table = at.expander[0].dataframe[0].value  # "This page as a table"
    assert [tuple(r) for r in table[["clip", "cell"]].to_numpy()] == [(c, k) for *_, c, k in second]

    # Another filter is another search: it starts on page 1. A digit and a row, by clip.
    at.selectbox(key=Search.DIGIT).set_value(3)
    at.selectbox(key=Search.ROW).set_value(1)
    at.radio(key=Search.SORT).set_value("clip, then cell").run()
    assert_clean(at)
    query = se.Query(slot=slot, digit=3, row=1)
    total = se.search_pass(sample, query).total
    assert at.number_input(key=Search.PAGE).value == 1
    shown = cards(at)
    assert shown == expected(sample, query, 1, sort="clip") and total
    assert all(4 <= cell < 8 for *_, cell in shown)
    assert all(3 in sample.labels[list(sample.clip_index).index(c)] for *_, c, _ in shown)

    # A direction: the cards follow arrows of that bin only.
    at.selectbox(key=Search.DIRECTION).set_value("left").run()
    query = se.Query(slot=slot, digit=3, row=1, direction="left")
    assert cards(at) == expected(sample, query, 1, sort="clip")
    at.selectbox(key=Search.DIRECTION).set_value("any")
    at.selectbox(key=Search.DIGIT).set_value(None)
    at.selectbox(key=Search.ROW).set_value(None).run()

    # A card opens its clip (of the pass's 1,000-clip set: the dashboard's has 8) on Recall.
    _, _, clip, cell = cards(at)[1]
    at.button(key=Search.open_button(1)).click().run()
    assert_clean(at)
    assert at.title[0].value == "Memory recall"
    assert at.session_state[Recall.CELL] == cell
    assert at.session_state[Recall.PHASE] == SHORT_RECALL
    assert input_source(at) == f"test clip {clip} of 1,000"

    # The Slot atlas sends its slot to the search, the other filters cleared.
    at.switch_page(views.ATLAS.file)
    at.session_state[Atlas.CLIPS] = CLIPS
    at.session_state[Atlas.SLOT] = slot
    at.run()
    assert_clean(at)
    at.session_state[Search.DIGIT] = 7  # left over from an earlier search
    at.button(key=Atlas.SEARCH_BUTTON).click().run()
    assert_clean(at)
    assert at.title[0].value == "Search"
    assert at.selectbox(key=Search.SLOT).value == slot
    assert at.selectbox(key=Search.DIGIT).value is None
    assert f"**{count:,}** of the {CLIPS * 16:,} cells" in texts(at)


def test_a_card_of_the_dashboards_own_test_set_opens_as_that_test_clip(
    checkpoint, tmp_path, monkeypatch
):
    # With the dashboard's test set as large as the pass's pool, the clip is the Input page's
    # test clip of that number, and the URL names it.
    at = start_app(
        monkeypatch, tmp_path, checkpoint, test_clips=1000, page=views.SEARCH, timeout=TIMEOUT
    )
    at.slider(key=Search.CLIPS).set_value(CLIPS).run()
    at.button(key=Search.RUN_BUTTON).click().run()
    assert_clean(at)
    at.selectbox(key=Search.CELL).set_value(5).run()
    assert all(cell == 5 for *_, cell in cards(at))
    _, _, clip, cell = cards(at)[0]
    at.button(key=Search.open_button(0)).click().run()
    assert_clean(at)
    assert at.title[0].value == "Memory recall"
    assert input_source(at) == f"test clip {clip}"
    assert at.session_state[Recall.CELL] == 5
    assert at.query_params["clip"] == str(clip) and at.query_params["cell"] == "5"


@pytest.mark.parametrize(
    "name, message", [("plain", "without a memory"), ("missing", "No model is loaded")]
)
def test_without_a_memory_the_page_says_why(name, message, checkpoint, tmp_path, monkeypatch):
    demo = checkpoint.parent / f"{name}.safetensors"
    at = start_app(monkeypatch, tmp_path, demo, test_clips=8, page=views.SEARCH, timeout=TIMEOUT)
    assert_clean(at)
    assert any(message in i.value for i in at.info), [i.value for i in at.info]
    assert not cards(at) and not at.get("slider")
    assert (model_label(at) is None) == (name == "missing")
