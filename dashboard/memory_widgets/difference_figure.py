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
    """Per-frame change of the prediction (mean |Δ| and MSE per pixel); `reference`: the mean
    absolute error of the original prediction against the truth, for scale. The |Δ| axis spans
    at least one grey level and the MSE axis its square, in plain numbers: a change of 1e-12 is
    drawn as the flat zero it is, not stretched over the axis with an SI prefix."""
    steps = np.arange(1, len(mae) + 1)
    ref = np.zeros(0) if reference is None else reference
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=mae,
            mode="lines+markers",
            name="mean |Δ| per pixel",
            line=dict(color="rgb(200,40,40)"),
        )
    )
    if reference is not None:
        fig.add_trace(
            go.Scatter(
                x=steps[: len(reference)],
                y=reference,
                mode="lines",
                name="model's own error vs truth (mean |e|)",
                line=dict(color="gray", dash="dot"),
            )
        )
    fig.add_trace(
        go.Scatter(
            x=steps, y=mse, mode="lines", name="MSE per pixel", line=dict(color="rgb(40,100,200)")
        ),
        secondary_y=True,
    )
    fig.update_xaxes(title="output step")
    fig.update_yaxes(
        title="mean |Δ|",
        range=[0.0, 1.05 * _top(GREY_LEVEL, mae, ref)],
        exponentformat="e",
        secondary_y=False,
    )
    fig.update_yaxes(
        title="MSE",
        range=[0.0, 1.05 * _top(GREY_LEVEL**2, mse)],
        exponentformat="e",
        secondary_y=True,
        showgrid=False,
    )
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=10, b=0),
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig


def _top(floor: float, *arrays: np.ndarray) -> float:
    """The largest finite value of `arrays`, and at least `floor`."""
    values = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    return max(floor, float(values.max())) if values.size else floor
