"""The Search and Compare memories pages' values in the URL (dashboard/url_state.py reads and
writes the rest, and calls `apply` and `view_params` here for these two pages):

    ?slot=7&towards=left&speeds=1..3&digit=3&row=1&sort=clip&page=2&phase=long&clips=500
    ?testset=contexts&slot=4&family=orbit-cw                 (cells of a motion family, on Search)
    ?towards=315..45&cell=5                                       (a range of degrees, on Search)
    ?second=paper&clips=500&phase=short                                   (on Compare memories)

A search's direction and speed are `towards` and `speeds`, since `direction` and `speed` name a
motion probe's. Each value is checked as the page's widget would take it, and one that cannot be
shown is noted with its limit and left at its default. A search link names the whole search:
the filters it leaves out are "any". Its `page` is checked once the search has run, against the
number of pages it found (`page_from_link`). The `second` model is checked as the link's own
model is (link_values.model_path): a bundled demo by name, or a checkpoint inside the roots.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from dashboard import views
from dashboard.keys import Compare, Search, Url
from dashboard.link_values import Ignored, checked, integer, model_path
from dashboard.memory_widgets.sample import SAMPLE_RANGE
from dashboard.model_state import LoadedModel, ModelRef, open_checkpoint
from dashboard.search_options import ANY, DIRECTIONS, RANGE, SORTS, SPEED_STEP
from dashboard.second_model import DEMO, FOLDERS
from dashboard.series import LONG_RECALL, SHORT_RECALL
from dashboard.test_set import test_motion
from lmc.analysis import search as se
from lmc.checkpoint import CheckpointError
from lmc.data.motion_contexts import FAMILIES
from lmc.demos import DEMO_TITLES, DEMOS

FILTERS = ("slot", "cell", "row", "col", "towards", "speeds", "digit", "family")
SEARCH_PARAMS = (*FILTERS, "sort", "page", "phase", "clips")
COMPARE_PARAMS = ("second", "clips", "phase")
PARAMS = {views.SEARCH.title: SEARCH_PARAMS, views.COMPARE.title: COMPARE_PARAMS}
PHASES = {"short": SHORT_RECALL, "long": LONG_RECALL}
LINKED = "link"  # Search.PAGE_FOR while the page number is a link's, not yet checked
RANGE_SEP = ".."


# ------------------------------------------------------------------------------ parsers
def _pair(params: Mapping[str, str], name: str, what: str) -> tuple[float, float]:
    """params[name] as "low..high", two numbers, low <= high."""
    text = params[name]
    parts = text.split(RANGE_SEP)
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise Ignored(f"`{name}={text}` is not a range; {what}") from None
    if not low <= high:
        raise Ignored(f"`{name}={text}`: the low end exceeds the high end; {what}")
    return low, high


def _degrees(params: Mapping[str, str]) -> tuple[int, int]:
    what = (
        "a direction is one of " + ", ".join(se.DIRECTION_NAMES) + ", or a range of degrees "
        "counterclockwise from → such as 315..45 (whole degrees 0 .. 360; from > to wraps through 0)"
    )
    text = params["towards"]
    parts = text.split(RANGE_SEP)
    if len(parts) != 2 or not all(p.isdigit() and int(p) <= 360 for p in parts):
        raise Ignored(f"`towards={text}` is not a direction: {what}")
    return int(parts[0]), int(parts[1])


def _speeds(params: Mapping[str, str]) -> tuple[float, float]:
    what = f"speeds are low..high px/frame, from 0 in steps of {SPEED_STEP:g} (e.g. 1..2.5)"
    low, high = _pair(params, "speeds", what)
    on_grid = all(v >= 0 and (v / SPEED_STEP).is_integer() for v in (low, high))
    if not on_grid:
        raise Ignored(f"`speeds={params['speeds']}` is not a setting of the slider: {what}")
    return low, high


def _clips(params: Mapping[str, str]) -> int:
    low, high, step = SAMPLE_RANGE
    limit = f"the clip slider is {low} .. {high} in steps of {step}"
    value = integer(params, "clips", low, high, limit)
    if (value - low) % step:
        raise Ignored(f"`clips={params['clips']}` is not a setting of the slider: {limit}")
    return value


def _choice(params: Mapping[str, str], name: str, options: Mapping[str, object], what: str):
    text = params[name]
    if text not in options:
        raise Ignored(f"`{name}={text}` is not {what}; they are {', '.join(options)}")
    return options[text]


# ------------------------------------------------------------------------------- Search
def _search(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    state = st.session_state
    named = [n for n in SEARCH_PARAMS if n in params]
    if loaded.model.memory is None:
        notes.extend(f"`{n}={params[n]}`: this model has no memory to search" for n in named)
        return
    size = loaded.model.config.memory_size
    rows, cols = loaded.model.query_grid(
        loaded.model.config.image_size, loaded.model.config.image_size
    )
    grid = f"this model's query grid has {rows} rows and {cols} columns"

    def whole(name: str, high: int, limit: str):
        return checked(notes, integer, params, name, 0, high, limit) if name in params else None

    if any(n in params for n in FILTERS):  # a link names the whole search: the rest is "any"
        values = {
            Search.SLOT: whole("slot", size - 1, f"this model's memory has slots 0 .. {size - 1}"),
            Search.CELL: whole("cell", rows * cols - 1, f"{grid}, cells 0 .. {rows * cols - 1}"),
            Search.ROW: whole("row", rows - 1, f"{grid}, rows 0 .. {rows - 1}"),
            Search.COL: whole("col", cols - 1, f"{grid}, columns 0 .. {cols - 1}"),
            Search.DIGIT: whole(
                "digit", se.NUM_DIGITS - 1, f"the digits are 0 .. {se.NUM_DIGITS - 1}"
            ),
        }
        state.update(values)
        state[Search.DIRECTION] = ANY
        state.pop(Search.SPEED, None)  # the page sets its full range
        if "towards" in params:
            if params["towards"] in DIRECTIONS and params["towards"] != RANGE:
                state[Search.DIRECTION] = params["towards"]
            elif (degrees := checked(notes, _degrees, params)) is not None:
                state[Search.DIRECTION] = RANGE
                state[Search.DEGREES_FROM], state[Search.DEGREES_TO] = degrees
        if "speeds" in params and (speeds := checked(notes, _speeds, params)) is not None:
            state[Search.SPEED] = speeds
        state[Search.FAMILY] = None
        if "family" in params and test_motion() != "contexts":
            notes.append(
                f"`family={params['family']}`: the test set is Moving-MNIST, whose clips have no "
                "motion families (`testset=contexts` names the other)"
            )
        elif "family" in params:
            families = {f: f for f in FAMILIES}
            what = "a motion family"
            state[Search.FAMILY] = checked(notes, _choice, params, "family", families, what)
    if "sort" in params:
        labels = {name: label for label, name in SORTS.items()}
        label = checked(notes, _choice, params, "sort", labels, "a sort of the search")
        if label is not None:
            state[Search.SORT] = label
    if "phase" in params:
        label = checked(notes, _choice, params, "phase", PHASES, "a phase of this page")
        if label is not None:
            state[Search.PHASE] = label
    if "clips" in params and (clips := checked(notes, _clips, params)) is not None:
        state[Search.CLIPS] = clips
    if "page" in params:
        page = checked(notes, integer, params, "page", 1, 10**9, "pages count from 1")
        if page is not None:
            state[Search.PAGE] = page
            state[Search.PAGE_FOR] = LINKED


def page_from_link(num_pages: int) -> bool:
    """Whether the page number is a link's: the Search panel keeps it rather than starting the
    new search on page 1, and a page past the end is noted (the notes show from the next run:
    the caller reruns) and page 1 shown."""
    state = st.session_state
    if state.get(Search.PAGE_FOR) != LINKED:
        return False
    page = state.get(Search.PAGE, 1)
    if page <= max(num_pages, 1):  # page 1 of no match is the default, not worth a note
        return True
    limit = (
        f"this search has pages 1 .. {num_pages}" if num_pages else "this search matches no cell"
    )
    page_title, notes = state.get(Url.NOTES, (views.SEARCH.title, []))
    notes.append(f"`page={page}` is out of range: {limit}")
    state[Url.NOTES] = (page_title, notes)
    state[Search.PAGE] = 1
    return False


def _search_params() -> dict[str, str]:
    state = st.session_state
    params: dict[str, str] = {}
    for name, key in (
        ("slot", Search.SLOT),
        ("cell", Search.CELL),
        ("row", Search.ROW),
        ("col", Search.COL),
        ("digit", Search.DIGIT),
    ):
        if isinstance(state.get(key), int):
            params[name] = str(state[key])
    direction = state.get(Search.DIRECTION)
    if direction == RANGE:
        params["towards"] = (
            f"{state.get(Search.DEGREES_FROM)}{RANGE_SEP}{state.get(Search.DEGREES_TO)}"
        )
    elif direction in se.DIRECTION_NAMES:
        params["towards"] = direction
    speeds, top = state.get(Search.SPEED), state.get(Search.SPEED_TOP)
    if speeds is not None and tuple(speeds) != (0.0, top):
        params["speeds"] = f"{speeds[0]:g}{RANGE_SEP}{speeds[1]:g}"
    if state.get(Search.FAMILY) in FAMILIES:
        params["family"] = state[Search.FAMILY]
    if state.get(Search.SORT) in SORTS:
        params["sort"] = SORTS[state[Search.SORT]]
    if isinstance(state.get(Search.PAGE), int):
        params["page"] = str(state[Search.PAGE])
    return params


# ------------------------------------------------------------------------------ Compare
def _compare(params: Mapping[str, str], notes: list[str]) -> None:
    state = st.session_state
    if "second" in params:
        value = params["second"]
        try:
            path, label = model_path(value, "second")
            if value in DEMOS:
                state[Compare.SOURCE] = DEMO
                state[Compare.DEMO] = DEMO_TITLES[value]
            else:
                loaded = open_checkpoint(path, label=label)
                state[Compare.SOURCE] = FOLDERS
                state[Compare.OTHER] = ModelRef(
                    str(loaded.path), loaded.digest, loaded.dataset, label
                )
        except Ignored as err:
            notes.append(str(err))
        except (CheckpointError, OSError) as err:
            notes.append(f"`second={value}` could not be opened: {err}")
    if "clips" in params and (clips := checked(notes, _clips, params)) is not None:
        state[Compare.CLIPS] = clips
    if "phase" in params:
        label = checked(notes, _choice, params, "phase", PHASES, "a phase of this page")
        if label is not None:
            state[Compare.PHASE] = label


def _compare_params() -> dict[str, str]:
    from dashboard.url_state import model_param  # url_state calls this module

    state = st.session_state
    params: dict[str, str] = {}
    source = state.get(Compare.SOURCE)
    if source == DEMO:
        names = {title: name for name, title in DEMO_TITLES.items()}
        if state.get(Compare.DEMO) in names:
            params["second"] = names[state[Compare.DEMO]]
    elif source == FOLDERS and (second := model_param(state.get(Compare.OTHER))) is not None:
        params["second"] = second
    return params


# --------------------------------------------------------------------------- both pages
def apply(page: str, params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    """Set `page`'s values that the link names, each checked (notes: where an ignored one is
    said)."""
    if page == views.SEARCH.title:
        _search(params, loaded, notes)
    elif page == views.COMPARE.title:
        _compare(params, notes)


def view_params(page: str) -> dict[str, str]:
    """The URL's parameters for the session's view of `page` (none for the other pages)."""
    if page not in PARAMS:
        return {}
    params = _search_params() if page == views.SEARCH.title else _compare_params()
    clips, phase = (
        (Search.CLIPS, Search.PHASE)
        if page == views.SEARCH.title
        else (Compare.CLIPS, Compare.PHASE)
    )
    if isinstance(st.session_state.get(clips), int):
        params["clips"] = str(st.session_state[clips])
    names = {label: name for name, label in PHASES.items()}
    if st.session_state.get(phase) in names:
        params["phase"] = names[st.session_state[phase]]
    return params
