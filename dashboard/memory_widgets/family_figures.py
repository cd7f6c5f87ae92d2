"""Figures of the motion families (lmc.data.motion_contexts) on the memory pages: one colour per
family wherever a family is drawn (the Slot atlas's make-up, the Embeddings map, Compare), and
a slot's family make-up as bars that open the Search page when clicked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.memory_widgets.embedding_figure import D3, GREY
from lmc.data.motion_contexts import FAMILIES

# Each family's colour, the same on every page; a cell with no known family is grey.
FAMILY_COLOURS = dict(zip(FAMILIES, D3, strict=False)) | {"no family": GREY}


def cells_text(cells: int, clips: int) -> str:
    """ "41 cells over 256 clips": how many labelled cells a share is of, and their clips."""
    return (
        f"{cells:,} cell{'s' if cells != 1 else ''} over {clips:,} clip{'s' if clips != 1 else ''}"
    )


def family_makeup_figure(counts: np.ndarray, title: str, height: int = 260) -> go.Figure:
    """counts (len(FAMILIES),): the labelled cells of each family that pick a slot, as one bar
    per family of its share (customdata: the family's index, read back by a click)."""
    counts = np.asarray(counts)
    total = max(int(counts.sum()), 1)
    shares = counts / total
    fig = go.Figure(
        go.Bar(
            x=shares,
            y=list(FAMILIES),
            orientation="h",
            marker_color=[FAMILY_COLOURS[f] for f in FAMILIES],
            customdata=np.arange(len(FAMILIES)),
            text=[f"{s:.0%} ({c})" for s, c in zip(shares, counts, strict=True)],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1%} of the slot's cells<br>click: these cells on the "
            "Search page<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, 1.18], tickformat=".0%", title="share of the slot's cells")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=10, t=30, b=0),
        title=dict(text=title, font=dict(size=13)),
        clickmode="event+select",
        showlegend=False,
    )
    return fig
