"""dashboard.selection: Plotly selection events -> ids, in every form the customdata arrives in.

The oracle for the base-64 form is Plotly's own encoder (plotly.io.to_json of the dashboard's
figures) and numpy's bytes; the other forms are events that Streamlit 1.67 sent from Chromium for
clicks and a lasso on the dashboard's figures (tests/data/plotly_selection_events.json: a usage
bar, a dead-slot marker, a marker of the addressing heatmap, a context and a slot of the
embedding map, a lasso over the map).
"""

import base64
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


def b64(array: np.ndarray, shape: bool = True) -> dict:
    """An array in Plotly's base-64 form, written from numpy's bytes (little-endian)."""
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    spec = {"dtype": array.dtype.str[1:], "bdata": base64.b64encode(array.tobytes()).decode()}
    if shape and array.ndim > 1:
        spec["shape"] = ", ".join(map(str, array.shape))
    return spec


def test_base64_rows_of_every_dtype_and_shape_spelling():
    for dtype in ("f8", "f4", "i4", "i2", "u2", "i1", "u1"):
        rows = np.array([[5, 1], [9, 2], [3, 7]], dtype=dtype)
        spec = b64(rows)
        assert spec["shape"] == "3, 2"
        for i, (cell, slot) in enumerate(rows.tolist()):
            point = {"point_index": i, "customdata": spec}
            assert customdata(point) == [cell, slot]
            assert selected_ids(event(point)) == [cell]
            assert selected_ids(event(point), column=1) == [slot]
        as_list = dict(spec, shape=[3, 2])  # a shape given as a list, not as text
        assert selected_ids(event({"point_index": 2, "customdata": as_list})) == [3]
    flat = b64(np.array([[5, 1], [9, 2]], dtype="i4"), shape=False)
    assert customdata({"point_index": 3, "customdata": flat}) == 2  # no shape: a flat array


def test_broken_base64_gives_no_id_and_no_error():
    good = b64(np.array([[1, 2], [3, 4]], dtype="i4"))
    for bad in (
        dict(good, bdata="not base 64!"),
        dict(good, dtype="bogus"),
        dict(good, shape="3, 3"),  # 4 numbers cannot be 3 x 3
        dict(good, bdata=base64.b64encode(b"abc").decode()),  # 3 bytes are no whole i4
    ):
        picked = event({"point_index": 0, "customdata": bad}, {"customdata": 8})
        assert selected_ids(picked) == [8]


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
    assert selected_ids(EVENTS["usage_bar_3"]) == [3]  # a row of the (slot, mean) array
    assert customdata(selected_points(EVENTS["usage_bar_3"])[0]) == [3, 0.02]
    heat = EVENTS["heatmap_marker_cell_2_slot_1"]  # markers carry (cell, slot, value)
    assert selected_ids(heat) == [2] and selected_ids(heat, column=1) == [1]
    assert selected_ids(heat, axis="y") == [2]
    assert selected_ids(EVENTS["embedding_context_2"]) == [2]
    assert selected_ids(EVENTS["embedding_slot_1"]) == [-2]  # slot k is -1 - k
    lasso = EVENTS["embedding_lasso"]
    assert len(lasso["selection"]["lasso"]) == 1
    # in trace order: the no-digit trace (context 5), the coloured one, then the slots
    assert selected_ids(lasso) == [5, 1, 2, 3, 4, -1]


def test_the_addressing_heatmap_marker_under_each_cell():
    values = np.random.default_rng(0).normal(size=(16, 10))
    fig = mw.weights_heatmap(values, "w", 0)
    spec = sent_customdata(fig, 1)
    assert selected_points(event()) == []
    for cell, slot in ((0, 0), (5, 7), (15, 9)):
        point = {"point_index": cell * 10 + slot, "customdata": spec}
        assert selected_ids(event(point)) == [cell]
        assert customdata(point) == [cell, slot, values[cell, slot]]
