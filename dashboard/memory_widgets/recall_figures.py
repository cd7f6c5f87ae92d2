"""Figures of the Recall page (also the grid of Intervene): the query grid over a frame, the
addressing heatmap, per-cell statistics, one cell's distribution and the attention gates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.memory_widgets.cells import DIVERGING, INK, to_gray_uint8
from dashboard.series import LONG_RECALL, RECALL_COLORS, SHORT_RECALL

# The distribution figure's head, in pixels: its title's line, then a line per legend entry.
TITLE_PX = 28
LEGEND_ROW_PX = 21


def grid_figure(
    frame: np.ndarray,
    grid: tuple[int, int],
    selected: Sequence[int] = (),
    cell_text: Sequence[str] | None = None,
    height: int = 360,
) -> go.Figure:
    """The frame (H, W) with the query grid drawn over it and each cell's id; clicking a cell
    selects the invisible marker at its centre (customdata = cell index)."""
    image = to_gray_uint8(frame)
    h, w = image.shape
    rows, cols = grid
    ch, cw = h / rows, w / cols
    # Shapes and labels go into the layout at once: added one by one (add_shape, add_annotation)
    # plotly validates the whole list again each time, 0.1 s of every click on a 4 x 4 grid.
    line = dict(color="rgba(255,200,0,0.8)", width=1)
    shapes = [
        dict(type="line", x0=-0.5, x1=w - 0.5, y0=r * ch - 0.5, y1=r * ch - 0.5, line=line)
        for r in range(1, rows)
    ] + [
        dict(type="line", x0=c * cw - 0.5, x1=c * cw - 0.5, y0=-0.5, y1=h - 0.5, line=line)
        for c in range(1, cols)
    ]
    cells = np.arange(rows * cols)
    cy = (cells // cols + 0.5) * ch - 0.5
    cx = (cells % cols + 0.5) * cw - 0.5
    labels = [
        dict(
            x=cx[cell] - cw * 0.32,
            y=cy[cell] - ch * 0.32,
            text=str(cell),
            showarrow=False,
            font=dict(color="rgb(255,210,0)", size=11),
        )
        for cell in cells
    ]
    for cell in selected:
        r, c = divmod(int(cell), cols)
        shapes.append(
            dict(
                type="rect",
                x0=c * cw - 0.5,
                x1=(c + 1) * cw - 0.5,
                y0=r * ch - 0.5,
                y1=(r + 1) * ch - 0.5,
                line=dict(color="rgb(230,40,40)", width=3),
            )
        )
    hover = list(cell_text) if cell_text is not None else [f"cell {c}" for c in cells]
    image_trace = go.Heatmap(
        z=image, colorscale="gray", showscale=False, hoverinfo="skip", zmin=0, zmax=255
    )
    markers = go.Scatter(
        x=cx,
        y=cy,
        mode="markers",
        marker=dict(size=max(10, int(height / max(rows, cols) * 0.8)), opacity=0, symbol="square"),
        customdata=cells.tolist(),
        hovertext=hover,
        hoverinfo="text",
        showlegend=False,
        name="cells",
    )
    return go.Figure(
        [image_trace, markers],
        layout=dict(
            shapes=shapes,
            annotations=labels,
            xaxis=dict(visible=False, range=[-0.5, w - 0.5], constrain="domain"),
            yaxis=dict(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain"),
            height=height,
            margin=dict(l=0, r=0, t=0, b=0),
            dragmode=False,
            clickmode="event+select",
        ),
    )


def weights_heatmap(
    values: np.ndarray,
    title: str,
    selected_cell: int | None = None,
    diverging: bool = True,
    height: int = 360,
    limits: tuple[float, float] | None = None,
) -> go.Figure:
    """values (cells, S) as a heatmap, cells down and slots across, coloured between `limits`
    (default: the values' own range, symmetric when `diverging`). Invisible markers on every
    (cell, slot) answer clicks with customdata (cell, slot)."""
    cells, size = values.shape
    finite = values[np.isfinite(values)]
    if limits is not None:
        zmin, zmax = limits
        scale = DIVERGING if diverging else "Viridis"
    elif diverging:
        bound = float(np.abs(finite).max()) if finite.size else 1.0
        zmin, zmax, scale = -bound, bound, DIVERGING
    else:
        zmin = float(finite.min()) if finite.size else 0.0
        zmax = float(finite.max()) if finite.size else 1.0
        scale = "Viridis"
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=np.arange(size),
            y=np.arange(cells),
            zmin=zmin,
            zmax=zmax,
            colorscale=scale,
            colorbar=dict(title=dict(text=title, side="right"), thickness=12),
            hoverinfo="skip",
        )
    )
    # Plotly heatmaps answer no selection, so an invisible marker on every (cell, slot) takes the
    # hover and the click: the nearest one to the pointer, so a click anywhere in a cell is its.
    slot_grid, cell_grid = np.meshgrid(np.arange(size), np.arange(cells))
    fig.add_trace(
        go.Scatter(
            x=slot_grid.ravel(),
            y=cell_grid.ravel(),
            mode="markers",
            marker=dict(size=6, opacity=0),
            customdata=np.stack(
                [cell_grid.ravel(), slot_grid.ravel(), values.ravel()], axis=1
            ).tolist(),
            hovertemplate="cell %{y} · slot %{x}<br>"
            + title
            + " %{customdata[2]:.4f}<extra></extra>",
            showlegend=False,
            name="cells x slots",
        )
    )
    if selected_cell is not None:
        fig.add_shape(
            type="rect",
            x0=-0.5,
            x1=size - 0.5,
            y0=selected_cell - 0.5,
            y1=selected_cell + 0.5,
            line=dict(color=INK, width=2),
        )
    fig.update_yaxes(
        title="query cell", range=[cells - 0.5, -0.5], dtick=1 if cells <= 16 else None
    )
    fig.update_xaxes(title="memory slot", range=[-0.5, size - 0.5])
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=10, b=0), clickmode="event+select")
    return fig


def cell_stats_figure(
    normalised_entropy: np.ndarray, effective: np.ndarray, height: int = 360
) -> go.Figure:
    """Per-cell normalised entropy as bars on [0, 1] (1 = uniform), the effective slots in the
    hover."""
    cells = np.arange(len(normalised_entropy))
    fig = go.Figure(
        go.Bar(
            x=normalised_entropy,
            y=cells,
            orientation="h",
            marker_color="rgb(90,120,180)",
            customdata=effective,
            hovertemplate="cell %{y}<br>entropy / log S %{x:.5f}<br>effective slots %{customdata:.2f}<extra></extra>",
        )
    )
    # From 0 (one slot) to 1 (uniform): bars that start near the values would make 0.98 look
    # far from 0.99; the hover and the table give the digits.
    fig.update_xaxes(title="entropy / log S", range=[0.0, 1.0])
    fig.update_yaxes(autorange="reversed", dtick=1 if len(cells) <= 16 else None, title=None)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=10, b=0), showlegend=False)
    return fig


def distribution_figure(
    short_weights: np.ndarray,
    short_cosine: np.ndarray,
    long_weights: np.ndarray | None = None,
    long_cosine: np.ndarray | None = None,
    cell: int = 0,
    height: int = 380,
    narrow: bool = False,
    weight_range: tuple[float, float] | None = None,
    cosine_range: tuple[float, float] | None = None,
) -> go.Figure:
    """One cell's whole addressing: weight - 1/S per slot (top) and cosine per slot (bottom), the
    short-input recall in blue and, when known, the long-term recall in orange. narrow: for a
    column of about 300 px, where the title takes two lines. weight_range, cosine_range: fixed
    y ranges (`value_range`), so two figures side by side share their axes."""
    size = short_weights.shape[-1]
    slots = np.arange(size)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    series = [(SHORT_RECALL, short_weights, short_cosine)]
    if long_weights is not None:
        series.append((LONG_RECALL, long_weights, long_cosine))
    for name, w, cos in series:
        colour = RECALL_COLORS[name]
        fig.add_trace(
            go.Bar(
                x=slots,
                y=w - 1.0 / size,
                name=name,
                marker_color=colour,
                opacity=0.75,
                customdata=w,
                hovertemplate="slot %{x}<br>w − 1/S %{y:+.5f}<br>w %{customdata:.5f}<extra>"
                + name
                + "</extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=slots,
                y=cos,
                mode="markers",
                marker=dict(color=colour, size=5),
                name=name,
                showlegend=False,
                hovertemplate="slot %{x}<br>cosine %{y:.3f}<extra>" + name + "</extra>",
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title="w − 1/S", range=weight_range, row=1, col=1)
    fig.update_yaxes(title="cosine", range=cosine_range, row=2, col=1)
    fig.update_xaxes(title="memory slot", row=2, col=1)
    # The legend goes under the title, not beside it: side by side they overlap in a narrow
    # column (the Compare page's halves), where the two entries also wrap, so the head keeps a
    # line for each entry.
    title_lines = 2 if narrow else 1
    fig.update_layout(
        height=height,
        barmode="overlay",
        margin=dict(l=0, r=0, t=TITLE_PX * title_lines + LEGEND_ROW_PX * len(series), b=0),
        title=dict(
            text=f"cell {cell}: its whole addressing{'<br>' if narrow else ' '}"
            f"over the {size} slots",
            font=dict(size=14),
            x=0,
            xref="paper",
            xanchor="left",
            # Centred in its band: Plotly shifts a title of two lines by a line when it is
            # anchored at its top or bottom (the first line above the figure, or on the legend).
            y=1 - TITLE_PX * title_lines / 2 / height,
            yref="container",
            yanchor="middle",
        ),
        legend=dict(
            orientation="h",
            x=0,
            xanchor="left",
            y=1 - (TITLE_PX * title_lines - 2) / height,
            yref="container",
            yanchor="top",
        ),
    )
    return fig


def value_range(*arrays: np.ndarray | None, pad: float = 0.05) -> tuple[float, float]:
    """One y range holding every value of `arrays` (None skipped) and zero, padded by `pad` of
    its span: the common axis of figures put side by side."""
    values = np.concatenate([np.ravel(a) for a in arrays if a is not None] + [np.zeros(1)])
    low, high = float(values.min()), float(values.max())
    margin = pad * (high - low) or 1e-6
    return low - margin, high + margin


def cell_values_figure(
    values: np.ndarray,
    grid: tuple[int, int],
    title: str,
    text: Sequence[str],
    colorscale: str,
    zmin,
    zmax,
    height: int = 260,
) -> go.Figure:
    """A per-cell value (cells,) laid out on the query grid, with text in each cell."""
    rows, cols = grid
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(values, float).reshape(rows, cols),
            text=np.asarray(text, dtype=object).reshape(rows, cols),
            texttemplate="%{text}",
            colorscale=colorscale,
            zmin=zmin,
            zmax=zmax,
            colorbar=dict(thickness=10),
            hovertemplate="%{text}<extra></extra>",
        )
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=30, b=0), title=dict(text=title, font=dict(size=13))
    )
    return fig


def gates_figure(gates: np.ndarray, height: int = 300) -> go.Figure:
    """The attention gate on the memory feature: channels x output steps, and the mean per step."""
    steps = np.arange(1, gates.shape[0] + 1)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.1)
    fig.add_trace(
        go.Heatmap(
            z=gates.T,
            x=steps,
            colorscale="Viridis",
            zmin=0,
            zmax=1,
            colorbar=dict(thickness=10, x=0.56),
            hovertemplate="step %{x} · channel %{y}<br>gate %{z:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    mean = gates.mean(axis=1)
    fig.add_trace(
        go.Scatter(
            x=steps,
            y=mean,
            mode="lines+markers",
            name="mean gate",
            line=dict(color=RECALL_COLORS[SHORT_RECALL]),
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([steps, steps[::-1]]),
            y=np.concatenate([gates.max(axis=1), gates.min(axis=1)[::-1]]),
            fill="toself",
            fillcolor="rgba(40,100,200,0.15)",
            line=dict(width=0),
            name="min–max over channels",
            hoverinfo="skip",
        ),
        row=1,
        col=2,
    )
    fig.update_xaxes(title="output step", row=1, col=1)
    fig.update_yaxes(title="feature channel", row=1, col=1)
    fig.update_xaxes(title="output step", row=1, col=2)
    fig.update_yaxes(title="gate", range=[0, 1], row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=10, b=0), showlegend=False)
    return fig
