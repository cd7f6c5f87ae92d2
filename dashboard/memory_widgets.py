"""Figures and pictures of the memory pages (recall, slot atlas, embeddings, intervene).

Figure and picture functions are plain: numpy in, a Plotly figure or a uint8 image out, testable
on their own. Heatmaps emit no selection events in Streamlit, so every figure that should answer
a click carries invisible scatter markers whose customdata names what was hit. The last section
(`dataset_sample`) draws with Streamlit: the dataset pass shared by the atlas and embeddings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

ARROWS = ("→", "↗", "↑", "↖", "←", "↙", "↓", "↘")
HIGHLIGHT = (230, 40, 40)
CYCLIC = "Phase"  # direction is an angle: the colour scale must wrap around
DIVERGING = "RdBu_r"


def arrow(direction: float) -> str:
    """Screen angle in radians (0 right, pi/2 up) -> one of 8 arrows; '·' for NaN (no motion)."""
    if direction is None or not np.isfinite(direction):
        return "·"
    return ARROWS[int(round(direction / (math.pi / 4))) % 8]


def motion_text(direction: float, speed: float) -> str:
    if direction is None or not np.isfinite(direction):
        return "no digit"
    return f"{arrow(direction)} {math.degrees(direction):.0f}° {speed:.1f} px/frame"


def selected_customdata(event) -> list:
    """The customdata of the points selected in a `st.plotly_chart` event (clicked, boxed or
    lassoed), in selection order; [] for no event or no selection. Points without customdata
    (the heatmap itself, an image) are skipped."""
    if not event:
        return []
    try:
        points = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    return [
        p["customdata"] for p in points if isinstance(p, dict) and p.get("customdata") is not None
    ]


# ------------------------------------------------------------------------------------ images
def to_gray_uint8(frame: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) floats in [0, 1] or uint8 -> (H, W) uint8."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        frame = frame.mean(axis=0)
    if frame.dtype != np.uint8:
        frame = np.round(np.clip(frame, 0, 1) * 255).astype(np.uint8)
    return frame


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of (H, W) or (H, W, C), so pixels stay crisp."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(gray)[..., None], 3, axis=-1)


def draw_box(
    image: np.ndarray, box: tuple[int, int, int, int], colour=HIGHLIGHT, width: int = 1
) -> np.ndarray:
    """A copy of RGB `image` with the outline of box (top, left, height, width)."""
    out = image.copy()
    top, left, h, w = box
    bottom, right = min(top + h, out.shape[0]) - 1, min(left + w, out.shape[1]) - 1
    for i in range(width):
        out[top + i, left : right + 1] = colour
        out[bottom - i, left : right + 1] = colour
        out[top : bottom + 1, left + i] = colour
        out[top : bottom + 1, right - i] = colour
    return out


def cell_card(
    frame: np.ndarray, energy: np.ndarray, box: tuple[int, int, int, int], side: int = 128
) -> np.ndarray:
    """One gallery entry: the whole frame with the cell outlined (left), and the cell's patch of
    the frame above its motion energy (right), enlarged to about `side` pixels high."""
    frame = to_gray_uint8(frame)
    factor = max(1, side // frame.shape[0])
    whole = draw_box(upscale(rgb(frame), factor), tuple(v * factor for v in box), width=2)
    top, left, h, w = box
    half = (whole.shape[0] - 4) // 2
    zoom = max(1, half // h)
    patch = upscale(rgb(frame[top : top + h, left : left + w]), zoom)
    heat = energy[top : top + h, left : left + w].astype(np.float32)
    heat = heat / max(float(heat.max()), 1.0)
    heat_rgb = np.zeros((h, w, 3), np.uint8)
    heat_rgb[..., 0] = np.round(heat * 255).astype(np.uint8)
    heat_rgb[..., 1] = np.round(heat * 170).astype(np.uint8)
    column = np.full((whole.shape[0], patch.shape[1], 3), 255, np.uint8)
    column[: patch.shape[0]] = patch
    column[-patch.shape[0] :] = upscale(heat_rgb, zoom)
    gap = np.full((whole.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([whole, gap, column], axis=1)


# ------------------------------------------------------------------------------------ recall
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
    fig = go.Figure(
        go.Heatmap(z=image, colorscale="gray", showscale=False, hoverinfo="skip", zmin=0, zmax=255)
    )
    line = dict(color="rgba(255,200,0,0.8)", width=1)
    for r in range(1, rows):
        y = r * ch - 0.5
        fig.add_shape(type="line", x0=-0.5, x1=w - 0.5, y0=y, y1=y, line=line)
    for c in range(1, cols):
        x = c * cw - 0.5
        fig.add_shape(type="line", x0=x, x1=x, y0=-0.5, y1=h - 0.5, line=line)
    cells = np.arange(rows * cols)
    cy = (cells // cols + 0.5) * ch - 0.5
    cx = (cells % cols + 0.5) * cw - 0.5
    for cell in cells:
        fig.add_annotation(
            x=cx[cell] - cw * 0.32,
            y=cy[cell] - ch * 0.32,
            text=str(cell),
            showarrow=False,
            font=dict(color="rgb(255,210,0)", size=11),
        )
    for cell in selected:
        r, c = divmod(int(cell), cols)
        fig.add_shape(
            type="rect",
            x0=c * cw - 0.5,
            x1=(c + 1) * cw - 0.5,
            y0=r * ch - 0.5,
            y1=(r + 1) * ch - 0.5,
            line=dict(color="rgb(230,40,40)", width=3),
        )
    hover = list(cell_text) if cell_text is not None else [f"cell {c}" for c in cells]
    fig.add_trace(
        go.Scatter(
            x=cx,
            y=cy,
            mode="markers",
            marker=dict(
                size=max(10, int(height / max(rows, cols) * 0.8)), opacity=0, symbol="square"
            ),
            customdata=cells,
            hovertext=hover,
            hoverinfo="text",
            showlegend=False,
            name="cells",
        )
    )
    fig.update_xaxes(visible=False, range=[-0.5, w - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fig.update_layout(
        height=height, margin=dict(l=0, r=0, t=0, b=0), dragmode=False, clickmode="event+select"
    )
    return fig


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
            hovertemplate="cell %{y} · slot %{x}<br>" + title + " %{z:.4f}<extra></extra>",
        )
    )
    slot_grid, cell_grid = np.meshgrid(np.arange(size), np.arange(cells))
    fig.add_trace(
        go.Scatter(
            x=slot_grid.ravel(),
            y=cell_grid.ravel(),
            mode="markers",
            marker=dict(size=6, opacity=0),
            customdata=np.stack([cell_grid.ravel(), slot_grid.ravel()], axis=1),
            hoverinfo="skip",
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
            line=dict(color="black", width=2),
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
    """Per-cell normalised entropy as bars (1 = uniform), the effective slots in the hover."""
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
    low = float(np.nanmin(normalised_entropy)) if len(cells) else 0.0
    fig.update_xaxes(
        title="entropy / log S", range=[min(low, 1.0) - (1.0 - min(low, 1.0)) * 0.2 - 1e-4, 1.0]
    )
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
) -> go.Figure:
    """One cell's whole addressing: weight - 1/S per slot (top) and cosine per slot (bottom), the
    short-input recall in blue and, when known, the long-term recall in orange."""
    size = short_weights.shape[-1]
    slots = np.arange(size)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4]
    )
    series = [("short input (phase 2)", short_weights, short_cosine, "rgb(40,100,200)")]
    if long_weights is not None:
        series.append(("long window (phase 1)", long_weights, long_cosine, "rgb(240,140,20)"))
    for name, w, cos, colour in series:
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
    fig.update_yaxes(title="w − 1/S", row=1, col=1)
    fig.update_yaxes(title="cosine", row=2, col=1)
    fig.update_xaxes(title="memory slot", row=2, col=1)
    fig.update_layout(
        height=height,
        barmode="overlay",
        margin=dict(l=0, r=0, t=30, b=0),
        title=dict(
            text=f"cell {cell}: its whole addressing over the {size} slots", font=dict(size=14)
        ),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return fig


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
            line=dict(color="rgb(40,100,200)"),
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


# ------------------------------------------------------------------------------------ atlas
def usage_figure(
    top1_fraction: np.ndarray,
    mean_centred: np.ndarray,
    dead: np.ndarray,
    selected: int | None,
    height: int = 320,
) -> go.Figure:
    """Top-1 share of every slot as bars (click one to choose it), coloured by its mean weight
    above uniform; dead slots marked with an x on the axis."""
    size = len(top1_fraction)
    slots = np.arange(size)
    bound = float(np.abs(mean_centred).max()) or 1.0
    line_width = np.where(slots == selected, 2.5, 0.0) if selected is not None else np.zeros(size)
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
                line=dict(color="black", width=line_width),
            ),
            customdata=np.stack([slots, mean_centred], axis=1),
            hovertemplate="slot %{x}<br>top choice of %{y:.2%} of queries<br>mean w − 1/S %{customdata[1]:+.5f}<extra></extra>",
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


# ------------------------------------------------------------------------------------ embeddings
def embedding_figure(
    coords: np.ndarray,
    colour: np.ndarray,
    colour_name: str,
    kind: str,
    hover: Sequence[str],
    slot_coords: np.ndarray | None = None,
    dragmode: str = "lasso",
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


# ------------------------------------------------------------------------------------ intervene
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


# ------------------------------------------------------------------------------------ streamlit
SAMPLE_RANGE = (100, 2000, 100)  # min, max, step of the clip-count slider
SAMPLE_DEFAULT = 500
SECONDS_PER_CLIP = 0.01  # the demo model, both phases, one CPU core (python -m lmc.bench memory)


@st.cache_resource(max_entries=4, show_spinner="Reading the stored pass ...")
def _stored_pass(path: str, mtime_ns: int):
    # The disk file is the truth; this keeps one read copy per file version in memory (shared,
    # never mutated by the pages).
    from lmc.analysis.dataset_pass import load_pass

    return load_pass(path)


def dataset_sample(loaded, namespace: str):
    """The memory's recall over the first N clips of the generated test set (N on a slider,
    key f"{namespace}.clips"), from the disk cache, or after a button press with a progress bar.
    Returns a DatasetPass, or None while it has not been computed."""
    from lmc.analysis import dataset_pass as dp

    key = f"{namespace}.clips"
    st.session_state.setdefault(key, SAMPLE_DEFAULT)
    low, high, step = SAMPLE_RANGE
    num = st.slider(
        "clips from the generated test set",
        low,
        high,
        step=step,
        key=key,
        help="The first N clips of the fixed test set (the clips of the Input page up to 1,000); "
        "each gives one query per cell.",
    )
    selection = dp.fixed_set_selection(num, image_size=loaded.model.config.image_size)
    path = dp.cache_path(loaded.key, selection)
    if not path.is_file():
        st.info(
            f"The memory has not been run over these {num} clips with this model yet: about "
            f"{max(1, round(num * SECONDS_PER_CLIP))} s on one CPU core, then stored on disk for "
            "the next start."
        )
        if not st.button(
            f"Run the memory over {num} clips", key=f"{namespace}.run.button", type="primary"
        ):
            return None
        bar = st.progress(0.0, text=f"0 / {num} clips")
        shown = [-1]

        def progress(done: int, total: int) -> None:
            percent = 100 * done // total
            if percent != shown[0]:  # one message per percent, not per batch
                shown[0] = percent
                bar.progress(done / total, text=f"{done} / {total} clips")

        dp.fixed_set_pass(loaded.model, num, model_key=loaded.key, progress=progress)
        st.rerun()  # draw the page again without the button and the notice
    result = _stored_pass(str(path), path.stat().st_mtime_ns)
    if result is None:
        st.error(f"The stored pass {path} cannot be read; delete it to compute it again.")
    return result
