"""The Embeddings page's map of recalled contexts (or queries) with the slots in the same space."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go

from dashboard.memory_widgets.cells import CYCLIC, INK

D3 = pc.qualitative.D3
DARK24 = pc.qualitative.Dark24
GREY = "rgba(150,150,150,0.6)"
UNCOLOURED = ("none", "other")  # no digit in the cell, a rare top slot: grey, not a colour
# The axes span the contexts and this share of their extent on each side; slots beyond the
# contexts sit in the middle of that band.
VIEW_MARGIN = 0.08
PIN_MARGIN = VIEW_MARGIN / 2


def embedding_figure(
    coords: np.ndarray,
    colour: np.ndarray,
    colour_name: str,
    kind: str,
    hover: Sequence[str],
    slot_coords: np.ndarray | None = None,
    dragmode: str = "zoom",
    height: int = 560,
    category_colours: Mapping[str, str] | None = None,
) -> go.Figure:
    """Contexts as points (customdata = their index in `coords`) coloured by `colour`: kind
    "cyclic" (direction in degrees, 0 .. 360), "continuous" or "category" (one distinct colour per
    value, or the fixed colours of `category_colours`, in its order, each named alone in the
    legend: the motion families); memory slots as black diamonds.

    The axes span the contexts, so their cloud fills the plot: a readout is a blend near the mean
    slot, and slots placed at their own coordinates would shrink it to a speck. A slot beyond
    that range is drawn in the band around it, in its direction from the cloud's centre, as an
    open diamond (inside the plot, where a mouse can click it)."""
    fig = go.Figure()
    idx = np.arange(len(coords))
    colour = np.asarray(colour)
    hover = list(hover)
    (x0, x1), (y0, y1) = view_range(coords, VIEW_MARGIN)
    if kind == "category":
        values = np.asarray(colour).astype(str)
        if category_colours is not None:
            ordered = [v for v in category_colours if v in set(values)]
            fixed = [category_colours[v] for v in ordered]
        else:
            ordered = sorted(set(values), key=_category_order)
            fixed = palette(sum(v not in UNCOLOURED for v in ordered))
        colours = iter(fixed)
        for value in ordered:
            mask = values == value
            if category_colours is not None:
                name, marker_colour = value, next(colours)
            else:
                name = f"{colour_name} {value}"
                marker_colour = GREY if value in UNCOLOURED else next(colours)
            fig.add_trace(
                go.Scattergl(
                    x=coords[mask, 0],
                    y=coords[mask, 1],
                    customdata=idx[mask].tolist(),
                    name=name,
                    marker=dict(size=5, color=marker_colour),
                    mode="markers",
                    hovertext=[hover[j] for j in idx[mask]],
                    hoverinfo="text",
                )
            )
    else:
        numeric = colour.astype(float)
        finite = np.isfinite(numeric)
        if (~finite).any():
            fig.add_trace(
                go.Scattergl(
                    x=coords[~finite, 0],
                    y=coords[~finite, 1],
                    customdata=idx[~finite].tolist(),
                    name="no digit in the cell",
                    marker=dict(size=4, color="rgba(170,170,170,0.5)"),
                    mode="markers",
                    hovertext=[hover[j] for j in idx[~finite]],
                    hoverinfo="text",
                )
            )
        scale = (
            dict(colorscale=CYCLIC, cmin=0, cmax=360)  # mw.DIRECTION_NOTE's degrees
            if kind == "cyclic"
            else dict(colorscale="Viridis")
        )
        fig.add_trace(
            go.Scattergl(
                x=coords[finite, 0],
                y=coords[finite, 1],
                customdata=idx[finite].tolist(),
                name=colour_name,
                marker=dict(
                    size=5,
                    color=numeric[finite],
                    colorbar=dict(title=dict(text=colour_name, side="right"), thickness=12),
                    **scale,
                ),
                showlegend=False,
                mode="markers",
                hovertext=[hover[j] for j in idx[finite]],
                hoverinfo="text",
            )
        )
    if slot_coords is not None:
        placed, outside = pin_to_view(
            slot_coords, *view_range(coords, PIN_MARGIN), coords.mean(axis=0)
        )
        fig.add_trace(
            go.Scatter(
                x=placed[:, 0],
                y=placed[:, 1],
                mode="markers",
                marker=dict(
                    symbol=np.where(outside, "diamond-open", "diamond"),
                    size=9,
                    color=INK,
                    line=dict(color=INK, width=1),
                ),
                name="memory slots",
                customdata=[
                    -1 - k for k in range(len(slot_coords))
                ],  # negative: a slot, not a context
                hovertext=[f"slot {k}" for k in range(len(slot_coords))],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=10, b=0),
        dragmode=dragmode,
        clickmode="event+select",
        legend=dict(orientation="h", y=1.02, yanchor="bottom", itemsizing="constant"),
    )
    fig.update_xaxes(showticklabels=False, title=None, range=[x0, x1])
    fig.update_yaxes(showticklabels=False, title=None, range=[y0, y1])
    return fig


def view_range(coords: np.ndarray, margin: float = 0.05) -> tuple[tuple[float, float], ...]:
    """((x0, x1), (y0, y1)): the extent of the points (N, 2), widened by `margin` of it on each
    side (and to a unit span when the points coincide)."""
    coords = np.asarray(coords, dtype=np.float64)
    ranges = []
    for axis in range(2):
        low, high = float(coords[:, axis].min()), float(coords[:, axis].max())
        pad = margin * (high - low) if high > low else 0.5
        ranges.append((low - pad, high + pad))
    return tuple(ranges)


def pin_to_view(
    points: np.ndarray, xr: tuple[float, float], yr: tuple[float, float], centre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points (S, 2) inside the box xr x yr as they are; each outside moved along the line from
    `centre` to it onto the box's edge. Returns (placed (S, 2), outside (S,) bool)."""
    points = np.asarray(points, dtype=np.float64)
    low = np.array([xr[0], yr[0]])
    high = np.array([xr[1], yr[1]])
    outside = ((points < low) | (points > high)).any(axis=1)
    step = points - centre
    # The largest t in [0, 1] keeping centre + t * step inside the box, per axis, then the least.
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(step > 0, (high - centre) / step, np.where(step < 0, (low - centre) / step, 1))
    t = np.clip(t.min(axis=1), 0.0, 1.0)
    return np.where(outside[:, None], centre + t[:, None] * step, points), outside


def _category_order(value: str):
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def palette(n: int) -> list[str]:
    """n distinct colours for n categories (a 4 x 4 grid's 16 cells get 16): Plotly's D3 ten,
    then its Dark24, then hues around the wheel at alternating lightness."""
    if n <= len(D3):
        return list(D3[:n])
    if n <= len(DARK24):
        return list(DARK24[:n])
    return [f"hsl({360 * i / n:.1f}, 70%, {(40, 55)[i % 2]}%)" for i in range(n)]
