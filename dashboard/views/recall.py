"""Memory recall: what the memory returns for the current input, cell by cell.

LMC-Memory (Lee et al., CVPR 2021, sec. 3.2) cuts the motion of the input into one query per
16x16 cell; each query addresses every memory slot (cosine, then softmax) and recalls a blend of
them. The page shows the query grid over the input, the whole addressing (cells x slots) as the
quantities that vary, one cell's distribution on click, the recall from the long-term window
beside the recall from the short input when the clip's future is known, and the attention gate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import input_state, model_state, url_state
from dashboard import memory_widgets as mw
from dashboard.choices import MEASURES
from dashboard.downloads import Shelf, recall_downloads
from dashboard.keys import Recall
from dashboard.selection import selected_ids
from dashboard.series import BOTH_RECALLS, LONG_RECALL, SHORT_RECALL
from dashboard.trace import trace
from dashboard.widgets import Row, grid_image, to_rgb
from lmc.analysis import alignment as al
from lmc.analysis.inputs import default_out_len
from lmc.analysis.projection import MAX_WEIGHT_FORMULA, max_weight
from lmc.analysis.recall import RecallView, addressing_measure, recall_stats, recall_view
from lmc.data.motion import cell_motion

PHASES = (SHORT_RECALL, LONG_RECALL, BOTH_RECALLS)
# The figures of the cells panel, by their titles in the downloads.
CELL_FIGURES = (
    "query grid",
    "cell distribution",
    "addressing",
    f"addressing, {LONG_RECALL}",
    "entropy per cell",
)
TOP_K = 5
# The page's sections, each an expander: the essentials (one cell, the whole addressing) open,
# the rest on demand, so that the page starts a screen or two long.
SECTIONS = {
    "cell": ("One cell: the query grid and the cell's distribution over the slots", True),
    "addressing": ("The addressing of every cell (cells × slots)", True),
    "table": (f"Top {TOP_K} slots per cell, as a table", False),
    "alignment": ("Long-term recall vs short-input recall, cell by cell", False),
    "gate": ("The attention gate on the recalled motion", False),
}


def _section(name: str):
    label, expanded = SECTIONS[name]
    return st.expander(label, expanded=expanded)


@st.cache_data(max_entries=32, show_spinner=False)
def _view(model_key: str, clip_key: str, out_len: int, _model, _clip) -> RecallView:
    return recall_view(_model, _clip, out_len)


def _cell_motion(clip, grid):
    """True motion per cell over the input (direction, speed), or None when unknown."""
    if clip.motion is None or clip.frames.shape[-1] != clip.frames.shape[-2]:
        return None
    motion = cell_motion(
        clip.motion.positions[None],
        clip.motion.velocities[None],
        clip.frames.shape[-1],
        grid,
        frames=slice(0, clip.short_len),
    )
    return motion.direction[0], motion.speed[0]


def _measure(arrays, name: str) -> tuple[np.ndarray, bool]:
    """(cells, S) values of the measure the radio names, and whether they diverge around 0."""
    return addressing_measure(arrays, MEASURES[name])


def _pick_cell(chart_key: str, axis: str | None = None) -> None:
    """on_select of the grid and the heatmaps: the clicked marker names its cell (the heatmap's
    markers carry (cell, slot, value) and sit on their cell's row, `axis` "y")."""
    cells = selected_ids(st.session_state.get(chart_key), axis=axis)
    if cells:
        st.session_state[Recall.CELL] = cells[0]


ADDRESSING_WORDS = {
    "cosine": "raw cosines",
    "standardized": "cosines standardised over the slots",
}


def _summary(view: RecallView, align, temperature: float, addressing: str) -> None:
    stats = recall_stats(view.short.weights, view.short.cosine)
    size = view.short.memory_size
    cols = st.columns(6 if align is not None else 3)
    cols[0].metric(
        "entropy / log S",
        f"{stats.normalised_entropy.mean():.4f}",
        help="mean over cells; 1 = uniform over all slots",
    )
    cols[1].metric(
        "effective slots",
        f"{stats.effective_slots.mean():.1f}",
        help=f"exp(entropy), mean over cells; {size} = uniform, 1 = one slot",
    )
    cols[2].metric(
        "largest weight",
        f"{stats.max_weight.max():.4f}",
        help=f"uniform = 1/S = {1 / size:.4f}; the softmax allows at most "
        f"{max_weight(size, temperature, addressing):.4f} ({MAX_WEIGHT_FORMULA[addressing]}, "
        f"T = {temperature:g})",
    )
    if align is not None:
        cells = len(align.agree)
        cols[3].metric(
            "same top-1",
            f"{int(align.agree.sum())}/{cells}",
            help="cells whose long-window (phase 1) and short-input (phase 2) recalls pick the same top slot",
        )
        cols[4].metric(
            "KL long‖short",
            f"{align.kl.mean():.1e}",
            help="KL(long ‖ short) of the addressing weights in nats, mean over cells",
        )
        cols[5].metric(
            "readout cosine",
            f"{align.cosine.mean():.4f}",
            help="cosine of the long and short readouts, mean over cells",
        )


@url_state.fragment
def _cells_panel(view: RecallView, motion, align, shelf: Shelf) -> None:
    trace("recall.cells")
    short, long = view.short, view.long
    cells, size = short.num_cells, short.memory_size
    if st.session_state.get(Recall.CELL) not in range(cells):
        st.session_state[Recall.CELL] = 0
    cell = st.session_state[Recall.CELL]
    stats = recall_stats(short.weights, short.cosine, TOP_K)
    shelf.drop(*CELL_FIGURES)  # the panel draws them again below, those its view shows

    def cell_label(c: int) -> str:
        if not 0 <= c < cells:
            return f"cell {c}"
        parts = [
            f"cell {c}",
            f"top slot {stats.top.slots[c, 0]}",
            f"eff. slots {stats.effective_slots[c]:.1f}",
        ]
        if motion is not None:
            parts.append(mw.motion_text(motion[0][c], motion[1][c]))
        return " · ".join(parts)

    cell_section = _section("cell")
    left, right = cell_section.columns([1, 2])
    with left:
        st.markdown("**Query grid over the last input frame** — click a cell")
        grid_fig = mw.grid_figure(
            view.short_frames[-1],
            short.grid,
            selected=[cell],
            cell_text=[cell_label(c) for c in range(cells)],
        )
        st.plotly_chart(
            shelf.figure("query grid", grid_fig),
            key=Recall.GRID_CHART,
            on_select=lambda: _pick_cell(Recall.GRID_CHART),
            selection_mode="points",
            config={"displayModeBar": False},
        )
        st.selectbox("cell", range(cells), key=Recall.CELL, format_func=cell_label)
    with right:
        fig = mw.distribution_figure(
            short.weights[cell],
            short.cosine[cell],
            None if long is None else long.weights[cell],
            None if long is None else long.cosine[cell],
            cell=cell,
        )
        st.plotly_chart(shelf.figure("cell distribution", fig), key=Recall.DISTRIBUTION)
        top = ", ".join(
            f"**{s}** ({w - 1 / size:+.4f}, cos {c:.2f})"
            for s, w, c in zip(
                stats.top.slots[cell], stats.top.weights[cell], stats.top.cosines[cell], strict=True
            )
        )
        st.markdown(f"Cell {cell}, top {TOP_K} slots (w − 1/S, cosine): {top}")
        if align is not None:
            verdict = "the same top slot" if align.agree[cell] else "different top slots"
            st.caption(
                f"Long vs short: {verdict}; KL(long ‖ short) = {align.kl[cell]:.2e} nats; readout cosine "
                f"{align.cosine[cell]:.4f}; {align.overlap[cell]:.0%} of the top {align.k} shared."
            )

    addressing = _section("addressing")
    addressing.markdown("Rows: query cells, columns: memory slots — click a row to pick its cell")
    with addressing:
        _addressing(view, cell, shelf)
    with _section("table"):
        st.dataframe(
            _top_table(view, stats, motion, align),
            hide_index=True,
            height=min(38 + 35 * cells, 600),
        )


def _addressing(view: RecallView, cell: int, shelf: Shelf) -> None:
    """The measure and recall radios, then the heatmap(s) of every cell's addressing."""
    short, long = view.short, view.long
    c1, c2 = st.columns(2)
    st.session_state.setdefault(Recall.MEASURE, "weight − 1/S")
    c1.radio("show", list(MEASURES), key=Recall.MEASURE, horizontal=True)
    phases = PHASES if long is not None else (SHORT_RECALL,)
    st.session_state.setdefault(Recall.PHASE, SHORT_RECALL)
    if st.session_state[Recall.PHASE] not in phases:
        st.session_state[Recall.PHASE] = SHORT_RECALL
    c2.radio("recall", phases, key=Recall.PHASE, horizontal=True)
    measure = st.session_state[Recall.MEASURE]
    if st.session_state[Recall.PHASE] == BOTH_RECALLS:
        # One colour scale for both, so equal colours mean equal values.
        (v_long, diverging), (v_short, _) = _measure(long, measure), _measure(short, measure)
        both = np.concatenate([v_long, v_short])
        bound = float(np.nanmax(np.abs(both))) if diverging else None
        limits = (-bound, bound) if diverging else (float(np.nanmin(both)), float(np.nanmax(both)))
        for col, arrays, name, key in zip(
            st.columns(2),
            (long, short),
            (LONG_RECALL, SHORT_RECALL),
            (Recall.HEATMAP_LONG, Recall.HEATMAP),
            strict=True,
        ):
            values, _ = _measure(arrays, measure)
            col.markdown(f"*{name}*")
            col.plotly_chart(
                shelf.figure(
                    f"addressing, {name}" if key == Recall.HEATMAP_LONG else "addressing",
                    mw.weights_heatmap(values, measure, cell, diverging, limits=limits),
                ),
                key=key,
                on_select=lambda key=key: _pick_cell(key, "y"),
                selection_mode="points",
            )
    else:
        arrays = long if st.session_state[Recall.PHASE] == LONG_RECALL else short
        values, diverging = _measure(arrays, measure)
        heat_col, ent_col = st.columns([4, 1])
        with heat_col:
            st.plotly_chart(
                shelf.figure(
                    "addressing",
                    mw.weights_heatmap(values, measure, cell, diverging),
                ),
                key=Recall.HEATMAP,
                on_select=lambda: _pick_cell(Recall.HEATMAP, "y"),
                selection_mode="points",
            )
        with ent_col:
            trace_stats = recall_stats(arrays.weights, arrays.cosine)
            st.plotly_chart(
                shelf.figure(
                    "entropy per cell",
                    mw.cell_stats_figure(
                        trace_stats.normalised_entropy, trace_stats.effective_slots
                    ),
                ),
                key=Recall.ENTROPY,
            )
    st.caption(
        "Vertical stripes are slots that every cell favours (or avoids) alike; "
        "'weight − mean of the cells' takes them out and shows what differs between cells. "
        "Bars: entropy / log S per cell (1 = uniform)."
    )


def _top_table(view: RecallView, stats, motion, align) -> pd.DataFrame:
    size = view.short.memory_size
    rows = []
    long_stats = (
        None if view.long is None else recall_stats(view.long.weights, view.long.cosine, TOP_K)
    )
    for c in range(view.short.num_cells):
        row = {"cell": c}
        if motion is not None:
            row["true motion (input)"] = mw.motion_text(motion[0][c], motion[1][c])
        row[f"top {TOP_K} slots (short)"] = " · ".join(str(s) for s in stats.top.slots[c])
        row["top w − 1/S"] = float(stats.top.weights[c, 0] - 1 / size)
        row["top cosine"] = float(stats.top.cosines[c, 0])
        row["entropy / log S"] = float(stats.normalised_entropy[c])
        row["effective slots"] = float(stats.effective_slots[c])
        if long_stats is not None:
            row[f"top {TOP_K} slots (long)"] = " · ".join(str(s) for s in long_stats.top.slots[c])
            row["same top-1"] = "✓" if align.agree[c] else "✗"
            row["KL(long ‖ short)"] = float(align.kl[c])
            row["readout cosine"] = float(align.cosine[c])
        rows.append(row)
    return pd.DataFrame(rows)


def _alignment_section(view: RecallView, align, shelf: Shelf) -> None:
    st.caption(
        "Training phase 1 writes the memory from the long window (input and future) through the "
        "context encoder; phase 2 teaches the matching encoder to recall the same from the input "
        "alone. Where the two agree, the input alone brings back the long-term motion context."
    )
    grid = view.short.grid
    cells = view.short.num_cells
    c1, c2, c3 = st.columns(3)
    agree_text = [f"{c}: {'✓' if a else '✗'}" for c, a in enumerate(align.agree)]
    c1.plotly_chart(
        shelf.figure(
            "same top-1 slot",
            mw.cell_values_figure(
                align.agree.astype(float), grid, "same top-1 slot", agree_text, "RdYlGn", 0, 1
            ),
        ),
        key=Recall.AGREE,
    )
    kl_text = [f"{c}: {v:.1e}" for c, v in enumerate(align.kl)]
    c2.plotly_chart(
        shelf.figure(
            "KL long-short",
            mw.cell_values_figure(
                align.kl,
                grid,
                "KL(long ‖ short), nats",
                kl_text,
                "Reds",
                0,
                float(align.kl.max()) or 1.0,
            ),
        ),
        key=Recall.KL,
    )
    cos_text = [f"{c}: {v:.3f}" for c, v in enumerate(align.cosine)]
    low = float(min(align.cosine.min(), 0.99))
    c3.plotly_chart(
        shelf.figure(
            "readout cosine",
            mw.cell_values_figure(
                align.cosine, grid, "readout cosine", cos_text, "Viridis", low, 1.0
            ),
        ),
        key=Recall.COSINE,
    )
    st.caption(f"{cells} cells. Predictions with each recall:")
    rows = [Row("input", to_rgb(view.short_frames))]
    start = len(view.short_frames)
    if view.future is not None and len(view.future):
        rows.append(Row("truth", to_rgb(view.future[: len(view.prediction)]), start))
    rows.append(Row("short recall (inference)", to_rgb(view.prediction), start))
    rows.append(Row("long recall (phase 1)", to_rgb(view.long_prediction), start))
    st.image(grid_image(rows, start + len(view.prediction), start))


# --------------------------------------------------------------------------------- the page
trace("recall")
st.title("Memory recall")
loaded, clip = input_state.require_model_and_input()
model = loaded.model
model_state.require_memory(loaded, "there is nothing to recall")

out_len = default_out_len(clip)
view = _view(loaded.key, clip.key, out_len, model, clip)
size = view.short.memory_size
rows, cols = view.short.grid
st.caption(
    f"Input: {clip.source}, {clip.short_len} frames seen. The motion matching encoder turns them into "
    f"{rows} × {cols} = {rows * cols} queries, one per 16×16 cell; each addresses the {size} slots by "
    f"cosine similarity and a softmax and recalls their blend. "
    + (
        f"With no temperature every weight stays near 1/S = {1 / size:.4f}, so the views below show "
        "what varies: the weight above uniform, the cosine, the ranking and the entropy."
        if model.config.addressing == "cosine" and model.config.temperature == 1.0
        else f"This model addresses by {ADDRESSING_WORDS[model.config.addressing]} at temperature "
        f"{model.config.temperature:g} (published: raw cosines, T = 1)."
    )
)
align = None
if view.long is not None:
    align = al.alignment(
        view.long.weights, view.short.weights, view.long.readout, view.short.readout
    )
elif clip.future.shape[0] == 0:
    st.caption("The clip has no future frames, so the long-term recall (phase 1) cannot be shown.")
_summary(view, align, model.config.temperature, model.config.addressing)
motion = _cell_motion(clip, view.short.grid)
if motion is not None:  # the cells' labels and table write each cell's true motion
    st.caption(mw.DIRECTION_NOTE)
shelf = Shelf()
_cells_panel(view, motion, align, shelf)
if align is not None:
    with _section("alignment"):
        _alignment_section(view, align, shelf)
with _section("gate"):
    st.caption(
        "At every output step the predictor weighs the memory feature channel by channel with a "
        "gate in [0, 1] computed from its own state (sec. 3.4): near 0 the recall is ignored."
    )
    st.plotly_chart(shelf.figure("attention gate", mw.gates_figure(view.gates)), key=Recall.GATES)
recall_downloads(
    loaded,
    clip,
    view,
    lambda: _top_table(
        view, recall_stats(view.short.weights, view.short.cosine, TOP_K), motion, align
    ),
    shelf,
)
