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
