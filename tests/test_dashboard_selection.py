"""dashboard.selection: Plotly selection events -> ids, in every form the customdata arrives in.

The oracle for the base-64 form is Plotly's own encoder (plotly.io.to_json of the dashboard's
figures); the typed-array form is what Chromium sent for a click on a bar of the Slot atlas.
"""

import base64
import json

import numpy as np
import plotly.io as pio

from dashboard import memory_widgets as mw
from dashboard.selection import customdata, selected_ids, selected_points


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


def test_a_typed_array_row_as_the_browser_sends_it():
    # A click on bar 2 of a Bar trace whose customdata is a (slots, 2) float array.
    click = {"curve_number": 0, "point_index": 2, "x": 2, "customdata": {"0": 2, "1": 1}}
    assert customdata(click) == [2, 1]
    assert selected_ids(event(click)) == [2]
    ten = {str(i): float(i) for i in range(12)}  # keys in numeric order, not text order
    assert customdata({"customdata": ten}) == [float(i) for i in range(12)]


def test_base64_arrays_from_plotly_itself():
    mean_centred = np.array([0.01, -0.02, 0.0, 0.03])
    usage = mw.usage_figure(
        np.array([0.5, 0.3, 0.2, 0.0]), mean_centred, np.array([0, 0, 0, 1], bool), 1
    )
    spec = sent_customdata(usage, 0)
    assert set(spec) >= {"dtype", "bdata"}  # plotly encodes the 2-D array, with its shape
    for slot in range(4):
        point = {"point_index": slot, "customdata": spec}
        assert customdata(point) == [slot, mean_centred[slot]]
        assert selected_ids(event(point)) == [slot]
    grid = mw.grid_figure(np.zeros((64, 64)), (4, 4))
    cells = sent_customdata(grid, 1)
    assert isinstance(cells, dict) and "bdata" in cells  # 1-D ints, base 64 as well
    assert selected_ids(event({"point_index": 5, "customdata": cells})) == [5]
    assert customdata({"customdata": cells}) == list(range(16))  # no index: the whole array


def test_base64_without_a_point_index():
    row = np.array([4, 9], dtype=np.int32)
    spec = {"dtype": "i4", "bdata": base64.b64encode(row.tobytes()).decode()}
    assert customdata({"customdata": spec}) == [4, 9]
    assert selected_ids(event({"customdata": spec}), column=1) == [9]
    single = {"dtype": "u1", "bdata": base64.b64encode(bytes([6])).decode()}
    assert selected_ids(event({"customdata": single})) == [6]


def test_values_that_are_not_ids_are_left_out():
    picked = event(
        {"customdata": "slot"}, {"customdata": float("nan")}, {"customdata": {"a": 1}}, "x"
    )
    assert selected_ids(picked) == []
    assert selected_ids(event({"customdata": [1]}), column=1) == []
