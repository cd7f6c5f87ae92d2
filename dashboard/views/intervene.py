"""Intervene: make the memory recall something else and watch the prediction change.

The recalled motion context reaches the predictor through an attention gate (Lee et al., CVPR
2021, sec. 3.4). Forcing one slot (a one-hot addressing) or another clip's recall, in one cell or
over the whole grid, and comparing the two predictions frame by frame answers "does the model
follow its memory?".
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from dashboard import input_state, model_state, url_state
from dashboard import memory_widgets as mw
from dashboard.choices import (
    DONOR_WHAT,
    MOST_ALLOWED,
    ONE_CELL,
    ONE_HOT,
    ONE_SLOT,
    STRENGTHS,
    WHERE,
    WHOLE_GRID,
)
from dashboard.choices import INTERVENE_SOURCES as SOURCES
from dashboard.downloads import Shelf, intervene_downloads
from dashboard.fingerprint import fingerprint
from dashboard.keys import Atlas, Intervene
from dashboard.selection import selected_ids
from dashboard.settings import load_settings
from dashboard.stepper import step_slider
from dashboard.trace import trace
from dashboard.widgets import Row, grid_image, heat, to_rgb
from lmc.analysis import intervention as iv
from lmc.analysis.inputs import default_out_len
from lmc.analysis.projection import max_weight
from lmc.analysis.recall import trace_arrays

STRIP_SIDE = 128  # pixels per frame in the strip, at least (a 64-pixel frame is drawn twice as big)
ENLARGED_SIDE = 256  # pixels per frame in the enlarged view, at least
# Below this a change of a prediction in [0, 1] is float32 rounding (a few ulps of 1.0, 1.2e-7).
NUMERICALLY_ZERO = 1e-6


@st.cache_data(max_entries=16, show_spinner=False)
def _donor_recall(
    model_key: str, index: int, short_len: int, _model, image_size: int, channels: int
):
    clip = input_state.test_clip(index, image_size, channels, short_len)
    short = torch.from_numpy(np.array(clip.short))[None].to(next(_model.parameters()).device)
    return trace_arrays(_model.predict(short, 1).memory), clip.short


@st.cache_data(max_entries=8, show_spinner=False)
def _own(model_key: str, clip_key: str, out_len: int, _model, _clip) -> iv.Prediction:
    return iv.own_prediction(_model, _clip, out_len)


@st.cache_data(max_entries=32, show_spinner=False)
def _run(
    model_key: str, clip_key: str, override_key: str, out_len: int, _model, _clip, _override
) -> iv.Intervention:
    # The model's own prediction is the same for every override: one model call a try, not two.
    original = _own(model_key, clip_key, out_len, _model, _clip)
    return iv.intervene(_model, _clip, out_len, _override, original)


@st.cache_data(max_entries=16, show_spinner=False)
def _own_top_slots(model_key: str, clip_key: str, _model, _clip) -> np.ndarray:
    short = torch.from_numpy(np.array(_clip.short))[None].to(next(_model.parameters()).device)
    return _model.predict(short, 1).memory.weights[0].argmax(-1).cpu().numpy()


def _pick_cell() -> None:
    """on_select of the grid: the clicked marker names its cell, which becomes the only one."""
    cells = selected_ids(st.session_state.get(Intervene.GRID_CHART))
    if cells:
        st.session_state[Intervene.CELL] = cells[0]
        st.session_state[Intervene.WHERE] = ONE_CELL


@url_state.fragment
def _panel(loaded, clip, shelf: Shelf) -> None:
    trace("intervene.panel")
    model = loaded.model
    cfg = model.config
    size = cfg.memory_size
    out_len = default_out_len(clip)
    rows, cols = _grid(model, clip)
    cells = rows * cols
    for key, default in (
        (Intervene.SOURCE, ONE_SLOT),
        (Intervene.WHERE, WHOLE_GRID),
        (Intervene.CELL, 0),
    ):
        st.session_state.setdefault(key, default)
    if st.session_state[Intervene.CELL] not in range(cells):
        st.session_state[Intervene.CELL] = 0
    # A slot chosen on the Slot atlas page is the default here.
    st.session_state.setdefault(Intervene.SLOT, int(st.session_state.get(Atlas.SLOT, 0)) % size)

    left, right = st.columns([1, 2])
    with left:
        st.markdown("**Where** — click a cell to intervene there alone")
        where_cells = (
            [st.session_state[Intervene.CELL]]
            if st.session_state[Intervene.WHERE] == ONE_CELL
            else list(range(cells))
        )
        st.plotly_chart(
            shelf.figure(
                "where",
                mw.grid_figure(clip.short[-1], (rows, cols), selected=where_cells, height=300),
            ),
            key=Intervene.GRID_CHART,
            on_select=_pick_cell,
            selection_mode="points",
            config={"displayModeBar": False},
        )
        st.radio("intervene in", WHERE, key=Intervene.WHERE, horizontal=True)
        if st.session_state[Intervene.WHERE] == ONE_CELL:
            st.selectbox("cell", range(cells), key=Intervene.CELL)
    with right:
        st.markdown("**What the memory recalls instead**")
        st.radio("recall", SOURCES, key=Intervene.SOURCE, horizontal=True)
        if st.session_state[Intervene.SOURCE] == ONE_SLOT:
            st.number_input(f"slot (0 .. {size - 1})", 0, size - 1, step=1, key=Intervene.SLOT)
            top = max_weight(size, cfg.temperature, cfg.addressing)
            st.session_state.setdefault(Intervene.STRENGTH, MOST_ALLOWED)
            st.radio(
                "strength",
                STRENGTHS,
                key=Intervene.STRENGTH,
                horizontal=True,
                help=f"The softmax gives one slot at most e²/(e²+S−1) = {top:.3f} of the weight; a one-hot "
                "recall (weight 1, readout = the slot itself) is a vector about ten times longer than any "
                "readout the model met in training.",
            )
            slot = int(st.session_state[Intervene.SLOT])
            one_hot = st.session_state[Intervene.STRENGTH] == ONE_HOT
            weight = 1.0 if one_hot else top
            explain = (
                f"slot {slot} alone (weight 1, readout = M[{slot}])"
                if one_hot
                else f"slot {slot} as strongly as the softmax allows (weight {top:.3f}, the rest shared)"
            )
            usage = np.bincount(_own_top_slots(loaded.key, clip.key, model, clip), minlength=size)
            favourites = ", ".join(
                f"{k} ({usage[k]} cells)" for k in np.argsort(-usage)[:3] if usage[k]
            )
            st.caption(f"This input's own top slots: {favourites}.")
        else:
            test_clips = load_settings().test_clips
            st.session_state.setdefault(Intervene.DONOR, 1)
            st.number_input(
                f"test clip (0 .. {test_clips - 1})",
                0,
                test_clips - 1,
                step=1,
                key=Intervene.DONOR,
            )
            st.session_state.setdefault(Intervene.DONOR_WHAT, list(DONOR_WHAT)[0])
            st.radio("transplant", list(DONOR_WHAT), key=Intervene.DONOR_WHAT, horizontal=True)
            donor_index = int(st.session_state[Intervene.DONOR])
            what = DONOR_WHAT[st.session_state[Intervene.DONOR_WHAT]]
            donor, donor_short = _donor_recall(
                loaded.key, donor_index, clip.short_len, model, cfg.image_size, cfg.image_channels
            )
            if donor.num_cells != cells:
                st.error(
                    f"Test clip {donor_index} has {donor.num_cells} cells, the input {cells}: they cannot be swapped."
                )
                return
            explain = f"what test clip {donor_index} recalled ({what}), cell by cell"
            st.image(
                grid_image(
                    [Row(f"test clip {donor_index}", to_rgb(donor_short))],
                    len(donor_short),
                    len(donor_short),
                )
            )
    one_cell = st.session_state[Intervene.WHERE] == ONE_CELL
    target = [st.session_state[Intervene.CELL]] if one_cell else None
    if st.session_state[Intervene.SOURCE] == ONE_SLOT:
        override = iv.slot_override(slot, cells, size, cells=target, weight=weight)
    else:
        override = iv.transplant_override(donor, cells=target, what=what)
    where_text = f"cell {target[0]}" if one_cell else "every cell"
    override_key = fingerprint(override.weights, override.readout, override.cells)
    result = _run(loaded.key, clip.key, override_key, out_len, model, clip, override)

    st.subheader(f"The prediction when {where_text} recalls {explain}")
    # The last input frame, then the output steps: 1 + out_len columns, numbered as in the clip,
    # at twice the side of a 64-pixel frame so that they stay legible in the page's width.
    start = clip.short_len
    last = clip.short[-1:]
    truth = clip.future[:out_len]
    diff = np.abs(result.intervened - result.original).mean(axis=1)
    peak = max(float(diff.max()), 1e-6)
    strip_rows = [Row("last input", to_rgb(last))]
    if truth.shape[0]:
        strip_rows.append(Row("truth", to_rgb(truth), 1))
    strip_rows.append(Row("original", to_rgb(result.original), 1))
    strip_rows.append(Row("intervened", to_rgb(result.intervened), 1))
    strip_rows.append(Row(f"|Δ| (max {peak:.3f})", heat(diff / peak), 1))
    strip = grid_image(strip_rows, 1 + out_len, 1, min_side=STRIP_SIDE, first=start)
    st.image(strip, width="stretch")
    shelf.things.update(result=result, what=f"{where_text} recalls {explain}", strip=strip)

    st.markdown("**One output step, enlarged**")
    if st.session_state.get(Intervene.STEP) not in range(1, out_len + 1):
        st.session_state[Intervene.STEP] = 1
    step = step_slider("output step", 1, out_len, Intervene.STEP, "step") if out_len > 1 else 1
    frames = {}
    if step <= truth.shape[0]:
        frames["truth"] = to_rgb(truth[step - 1 : step])[0]
    frames["original"] = to_rgb(result.original[step - 1 : step])[0]
    frames["intervened"] = to_rgb(result.intervened[step - 1 : step])[0]
    frames[f"|Δ| (white = {peak:.3f})"] = heat(diff[step - 1] / peak)
    for col, (title, frame) in zip(st.columns(len(frames)), frames.items(), strict=True):
        col.image(
            mw.enlarged(frame, ENLARGED_SIDE),
            caption=f"{title}, frame {start + step}",
            width="stretch",
        )

    reference = None
    if truth.shape[0]:
        reference = (
            np.abs(np.clip(result.original[: len(truth)], 0, 1) - truth)
            .reshape(len(truth), -1)
            .mean(axis=1)
        )
    c1, c2 = st.columns([2, 1])
    c1.plotly_chart(
        shelf.figure("change per frame", mw.difference_figure(result.mae, result.mse, reference)),
        key=Intervene.CURVE,
    )
    with c2:
        st.metric(
            "mean |Δ| per pixel",
            _number(result.mae.mean()),
            help="between the original and the intervened prediction, over all output frames",
        )
        st.metric(
            "largest change of one pixel",
            _number(np.abs(result.intervened - result.original).max()),
        )
        if reference is not None:
            ratio = result.mae.mean() / max(float(reference.mean()), 1e-9)
            st.metric(
                "change / the model's own error",
                f"{ratio:.2f}",
                help="mean |Δ| divided by the mean absolute error of the original prediction against the truth",
            )
        largest = float(np.abs(result.intervened - result.original).max())
        if largest < NUMERICALLY_ZERO:
            st.info(
                f"Numerically zero: no pixel moved by more than {largest:.1e}, below float32 "
                f"rounding of values in [0, 1] ({NUMERICALLY_ZERO:g}). This prediction does not "
                "depend on what the memory recalls here."
            )
        st.caption(
            "A model that follows its memory changes its prediction when the recall changes, most "
            "where the forced cells are. Near zero: the predictor ignores the memory (look at the "
            "attention gate on the Recall page)."
        )


def _number(value: float) -> str:
    return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"


def _grid(model, clip) -> tuple[int, int]:
    """The query grid for the input's frame size (4 x 4 at 64 x 64); (1, 1) for a global query."""
    return model.query_grid(*clip.frames.shape[-2:])


# --------------------------------------------------------------------------------- the page
trace("intervene")
st.title("Intervene on the memory")
loaded, clip = input_state.require_model_and_input()
model_state.require_memory(loaded, "there is no recall to replace")
st.caption(
    f"Input: {clip.source}. Choose what the memory should recall and where; the model then predicts "
    "again with that recall (phase 2, as at inference) and the two predictions are compared."
)
shelf = Shelf()
_panel(loaded, clip, shelf)
if "result" in shelf.things:  # not when the donor clip cannot be swapped in
    intervene_downloads(loaded, clip, shelf)
