"""What every run starts from: the bundled demo model, once per session, and an input that fits.

`ensure_defaults` is called by app.py before the page runs.
"""

from __future__ import annotations

import streamlit as st

from dashboard import test_set
from dashboard.input_state import (
    clip_test_set,
    current_input,
    input_problem,
    set_input,
    test_clip,
)
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
    """At the start of every run: open the bundled demo once per session, give the session the
    test set of its model's training data when the model is new to it (dashboard/test_set.py),
    and a test clip that fits its model when it has no input (or a test clip of another size or
    of the other test set)."""
    open_demo_once()
    loaded = current_model()
    if loaded is None:
        return
    test_set.follow_model(loaded)
    follow_test_set(loaded)


def follow_test_set(loaded) -> None:
    """Give the session a test clip of its model and test set when its input is none, or a test
    clip that no longer fits the model or comes from the other test set (the same clip number
    of the session's set)."""
    clip = current_input()
    origin = st.session_state.get(Input.ORIGIN)
    follow = (
        clip is not None
        and origin is not None
        and origin[0] == "test"
        and (
            input_problem(loaded, clip) is not None or clip_test_set(clip) != test_set.test_motion()
        )
    )
    if clip is None or follow:
        index = origin[1] if follow else 0
        cfg = loaded.model.config
        short_len = clip.short_len if follow else 10
        set_input(test_clip(index, cfg.image_size, cfg.image_channels, short_len), ("test", index))
