"""The dashboard's shared state: the current model and the current input clip, for every page.

Use it from a page like this (pages run with the repository on sys.path, see app.py):

    from dashboard import state

    loaded = state.require_model()         # LoadedModel, or an info box and st.stop()
    loaded, clip = state.require_model_and_input()
    loaded.model      # LMCMemoryModel in eval mode, shared by every session: never mutate it
    loaded.metadata   # the checkpoint's metadata (step, metrics, model_card, format, ...)
    loaded.key        # content hash (+ dataset): the cache key of everything derived from it
    clip.frames       # (T, C, H, W) float32 in [0, 1], read-only; clip.short / clip.future
    clip.short_len, clip.source, clip.motion (TrueMotion or None), clip.key (content hash)

Session keys are namespaced by page: "model.*", "input.*", "rollout.*", and "recall.*",
"atlas.*", "embeddings.*", "intervene.*" for the memory pages. Keys of buttons, file uploaders
and download buttons end in ".button" / ".upload" (their values cannot be set through
session_state); every other key in these namespaces keeps its value when the user switches pages
(`keep_widget_values`, called by app.py). Give widgets a default with
`st.session_state.setdefault(key, value)` and no `value=` / `index=` argument; for a slider or
number input whose range depends on the data, `key=widgets.seed_widget(key, default, (lo, hi))`
keeps the user's value clamped into a new range (Streamlit would reset it to the minimum).

Caching: models are loaded once per file content with st.cache_resource (`open_checkpoint`);
derived arrays use st.cache_data keyed on strings, the model and clip passed as unhashed
underscore arguments:

    @st.cache_data(max_entries=32)
    def recall(model_key: str, clip_key: str, _model, _clip): ...
    recall(loaded.key, clip.key, loaded.model, clip)

`trace(event)` appends a line to $LMC_DASHBOARD_TRACE when it is set: call it at the top of a
page and inside each fragment, so the benchmark can check that a widget in a fragment reruns
only that fragment.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard.settings import Settings, load_settings
from lmc.analysis.inputs import Clip, InputError, TrueMotion, check_clip, match_channels
from lmc.checkpoint import CheckpointError, load_checkpoint
from lmc.model import LMCMemoryModel

NAMESPACES = ("model.", "input.", "rollout.", "recall.", "atlas.", "embeddings.", "intervene.")
ACTION_SUFFIXES = (".button", ".upload")
_PLAIN = (bool, int, float, str, type(None))
MODEL_KEY, INPUT_KEY, INPUT_ORIGIN_KEY = "model.current", "input.clip", "input.origin"
UPLOAD_DIR = Path(tempfile.gettempdir()) / "lmc-dashboard-uploads"


def leave_legacy_pages_mode() -> None:
    """Make app.py route this run, even when the first visit to a fresh server is a page's URL.

    A `pages/` folder beside app.py puts Streamlit in its legacy multipage mode until the first
    `st.navigation` call: a first visit to /rollout would run pages/rollout.py alone, without the
    router, and list every file in the menu. Switch that mode off and rerun: the rerun goes
    through app.py and keeps the requested page (both modes name a page by its file stem).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def settings() -> Settings:
    # Read on every call: it is cheap, and tests change the environment between apps.
    return load_settings()


def trace(event: str) -> None:
    """Append `<time> <event>` to $LMC_DASHBOARD_TRACE (benchmarks); nothing when unset."""
    path = settings().trace_file
    if path is not None:
        with open(path, "a") as f:
            f.write(f"{time.time():.4f} {event}\n")


def keep_widget_values() -> None:
    """Reassign the dashboard's widget values, so Streamlit does not drop them while their page
    is not shown (it forgets the state of widgets that were not drawn in a run)."""
    for key in list(st.session_state.keys()):
        if not key.startswith(NAMESPACES) or key.endswith(ACTION_SUFFIXES):
            continue
        value = st.session_state[key]
        plain = isinstance(value, _PLAIN) or (
            isinstance(value, list | tuple) and all(isinstance(v, _PLAIN) for v in value)
        )
        if plain:
            st.session_state[key] = value


# ------------------------------------------------------------------------------------ model
@dataclass(frozen=True)
class ModelRef:
    """What the session remembers of its model; the model itself lives in the resource cache."""

    path: str
    digest: str
    dataset: str | None
    label: str


@dataclass(frozen=True)
class LoadedModel:
    model: LMCMemoryModel
    metadata: dict[str, Any]
    path: Path
    label: str
    digest: str
    dataset: str | None

    @property
    def key(self) -> str:
        return f"{self.digest[:16]}-{self.dataset or 'lmc'}"


@st.cache_data(max_entries=256, show_spinner=False)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    # Keyed by size and modification time too, so a file rewritten in place (a run's
    # last.safetensors) is hashed again.
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def file_digest(path: Path) -> str:
    stat = path.stat()
    return _digest(str(path), stat.st_size, stat.st_mtime_ns)


@st.cache_resource(max_entries=6, show_spinner="Loading the checkpoint ...")
def _load(digest: str, dataset: str | None, _path: str) -> tuple[LMCMemoryModel, dict[str, Any]]:
    # Keyed by content: the same bytes under another name are the same model. Never unpickles
    # (lmc.checkpoint reads safetensors, and torch files only with weights_only=True).
    model, metadata = load_checkpoint(_path, dataset=dataset)
    model.requires_grad_(False)
    return model, metadata


