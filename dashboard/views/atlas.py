"""Slot atlas: which memory slots the model uses over a sample of clips, and for which motion.

Over the first N clips of the generated test set every query cell picks a top slot. The page
counts how often each slot is the top choice, its mean weight above uniform and the slots never
chosen (dead), then shows for a chosen slot the true motion of the cells that choose it and a
gallery of the cells and clips that recall it most (Lee et al., CVPR 2021, sec. 3.2). On the
test set with motion contexts it shows each slot's family make-up (the families of the labelled
cells that pick it, lmc.analysis.families) and names a slot by the family that dominates it.
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
from dashboard.memory_widgets.family_figures import cells_text, family_makeup_figure
from dashboard.page_stop import stop_page
from dashboard.selection import selected_ids
from dashboard.series import PHASES
from dashboard.trace import trace
from lmc.analysis import alignment as al
from lmc.analysis.families import MIN_NAMING_CELLS, labelled_cells, slot_families, slot_name
from lmc.analysis.slots import slot_motion, slot_usage, top_cells
from lmc.data.motion_contexts import FAMILIES

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
    families = None  # (S, len(FAMILIES)): the labelled cells of each family that pick each slot
    if _sample.has_families:
        known = labelled_cells(_sample.cell_family, _sample.family_coverage)
        families = slot_families(top, _sample.cell_family, known, weights.shape[-1])
    return usage, motion, tuning, chance, families


def _names(families) -> list[str | None] | None:
    """Each slot's name by family ("orbit-cw, 81 % of its cells"), None where none dominates;
    None for a pass without families."""
    return None if families is None else [slot_name(c) for c in families]


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


def _slot_table(usage, motion, families=None) -> pd.DataFrame:
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
    if families is not None:
        table["labelled cells"] = families.sum(axis=1)
        table["named by family"] = [name or "" for name in _names(families)]
    return table.sort_values("top-1 count", ascending=False)


def _search_slot(slot: int, family: str | None = None) -> NoReturn:
    """Open the Search page on every cell whose top slot is `slot` (and whose motion family is
    `family`, when given), in this page's pass and phase, its other filters cleared."""
    state = st.session_state
    for key in (Search.DIRECTION, Search.SPEED, Search.DIGIT, Search.CELL, Search.ROW, Search.COL):
        state.pop(key, None)
    state[Search.SLOT] = slot
    state[Search.FAMILY] = family
    state[Search.CLIPS] = state[Atlas.CLIPS]
    state[Search.PHASE] = state[Atlas.PHASE]
    st.switch_page(views.SEARCH.file)


def _pick_family() -> None:
    """on_select of the family make-up: each bar carries its family's index."""
    picked = selected_ids(st.session_state.get(Atlas.FAMILY_CHART))
    if picked:
        st.session_state[Atlas.FAMILY_REQUEST] = picked[0]


def _family_makeup(sample, weights, slot: int, counts, shelf: Shelf) -> None:
    """The families of the labelled cells that pick `slot`, as bars a click turns into a search
    for those cells."""
    top = weights.argmax(axis=-1)
    mine = labelled_cells(sample.cell_family, sample.family_coverage) & (top == slot)
    cells, clips = int(mine.sum()), int(mine.any(axis=1).sum())
    name = slot_name(counts)
    if name:
        st.markdown(f"**Slot {slot}: {name}**")
    elif cells < MIN_NAMING_CELLS:
        st.markdown(
            f"**Slot {slot}**: too few labelled cells to name it ({cells} of the "
            f"{MIN_NAMING_CELLS} a name needs)"
        )
    else:
        st.markdown(f"**Slot {slot}**: no family dominates")
    if not cells:
        st.caption(
            "No cell whose motion family is known (its digit covers a quarter of it or more) "
            "picks this slot."
        )
        return
    title = f"family make-up: {cells_text(cells, clips)}"
    st.plotly_chart(
        shelf.figure("family make-up of the slot", family_makeup_figure(counts, title)),
        key=Atlas.FAMILY_CHART,
        on_select=_pick_family,
        selection_mode="points",
        config={"displayModeBar": False},
    )
    st.caption(
        "The motion family of the cells that pick this slot first, among those a digit covers "
        "a quarter of or more over the input. A slot is named by a family that holds more than "
        f"half of them, when they are {MIN_NAMING_CELLS} or more (chance: one in six). Click a "
        "bar: those cells on the Search page."
    )
    family = st.session_state.pop(Atlas.FAMILY_REQUEST, None)
    if family in range(len(FAMILIES)):
        _search_slot(slot, FAMILIES[family])


