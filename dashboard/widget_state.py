"""Widget values that survive page switches, and defaults that survive a change of range.

Streamlit forgets the state of a widget that was not drawn in a run, so a value chosen on one
page would be lost on the way back. `keep_widget_values` (called by app.py on every run)
reassigns the plain values of the dashboard's keys (dashboard/keys.py), which keeps them.

Give a widget its default with `st.session_state.setdefault(key, value)` and no `value=` /
`index=` argument; for a slider or number input whose range depends on the data,
`key=seed_widget(key, default, (lo, hi))` keeps the user's value, clamped into the new range.
"""

from __future__ import annotations

import streamlit as st

from dashboard.keys import ACTION_SUFFIXES, NAMESPACES

_PLAIN = (bool, int, float, str, type(None))


def keep_widget_values() -> None:
    """Reassign the dashboard's plain session values (not those of buttons and uploaders, which
    session_state cannot set), so Streamlit does not drop them while their page is not shown."""
    for key in list(st.session_state.keys()):
        if not key.startswith(NAMESPACES) or key.endswith(ACTION_SUFFIXES):
            continue
        value = st.session_state[key]
        plain = isinstance(value, _PLAIN) or (
            isinstance(value, list | tuple) and all(isinstance(v, _PLAIN) for v in value)
        )
        if plain:
            st.session_state[key] = value


def seed_widget(key: str, default, bounds: tuple | None = None) -> str:
    """Give widget `key` its value before it is drawn: `default` the first time and, when the
    widget's (low, high) range changed, its value clamped into the new range. Streamlit starts a
    widget whose range changed from its minimum, which would throw the user's choice away.
    Returns the key, for `st.slider(..., key=seed_widget(...))`."""
    if bounds is None:
        st.session_state.setdefault(key, default)
        return key
    low, high = bounds
    marker = f"{key}.range"
    if key not in st.session_state or st.session_state.get(marker) != (low, high):
        value = st.session_state.get(key, default)
        st.session_state[key] = min(max(value, low), high)
        st.session_state[marker] = (low, high)
    return key
