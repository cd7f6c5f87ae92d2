"""The session's test set: standard Moving-MNIST or the clips with motion contexts (each digit
follows one of six motion families, lmc.data.motion_contexts).

One choice for the whole session: the Input page's test clips and the dataset pass behind the
Slot atlas, Search, Embeddings and Compare memories. It starts as the data the model was trained
on (its checkpoint's metadata, lmc.data.moving_mnist.training_motion) and starts again so when
another model opens; the user changes it on any of those pages, and a link names it as
`testset=` (dashboard/url_state.py).
"""

from __future__ import annotations

import streamlit as st

from dashboard.keys import Input
from lmc.data.moving_mnist import MOTIONS, check_generator_args, training_motion

# How the pages name each test set, in MOTIONS order.
TEST_SETS = {"standard": "Moving-MNIST", "contexts": "motion contexts"}
assert tuple(TEST_SETS) == MOTIONS


def unavailable(image_size: int, motion: str) -> str | None:
    """Why a model of `image_size` px cannot run on the test set `motion` (the generator's own
    message), or None when it can."""
    try:
        check_generator_args(
            20, seed=0, split="test", num_digits=2, image_size=image_size, step=0.1, motion=motion
        )
    except ValueError as err:
        return str(err)
    return None


def model_default(loaded) -> str:
    """The test set of the data `loaded` (a LoadedModel) was trained on; standard when its
    metadata names none (or none this dashboard knows), or when its frames cannot hold it."""
    try:
        motion = training_motion(loaded.metadata)
    except ValueError:
        return "standard"
    return motion if unavailable(loaded.model.config.image_size, motion) is None else "standard"


def test_motion() -> str:
    """The session's test set: "standard" or "contexts"."""
    motion = st.session_state.get(Input.TEST_MOTION)
    return motion if motion in MOTIONS else "standard"


def follow_model(loaded) -> None:
    """Give the session the test set of `loaded`'s training data the first time it runs with
    that model (app.py's start-up; a link's `testset=` is applied after it)."""
    if st.session_state.get(Input.TEST_MOTION_FOR) != loaded.key:
        st.session_state[Input.TEST_MOTION_FOR] = loaded.key
        st.session_state[Input.TEST_MOTION] = model_default(loaded)


def test_set_choice(loaded) -> str:
    """The radio of the session's test set (the same key on every page that draws it); for a
    model whose frames cannot hold motion contexts, a caption saying why instead."""
    size = loaded.model.config.image_size
    problem = unavailable(size, "contexts")
    if problem is not None:
        st.session_state[Input.TEST_MOTION] = "standard"
        st.caption(f"Test set: {TEST_SETS['standard']} (no motion contexts: {problem}).")
        return "standard"
    st.session_state[Input.TEST_MOTION] = test_motion()
    if "motion" in loaded.metadata:
        start = f"this model's training data, {TEST_SETS[model_default(loaded)]}"
    else:
        start = "Moving-MNIST: this model's checkpoint does not name its training data"
    return st.radio(
        "test set",
        list(TEST_SETS),
        format_func=TEST_SETS.get,
        key=Input.TEST_MOTION,
        horizontal=True,
        help="Generated clips of standard Moving-MNIST (constant velocity, bounces) or with "
        "motion contexts (each digit follows one of six motion families: bounce, orbit-cw, "
        "orbit-ccw, zigzag, oscillate, stop-go). One choice for the Input page and every "
        f"memory page. It starts as {start}.",
    )
