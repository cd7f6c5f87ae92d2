"""What every run starts from: the bundled demo model, once per session, and an input that fits.

`ensure_defaults` is called by app.py before the page runs.
"""

from __future__ import annotations

import streamlit as st

from dashboard.input_state import current_input, input_problem, set_input, test_clip
from dashboard.keys import Input, Model
from dashboard.model_state import current_model, open_checkpoint, select_model
from dashboard.settings import load_settings
from lmc.checkpoint import CheckpointError
from lmc.demos import demo_label


def open_demo_once() -> None:
    """Open the bundled demo the first time a session runs without a model; a demo that cannot
    be opened leaves its message for the Model page."""
    if Model.CURRENT in st.session_state or st.session_state.get(Model.DEMO_TRIED):
        return
    demo = load_settings().demo_checkpoint
    if demo.is_file():
        try:
            select_model(open_checkpoint(demo, label=demo_label(demo)))
        except (CheckpointError, OSError) as err:
            st.session_state[Model.DEMO_ERROR] = str(err)
    # Marked only once the attempt is over: a run interrupted while the demo loads (the user
    # clicks another page during a slow first load) must try again, not leave no model.
    st.session_state[Model.DEMO_TRIED] = True


def ensure_defaults() -> None:
    """At the start of every run: open the bundled demo once per session, and give the session
    a test clip that fits its model when it has no input (or a test clip of another size)."""
    open_demo_once()
    loaded = current_model()
    if loaded is None:
        return
    clip = current_input()
    origin = st.session_state.get(Input.ORIGIN)
    follow = (
        clip is not None
        and origin is not None
        and origin[0] == "test"
        and input_problem(loaded, clip) is not None
    )
    if clip is None or follow:
        index = origin[1] if follow else 0
        cfg = loaded.model.config
        short_len = clip.short_len if follow else 10
        set_input(test_clip(index, cfg.image_size, cfg.image_channels, short_len), ("test", index))
