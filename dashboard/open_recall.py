"""Open one (clip, cell) of a dataset pass on the Recall page: the clip becomes the session's
input, the cell and the recall phase the Recall page's, and the page switches.

A pass runs over the first N clips of a fixed test set of `selection["pool"]` clips. When that
set is the dashboard's own (LMC_TEST_CLIPS clips, 1,000 by default), the clip opens as the Input
page's test clip of that number, so the URL written after the switch names it
(dashboard/url_state.py) and the Input page shows it. Otherwise (a pass over more clips than
the dashboard's set, or a test run with a small one) the clip comes from the pass's own set,
named "test clip i of N"; a link cannot name it, the same as an upload.
"""

from __future__ import annotations

import streamlit as st

from dashboard import input_state, views
from dashboard.keys import Input, Recall
from dashboard.settings import load_settings
from lmc.analysis.inputs import Clip, InputError
from lmc.data.fixed_sets import DEFAULT_SEQ_LEN


def pass_clip(sample, position: int, image_size: int, channels: int) -> tuple[Clip, tuple | None]:
    """The clip at `position` of the pass and its origin for set_input (None: not shareable).
    InputError when the pass's clips cannot be made again here."""
    selection = sample.selection
    if selection.get("source") != "fixed_set" or selection.get("long_len") != DEFAULT_SEQ_LEN:
        raise InputError(
            f"the pass ran over {selection.get('source', 'unknown clips')!r} with "
            f"{selection.get('long_len')} frames a clip; only passes over the fixed test set's "
            f"{DEFAULT_SEQ_LEN}-frame clips can be opened on the Recall page"
        )
    index = int(sample.clip_index[position])
    short_len = int(selection.get("short_len", 10))
    pool = int(selection["pool"])
    motion = selection.get("motion", "standard")  # the pass's test set, the session's
    if pool == load_settings().test_clips:
        clip = input_state.test_clip(index, image_size, channels, short_len, motion=motion)
        return clip, ("test", index)
    clip = input_state.test_clip(
        index, image_size, channels, short_len, num_clips=pool, motion=motion
    )
    return clip, None


def open_on_recall(loaded, sample, position: int, cell: int, phase: str) -> None:
    """Make clip `position` of the pass the input, cell `cell` and recall phase `phase` (a label
    of dashboard.series) the Recall page's, and switch to it; st.error when the clip cannot be
    made (the page stays)."""
    cfg = loaded.model.config
    try:
        clip, origin = pass_clip(sample, position, cfg.image_size, cfg.image_channels)
    except InputError as err:
        st.error(f"This result cannot be opened on the Recall page: {err}")
        return
    input_state.set_input(clip, origin)
    if origin is not None:  # the Input page's test-set picker shows the same clip
        st.session_state[Input.SOURCE] = input_state.TEST_SET
        st.session_state[Input.TEST_INDEX] = origin[1]
    st.session_state[Recall.CELL] = int(cell)
    st.session_state[Recall.PHASE] = phase
    st.switch_page(views.RECALL.file)
