"""Slot atlas: which memory slots the model uses over a sample of clips, and for which motion.

Over the first N clips of the generated test set every query cell picks a top slot. The page
counts how often each slot is the top choice, its mean weight above uniform and the slots never
chosen (dead), then shows for a chosen slot the true motion of the cells that choose it and a
gallery of the cells and clips that recall it most (Lee et al., CVPR 2021, sec. 3.2).
"""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import memory_widgets as mw
from dashboard import model_state, url_state, views
from dashboard.downloads import Shelf, atlas_downloads
from dashboard.keys import Atlas, Search
from dashboard.memory_widgets import gallery
from dashboard.page_stop import stop_page
from dashboard.selection import selected_ids
from dashboard.series import PHASES
from dashboard.trace import trace
from lmc.analysis import alignment as al
from lmc.analysis.slots import slot_motion, slot_usage, top_cells

GALLERY = 16
GALLERY_COLUMNS = 4
GALLERY_ROWS = 4


@st.cache_data(max_entries=8, show_spinner=False)
def _usage(model_key: str, selection: str, phase: str, _sample):
    weights = _sample.phase(phase)["weights"]
    top = weights.argmax(axis=-1)
    usage = slot_usage(weights)
    motion = tuning = chance = None
    if _sample.direction is not None:
        size = weights.shape[-1]
        motion = slot_motion(top, _sample.direction, _sample.speed, size, _sample.occupancy)
        tuning = motion.tuning()
        # Chance level: the same top-1 counts handed to cells at random.
        shuffled = np.random.default_rng(0).permutation(top.reshape(-1)).reshape(top.shape)
        chance = slot_motion(
            shuffled, _sample.direction, _sample.speed, size, _sample.occupancy
        ).tuning()
    return usage, motion, tuning, chance


@st.cache_data(max_entries=8, show_spinner=False)
def _alignment(model_key: str, selection: str, _sample) -> dict[str, tuple[float, float]]:
    args = (
        _sample.long_weights,
        _sample.short_weights,
        _sample.long_readout,
        _sample.short_readout,
    )
    real = al.summarise(al.alignment(*args))
    chance = al.summarise(al.mismatched(*args))
    return {k: (real[k], chance[k]) for k in real}


def _pick_slot() -> None:
    """on_select of the usage bars: each bar carries (slot, mean weight) and stands at x = slot."""
    slots = selected_ids(st.session_state.get(Atlas.USAGE_CHART), axis="x")
    if slots:
        st.session_state[Atlas.SLOT] = slots[0]


def _slot_table(usage, motion) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "slot": np.arange(len(usage.top1_count)),
            "top-1 count": usage.top1_count,
            "top-1 share": usage.top1_fraction,
            "mean w − 1/S": usage.mean_centred,
            "dead": np.where(usage.dead, "dead", ""),
        }
    )
    if motion is not None:
        table["cells with a digit"] = motion.count
        table["mean direction"] = [
            mw.motion_text(d, s)
            for d, s in zip(motion.mean_direction, motion.mean_speed, strict=True)
        ]
        table["direction consistency R"] = motion.resultant
    return table.sort_values("top-1 count", ascending=False)


def _search_slot(slot: int) -> NoReturn:
    """Open the Search page on every cell whose top slot is `slot`, in this page's pass and
    phase, its other filters cleared."""
    state = st.session_state
    for key in (Search.DIRECTION, Search.SPEED, Search.DIGIT, Search.CELL, Search.ROW, Search.COL):
        state.pop(key, None)
    state[Search.SLOT] = slot
    state[Search.CLIPS] = state[Atlas.CLIPS]
    state[Search.PHASE] = state[Atlas.PHASE]
    st.switch_page(views.SEARCH.file)


