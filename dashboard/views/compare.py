"""Compare memories: two models' memories side by side on the same clips.

The session's model on the left, a second one on the right (a bundled demo, by default the one
not open, or a checkpoint under the checkpoint roots). Both are run over the same first N clips of
the generated test set (the dataset pass and its disk cache of the Slot atlas and Embeddings), and
the page shows for both: what differs, in sentences drawn from the numbers
(`lmc.analysis.compare`, with the health reports stored beside the checkpoints); how often each
slot is the top choice; the map of the recalled contexts coloured by the true direction; and the
recall of one chosen clip and cell. For a collapsed memory beside a live one (the two demos).
On the test set with motion contexts, the family figures of both stand side by side (the NMI of
the top slot with the motion family, its shuffle and the cell's), and the maps can be coloured
by the cells' families.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import memory_widgets as mw
from dashboard import model_state, url_state
from dashboard.choices import MAP_COLOURS
from dashboard.compare_downloads import compare_downloads
from dashboard.downloads import Shelf
from dashboard.health_reports import kept_report
from dashboard.keys import Compare, Input
from dashboard.memory_widgets.family_figures import FAMILY_COLOURS
from dashboard.memory_widgets.pair_sample import dataset_samples
from dashboard.page_stop import stop_page
from dashboard.second_model import choose_second_model, side_names
from dashboard.selection import selected_ids
from dashboard.series import PHASES
from dashboard.trace import trace
from dashboard.widgets import model_summary
from lmc.analysis import compare as cp
from lmc.analysis import health as hl
from lmc.analysis import projection as pj
from lmc.analysis.families import family_name
from lmc.analysis.recall import top_slots
from lmc.analysis.search import pass_families
from lmc.analysis.slots import slot_usage

MAP_POINTS = 2000  # contexts on each map: the same (clip, cell) pairs on both sides
TOP_K = 5
SIDES = ("left", "right")


@st.cache_data(max_entries=16, show_spinner="Measuring the memory ...")
def _summary(model_key: str, selection: str, phase: str, _sample) -> cp.MemorySummary:
    return cp.summarise(_sample, phase)


@st.cache_data(max_entries=16, show_spinner=False)
def _usage(model_key: str, selection: str, phase: str, _sample):
    return slot_usage(_sample.phase(phase)["weights"])


def _map_points(sample) -> np.ndarray:
    """Flat (clip * cells + cell) indices of the cells a digit moves through (all cells when the
    motion is unknown), a seeded subset of MAP_POINTS: the same on both sides, whose clips and
    cells are the same."""
    if sample.direction is None:
        pool = np.arange(sample.num_clips * sample.num_cells)
    else:
        pool = np.flatnonzero(hl.moving_cells(sample.direction, sample.occupancy).reshape(-1))
    if len(pool) <= MAP_POINTS:
        return pool
    return np.sort(np.random.default_rng(0).choice(pool, MAP_POINTS, replace=False))


@st.cache_data(max_entries=8, show_spinner="PCA ...")
def _map(model_key: str, selection: str, phase: str, temperature: float, addressing: str, _sample):
    """(PCA of the readouts with the slots on its axes, the points' indices)."""
    index = _map_points(_sample)
    readout = _sample.phase(phase)["readout"]
    flat = readout.reshape(-1, readout.shape[-1])[index]
    points, slot_points = pj.readout_space(flat, _sample.slots, temperature, addressing)
    return pj.pca(points, slot_points), index


def _hover(sample, phase: str, index: np.ndarray) -> list[str]:
    clip, cell = np.divmod(index, sample.num_cells)
    top = sample.phase(phase)["weights"][clip, cell].argmax(-1)
    texts = [f"clip {c} · cell {k} · top slot {t}" for c, k, t in zip(clip, cell, top, strict=True)]
    if sample.direction is not None:
        motion = [
            mw.motion_text(sample.direction[c, k], sample.speed[c, k])
            for c, k in zip(clip, cell, strict=True)
        ]
        texts = [f"{t}<br>{m}" for t, m in zip(texts, motion, strict=True)]
    if (families := pass_families(sample)) is not None:
        texts = [
            f"{t} · {family_name(f)}" for t, f in zip(texts, families[clip, cell], strict=True)
        ]
    return texts


def _family_table(summaries, names) -> None:
    """The family figures of both memories, side by side."""
    rows = {
        "NMI of the top slot with the motion family": "nmi_family",
        "  the same, families shuffled": "nmi_family_shuffled",
        "  with the cell, over the same cells": "nmi_family_cell",
    }
    table = [
        {"": label, **{n: f"{getattr(s, key):.2f}" for n, s in zip(names, summaries, strict=True)}}
        for label, key in rows.items()
    ]
    table.append(
        {
            "": "names the motion context",
            **{
                n: "yes" if s.names_context else "no" for n, s in zip(names, summaries, strict=True)
            },
        }
    )
    st.dataframe(table, hide_index=True)
    st.caption(
        "Over the cells whose motion family is known (a digit covers a quarter of the cell or "
        "more over the input). A memory names the context when its top slot follows the family "
        "above the shuffle and more than the cell: `lmc health` on these clips says the same."
    )


def _header(models, names) -> None:
    for col, side, loaded, name in zip(st.columns(2), SIDES, models, names, strict=True):
        col.markdown(f"#### {side.capitalize()}: {name}")
        col.caption(f"{loaded.label} — {model_summary(loaded.model.config)}")


def _usage_section(usages, summaries, names, shelf: Shelf) -> None:
    # One scale for both, so equal bars and colours mean equal shares and weights.
    top = 1.05 * max(float(u.top1_fraction.max()) for u in usages)
    bound = max(float(np.abs(u.mean_centred).max()) for u in usages) or None
    keys = (Compare.USAGE_LEFT, Compare.USAGE_RIGHT)
    for col, usage, summary, name, key in zip(
        st.columns(2), usages, summaries, names, keys, strict=True
    ):
        with col:
            st.markdown(f"**{name}**")
            size = len(usage.top1_count)
            c = st.columns(3)
            c[0].metric("slots ever top-1", f"{size - usage.num_dead} of {size}")
            c[1].metric(
                "effective slots",
                f"{summary.effective_slots:.1f}",
                help=f"exp(entropy) of the addressing, mean over queries; {size} = uniform",
            )
            c[2].metric(
                "busiest slot", f"{summary.busiest_share:.1%}", help="its share of the queries"
            )
            figure = mw.usage_figure(
                usage.top1_fraction,
                usage.mean_centred,
                usage.dead,
                None,
                height=280,
                top=top,
                colour_bound=bound,
            )
            st.plotly_chart(shelf.figure(f"slot usage, {name}", figure), key=key)
    st.caption(
        "How often each slot is the top choice of a query (x: never), coloured by its mean weight "
        "above uniform; both sides on one scale. The Slot atlas shows one model's slots in full."
    )


def _map_section(models, samples, names, phase: str, selection: str, shelf: Shelf) -> None:
    keys = (Compare.MAP_LEFT, Compare.MAP_RIGHT)
    by = "true direction"
    if all(s.has_families for s in samples):
        if st.session_state.get(Compare.MAP_COLOUR) not in MAP_COLOURS:
            st.session_state[Compare.MAP_COLOUR] = MAP_COLOURS[1]
        by = st.radio("colour by", MAP_COLOURS, key=Compare.MAP_COLOUR, horizontal=True)
    for col, loaded, sample, name, key in zip(
        st.columns(2), models, samples, names, keys, strict=True
    ):
        config = loaded.model.config
        proj, index = _map(
            loaded.key, selection, phase, config.temperature, config.addressing, sample
        )
        clip, cell = np.divmod(index, sample.num_cells)
        if by == "motion family":
            families = pass_families(sample)[clip, cell]
            colours = np.array([family_name(f) for f in families])
            colour_name, kind = "family", "category"
        elif sample.direction is not None:
            colours, colour_name, kind = (
                np.degrees(sample.direction[clip, cell]) % 360,
                "direction (°)",
                "cyclic",
            )
        else:
            colours, colour_name, kind = cell.astype(str), "cell", "category"
        with col:
            st.markdown(f"**{name}**")
            figure = mw.embedding_figure(
                proj.contexts,
                colours,
                colour_name,
                kind,
                _hover(sample, phase, index),
                proj.slots,
                height=420,
                category_colours=FAMILY_COLOURS if colour_name == "family" else None,
            )
            st.plotly_chart(shelf.figure(f"recalled contexts, {name}", figure), key=key)
            st.caption(
                f"PCA axes explain {proj.explained[0]:.0%} and {proj.explained[1]:.0%} of the "
                f"variance; ◆ the {len(proj.slots)} slots."
            )
    colouring = (
        "the cell's motion family (grey: no digit covers a quarter of it)"
        if by == "motion family"
        else "the cell's true direction on one colour wheel"
    )
    st.caption(
        f"Each point: the recalled context (readout) of one cell a digit moves through, the same "
        f"{len(index):,} (clip, cell) pairs on both sides, coloured by {colouring}. A memory "
        "whose recall knows the motion sorts the colours; a collapsed one mixes them. The "
        "Embeddings page maps one model's contexts in full."
    )


def _pick_cell() -> None:
    """on_select of the query grid: the clicked marker names its cell."""
    cells = selected_ids(st.session_state.get(Compare.GRID_CHART))
    if cells:
        st.session_state[Compare.CELL] = cells[0]


def _cell_recall(sample, clip: int, cell: int) -> tuple:
    """(short weights, short cosines, long weights, long cosines) of one clip's cell; the long
    ones None when the clips have no frames after the input."""
    long = sample.has_long
    return (
        sample.short_weights[clip, cell],
        sample.short_cosine[clip, cell],
        sample.long_weights[clip, cell] if long else None,
        sample.long_cosine[clip, cell] if long else None,
    )


@url_state.fragment
def _recall_panel(samples, names, phase: str, shelf: Shelf) -> None:
    """One clip and cell, both models' addressing of it: reruns alone when the cell changes."""
    trace("compare.recall")
    first, second = samples
    if first.grid != second.grid:
        st.info(
            f"The two models cut the frame into different query grids ({first.grid[0]}x"
            f"{first.grid[1]} vs {second.grid[0]}x{second.grid[1]}): their cells do not match."
        )
        return
    n, cells = first.num_clips, first.num_cells
    if st.session_state.get(Compare.CLIP) not in range(n):
        origin = st.session_state.get(Input.ORIGIN)  # the session's test clip, where it is here
        test = origin is not None and origin[0] == "test" and origin[1] in range(n)
        st.session_state[Compare.CLIP] = origin[1] if test else 0
    if st.session_state.get(Compare.CELL) not in range(cells):
        st.session_state[Compare.CELL] = 0
    left, right = st.columns([1, 2])
    with left:
        st.number_input(f"test clip (0 .. {n - 1})", 0, n - 1, key=Compare.CLIP)
        clip, cell = st.session_state[Compare.CLIP], st.session_state[Compare.CELL]
        grid = mw.grid_figure(first.last_frame[clip], first.grid, selected=[cell], height=260)
        st.plotly_chart(
            shelf.figure("query grid", grid),
            key=Compare.GRID_CHART,
            on_select=_pick_cell,
            selection_mode="points",
            config={"displayModeBar": False},
        )
        st.selectbox("cell", range(cells), key=Compare.CELL)
        if first.direction is not None:
            st.caption(
                f"The cell's true motion over the input: "
                f"{mw.motion_text(first.direction[clip, cell], first.speed[clip, cell])}"
            )
    weights = [s.phase(phase)["weights"][clip, cell] for s in samples]
    with right:
        st.markdown(cp.recall_sentence(tuple(weights), names, clip, cell))
        keys = (Compare.CELL_LEFT, Compare.CELL_RIGHT)
        recalls = [_cell_recall(sample, clip, cell) for sample in samples]
        # Both sides on the same axes: a recall 50 times sharper than the other's looks it.
        centred = [
            w - 1.0 / sample.memory_size
            for sample, (short_w, _, long_w, _) in zip(samples, recalls, strict=True)
            for w in (short_w, long_w)
            if w is not None
        ]
        weight_range = mw.value_range(*centred)
        cosine_range = mw.value_range(*(c for _, sc, _, lc in recalls for c in (sc, lc)))
        for col, sample, recall, name, key in zip(
            st.columns(2), samples, recalls, names, keys, strict=True
        ):
            figure = mw.distribution_figure(
                *recall,
                cell=cell,
                height=360,
                narrow=True,
                weight_range=weight_range,
                cosine_range=cosine_range,
            )
            col.plotly_chart(shelf.figure(f"one cell's recall, {name}", figure), key=key)
            arrays = sample.phase(phase)
            best = top_slots(arrays["weights"][clip, cell], arrays["cosine"][clip, cell], TOP_K)
            size = sample.memory_size
            col.markdown(
                f"{name}, top {TOP_K} slots (w − 1/S, cosine): "
                + ", ".join(
                    f"**{s}** ({w - 1 / size:+.4f}, cos {c:.2f})"
                    for s, w, c in zip(best.slots, best.weights, best.cosines, strict=True)
                )
            )


# --------------------------------------------------------------------------------- the page
trace("compare")
st.title("Compare memories")
st.caption(
    "The session's model on the left, a second model on the right, over the same clips of the "
    "generated test set: what differs, in words, then the slot usage, the recalled contexts and "
    "one cell's recall side by side."
)
st.caption(mw.DIRECTION_NOTE)
current = model_state.require_model()
model_state.require_memory(current, "there is no memory to compare")
with st.container(border=True):
    st.markdown("**Second model**")
    other = choose_second_model(current)
if other is None:
    stop_page()
models = (current, other)
names = side_names(current, other)
if other.model.memory is None:
    st.info(f"{names[1]} was built without a memory: there is nothing to compare. Choose another.")
    stop_page()
sizes = [m.model.config.image_size for m in models]
if sizes[0] != sizes[1]:
    st.info(
        f"The two models see frames of different sizes ({sizes[0]} vs {sizes[1]} px), so they "
        f"cannot run over the same clips: choose a second model of {sizes[0]} px."
    )
    stop_page()
_header(models, names)
if current.digest == other.digest:
    st.caption("Both sides are the same checkpoint: nothing differs.")
samples = dataset_samples(models, names, Compare.CLIPS, Compare.RUN_BUTTON)
if samples is None:
    stop_page()
phases = list(PHASES) if all(s.has_long for s in samples) else list(PHASES)[:1]
if st.session_state.get(Compare.PHASE) not in phases:
    st.session_state[Compare.PHASE] = phases[0]
st.radio("recall", phases, key=Compare.PHASE, horizontal=True)
phase = PHASES[st.session_state[Compare.PHASE]]
selection = str(samples[0].selection)

st.subheader("What differs")
summaries = [_summary(m.key, selection, phase, s) for m, s in zip(models, samples, strict=True)]
usages = [_usage(m.key, selection, phase, s) for m, s in zip(models, samples, strict=True)]
reports = [kept_report(m) for m in models]
sentences = cp.differences(*summaries, names, *reports)
st.markdown("\n".join(f"- {s}" for s in sentences))
if all(s.nmi_family is not None for s in summaries):
    _family_table(summaries, names)
st.caption(
    f"Left: {names[0]}, right: {names[1]}. The first figures come from both memories over the "
    f"same {samples[0].num_clips} test clips, the recall from the "
    f"{st.session_state[Compare.PHASE]}; those on "
    "another clip's recall, the probe and the MSE from the health reports stored with the "
    "checkpoints (the Memory health page shows one model's in full)."
)
shelf = Shelf()
st.subheader("Slot usage")
_usage_section(usages, summaries, names, shelf)
st.subheader("Recalled contexts")
_map_section(models, samples, names, phase, selection, shelf)
st.subheader("One cell's recall")
_recall_panel(samples, names, phase, shelf)
compare_downloads(models, names, samples[0].num_clips, phase, summaries, reports, usages, shelf)
