"""Search: every (clip, cell) of a sample of clips by its top slot, true motion, digit, place and
motion family (on the test set with motion contexts).

The Slot atlas shows the 16 cells that weigh a slot most. Here the same pass over the first N
clips of the generated test set is filtered by any mix of: the cell's top-1 slot, its true
direction (one of eight arrows, or a range of degrees), its speed, a digit of its clip, the
cell, row or column, and its motion family; sorted by the weight on the top slot or by clip, and shown 16 at a time
with previous / next and a page number, each card opening its clip and cell on the Recall page.
The search itself is lmc.analysis.search; this page only draws it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import streamlit as st

from dashboard import link_table, model_state, url_state
from dashboard import memory_widgets as mw
from dashboard.clip_picker import step
from dashboard.keys import Search
from dashboard.memory_widgets import gallery
from dashboard.memory_widgets.cells import ARROWS
from dashboard.open_recall import open_on_recall
from dashboard.page_stop import stop_page
from dashboard.search_downloads import search_downloads
from dashboard.search_options import ANY, DEGREES_DEFAULT, DIRECTIONS, RANGE, SORTS, SPEED_STEP
from dashboard.series import PHASES
from dashboard.trace import trace
from dashboard.widget_state import seed_widget
from lmc.analysis import search as se
from lmc.data.motion_contexts import FAMILIES

COLUMNS = 4


@st.cache_data(max_entries=64, show_spinner=False)
def _find(
    model_key: str, selection: str, phase: str, query: tuple, sort: str, page: int, _sample
) -> se.SearchPage:
    return se.search_pass(_sample, se.Query(*query), phase, sort=sort, page=page)


def _choice(key: str, options: list, default=None):
    """Give a selectbox its default, and again when its value is no longer among the options
    (another model with fewer slots, a pass without labels)."""
    if st.session_state.get(key, default) not in options:
        st.session_state[key] = default
    st.session_state.setdefault(key, default)


def _any(label: str):
    return lambda v: ANY if v is None else label.format(v)


def _direction_label(name: str) -> str:
    if name in se.DIRECTION_NAMES:
        return f"{ARROWS[se.DIRECTION_NAMES.index(name)]} {name}"
    return name


def _speed_range(sample) -> tuple[float, float] | None:
    """The speed slider, 0 .. the fastest cell; None (no filter) at its full range."""
    finite = sample.speed[np.isfinite(sample.speed)]
    top = max(SPEED_STEP, math.ceil(float(finite.max(initial=0.0)) / SPEED_STEP) * SPEED_STEP)
    st.session_state[Search.SPEED_TOP] = top  # the URL leaves the full range out
    value = st.session_state.get(Search.SPEED)
    if isinstance(value, list | tuple) and 0 <= value[0] <= top < value[1]:
        # A range set for a faster pass (or by a link): "at least value[0]" is what it meant.
        st.session_state[Search.SPEED] = (value[0], top)
    elif not (isinstance(value, list | tuple) and 0 <= value[0] <= value[1] <= top):
        st.session_state[Search.SPEED] = (0.0, top)
    low, high = st.slider(
        "speed (px/frame)",
        0.0,
        top,
        step=SPEED_STEP,
        key=Search.SPEED,
        help="At its full range every cell counts, those no digit crossed too; any narrower "
        "range keeps only cells with a digit.",
    )
    return None if (low, high) == (0.0, top) else (low, high)


def _filters(sample, size: int) -> tuple[se.Query, str]:
    """The filter widgets; returns the query and the sort. A selectbox at None shows its
    placeholder, not its format_func's name for None: both say "any"."""
    rows, cols = sample.grid
    values: dict = {}
    top, where, motion = st.columns(3)
    with top:
        _choice(Search.SLOT, [None, *range(size)])
        values["slot"] = st.selectbox(
            "top slot",
            [None, *range(size)],
            key=Search.SLOT,
            placeholder=ANY,
            format_func=_any("slot {}"),
        )
        if sample.labels is not None:
            _choice(Search.DIGIT, [None, *range(se.NUM_DIGITS)])
            values["digit"] = st.selectbox(
                "a digit in the clip",
                [None, *range(se.NUM_DIGITS)],
                key=Search.DIGIT,
                placeholder=ANY,
                format_func=_any("{}"),
            )
        if sample.has_families:
            _choice(Search.FAMILY, [None, *FAMILIES])
            values["family"] = st.selectbox(
                "motion family",
                [None, *FAMILIES],
                key=Search.FAMILY,
                placeholder=ANY,
                format_func=_any("{}"),
                help="The family of the digit that covers the cell most over the input, where it "
                "covers a quarter of the cell or more (the cells the Slot atlas counts).",
            )
        else:
            st.session_state.pop(Search.FAMILY, None)  # a standard pass has no families
    with where:
        cells = [None, *range(rows * cols)]
        _choice(Search.CELL, cells)
        values["cell"] = st.selectbox(
            "cell",
            cells,
            key=Search.CELL,
            placeholder=ANY,
            format_func=lambda c: ANY if c is None else f"{c} (row {c // cols}, column {c % cols})",
        )
        row, col = st.columns(2)
        _choice(Search.ROW, [None, *range(rows)])
        values["row"] = row.selectbox(
            "row", [None, *range(rows)], key=Search.ROW, placeholder=ANY, format_func=_any("{}")
        )
        _choice(Search.COL, [None, *range(cols)])
        values["col"] = col.selectbox(
            "column", [None, *range(cols)], key=Search.COL, placeholder=ANY, format_func=_any("{}")
        )
    with motion:
        if sample.direction is None:
            st.caption("These clips carry no true motion: no direction or speed to search by.")
        else:
            _choice(Search.DIRECTION, list(DIRECTIONS), ANY)
            direction = st.selectbox(
                "true direction",
                DIRECTIONS,
                key=Search.DIRECTION,
                format_func=_direction_label,
                help="The motion the digits over the cell follow during the input; 8 bins of 45°, "
                "→ right centred on 0°.",
            )
            if direction == RANGE:
                start, end = st.columns(2)
                st.session_state.setdefault(Search.DEGREES_FROM, DEGREES_DEFAULT[0])
                st.session_state.setdefault(Search.DEGREES_TO, DEGREES_DEFAULT[1])
                a = start.number_input("from (°)", 0, 360, step=5, key=Search.DEGREES_FROM)
                b = end.number_input("to (°)", 0, 360, step=5, key=Search.DEGREES_TO)
                st.caption("From > to wraps through 0°.")
                values["degrees"] = (a, b)
            elif direction != ANY:
                values["direction"] = direction
            values["speed"] = _speed_range(sample)
    st.session_state.setdefault(Search.SORT, next(iter(SORTS)))
    sort = st.radio("sort by", list(SORTS), key=Search.SORT, horizontal=True)
    return se.Query(**values), SORTS[sort]