@url_state.fragment
def _slot_panel(sample, phase: str, usage, motion, shelf: Shelf) -> None:
    trace("atlas.slot")
    size = len(usage.top1_count)
    if st.session_state.get(Atlas.SLOT) not in range(size):
        st.session_state[Atlas.SLOT] = int(np.argmax(usage.top1_count))
    slot = st.session_state[Atlas.SLOT]
    st.markdown(
        "**How often each slot is the top choice** — click a bar, or a dead slot's ×, to open "
        "that slot"
    )
    st.plotly_chart(
        shelf.figure(
            "slot usage",
            mw.usage_figure(usage.top1_fraction, usage.mean_centred, usage.dead, slot),
        ),
        key=Atlas.USAGE_CHART,
        on_select=_pick_slot,
        selection_mode="points",
    )

    def label(k: int) -> str:
        text = f"slot {k} · top-1 of {usage.top1_fraction[k]:.1%}"
        if motion is not None and motion.count[k]:
            text += f" · {mw.arrow(motion.mean_direction[k])} R {motion.resultant[k]:.2f}"
        return text + (" · dead" if usage.dead[k] else "")

    st.selectbox("slot", range(size), key=Atlas.SLOT, format_func=label)
    with st.expander("All slots as a table"):
        st.dataframe(_slot_table(usage, motion), hide_index=True, height=300)

    weights = sample.phase(phase)["weights"]
    shelf.drop("true direction of the slot's cells")
    left, right = st.columns([1, 2])
    with left:
        if motion is not None:
            top = weights.argmax(axis=-1)
            chosen = (top == slot) & (sample.occupancy >= 0.5)
            everyone = sample.occupancy >= 0.5
            st.plotly_chart(
                shelf.figure(
                    "true direction of the slot's cells",
                    mw.direction_rose(
                        sample.direction[chosen],
                        sample.direction[everyone],
                        f"true direction of the {int(chosen.sum())} cells whose top slot is {slot}",
                    ),
                ),
                key=Atlas.ROSE,
            )
            if motion.count[slot]:
                st.markdown(
                    f"Mean motion {mw.motion_text(motion.mean_direction[slot], motion.mean_speed[slot])}, "
                    f"direction consistency R = {motion.resultant[slot]:.2f} (1: one direction, 0: none)."
                )
        else:
            st.caption("These clips carry no true motion, so the slot's motion cannot be shown.")
        st.markdown(
            f"Slot {slot}: top choice of **{usage.top1_count[slot]}** of {usage.queries} queries "
            f"({usage.top1_fraction[slot]:.2%}); mean w − 1/S = {usage.mean_centred[slot]:+.5f}."
        )
        per_cell = (weights.argmax(axis=-1) == slot).mean(axis=0)
        st.plotly_chart(
            shelf.figure(
                "where the slot is the top choice",
                mw.cell_values_figure(
                    per_cell,
                    sample.grid,
                    "where on the grid it is the top choice",
                    [f"{c}: {v:.0%}" for c, v in enumerate(per_cell)],
                    "Blues",
                    0,
                    max(float(per_cell.max()), 1e-9),
                    height=240,
                ),
            ),
            key=Atlas.WHERE,
        )
        st.caption(
            "Share of the clips in which each cell picks this slot first. The memory has no position input; a slot tied to one cell reads position from the encoder's borders."
        )
    with right:
        st.markdown(
            f"**The {GALLERY} cells that give slot {slot} the most weight** (slot {slot} is the "
            f"top choice of {usage.top1_fraction[slot]:.1%} of all cells)"
        )
        st.caption(
            "Each card: the clip's last input frame with the cell outlined, the cell's patch, and "
            "below it where the input moved (motion energy). Its label: the slot, the cell's "
            "weight on it (and above 1/S), the slot's rank among the cell's choices, clip and "
            "cell, the true motion the cell follows over the input, the digit."
        )
        count = int(usage.top1_count[slot])
        if st.button(
            f"All {count:,} cells whose top slot is {slot}, on the Search page",
            key=Atlas.SEARCH_BUTTON,
            icon=":material/search:",
            disabled=not count,
            help="Every such cell in pages of 16, to filter further by motion, digit or place",
        ):
            _search_slot(slot)
        best = top_cells(weights, slot, GALLERY)
        pairs = list(zip(best.clip, best.cell, best.weight, best.rank, strict=True))
        gallery.show(
            [gallery.card(sample, clip, cell) for clip, cell, _, _ in pairs],
            [
                gallery.weight_text(slot, w, size, rank) + gallery.place_text(sample, clip, cell)
                for clip, cell, w, rank in pairs
            ],
            columns=GALLERY_COLUMNS,
        )


# --------------------------------------------------------------------------------- the page
trace("atlas")
st.title("Slot atlas")
loaded = model_state.require_model()
model_state.require_memory(loaded, "it has no slots to map")
st.caption(
    "Every query cell of every clip picks its top slot. A slot that stands for a motion is chosen "
    "by cells that move the same way; a slot no cell ever picks is dead."
)
sample = mw.dataset_sample(loaded, Atlas.CLIPS, Atlas.RUN_BUTTON)
if sample is None:
    stop_page()
phases = list(PHASES) if sample.has_long else list(PHASES)[:1]
st.session_state.setdefault(Atlas.PHASE, phases[0])
if st.session_state[Atlas.PHASE] not in phases:
    st.session_state[Atlas.PHASE] = phases[0]
st.radio("recall", phases, key=Atlas.PHASE, horizontal=True)
phase = PHASES[st.session_state[Atlas.PHASE]]
selection = str(sample.selection)
usage, motion, tuning, chance = _usage(loaded.key, selection, phase, sample)
size = len(usage.top1_count)
c = st.columns(5)
c[0].metric(
    "queries", f"{usage.queries:,}", help=f"{sample.num_clips} clips × {sample.num_cells} cells"
)
c[1].metric("slots ever top-1", f"{size - usage.num_dead} of {size}")
c[2].metric("dead slots", usage.num_dead, help="never the top choice of any query in this sample")
busiest = int(np.argmax(usage.top1_count))
c[3].metric(
    f"busiest: slot {busiest}",
    f"{usage.top1_fraction[busiest]:.1%}",
    help="share of queries whose top slot it is",
)
if tuning is not None and not math.isnan(tuning):
    c[4].metric(
        "direction consistency",
        f"{tuning:.2f}",
        delta=f"{tuning - chance:+.2f} vs shuffled",
        help="mean resultant length R of the true directions of the cells choosing each slot, "
        f"weighted by count; {chance:.2f} when the same top-1 counts go to random cells",
    )
if sample.has_long:
    with st.expander(
        "Memory alignment over the sample (long window vs short input)", expanded=False
    ):
        rows = [
            {
                "measure": al.summary_label(k),
                "matched clips": real,
                "chance (clip i vs clip i+1)": rand,
            }
            for k, (real, rand) in _alignment(loaded.key, selection, sample).items()
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(
            "Matched: each clip's long-window recall against its own short-input recall, cell by "
            "cell. Chance: against the next clip's. Alignment learning should beat chance."
        )
shelf = Shelf()
_slot_panel(sample, phase, usage, motion, shelf)
atlas_downloads(loaded, sample, lambda: _slot_table(usage, motion), shelf)
