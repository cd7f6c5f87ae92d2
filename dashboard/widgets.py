"""Small pieces the pages share: pictures of frames, charts, the sidebar, upload checks.

Picture functions are pure (numpy in, uint8 images or GIF bytes out); the others draw with
Streamlit. Frames are (T, C, H, W) floats in [0, 1], the toolkit's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.fingerprint import fingerprint
from dashboard.series import COLORS, COPY_LAST, METHOD_COLORS, MODEL, ZEROS
from lmc.viz import to_uint8

WHITE = 255
MIN_SIDE_SHOWN = 64  # smaller frames are enlarged (nearest neighbour) so that digits stay legible
# A black - red - yellow - white ramp for absolute errors in [0, 1] (like matplotlib's "hot").
_HEAT_STOPS = np.array([0.0, 0.35, 0.7, 1.0])
_HEAT_RGB = np.array([[0, 0, 0], [200, 30, 20], [255, 210, 40], [255, 255, 255]], dtype=float)


# ------------------------------------------------------------------------------- pictures
def to_rgb(frames: np.ndarray) -> np.ndarray:
    """(T, C, H, W) floats -> (T, H, W, 3) uint8, gray repeated so it mixes with coloured maps."""
    rgb = to_uint8(np.asarray(frames, dtype=np.float32))
    return np.repeat(rgb, 3, axis=-1) if rgb.shape[-1] == 1 else rgb


def heat(values: np.ndarray, vmax: float = 1.0) -> np.ndarray:
    """(...) values in [0, vmax] -> (..., 3) uint8 colours of the black-red-yellow-white ramp."""
    x = np.clip(np.asarray(values, dtype=np.float64) / vmax, 0.0, 1.0)
    channels = [np.interp(x, _HEAT_STOPS, _HEAT_RGB[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def upscale(images: np.ndarray, factor: int) -> np.ndarray:
    """(..., H, W, C) -> (..., factor*H, factor*W, C) by pixel repetition (crisp, not blurred)."""
    if factor == 1:
        return images
    return images.repeat(factor, axis=-3).repeat(factor, axis=-2)


def display_factor(side: int, minimum: int = MIN_SIDE_SHOWN) -> int:
    return max(1, -(-minimum // side))


def font_file() -> Path | None:
    """DejaVu Sans, which has the Δ, arrows and × our labels use (Pillow's own font draws them as
    empty boxes). It comes with matplotlib, a requirement, and is found without importing it."""
    from importlib.util import find_spec

    spec = find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = (
        Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    )
    return path if path.is_file() else None


@lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    path = font_file()
    return ImageFont.truetype(str(path), size) if path else ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Row:
    """One row of a grid: a label and (T, H, W, 3) uint8 frames placed from column `start`."""

    label: str
    frames: np.ndarray
    start: int = 0


def grid_image(
    rows: list[Row],
    columns: int,
    split: int,
    gap: int = 2,
    split_gap: int = 12,
    numbers: bool = True,
    min_side: int = MIN_SIDE_SHOWN,
    first: int = 1,
) -> np.ndarray:
    """Rows of frames on a white sheet with their labels on the left and frame numbers on top
    (`first` for column 0); a wider gap after column `split` separates what the model saw from
    what it predicted (whose numbers are drawn in red). Frames are enlarged to at least
    `min_side` pixels."""
    from PIL import Image, ImageDraw

    h, w = rows[0].frames.shape[1:3]
    factor = display_factor(h, min_side)
    h, w = h * factor, w * factor
    # Text scales with the frames, so it stays legible when the browser shrinks a wide sheet.
    font = _font(max(12, h // 3))
    label_width = max((int(font.getlength(r.label)) for r in rows), default=0)
    label_width += 12 if label_width else 0
    header = int(font.size * 1.5) if numbers else 0

    def x_of(col: int) -> int:
        return label_width + col * (w + gap) + (split_gap if col >= split else 0)

    sheet = np.full((header + len(rows) * (h + gap) - gap, x_of(columns) - gap, 3), WHITE, np.uint8)
    for i, row in enumerate(rows):
        y = header + i * (h + gap)
        for j, frame in enumerate(upscale(row.frames, factor)):
            col = row.start + j
            if col < columns:
                sheet[y : y + h, x_of(col) : x_of(col) + w] = frame
    image = Image.fromarray(sheet)
    draw = ImageDraw.Draw(image)
    if numbers:
        for col in range(columns):
            text, color = str(col + first), (90, 90, 90) if col < split else (200, 30, 20)
            draw.text((x_of(col) + (w - font.getlength(text)) / 2, 2), text, fill=color, font=font)
    for i, row in enumerate(rows):
        y = header + i * (h + gap) + (h - font.size) / 2
        draw.text((4, y), row.label, fill=(30, 30, 30), font=font)
    return np.asarray(image)


def animation_sheets(panels: list[tuple[str, np.ndarray | None]], short_len: int) -> np.ndarray:
    """Panels side by side, one sheet per time step: (T, H', W', 3) uint8, the frames of the
    animation (GIF here, GIF and MP4 in the downloads, lmc.analysis.exports).

    panels: (title, (T, H, W, 3) uint8 frames over the whole clip, or None for a blank panel
    during the input); a caption says whether a step is input or prediction.
    """
    from PIL import Image, ImageDraw

    steps = max(len(f) for _, f in panels if f is not None)
    h, w = next(f for _, f in panels if f is not None).shape[1:3]
    factor = display_factor(h, 128)
    h, w = h * factor, w * factor
    gap, top, bottom = 8, 22, 22
    font = _font(13)
    images = []
    for t in range(steps):
        sheet = Image.new("RGB", (len(panels) * (w + gap) + gap, top + h + bottom), "white")
        draw = ImageDraw.Draw(sheet)
        for k, (title, frames) in enumerate(panels):
            x = gap + k * (w + gap)
            draw.text((x, 4), title, fill=(30, 30, 30), font=font)
            if frames is not None and t < len(frames):
                sheet.paste(Image.fromarray(upscale(frames[t], factor)), (x, top))
            else:
                draw.rectangle([x, top, x + w - 1, top + h - 1], fill=(240, 240, 240))
        seen = t < short_len
        caption = f"input {t + 1}/{short_len}" if seen else f"predicted +{t + 1 - short_len}"
        draw.text(
            (gap, top + h + 4), caption, fill=(30, 30, 30) if seen else (200, 30, 20), font=font
        )
        images.append(np.asarray(sheet))
    return np.stack(images)


def animation_gif(
    panels: list[tuple[str, np.ndarray | None]], short_len: int, ms_per_frame: int = 300
) -> bytes:
    """An animated GIF of `animation_sheets`, one GIF frame per time step."""
    from lmc.analysis.exports import gif_bytes

    return gif_bytes(animation_sheets(panels, short_len), ms_per_frame)


@st.cache_data(max_entries=4, show_spinner=False)
def _cached_gif(content: str, short_len: int, _panels) -> bytes:
    return animation_gif(_panels, short_len)


def animation(panels: list[tuple[str, np.ndarray | None]], short_len: int) -> bytes:
    """`animation_gif`, cached by the panels' content: titles alone say nothing of the frames
    (two uploads may share a name)."""
    return _cached_gif(fingerprint(panels), short_len, panels)


def strip(
    frames: np.ndarray, split: int | None = None, label: str = "", numbers: bool = True
) -> np.ndarray:
    """A one-row grid of a clip, split where the model's input ends."""
    split = len(frames) if split is None else split
    return grid_image([Row(label, to_rgb(frames))], len(frames), split, numbers=numbers)


