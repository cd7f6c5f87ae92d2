"""The session's input clip, shared by every page, and the fixed test set it usually comes from.

    from dashboard import input_state

    loaded, clip = input_state.require_model_and_input()
    clip.frames       # (T, C, H, W) float32 in [0, 1], read-only; clip.short / clip.future
    clip.short_len, clip.source, clip.motion (TrueMotion or None), clip.key (content hash)

Derived arrays use st.cache_data keyed on the model's and the clip's content hashes, the model
and clip passed as unhashed underscore arguments:

    @st.cache_data(max_entries=32)
    def recall(model_key: str, clip_key: str, _model, _clip): ...
    recall(loaded.key, clip.key, loaded.model, clip)
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import views
from dashboard.keys import Input
from dashboard.model_state import LoadedModel, require_model
from dashboard.settings import load_settings
from lmc.analysis.inputs import Clip, InputError, TrueMotion, check_clip, match_channels


@st.cache_resource(max_entries=2, show_spinner="Generating the test set ...")
def test_set(image_size: int, num_clips: int):
    """The fixed Moving-MNIST test set (lmc.data.fixed_set) at `image_size`, shared, read-only."""
    from lmc.data import fixed_set

    clips = fixed_set("test", num_clips, image_size=image_size)
    clips.frames.flags.writeable = False
    return clips


def test_clip(index: int, image_size: int, channels: int, short_len: int = 10) -> Clip:
    """Clip `index` of the test set, with its true motion, as a `Clip` for a model."""
    clips = test_set(image_size, load_settings().test_clips)
    if not 0 <= index < len(clips):
        raise InputError(f"test clip {index}: the test set has clips 0 .. {len(clips) - 1}")
    frames = np.divide(clips.frames[index], 255.0, dtype=np.float32)[:, None]
    return Clip(
        match_channels(frames, channels),
        short_len=min(short_len, frames.shape[0]),
        source=f"test clip {index}",
        motion=TrueMotion(clips.positions[index], clips.velocities[index], clips.labels[index]),
    )


def current_input() -> Clip | None:
    return st.session_state.get(Input.CLIP)


def set_input(clip: Clip, origin: tuple | None = None) -> None:
    """Make `clip` the input of every page; `origin` ("test", index) lets a test-set clip follow
    a later model of another size."""
    if (current := current_input()) is None or current.key != clip.key:
        st.session_state[Input.CLIP] = clip
    st.session_state[Input.ORIGIN] = origin


def input_problem(loaded: LoadedModel, clip: Clip) -> str | None:
    """Why `clip` cannot go into the model (message for the user), or None when it can."""
    try:
        check_clip(
            clip.frames,
            channels=loaded.model.config.image_channels,
            short_len=clip.short_len,
            what="the input clip",
        )
    except InputError as err:
        return str(err)
    return None


def require_model_and_input() -> tuple[LoadedModel, Clip]:
    """The current model and an input that fits it; otherwise say what is missing and stop."""
    loaded = require_model()
    clip = current_input()
    if clip is None:
        st.info("No input clip yet: choose one on the **Input** page.")
        st.page_link(views.INPUT.file, label="Choose an input", icon=":material/arrow_forward:")
        st.stop()
    problem = input_problem(loaded, clip)
    if problem is not None:
        st.error(f"The current input does not fit this model: {problem}.")
        st.page_link(
            views.INPUT.file, label="Choose another input", icon=":material/arrow_forward:"
        )
        st.stop()
    return loaded, clip
