"""The Intervene page's comparison of the original and the intervened prediction."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# One grey level of an 8-bit frame, in the frames' units ([0, 1]): the least an axis of |Δ| spans.
GREY_LEVEL = 1 / 255


def difference_figure(
    mae: np.ndarray, mse: np.ndarray, reference: np.ndarray | None, height: int = 300
) -> go.Figure:
    """Per-frame change of the prediction (mean |Δ| per pixel, its MSE in the hover) in one panel
    and, beside it, `reference`: the model's own error against the truth (mean |e| per pixel),
    each in a panel of its own on one shared y axis of the same unit, so the two heights compare
    at a glance and no second axis can mislead. The axis spans at least one grey level, in plain
    numbers: a change of 1e-12 is drawn as the flat zero it is, not stretched with an SI prefix."""
    steps = np.arange(1, len(mae) + 1)
    panels = ["the change: mean |Δ| per pixel"]
    if reference is not None:
        panels.append("the model's own error: mean |prediction − truth|")
    fig = make_subplots(
        rows=1, cols=len(panels), shared_yaxes=True, subplot_titles=panels, horizontal_spacing=0.06
    )
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=mae,
            customdata=mse,
            mode="lines+markers",
            name="mean |Δ| per pixel",
            line=dict(color="rgb(200,40,40)"),
            hovertemplate="step %{x}: mean |Δ| %{y:.3g}, MSE %{customdata:.3g}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    if reference is not None:
        fig.add_trace(
            go.Scatter(
                x=steps[: len(reference)],
                y=reference,
                mode="lines+markers",
                name="model's own error",
                line=dict(color="rgb(110,110,110)"),
                hovertemplate="step %{x}: mean |e| %{y:.3g}<extra></extra>",
            ),
            row=1,
            col=2,
        )
    top = 1.05 * _top(GREY_LEVEL, mae, np.zeros(0) if reference is None else reference)
    fig.update_xaxes(title="output step", dtick=1 if len(steps) <= 20 else None)
    fig.update_yaxes(range=[0.0, top], exponentformat="e")
    fig.update_yaxes(title="per pixel, frames in [0, 1]", col=1)
    fig.update_annotations(font_size=13)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=30, b=0), showlegend=False)
    return fig


def _top(floor: float, *arrays: np.ndarray) -> float:
    """The largest finite value of `arrays`, and at least `floor`."""
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    return max(floor, float(values.max())) if values.size else floor