def open_checkpoint(
    path: Path, dataset: str | None = None, label: str | None = None
) -> LoadedModel:
    """Load (or fetch from the cache) the checkpoint at `path`. Raises CheckpointError with a
    message for the user when the file is missing, corrupt, pickled or mismatched."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    digest = file_digest(path)
    model, metadata = _load(digest, dataset, str(path))
    return LoadedModel(model, metadata, path, label or path.name, digest, dataset)


def save_upload(data: bytes, filename: str) -> Path:
    """Keep an uploaded checkpoint in a private temporary folder, named by its content hash,
    since the loader reads paths. The extension is kept: it does not decide the format."""
    digest = hashlib.sha256(data).hexdigest()
    suffix = Path(filename).suffix.lower() if Path(filename).suffix else ".bin"
    UPLOAD_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = UPLOAD_DIR / f"{digest[:32]}{suffix}"
    if not path.is_file():
        tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def select_model(loaded: LoadedModel) -> None:
    st.session_state[MODEL_KEY] = ModelRef(
        str(loaded.path), loaded.digest, loaded.dataset, loaded.label
    )


def current_model() -> LoadedModel | None:
    """The session's model, or None when none is loaded (or its file has gone)."""
    ref: ModelRef | None = st.session_state.get(MODEL_KEY)
    if ref is None:
        return None
    try:
        model, metadata = _load(ref.digest, ref.dataset, ref.path)
    except (CheckpointError, OSError):
        return None  # evicted from the cache and the file changed or vanished since
    return LoadedModel(model, metadata, Path(ref.path), ref.label, ref.digest, ref.dataset)


# ------------------------------------------------------------------------------------ input
@st.cache_resource(max_entries=2, show_spinner="Generating the test set ...")
def test_set(image_size: int, num_clips: int):
    """The fixed Moving-MNIST test set (lmc.data.fixed_set) at `image_size`, shared, read-only."""
    from lmc.data import fixed_set

    clips = fixed_set("test", num_clips, image_size=image_size)
    clips.frames.flags.writeable = False
    return clips


def test_clip(index: int, image_size: int, channels: int, short_len: int = 10) -> Clip:
    """Clip `index` of the test set, with its true motion, as a `Clip` for a model."""
    clips = test_set(image_size, settings().test_clips)
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
    return st.session_state.get(INPUT_KEY)


def set_input(clip: Clip, origin: tuple | None = None) -> None:
    """Make `clip` the input of every page; `origin` ("test", index) lets a test-set clip follow
    a later model of another size."""
    if (current := current_input()) is None or current.key != clip.key:
        st.session_state[INPUT_KEY] = clip
    st.session_state[INPUT_ORIGIN_KEY] = origin


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


def ensure_defaults() -> None:
    """At the start of every run: open the bundled demo once per session, and give the session
    a test clip that fits its model when it has no input (or a test clip of another size)."""
    if MODEL_KEY not in st.session_state and not st.session_state.get("model.demo_tried"):
        st.session_state["model.demo_tried"] = True
        demo = settings().demo_checkpoint
        if demo.is_file():
            try:
                select_model(open_checkpoint(demo, label=f"bundled demo ({demo.name})"))
            except (CheckpointError, OSError) as err:
                st.session_state["model.demo_error"] = str(err)
    loaded = current_model()
    if loaded is None:
        return
    clip = current_input()
    origin = st.session_state.get(INPUT_ORIGIN_KEY)
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


def require_model() -> LoadedModel:
    """The current model; without one, an info box pointing to the Model page, then st.stop()."""
    loaded = current_model()
    if loaded is None:
        st.info("No model is loaded yet: open a checkpoint on the **Model** page.")
        st.page_link("pages/model.py", label="Open a model", icon=":material/arrow_forward:")
        st.stop()
    return loaded


def require_memory(loaded: LoadedModel, missing: str) -> None:
    """Stop a memory page for a model built without a memory, saying what the page would show
    (`missing`, e.g. "it has no slots to map")."""
    if loaded.model.memory is None:
        st.info(
            "This model was built without a memory (`memory=False`, the paper's ConvLSTM "
            f"baseline): {missing}. Open an LMC-Memory checkpoint on the **Model** page."
        )
        st.stop()


def require_model_and_input() -> tuple[LoadedModel, Clip]:
    """The current model and an input that fits it; otherwise say what is missing and stop."""
    loaded = require_model()
    clip = current_input()
    if clip is None:
        st.info("No input clip yet: choose one on the **Input** page.")
        st.page_link("pages/input.py", label="Choose an input", icon=":material/arrow_forward:")
        st.stop()
    problem = input_problem(loaded, clip)
    if problem is not None:
        st.error(f"The current input does not fit this model: {problem}.")
        st.page_link(
            "pages/input.py", label="Choose another input", icon=":material/arrow_forward:"
        )
        st.stop()
    return loaded, clip


# At import too, for pages that are not app.py: a server's first run may be any page's.
leave_legacy_pages_mode()
