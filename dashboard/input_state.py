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

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard import views
from dashboard.keys import Input
from dashboard.model_state import LoadedModel, require_model
from dashboard.page_stop import stop_page
from dashboard.settings import load_settings
from dashboard.test_set import test_motion
from lmc.analysis.inputs import (
    Clip,
    InputError,
    TrueMotion,
    check_clip,
    default_short_len,
    match_channels,
)
from lmc.analysis.probe import family_probe, motion_probe
from lmc.analysis.uploads import array_to_clip_frames
from lmc.data.motion_contexts import FAMILIES

# The Input page's sources, each named once, in the page's order; a link names three of them.
TEST_SET, MOTION_PROBE, UPLOAD = "Test set", "Motion probe", "Upload"
DATASET_FILE, FRAME_FOLDER = "Dataset file", "Frame folder"
SOURCES = (TEST_SET, MOTION_PROBE, UPLOAD, DATASET_FILE, FRAME_FOLDER)
# The motion probe's settings: the Input page's widgets and the URL (dashboard/url_state.py)
# share these ranges (low, high, step) and defaults.
PROBE_INPUT = 10  # frames of a probe the model sees
PROBE_MAX_DIGITS = 3
PROBE_DIRECTION = (0, 355, 5)  # degrees; 0 right, 90 up
PROBE_SPEED = (0.0, 8.0, 0.5)  # pixels per frame
PROBE_TURN = (0, 180, 15)  # degrees each further digit turns by
PROBE_FUTURE = (0, 20, 1)  # frames of ground truth after the input
PROBE_SEED = (0, 9999, 1)  # the seed of a motion family's parameters
# A probe's motion: a family of lmc.data.motion_contexts; "bounce" is the straight-line probe of
# a chosen direction and speed, the others one digit whose parameters come from a seed.
PROBE_FAMILIES = FAMILIES


def probe_default_digit(i: int) -> int:
    """The default label of the probe's digit i (3, 7, 1)."""
    return (3 + 4 * i) % 10


@dataclass(frozen=True)
class Probe:
    """What a motion probe is made of: its digits, the first digit's direction (each further
    digit turns by `turn`), one speed for all, and the frames after the input. With a motion
    `family` other than "bounce", the first digit alone follows that family, its parameters
    drawn from `seed` (None: the middle of each range); direction, speed and turn are unused."""

    digits: tuple[int, ...] = (probe_default_digit(0),)
    direction: int = 0
    speed: float = 3.0
    turn: int = 180
    future: int = 10
    family: str = "bounce"
    seed: int | None = None

    @property
    def directions(self) -> list[int]:
        return [self.direction + i * self.turn for i in range(len(self.digits))]


@st.cache_resource(max_entries=4, show_spinner="Generating the test set ...")
def test_set(image_size: int, num_clips: int, motion: str = "standard"):
    """The fixed generated test set (lmc.data.fixed_set) at `image_size`, standard Moving-MNIST
    or with motion contexts (`motion`), shared, read-only."""
    from lmc.data import fixed_set

    clips = fixed_set("test", num_clips, image_size=image_size, motion=motion)
    clips.frames.flags.writeable = False
    return clips


def test_clip(
    index: int,
    image_size: int,
    channels: int,
    short_len: int = 10,
    num_clips: int | None = None,
    motion: str | None = None,
) -> Clip:
    """Clip `index` of the test set, with its true motion (and each digit's family, with motion
    contexts), as a `Clip` for a model. num_clips: of a fixed test set of that many clips (a
    dataset pass's), not the dashboard's own (LMC_TEST_CLIPS); the generator draws a set as a
    whole, so their clips differ. motion: "standard" or "contexts", default the session's
    (dashboard/test_set.py)."""
    own = num_clips is None
    motion = test_motion() if motion is None else motion
    clips = test_set(image_size, load_settings().test_clips if own else num_clips, motion)
    if not 0 <= index < len(clips):
        raise InputError(f"test clip {index}: the test set has clips 0 .. {len(clips) - 1}")
    frames = np.divide(clips.frames[index], 255.0, dtype=np.float32)[:, None]
    name = f"test clip {index}" if own else f"test clip {index} of {num_clips:,}"
    families = None if clips.families is None else clips.families[index]
    return Clip(
        match_channels(frames, channels),
        short_len=min(short_len, frames.shape[0]),
        source=name if motion == "standard" else f"motion-context {name}",
        motion=TrueMotion(
            clips.positions[index], clips.velocities[index], clips.labels[index], families
        ),
    )


