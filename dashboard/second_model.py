"""The Compare memories page's second model: a bundled demo (by default one the session does not
have open) or a checkpoint under the checkpoint roots, checked and opened as the Model page
opens one. A checkpoint that cannot be opened is a message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.checkpoint_picker import FolderChoice
from dashboard.keys import Compare
from dashboard.model_state import LoadedModel, ModelRef, open_checkpoint
from dashboard.settings import load_settings
from lmc.checkpoint import CheckpointError
from lmc.demos import DEMO_SHORT_NAMES, DEMO_TITLES, available_demos, demo_label, demo_path

DEMO, FOLDERS = "Bundled demo", "Checkpoint folders"


def other_demo(titles: dict[str, Path], current: Path) -> str:
    """The title of the first demo that is not the checkpoint at `current` (the first demo when
    every one is)."""
    current = current.resolve()
    return next((t for t, p in titles.items() if p.resolve() != current), next(iter(titles)))


def side_name(loaded) -> str:
    """A bundled demo by its recipe ("live memory"), any other checkpoint by its file name."""
    for demo in available_demos():
        if demo_path(demo).resolve() == loaded.path.resolve():
            return DEMO_SHORT_NAMES[demo]
    return loaded.path.name


def side_names(left, right) -> tuple[str, str]:
    """How the sentences name the two sides: two names that differ."""
    a, b = side_name(left), side_name(right)
    if a == b:
        a, b = f"{left.path.parent.name}/{a}", f"{right.path.parent.name}/{b}"
    if a == b:
        a, b = f"{a} (left)", f"{b} (right)"
    return a, b


def _open(path: Path, label: str) -> LoadedModel | None:
    try:
        return open_checkpoint(path, label=label)
    except (CheckpointError, OSError) as err:
        st.error(f"Could not open {label}: {err}", icon=":material/error:")
        return None


def _from_folders() -> LoadedModel | None:
    """A file picked under the roots or a typed path, opened on the button; the last one opened
    stays the second model (keys.Compare.OTHER) until another opens."""
    choice = FolderChoice(st, load_settings().roots, Compare.PICK, Compare.TYPED_PATH)
    if st.button("Open as the second model", key=Compare.OPEN_BUTTON, type="primary"):
        if (chosen := choice.chosen()) is not None:
            path, label = chosen
            if (loaded := _open(path, label)) is not None:
                st.session_state[Compare.OTHER] = ModelRef(
                    str(loaded.path), loaded.digest, loaded.dataset, loaded.label
                )
    ref: ModelRef | None = st.session_state.get(Compare.OTHER)
    if ref is None:
        st.info("Choose a checkpoint and open it as the second model.")
        return None
    return _open(Path(ref.path), ref.label)


def choose_second_model(current: LoadedModel) -> LoadedModel | None:
    """The model of the right-hand side, or None (with a message) while there is none."""
    demos = {DEMO_TITLES[name]: demo_path(name) for name in available_demos()}
    sources = [DEMO, FOLDERS] if demos else [FOLDERS]
    if st.session_state.get(Compare.SOURCE) not in sources:
        st.session_state[Compare.SOURCE] = sources[0]
    source = st.segmented_control(
        "Second model", sources, key=Compare.SOURCE, required=True, label_visibility="collapsed"
    )
    if source == FOLDERS:
        return _from_folders()
    if st.session_state.get(Compare.DEMO) not in demos:
        st.session_state[Compare.DEMO] = other_demo(demos, current.path)
    title = st.radio("Bundled demo", list(demos), key=Compare.DEMO, horizontal=True)
    return _open(demos[title], demo_label(demos[title]))
