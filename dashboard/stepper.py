"""A slider over whole numbers with a step back and a step forward beside it, on the arrow keys:
the frames of the Rollout and Intervene pages, the clips of the Input page. Streamlit's button
shortcuts (`shortcut="Left"`) work wherever the page has focus, so ← and → step without first
clicking the slider; a focused slider steps itself and the shortcut leaves it alone (checked in
Chromium by tests/test_dashboard_keys_browser.py)."""

from __future__ import annotations

import streamlit as st

BACK_KEY, FORWARD_KEY = "Left", "Right"
SIGNS = {BACK_KEY: "←", FORWARD_KEY: "→"}  # how a help text names each key


def shift(key: str, by: int, low: int, high: int) -> None:
    """Move the whole number in session key `key` by `by`, within low .. high."""
    st.session_state[key] = min(max(int(st.session_state[key]) + by, low), high)


def step_buttons(columns, key: str, low: int, high: int, what: str) -> None:
    """The ‹ and › buttons of `key` (in the two `columns`), on ← and →."""
    value = int(st.session_state[key])
    for column, by, icon, shortcut, word, disabled in (
        (columns[0], -1, ":material/chevron_left:", BACK_KEY, "previous", value <= low),
        (columns[1], 1, ":material/chevron_right:", FORWARD_KEY, "next", value >= high),
    ):
        column.button(
            "",
            icon=icon,
            key=f"{key}.{word}.button",  # a button key ends so (keys.ACTION_SUFFIXES)
            help=f"the {word} {what} ({SIGNS[shortcut]})",
            shortcut=shortcut,
            disabled=disabled,
            on_click=shift,
            args=(key, by, low, high),
            width="stretch",
        )


def step_slider(label: str, low: int, high: int, key: str, what: str) -> int:
    """A slider of low .. high (its value already seeded in `key`) with its step buttons."""
    slide, back, forward = st.columns([10, 1, 1], vertical_alignment="bottom")
    value = slide.slider(label, low, high, key=key)
    step_buttons((back, forward), key, low, high, what)
    return value
