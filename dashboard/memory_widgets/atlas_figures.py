"""Figures of the Slot atlas: slot usage and the true motion of the cells that pick a slot."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.memory_widgets.cells import DIVERGING, INK


def usage_figure(
    top1_fraction: np.ndarray,
    mean_centred: np.ndarray,
    dead: np.ndarray,
    selected: int | None,
    height: int = 320,
    top: float | None = None,
    colour_bound: float | None = None,
    notes: list[str] | None = None,
) -> go.Figure:
    """Top-1 share of every slot as bars (click one to choose it), coloured by its mean weight
    above uniform; dead slots marked with an x on the axis. `top` (the share at the top of the
    axis) and `colour_bound` (the colour scale's +-bound) default to this memory's own; two
    memories side by side pass the same, so equal bars and colours mean equal values. `notes`:
    a line per slot for its hover (its name by motion family), "" for none."""
    size = len(top1_fraction)
    slots = np.arange(size)
    bound = colour_bound or float(np.abs(mean_centred).max()) or 1.0
    # Every bar outlined, the chosen one thickly: a bar whose mean weight is near uniform is
    # near white on the diverging scale, and without an edge vanished on a white page.
    line_width = np.where(slots == selected, 2.5, 0.75)
    fig = go.Figure(
        go.Bar(
            x=slots,
            y=top1_fraction,
            marker=dict(
                color=mean_centred,
                colorscale=DIVERGING,
                cmin=-bound,
                cmax=bound,
                colorbar=dict(title=dict(text="mean w − 1/S", side="right"), thickness=12),
                line=dict(color=INK, width=line_width),
            ),
            customdata=np.stack([slots, mean_centred], axis=1).tolist(),
            hovertext=[f"<br>{n}" if n else "" for n in notes] if notes else None,
            hovertemplate="slot %{x}<br>top choice of %{y:.2%} of queries<br>mean w − 1/S "
            "%{customdata[1]:+.5f}" + ("%{hovertext}" if notes else "") + "<extra></extra>",
            name="top-1 share",
            showlegend=False,
        )
    )
    if dead.any():
        fig.add_trace(
            go.Scatter(
                x=slots[dead],
                y=np.zeros(int(dead.sum())),
                mode="markers",
                marker=dict(symbol="x", color="rgb(120,120,120)", size=7),
                name="dead (never top-1)",
                hovertemplate="slot %{x}: dead<extra></extra>",
            )
        )
    fig.update_xaxes(title="memory slot")
    fig.update_yaxes(title="share of queries (top-1)", tickformat=".0%")
    if top is not None:
        fig.update_yaxes(range=[0, top])
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=10, b=0),
        clickmode="event+select",
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig


def direction_rose(
    directions: np.ndarray,
    reference: np.ndarray | None,
    title: str,
    bins: int = 16,
    height: int = 300,
) -> go.Figure:
    """Polar histogram of screen directions (radians): the cells that chose a slot, against the
    directions of all occupied cells (the grey reference, scaled to the same total)."""
    edges = np.linspace(-np.pi, np.pi, bins + 1)
    centres = np.degrees((edges[:-1] + edges[1:]) / 2)
    width = 360 / bins
    fig = go.Figure()
    d = directions[np.isfinite(directions)]
    counts = np.histogram(d, edges)[0]
    fig.add_trace(
        go.Barpolar(
            r=counts,
            theta=centres,
            width=width,
            name="cells choosing it",
            marker_color="rgba(40,100,200,0.75)",
        )
    )
    if reference is not None:
        r = reference[np.isfinite(reference)]
        ref = np.histogram(r, edges)[0].astype(float)
        if ref.sum() > 0:
            ref *= counts.sum() / ref.sum()
        fig.add_trace(
            go.Barpolar(
                r=ref,
                theta=centres,
                width=width,
                name="all cells with a digit (same total)",
                marker=dict(color="rgba(0,0,0,0)", line=dict(color="rgb(90,90,90)", width=1.5)),
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=20, r=20, t=40, b=10),
        title=dict(text=title, font=dict(size=13)),
        polar=dict(angularaxis=dict(direction="counterclockwise", rotation=0)),
        legend=dict(orientation="h", y=-0.05),
    )
    return fig