# --------------------------------------------------------------------------------- charts
def training_figure(records: list[dict]):
    """Loss per phase, validation MSE and SSIM with the copy-last and all-zero baselines, and,
    when the run logged it, the memory's health at each validation (slots alive, the MSE ratio
    of another clip's recall over the own, the long/short top-1 agreement beside chance)."""
    from plotly.subplots import make_subplots

    health = [r for r in records if "health" in r]
    titles = ["training loss", "validation MSE (per frame)", "validation SSIM"]
    if health:
        titles += ["slots alive (of S)", "another clip's recall: MSE ratio", "long/short top-1"]
    # Three panels a row: six in one row ran their titles into each other (also in the PNG).
    rows = 2 if health else 1
    fig = make_subplots(rows=rows, cols=3, subplot_titles=titles, vertical_spacing=0.22)
    it = [r["iteration"] for r in records]
    # Three losses in three colours, none of them the validation model's blue.
    for name, color in (("phase1", "#7c3aed"), ("phase2", "#ea580c"), ("loss", "#0f766e")):
        if any(name in r for r in records):
            values = [r.get(name) for r in records]
            label = {"phase1": "phase 1 (long context)", "phase2": "phase 2 (short input)"}
            fig.add_scatter(
                x=it, y=values, name=label.get(name, name), line_color=color, row=1, col=1
            )
    val = [r for r in records if "val" in r]
    vx = [r["iteration"] for r in val]
    # One legend entry per series, each in its own colour: the model's validation scores and
    # each baseline appear in both score panels under one name.
    for col, metric in ((2, "mse"), (3, "ssim")):
        fig.add_scatter(
            x=vx,
            y=[r["val"].get(metric) for r in val],
            name="model (validation)",
            legendgroup=MODEL,
            showlegend=col == 2,
            line_color=COLORS[MODEL],
            mode="lines+markers",
            row=1,
            col=col,
        )
        for base, name, dash in (("copy_last", COPY_LAST, "dash"), ("zeros", ZEROS, "dot")):
            ys = [r.get("val_baselines", {}).get(base, {}).get(metric) for r in val]
            if any(y is not None for y in ys):
                fig.add_scatter(
                    x=vx,
                    y=ys,
                    name=name,
                    legendgroup=name,
                    showlegend=not any(t.name == name for t in fig.data),
                    line=dict(color=COLORS[name], dash=dash),
                    row=1,
                    col=col,
                )
    if health:
        hx = [r["iteration"] for r in health]
        for col, key, name, color in (
            (1, "slots_alive", "slots alive", METHOD_COLORS[0]),
            (2, "other_recall_mse_ratio", "other-recall MSE ratio", METHOD_COLORS[2]),
            (3, "alignment_top1", "top-1 agreement", METHOD_COLORS[4]),
        ):
            fig.add_scatter(
                x=hx,
                y=[r["health"].get(key) for r in health],
                name=name,
                line_color=color,
                mode="lines+markers",
                row=2,
                col=col,
            )
        fig.add_scatter(
            x=hx,
            y=[r["health"].get("alignment_top1_chance") for r in health],
            name="top-1 with another clip (chance)",
            line=dict(color=METHOD_COLORS[4], dash="dot"),  # the control of the curve beside it
            row=2,
            col=3,
        )
        fig.add_hline(y=1.0, line=dict(color="#9ca3af", dash="dash"), row=2, col=2)
        fig.update_yaxes(rangemode="tozero", row=2, col=1)
        fig.update_yaxes(range=[0, 1], row=2, col=3)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="iteration")
    fig.update_layout(
        height=400 if rows == 1 else 720,
        margin=dict(t=30, b=10, l=10, r=10),
        legend=dict(orientation="h", y=-0.25 if rows == 1 else -0.12, x=0),
    )
    return fig


