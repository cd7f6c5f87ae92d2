"""The Embeddings page's map of recalled contexts (or queries) with the slots in the same space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from dashboard.memory_widgets.cells import CYCLIC


def embedding_figure(
    coords: np.ndarray,
    colour: np.ndarray,
    colour_name: str,
    kind: str,
    hover: Sequence[str],
    slot_coords: np.ndarray | None = None,
    dragmode: str = "zoom",
    height: int = 560,
) -> go.Figure:
    """Contexts as points (customdata = their index in `coords`) coloured by `colour`: kind
    "cyclic" (direction in degrees), "continuous" or "category"; memory slots as black diamonds."""
    fig = go.Figure()
    idx = np.arange(len(coords))
    colour = np.asarray(colour)
    hover = list(hover)
    if kind == "category":
        values = np.asarray(colour).astype(str)
        for i, value in enumerate(sorted(set(values), key=_category_order)):
            mask = values == value
            fig.add_trace(
                go.Scattergl(
                    x=coords[mask, 0],
                    y=coords[mask, 1],
                    customdata=idx[mask],
                    name=f"{colour_name} {value}",
                    marker=dict(size=5, color=_palette(i)),
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
                    customdata=idx[~finite],
                    name="no digit in the cell",
                    marker=dict(size=4, color="rgba(170,170,170,0.5)"),
                    mode="markers",
                    hovertext=[hover[j] for j in idx[~finite]],
                    hoverinfo="text",
                )
            )
        scale = (
            dict(colorscale=CYCLIC, cmin=-180, cmax=180)
            if kind == "cyclic"
            else dict(colorscale="Viridis")
        )
        fig.add_trace(
            go.Scattergl(
                x=coords[finite, 0],
                y=coords[finite, 1],
                customdata=idx[finite],
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
        fig.add_trace(
            go.Scatter(
                x=slot_coords[:, 0],
                y=slot_coords[:, 1],
                mode="markers",
                marker=dict(
                    symbol="diamond", size=9, color="black", line=dict(color="white", width=1)
                ),
                name="memory slots",
                customdata=-1 - np.arange(len(slot_coords)),  # negative: a slot, not a context
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
    fig.update_xaxes(showticklabels=False, title=None)
    fig.update_yaxes(showticklabels=False, title=None)
    return fig


def _category_order(value: str):
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)


def _palette(i: int) -> str:
    colours = (
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    )  # fmt: skip
    return colours[i % len(colours)]