def _turn(move: str, num_pages: int) -> None:
    """Previous / next, stopping at the ends (clip_picker's step, pages counted from 1)."""
    st.session_state[Search.PAGE] = step(st.session_state[Search.PAGE] - 1, num_pages, move) + 1


def _pager(num_pages: int) -> int:
    """Previous, the page number and next; returns the page (from 1)."""
    seed_widget(Search.PAGE, 1, (1, num_pages))
    page = st.session_state[Search.PAGE]
    back, number, forward = st.columns([1, 2, 1], vertical_alignment="bottom")
    for column, move, key, icon, disabled in (
        (back, "previous", Search.PREVIOUS, ":material/chevron_left:", page <= 1),
        (forward, "next", Search.NEXT, ":material/chevron_right:", page >= num_pages),
    ):
        column.button(
            move.capitalize(),
            key=key,
            icon=icon,
            help=f"the {move} page",
            disabled=disabled,
            on_click=_turn,
            args=(move, num_pages),
            width="stretch",
        )
    return int(
        number.number_input(f"page (1 .. {num_pages})", 1, num_pages, step=1, key=Search.PAGE)
    )


def _ask_open(clip: int, cell: int) -> None:
    st.session_state[Search.OPEN] = (clip, cell)


@url_state.fragment
def _search_panel(loaded, sample, phase: str) -> None:
    trace("search.panel")
    # A card's "Open on Recall" asked in its callback: go at once, before the filters and the
    # 16 cards are drawn again for a page the user is leaving.
    if (pending := st.session_state.pop(Search.OPEN, None)) is not None:
        open_on_recall(loaded, sample, *pending, phase)  # or says why not, and stays
    size = sample.memory_size
    query, sort = _filters(sample, size)
    key = (loaded.key, str(sample.selection), PHASES[phase], dataclasses.astuple(query), sort)
    try:
        first = _find(*key, 1, sample)
    except ValueError as err:  # a filter the pass cannot answer: said, not raised
        st.error(str(err), icon=":material/error:")
        return
    # A new search starts on its first page, unless a link names its page.
    if st.session_state.get(Search.PAGE_FOR) != repr(key):
        from_link = link_table.page_from_link(first.num_pages, st.session_state)
        noted = st.session_state.get(Search.PAGE_FOR) == link_table.LINKED and not from_link
        st.session_state[Search.PAGE_FOR] = repr(key)
        if not from_link:
            st.session_state[Search.PAGE] = 1
        if noted:
            st.rerun()  # to show the note on the link's page number at the top
    pairs = sample.num_clips * sample.num_cells
    if not first.total:
        st.info(
            f"No cell of the {pairs:,} ({sample.num_clips} clips × {sample.num_cells} cells) matches."
        )
        return
    st.markdown(
        f"**{first.total:,}** of the {pairs:,} cells ({sample.num_clips} clips × "
        f"{sample.num_cells} cells) match, in {first.num_pages:,} pages of {first.page_size}."
    )
    page = _pager(first.num_pages)
    found = first if page == 1 else _find(*key, page, sample)
    st.caption(
        f"Page {page} of {found.num_pages}: matches {found.first + 1} .. "
        f"{found.first + len(found.clip)}. Each card: the clip's last input frame with the cell "
        "outlined, the cell's patch and where the input moved; its label the cell's top slot "
        "and its weight, the clip's number in the test set and the cell, the true motion the "
        "cell follows, the digit over it"
        + (", its motion family" if sample.has_families else "")
        + " and the clip's digits."
    )

    def open_button(i: int) -> None:
        clip, cell = int(found.clip[i]), int(found.cell[i])
        st.button(
            "Open on Recall",
            key=Search.open_button(i),
            icon=":material/psychology:",
            help=f"clip {sample.clip_index[clip]} as the input, cell {cell} on the Recall page",
            width="stretch",
            on_click=_ask_open,
            args=(clip, cell),
        )

    gallery.show(
        [gallery.card(sample, c, k) for c, k in zip(found.clip, found.cell, strict=True)],
        [
            gallery.weight_text(s, w, size) + gallery.place_text(sample, c, k, clip_digits=True)
            for c, k, s, w in zip(found.clip, found.cell, found.slot, found.weight, strict=True)
        ],
        below=open_button,
        columns=COLUMNS,
    )
    with st.expander("This page as a table"):
        st.dataframe(se.page_table(sample, found), hide_index=True)
    # Inside the panel, which reruns alone: the files follow the filters shown.
    search_downloads(loaded, sample, query, PHASES[phase], sort, first.total)


# --------------------------------------------------------------------------------- the page
trace("search")
st.title("Search")
loaded = model_state.require_model()
model_state.require_memory(loaded, "it has no slots to search")
st.caption(
    "Every cell of every clip of the sample, filtered by its top slot, the motion it saw, the "
    "digits of its clip, its place on the grid and, on the test set with motion contexts, its "
    "motion family; all filters must hold. Open a result to see "
    "its clip and cell on the Recall page."
)
st.caption(mw.DIRECTION_NOTE)
sample = mw.dataset_sample(loaded, Search.CLIPS, Search.RUN_BUTTON)
if sample is None:
    stop_page()
phases = list(PHASES) if sample.has_long else list(PHASES)[:1]
if st.session_state.get(Search.PHASE) not in phases:
    st.session_state[Search.PHASE] = phases[0]
st.radio("recall", phases, key=Search.PHASE, horizontal=True)
_search_panel(loaded, sample, st.session_state[Search.PHASE])