def per_frame_figure(named: dict[str, dict[str, np.ndarray]], gates: dict[str, np.ndarray]):
    """Per-frame MSE, SSIM and PSNR of each method, and the memory gate of each model."""
    from plotly.subplots import make_subplots

    titles = ["MSE per frame (lower is better)", "SSIM (higher is better)", "PSNR dB"]
    if gates:
        titles.append("memory gate (mean)")
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    extra = iter(METHOD_COLORS)
    colors = {name: COLORS.get(name) or next(extra, "#64748b") for name in named}
    for name, scores in named.items():
        x = np.arange(1, len(scores["mse"]) + 1)
        dash = {COPY_LAST: "dash", ZEROS: "dot"}.get(name)  # the baselines
        for col, metric in enumerate(("mse", "ssim", "psnr"), start=1):
            fig.add_scatter(
                x=x,
                y=scores[metric],
                name=name,
                legendgroup=name,
                showlegend=col == 1,
                line=dict(color=colors[name], dash=dash),
                row=1,
                col=col,
            )
    for name, gate in gates.items():
        fig.add_scatter(
            x=np.arange(1, len(gate) + 1),
            y=gate,
            name=f"{name} gate",
            legendgroup=name,
            showlegend=False,
            line=dict(color=colors.get(name, COLORS[MODEL])),
            row=1,
            col=len(titles),
        )
    fig.update_xaxes(title_text="predicted frame", dtick=1 if len(x) <= 20 else None)
    if gates:  # a gate is a sigmoid: its whole range, so 0.53 reads as half open
        fig.update_yaxes(range=[0.0, 1.0], row=1, col=len(titles))
    fig.update_layout(
        height=340,
        margin=dict(t=70, b=10, l=10, r=10),
        legend=dict(orientation="h", y=1.22, x=0),
    )
    return fig


