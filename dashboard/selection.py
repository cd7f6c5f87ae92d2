"""Plotly selection events (`st.plotly_chart(..., on_select=...)`) -> the ids of what was picked.

A figure that answers clicks gives each clickable point its id as customdata: a number, or a row
whose first column is the id (the usage bars carry (slot, mean weight)). The figures pass their
customdata as plain lists (`.tolist()`), never numpy arrays: Plotly would send an array base-64
encoded, and the browser would hand a row of it back as a typed array ({"0": .., "1": ..}).
Plain lists come back as plain numbers and lists; `selected_ids` is what the click handlers call.

A click selects one point, a box or a lasso all the points inside: Streamlit sends both as the
same list of points, so the handlers need not tell them apart. A Plotly heatmap answers no
selection at all (a click on it sends nothing), so a heatmap that takes clicks carries an invisible
marker on each cell; a point without customdata can still be named by its x or y.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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


def customdata(point: Mapping) -> Any:
    """One point's customdata: a number or a list (a row), None when it has none or holds
    anything else."""
    value = point.get("customdata")
    if isinstance(value, tuple):
        return list(value)
    return value if isinstance(value, int | float | list) else None


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
