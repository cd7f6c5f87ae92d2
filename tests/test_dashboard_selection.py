"""dashboard.selection: Plotly selection events -> ids.

The clickable figures send their customdata as plain lists, which Plotly's own encoder
(plotly.io.to_json) keeps as lists; each point's entry is what its click carries. The other
events are what Streamlit 1.67 sent from Chromium for clicks and a lasso on the dashboard's
figures (tests/data/plotly_selection_events.json: a dead-slot marker, a context and a slot of the
embedding map, a lasso over the map); the browser tests click the bars and heatmaps themselves.
"""

import json
from pathlib import Path

import numpy as np
import plotly.io as pio

from dashboard import memory_widgets as mw
from dashboard.selection import customdata, selected_ids, selected_points

EVENTS = json.loads((Path(__file__).parent / "data" / "plotly_selection_events.json").read_text())


def event(*points: dict) -> dict:
    return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}


def sent_customdata(fig, trace: int):
    """A trace's customdata as Plotly sends it to the browser."""
    return json.loads(pio.to_json(fig))["data"][trace]["customdata"]


def test_no_event_or_no_selection_gives_no_ids():
    for nothing in (None, {}, {"selection": {}}, {"selection": {"points": None}}, "x", event()):
        assert selected_points(nothing) == [] and selected_ids(nothing) == []


def test_plain_numbers_and_rows():
    picked = event(
        {"point_index": 0, "customdata": 3},
        {"point_index": 1, "x": 1},  # no customdata: a heatmap cell, a dead-slot marker
        {"point_index": 2, "customdata": [7, 0.25]},
        {"point_index": 3, "customdata": -3},  # the Embeddings map: slot 2's diamond
        {"point_index": 4, "customdata": 5.0},
    )
    assert selected_ids(picked) == [3, 7, -3, 5]
    assert selected_ids(event({"customdata": [7, 2]}), column=1) == [2]
    assert customdata({"customdata": (4, 0.5)}) == [4, 0.5] and customdata({"x": 1}) is None


def test_values_that_are_not_ids_are_left_out():
    picked = event(
        {"customdata": "slot"},
        {"customdata": float("nan")},
        {"customdata": {"0": 1}},  # a typed array's row: the figures send lists, not arrays
        "x",
    )
    assert selected_ids(picked) == []
    assert selected_ids(event({"customdata": [1]}), column=1) == []


def test_a_point_without_customdata_is_named_by_its_coordinate_when_asked():
    marker = EVENTS["usage_dead_marker_slot_2"]  # the x of a dead slot: no customdata
    assert selected_ids(marker) == []
    assert selected_ids(marker, axis="x") == [2]
    heat = event({"point_index": 13, "x": 1, "y": 2})
    assert selected_ids(heat, axis="y") == [2] and selected_ids(heat, axis="x") == [1]
    # customdata, when there is some, wins over the coordinate
    assert selected_ids(event({"x": 4, "y": 0.25, "customdata": 7}), axis="x") == [7]
    odd = event({"x": "slot 3"}, {"x": True}, {"x": float("inf")}, {"x": None}, {"y": 1})
    assert selected_ids(odd, axis="x") == []


def test_events_chromium_sent():
    assert selected_ids(EVENTS["embedding_context_2"]) == [2]
    assert selected_ids(EVENTS["embedding_slot_1"]) == [-2]  # slot k is -1 - k
    lasso = EVENTS["embedding_lasso"]
    assert len(lasso["selection"]["lasso"]) == 1
    # in trace order: the no-digit trace (context 5), the coloured one, then the slots
    assert selected_ids(lasso) == [5, 1, 2, 3, 4, -1]


def _clickable_figures() -> dict:
    """Each figure that answers clicks, with (trace, what a point's customdata must hold)."""
    rng = np.random.default_rng(0)
    values = rng.normal(size=(16, 10))
    mean_centred = np.array([0.01, -0.02, 0.0, 0.03])
    usage = mw.usage_figure(
        np.array([0.5, 0.3, 0.2, 0.0]), mean_centred, np.array([0, 0, 0, 1], bool), 1
    )
    return {
        "usage bars (slot, mean w - 1/S)": (
            usage,
            0,
            [[slot, float(mean_centred[slot])] for slot in range(4)],
        ),
        "query grid (cell)": (mw.grid_figure(np.zeros((64, 64)), (4, 4)), 1, list(range(16))),
        "addressing markers (cell, slot, value)": (
            mw.weights_heatmap(values, "w", 0),
            1,
            [[c, s, values[c, s]] for c in range(16) for s in range(10)],
        ),
    }


def test_clickable_figures_send_plain_lists_that_read_back_as_ids():
    for name, (fig, trace, expected) in _clickable_figures().items():
        sent = sent_customdata(fig, trace)
        assert isinstance(sent, list), name  # not Plotly's base-64 {"dtype", "bdata"}
        np.testing.assert_allclose(np.array(sent, dtype=float), np.array(expected, dtype=float))
        for index, entry in enumerate(sent):
            point = {"point_index": index, "customdata": entry}
            first = expected[index][0] if isinstance(expected[index], list) else expected[index]
            assert selected_ids(event(point)) == [int(first)], name
    heat = sent_customdata(_clickable_figures()["addressing markers (cell, slot, value)"][0], 1)
    assert selected_ids(event({"customdata": heat[57]}), column=1) == [7]  # cell 5, slot 7


def test_the_embedding_map_sends_contexts_and_slots_as_plain_ids():
    coords = np.random.default_rng(1).normal(size=(6, 2))
    hover = [f"p{i}" for i in range(6)]
    direction = np.array([np.nan, -120.0, -60.0, 0.0, 60.0, 120.0])  # context 0: no digit
    for fig in (
        mw.embedding_figure(coords, direction, "direction", "cyclic", hover, coords[:2]),
        mw.embedding_figure(coords, np.arange(6) % 2, "digit", "category", hover, coords[:2]),
    ):
        sent = [t.get("customdata") for t in json.loads(pio.to_json(fig))["data"]]
        assert all(isinstance(data, list) for data in sent if data is not None)
        ids = sorted(i for data in sent if data is not None for i in data)
        assert ids == [-2, -1, 0, 1, 2, 3, 4, 5]  # every context, and slot k as -1 - k
