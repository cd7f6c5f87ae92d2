"""Plotly selection events (`st.plotly_chart(..., on_select=...)`) -> the ids of what was picked.

A figure that answers clicks gives each clickable point its id as customdata: a number, or a row
whose first column is the id (the usage bars carry (slot, mean weight)). What arrives in the
event depends on how the figure was sent: a 1-D numpy array comes back as plain numbers, a row
of a 2-D numpy array as a typed array, which the browser turns into {"0": .., "1": ..}, and an
array Plotly did not unpack as its base-64 form {"dtype": "f8", "bdata": "...", "shape": "4, 2"}.
`customdata` reads all of them; `selected_ids` is what the click handlers call.

A click selects one point, a box or a lasso all the points inside: Streamlit sends both as the
same list of points, so the handlers need not tell them apart. A Plotly heatmap answers no
selection at all (a click on it sends nothing), so a heatmap that takes clicks carries an invisible
marker on each cell; a point without customdata can still be named by its x or y.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np


def selected_points(event: Any) -> list[dict]:
    """The points of a selection event (clicked, boxed or lassoed), in selection order; [] for no
    event, an empty selection or a malformed one."""
    if not event:
        return []
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    return [p for p in points if isinstance(p, Mapping)] if isinstance(points, list) else []


def _decode_typed_array(spec: Mapping, index: int | None) -> Any:
    """Plotly's base-64 array {"dtype", "bdata"[, "shape"]} -> a number or a list. Such a spec
    is the whole trace's customdata, which Plotly did not unpack per point: with the point's
    `index`, its entry (a number, or a row of a 2-D array) is returned."""
    array = np.frombuffer(base64.b64decode(spec["bdata"]), dtype=np.dtype(spec["dtype"]))
    shape = spec.get("shape")
    if shape:
        dims = [int(d) for d in str(shape).split(",")] if isinstance(shape, str) else list(shape)
        array = array.reshape(dims)
    if index is not None and 0 <= index < len(array):
        array = array[index]
    return array.item() if array.size == 1 else array.tolist()


def customdata(point: Mapping) -> Any:
    """One point's customdata as a plain number or list, None when it has none."""
    value = point.get("customdata")
    if isinstance(value, Mapping):
        if "bdata" in value and "dtype" in value:
            try:
                return _decode_typed_array(value, point.get("point_index"))
            except (TypeError, ValueError):  # not base 64, an unknown dtype, a wrong shape
                return None
        if value and all(str(k).isdigit() for k in value):  # a typed array, JSON-encoded
            return [value[k] for k in sorted(value, key=int)]
        return None
    if isinstance(value, tuple):
        return list(value)
    return value


def selected_ids(event: Any, column: int = 0, axis: str | None = None) -> list[int]:
    """The integer ids of the selected points: their customdata, or its `column` when it is a
    row. A point without customdata gives its coordinate on `axis` ("x" or "y") when one is
    named (a marker on a heatmap's row, a bar at its slot), and is left out otherwise."""
    ids = []
    for point in selected_points(event):
        value = customdata(point)
        if isinstance(value, list):
            value = value[column] if len(value) > column else None
        if value is None and axis is not None:
            value = point.get(axis)
        if value is None or isinstance(value, bool):
            continue
        try:
            ids.append(int(value))
        except (TypeError, ValueError, OverflowError):
            continue  # not an id: a label, a NaN or an infinity
    return ids