@url_state.fragment
def _slot_panel(sample, phase: str, usage, motion, families, shelf: Shelf) -> None:
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
            mw.usage_figure(
                usage.top1_fraction, usage.mean_centred, usage.dead, slot, notes=_names(families)
            ),
        ),
        key=Atlas.USAGE_CHART,
        on_select=_pick_slot,
        selection_mode="points",
    )

    names = _names(families)

    def label(k: int) -> str:
        text = f"slot {k} · top-1 of {usage.top1_fraction[k]:.1%}"
        if names is not None and names[k]:
            text += f" · {names[k]}"
        if motion is not None and motion.count[k]:
            text += f" · {mw.arrow(motion.mean_direction[k])} R {motion.resultant[k]:.2f}"
        return text + (" · dead" if usage.dead[k] else "")

    st.selectbox("slot", range(size), key=Atlas.SLOT, format_func=label)
    with st.expander("All slots as a table"):
        st.dataframe(_slot_table(usage, motion, families), hide_index=True, height=300)

    weights = sample.phase(phase)["weights"]
    shelf.drop("true direction of the slot's cells")
    shelf.drop("family make-up of the slot")
    left, right = st.columns([1, 2])
    with left:
        if families is not None:
            _family_makeup(sample, weights, slot, families[slot], shelf)
        if usage.dead[slot]:
            # Empty plots and ticks such as "0.2n" said nothing: the slot's state, in words.
            st.info(
                f"Slot {slot} is dead: no cell picks it as its top choice in these "
                f"{sample.num_clips:,} clips ({usage.queries:,} queries). Its weight still enters "
                f"every readout: mean w − 1/S = {usage.mean_centred[slot]:+.5f}."
            )
        else:
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
                st.caption(
                    "These clips carry no true motion, so the slot's motion cannot be shown."
                )
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
            "cell, the true motion the cell follows over the input, the digit"
            + (" and its motion family." if families is not None else ".")
        )
        count = int(usage.top1_count[slot])
        if st.button(
            f"All {count:,} cells whose top slot is {slot}, on the Search page",
            key=Atlas.SEARCH_BUTTON,
            icon=":material/search:",
            disabled=not count,
            help="Every such cell in pages of 16, to filter further by motion, digit, place or "
            "motion family",
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


def _named_slots(families, usage) -> None:
    """The overview of the slots by motion family: how many a family names, and which."""
    names = _names(families)
    named = [k for k, name in enumerate(names) if name]
    alive = len(names) - usage.num_dead
    with st.expander(
        f"Slots named by a motion family: {len(named)} of the {alive} ever top-1",
        expanded=bool(named),
    ):
        if not named:
            st.caption(
                "No slot is named by a family: none of the slots that "
                f"{MIN_NAMING_CELLS} or more labelled cells pick has more than half of them of "
                "one family. The memory's slots do not stand for the motion contexts."
            )
            return
        order = sorted(named, key=lambda k: -int(families[k].sum()))
        st.dataframe(
            pd.DataFrame(
                {
                    "slot": order,
                    "name": [names[k] for k in order],
                    "labelled cells": [int(families[k].sum()) for k in order],
                    "top-1 share": [usage.top1_fraction[k] for k in order],
                }
            ),
            hide_index=True,
            height=min(300, 38 + 35 * len(order)),
            column_config={"top-1 share": st.column_config.NumberColumn(format="percent")},
        )
        st.caption(
            "A slot is named by the motion family of more than half of the cells that pick it "
            "first (among the cells a digit covers a quarter of or more), when they are "
            f"{MIN_NAMING_CELLS} or more; chance: one in six."
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
st.caption(mw.DIRECTION_NOTE)
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
usage, motion, tuning, chance, families = _usage(loaded.key, selection, phase, sample)
size = len(usage.top1_count)
c = st.columns(5)
c[0].metric(
    "queries", f"{usage.queries:,}", help=f"{sample.num_clips} clips × {sample.num_cells} cells"
)
# Every count with its sample: "89 of 100" alone does not say over how many clips.
over = f"over {sample.num_clips:,} clips"
c[1].metric(
    "slots ever top-1",
    f"{size - usage.num_dead} of {size}",
    help=f"slots that are the top choice of some query {over}",
)
c[2].metric(
    "dead slots",
    usage.num_dead,
    help=f"never the top choice of any query {over} ({usage.queries:,} queries)",
)
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
st.caption(
    f"Every count above is over {sample.num_clips:,} clips × {sample.num_cells} cells = "
    f"{usage.queries:,} queries, each choosing its top slot."
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
if families is not None:
    _named_slots(families, usage)
shelf = Shelf()
_slot_panel(sample, phase, usage, motion, families, shelf)
atlas_downloads(loaded, sample, lambda: _slot_table(usage, motion, families), shelf)