def trajectory_figure(motion, short_len: int, image_size: int):
    """The path of each digit's centre on the canvas: solid over the input, dotted after."""
    import plotly.graph_objects as go

    from lmc.analysis.probe import digit_family

    fig = go.Figure()
    centre = motion.positions + 14.0  # top-left corner of a 28-pixel digit -> its centre
    for d, label in enumerate(motion.labels.tolist()):
        color = METHOD_COLORS[d % len(METHOD_COLORS)]
        y, x = centre[:, d, 0], centre[:, d, 1]
        family = digit_family(motion, d)
        name = f"digit {label}" + ("" if family is None else f" ({family})")
        fig.add_scatter(
            x=x[:short_len],
            y=y[:short_len],
            mode="lines+markers",
            name=f"{name}: input",
            line_color=color,
        )
        if len(x) > short_len:
            fig.add_scatter(
                x=x[short_len - 1 :],
                y=y[short_len - 1 :],
                mode="lines+markers",
                name=f"{name}: future",
                line=dict(color=color, dash="dot"),
                marker_symbol="circle-open",
            )
        fig.add_annotation(x=x[0], y=y[0], text="start", showarrow=False, yshift=10)
    fig.add_shape(type="rect", x0=0, y0=0, x1=image_size, y1=image_size, line_color="#9ca3af")
    fig.update_xaxes(range=[-2, image_size + 2], title_text="x (pixels)", constrain="domain")
    fig.update_yaxes(
        range=[image_size + 2, -2], title_text="y (pixels)", scaleanchor="x", constrain="domain"
    )
    fig.update_layout(height=320, margin=dict(t=10, b=10, l=10, r=10), legend=dict(x=1.02, y=1))
    return fig


# ------------------------------------------------------------------------------- streamlit
def score_columns() -> dict:
    """Number formats of the score tables: enough digits to compare, no more."""
    number = st.column_config.NumberColumn
    return {
        "mse": number("MSE", format="%.2f"),
        "mae": number("MAE", format="%.2f"),
        "psnr": number("PSNR (dB)", format="%.2f"),
        "ssim": number("SSIM", format="%.4f"),
    }


def upload_problem(upload, limit_mb: int) -> str | None:
    """Why an uploaded file is refused (too large), or None. The uploader enforces the limit in
    the browser; this checks again on the server, which is what counts."""
    if upload.size > limit_mb * 2**20:
        return (
            f"{upload.name} is {upload.size / 2**20:.1f} MB; uploads are limited to {limit_mb} MB"
        )
    return None


def model_summary(config) -> str:
    memory = (
        f"memory {config.memory_size} slots x {config.memory_dim}, {config.query} query"
        if config.memory
        else "no memory (ConvLSTM baseline)"
    )
    return f"{config.image_size}x{config.image_size}x{config.image_channels} - {memory}"


def clip_summary(clip) -> str:
    t, c, h, w = clip.frames.shape
    future = t - clip.short_len
    gt = f"{future} ground-truth frames" if future else "no ground truth"
    return f"{clip.short_len} input frames, {gt} - {h}x{w}x{c}"


def sidebar_status(container) -> None:
    """The current model and input, on every page, drawn in `container` (in the sidebar)."""
    from dashboard.input_state import current_input
    from dashboard.model_state import current_model

    with container:
        loaded = current_model()
        st.markdown("**Model**")
        if loaded is None:
            st.caption("none loaded: open one on the Model page")
        else:
            st.markdown(f":material/memory: {loaded.label}")
            st.caption(model_summary(loaded.model.config))
        clip = current_input()
        st.markdown("**Input**")
        if clip is None:
            st.caption("none chosen: pick one on the Input page")
        else:
            st.markdown(f":material/movie: {clip.source}")
            step = max(1, clip.short_len // 5)
            st.image(strip(clip.short[::step], numbers=False), width="stretch")
            st.caption(clip_summary(clip))
