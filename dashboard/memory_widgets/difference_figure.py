"""The Intervene page's comparison of the original and the intervened prediction."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def difference_figure(
    mae: np.ndarray, mse: np.ndarray, reference: np.ndarray | None, height: int = 300
) -> go.Figure:
    """Per-frame change of the prediction (mean |Δ| and MSE per pixel); `reference`: the mean
    absolute error of the original prediction against the truth, for scale."""
    steps = np.arange(1, len(mae) + 1)
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
    fig.update_yaxes(title="mean |Δ|", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title="MSE", rangemode="tozero", secondary_y=True, showgrid=False)
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=10, b=0),
        legend=dict(orientation="h", y=1.02, yanchor="bottom"),
    )
    return fig
