"""Plotly figures the notebooks share (plotly is imported when a figure is made)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lmc.experiments.grid import BASELINE

HIGHER_IS_BETTER = {"psnr": True, "ssim": True, "mse": False, "mae": False}


def plot_summary(summary: pd.DataFrame, metric: str = "mse"):
    """Bars of a metric's mean per variant (from `summarize`), error bars one standard deviation
    over seeds where there is more than one, and the copy-last-frame baseline as a dashed line."""
    import plotly.express as px

    column = f"{metric}_mean"
    if column not in summary:
        raise ValueError(f"{column!r} is not in the summary; it has {list(summary)}")
    spread = f"{metric}_std" if (summary["n"] > 1).any() else None
    better = "higher" if HIGHER_IS_BETTER.get(metric, False) else "lower"
    fig = px.bar(
        summary,
        x="variant",
        y=column,
        error_y=spread,
        hover_data=["n"],
        labels={column: f"val {metric} ({better} is better)"},
        title=f"validation {metric} per variant" + (" (mean and std over seeds)" if spread else ""),
    )
    baseline = f"{BASELINE}_{metric}_mean"
    if baseline in summary:
        fig.add_hline(
            y=float(summary[baseline].mean()),
            line_dash="dash",
            annotation_text="copy last frame",
        )
    return fig


def plot_curves(curves: pd.DataFrame, source: str = "val", metric: str = "mse"):
    """Learning curves of one series (e.g. source "val", metric "mse"; or "train", "phase2")
    per variant, one line per seed."""
    import plotly.express as px

    data = curves[(curves["source"] == source) & (curves["metric"] == metric)]
    if data.empty:
        found = sorted(set(zip(curves["source"], curves["metric"], strict=True)))
        raise ValueError(f"no curve {source}/{metric}; the curves hold {found}")
    return px.line(
        data,
        x="iteration",
        y="value",
        color="variant",
        line_group="seed",
        markers=True,
        labels={"value": f"{source} {metric}"},
        title=f"{source} {metric} during training",
    )


def plot_motion_map(projection, direction: np.ndarray, speed: np.ndarray | None = None):
    """A 2-D map of recalled contexts (`lmc.analysis.projection.Projection`) coloured by the true
    direction of motion, `direction` (N,) in radians (0 rightwards, pi/2 upwards), on a cyclic
    scale; the memory slots, where the projection placed them, are black crosses."""
    import plotly.express as px

    coords = np.asarray(projection.contexts)
    direction = np.asarray(direction)
    if direction.shape != coords.shape[:1]:
        raise ValueError(f"direction has shape {direction.shape}; expected ({coords.shape[0]},)")
    method = projection.method.upper()
    points = pd.DataFrame(
        {
            f"{method} 1": coords[:, 0],
            f"{method} 2": coords[:, 1],
            "direction (deg)": np.degrees(direction),
        }
    )
    if speed is not None:
        points["speed (px/frame)"] = np.asarray(speed)
    fig = px.scatter(
        points,
        x=f"{method} 1",
        y=f"{method} 2",
        color="direction (deg)",
        hover_data=[c for c in points if c.startswith("speed")],
        color_continuous_scale="Twilight",  # cyclic: -180 and 180 degrees get one colour
        range_color=(-180, 180),
        opacity=0.6,
        title=f"{len(points)} recalled contexts by true direction of motion",
    )
    if projection.slots is not None:
        fig.add_scatter(
            x=projection.slots[:, 0],
            y=projection.slots[:, 1],
            mode="markers",
            marker={"symbol": "x", "color": "black", "size": 9},
            name="memory slots",
        )
    return fig


def plot_family_paths(clips, input_len: int = 10, per_family: int = 3, image_size: int = 64):
    """One panel per motion family: the paths of a few digits that follow it (their top-left
    corners, y downwards as on screen), the input frames solid with a dot where the input ends,
    the future dotted. `clips` are generated with motion="contexts"."""
    from plotly.subplots import make_subplots

    from lmc.data.motion_contexts import FAMILIES

    if clips.families is None:
        raise ValueError("the clips have no motion families: generate them with motion='contexts'")
    fig = make_subplots(rows=2, cols=3, subplot_titles=FAMILIES, horizontal_spacing=0.04)
    free = image_size - 28
    for index in range(len(FAMILIES)):
        row, col = divmod(index, 3)
        clip, digit = np.nonzero(clips.families == index)
        for k, (n, d) in enumerate(list(zip(clip, digit, strict=True))[:per_family]):
            path = clips.continuous_positions[n, :, d]
            colour = ("#1f77b4", "#d62728", "#2ca02c")[k % 3]
            for part, dash in ((slice(0, input_len), "solid"), (slice(input_len - 1, None), "dot")):
                fig.add_scatter(
                    x=path[part, 1],
                    y=path[part, 0],
                    mode="lines",
                    showlegend=False,
                    line={"color": colour, "dash": dash},
                    row=row + 1,
                    col=col + 1,
                )
            end = path[input_len - 1]
            fig.add_scatter(
                x=[end[1]],
                y=[end[0]],
                mode="markers",
                showlegend=False,
                marker={"color": colour, "size": 7},
                row=row + 1,
                col=col + 1,
            )
    fig.update_xaxes(range=[0, free], showticklabels=False)
    for index in range(len(FAMILIES)):  # each panel square, as the canvas is
        suffix = "" if index == 0 else str(index + 1)
        fig.update_yaxes(
            range=[free, 0],
            showticklabels=False,
            scaleanchor=f"x{suffix}",
            row=index // 3 + 1,
            col=index % 3 + 1,
        )
    fig.update_layout(
        height=520,
        width=760,
        margin={"t": 60, "b": 10, "l": 10, "r": 10},
        title=f"digit paths per family: the {input_len} input frames solid, the future dotted",
    )
    return fig
