"""The probe sweep's figure (Input page): the share of each motion's cells that pick each slot."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from dashboard.memory_widgets.cells import direction_text
from lmc.analysis.probe_sweep import ProbeSweep


def motion_label(direction_deg: float, speed_px: float) -> str:
    return f"{direction_text(math.radians(direction_deg))}, {speed_px:g} px/frame"


def sweep_figure(sweep: ProbeSweep) -> go.Figure:
    """A heatmap with one row per probed motion and one column per slot that is some motion's
    top choice; the colour is the share of that motion's clips x cells picking the slot, on a
    scale from 0 to the largest share (a sweep whose shares stay under 19 % drew every cell
    pale on [0, 1]), with the percentage written in each non-empty cell."""
    size = sweep.memory_size
    shares = sweep.shares.reshape(-1, size)
    fits = sweep.fits.reshape(-1)
    rows = [motion_label(a, v) for a in sweep.directions.tolist() for v in sweep.speeds.tolist()]
    rows = [r for r, fit in zip(rows, fits, strict=True) if fit]
    shares = shares[fits]
    slots = np.flatnonzero(shares.sum(axis=0) > 0)
    z = shares[:, slots]
    text = np.where(z > 0, np.char.add(np.round(100 * z).astype(int).astype(str), " %"), "")
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"slot {s}" for s in slots],
            y=rows,
            zmin=0.0,
            zmax=max(float(z.max()) if z.size else 0.0, 0.01),
            colorscale="Blues",
            text=text,
            texttemplate="%{text}",
            colorbar=dict(title="share", tickformat=".0%"),
            hovertemplate="%{y}: %{x} is the top slot of %{z:.0%} of the cells<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", title_text="top slot")
    fig.update_yaxes(type="category", autorange="reversed", title_text="motion")
    fig.update_layout(height=max(240, 28 * len(rows) + 110), margin=dict(t=10, b=10, l=10, r=10))
    return fig
