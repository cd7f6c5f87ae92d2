"""A clip chosen by number: a slider, a number input beside it and previous / next / random
buttons, all on one session key (the Input page's test set and dataset files).

    index = clip_picker("Test clip", count, PickerKeys(Input.TEST_INDEX, Input.TEST_NUMBER, ...))

Previous and next are on the ← and → keys (dashboard/stepper.py). The buttons act in on_click
callbacks, before the page runs, so the slider is drawn with the
clip they chose. Previous and next stop at the ends (and are disabled there); random draws
another clip from the session's generator (`session_rng`), which a test seeds through
keys.Input.RANDOM_SEED.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard.keys import Input
from dashboard.stepper import BACK_KEY, FORWARD_KEY, SIGNS
from dashboard.widget_state import seed_widget

MOVES = ("previous", "next", "random")
SHORTCUTS = {"previous": BACK_KEY, "next": FORWARD_KEY}


@dataclass(frozen=True)
class PickerKeys:
    index: str  # the slider's key: the chosen clip
    number: str
    previous: str
    next: str
    random: str


def step(index: int, count: int, move: str, rng: np.random.Generator | None = None) -> int:
    """The clip `move` leads to from `index` among `count` clips: "previous" and "next" stay at
    the ends, "random" draws uniformly among the other clips with `rng` (the same clip when it
    is alone)."""
    if move not in MOVES:
        raise ValueError(f"unknown move {move!r}; the moves are {', '.join(MOVES)}")
    if move == "previous":
        return max(index - 1, 0)
    if move == "next":
        return min(index + 1, count - 1)
    if count < 2:
        return index
    if rng is None:
        raise ValueError("a random move needs a generator (rng)")
    drawn = int(rng.integers(count - 1))
    return drawn + (drawn >= index)  # skip the current clip: a draw always moves


def session_rng() -> np.random.Generator:
    """The session's generator for random clips: seeded by Input.RANDOM_SEED when it is set."""
    rng = st.session_state.get(Input.RANDOM)
    if rng is None:
        rng = np.random.default_rng(st.session_state.get(Input.RANDOM_SEED))
        st.session_state[Input.RANDOM] = rng
    return rng


def _move(keys: PickerKeys, count: int, move: str) -> None:
    rng = session_rng() if move == "random" else None  # drawn from only by random moves
    st.session_state[keys.index] = step(st.session_state[keys.index], count, move, rng)


def _typed(keys: PickerKeys) -> None:
    st.session_state[keys.index] = int(st.session_state[keys.number])


def clip_picker(label: str, count: int, keys: PickerKeys) -> int:
    """Draw the picker for clips 0 .. count - 1 and return the chosen one."""
    top = count - 1
    seed_widget(keys.index, 0, (0, top))
    index = st.session_state[keys.index]
    # The number follows the slider: set before it is drawn, so both show the same clip.
    st.session_state[keys.number] = index
    # Wide enough for the buttons' words at 1400 px (a column's button truncates its label).
    slide, number, back, forward, draw = st.columns(
        [4, 2, 1.5, 1.3, 1.5], vertical_alignment="bottom"
    )
    if count > 1:
        index = slide.slider(label, 0, top, key=keys.index)
    else:
        slide.caption(f"{label}: the only clip, 0.")
    number.number_input(
        f"{label} number", 0, top, step=1, key=keys.number, on_change=_typed, args=(keys,)
    )
    buttons = (
        (back, "previous", keys.previous, ":material/chevron_left:", index == 0),
        (forward, "next", keys.next, ":material/chevron_right:", index == top),
        (draw, "random", keys.random, ":material/shuffle:", count < 2),
    )
    for column, move, key, icon, disabled in buttons:
        column.button(
            move.capitalize(),
            key=key,
            icon=icon,
            help=f"the {move} clip ({SIGNS[SHORTCUTS[move]]})"
            if move != "random"
            else "another clip, drawn at random",
            shortcut=SHORTCUTS.get(move),
            disabled=disabled,
            on_click=_move,
            args=(keys, count, move),
            width="stretch",
        )
    return index