def clip_test_set(clip: Clip) -> str:
    """The test set a test clip came from: "contexts" when its digits carry families."""
    return (
        "contexts" if clip.motion is not None and clip.motion.families is not None else "standard"
    )


def probe_clip(probe: Probe, image_size: int, channels: int) -> Clip:
    """The motion probe `probe` for a model; InputError when its motion cannot cross the input
    without a bounce (lmc.analysis.probe.motion_probe says why), or its family cannot move on
    frames of `image_size` (lmc.analysis.probe.family_probe)."""
    if probe.family != "bounce":
        clip = family_probe(
            probe.digits[0],
            probe.family,
            PROBE_INPUT + probe.future,
            short_len=PROBE_INPUT,
            image_size=image_size,
            seed=probe.seed,
        )
        return Clip(match_channels(clip.frames, channels), clip.short_len, clip.source, clip.motion)
    clip = motion_probe(
        list(probe.digits),
        probe.directions,
        probe.speed,
        PROBE_INPUT + probe.future,
        short_len=PROBE_INPUT,
        image_size=image_size,
    )
    frames = match_channels(clip.frames, channels)
    return Clip(frames, clip.short_len, clip.source, clip.motion)


@st.cache_resource(max_entries=4, show_spinner="Opening the dataset file ...")
def open_npy(path: str, mtime_ns: int) -> np.ndarray:
    """A dataset file of many clips, memory-mapped: the standard file is 800 MB and only the
    chosen clip is read. Raises ValueError or OSError for a file numpy cannot read."""
    return np.load(path, mmap_mode="r", allow_pickle=False)


def file_clip(clips: np.ndarray, index: int, label: str, name: str) -> Clip:
    """Clip `index` of a dataset file's clips (`clip_collection`), `label` naming the file in
    messages and `name` in the clip's source."""
    if not 0 <= index < len(clips):
        raise InputError(f"clip {index}: {label} has clips 0 .. {len(clips) - 1}")
    frames = array_to_clip_frames(np.asarray(clips[index]), f"{label} clip {index}")
    return Clip(frames, default_short_len(len(frames)), f"{name} clip {index}")


def dataset_array(path: Path, label: str) -> np.ndarray:
    """The array of the dataset file at `path` (the caller keeps it inside the roots), opened
    once; InputError, naming the file as `label`, when numpy cannot read it."""
    try:
        return open_npy(str(path), path.stat().st_mtime_ns)
    except (ValueError, OSError) as err:
        raise InputError(f"{label} is not a readable numeric .npy file: {err}") from None


def current_input() -> Clip | None:
    return st.session_state.get(Input.CLIP)


def set_input(clip: Clip, origin: tuple | None = None) -> None:
    """Make `clip` the input of every page. `origin` says where it came from, for a link to the
    view (dashboard/url_state.py) and so a test-set clip can follow a later model of another
    size: ("test", index), ("probe", Probe), ("file", path, layout, index) or None (an upload,
    a frame folder: not shareable)."""
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
        stop_page()
    problem = input_problem(loaded, clip)
    if problem is not None:
        st.error(f"The current input does not fit this model: {problem}.")
        st.page_link(
            views.INPUT.file, label="Choose another input", icon=":material/arrow_forward:"
        )
        stop_page()
    return loaded, clip
