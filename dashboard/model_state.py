"""The session's model: checkpoints loaded once per content, and what a page does without one.

    from dashboard import model_state

    loaded = model_state.require_model()   # LoadedModel, or an info box and stop_page()
    loaded.model      # LMCMemoryModel in eval mode, shared by every session: never mutate it
    loaded.metadata   # the checkpoint's metadata (step, metrics, model_card, format, ...)
    loaded.key        # content hash (+ dataset): the cache key of everything derived from it

Models are loaded once per file content with st.cache_resource (`open_checkpoint`); the session
keeps a `ModelRef` under keys.Model.CURRENT, not the model.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard import views
from dashboard.keys import Model
from dashboard.page_stop import stop_page
from lmc.checkpoint import CheckpointError, load_checkpoint
from lmc.model import LMCMemoryModel

_upload_dir: Path | None = None


def upload_dir() -> Path:
    """This server's own folder for uploaded checkpoints: made on first use by `mkdtemp` (mode
    0700, an unpredictable name, so no other user can plant a file under an upload's hash) and
    removed when the server exits."""
    global _upload_dir
    if _upload_dir is None or not _upload_dir.is_dir():
        _upload_dir = Path(tempfile.mkdtemp(prefix="lmc-dashboard-uploads-"))
        atexit.register(shutil.rmtree, _upload_dir, ignore_errors=True)
    return _upload_dir


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
    path = upload_dir() / f"{digest[:32]}{suffix}"
    # A file already there is reused only if it holds these very bytes.
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        tmp = path.with_name(f".{path.name}.{time.time_ns()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def select_model(loaded: LoadedModel) -> None:
    st.session_state[Model.CURRENT] = ModelRef(
        str(loaded.path), loaded.digest, loaded.dataset, loaded.label
    )


def current_model() -> LoadedModel | None:
    """The session's model, or None when none is loaded (or its file has gone)."""
    ref: ModelRef | None = st.session_state.get(Model.CURRENT)
    if ref is None:
        return None
    try:
        model, metadata = _load(ref.digest, ref.dataset, ref.path)
    except (CheckpointError, OSError):
        return None  # evicted from the cache and the file changed or vanished since
    return LoadedModel(model, metadata, Path(ref.path), ref.label, ref.digest, ref.dataset)


def require_model() -> LoadedModel:
    """The current model; without one, an info box pointing to the Model page, then stop_page()."""
    loaded = current_model()
    if loaded is None:
        st.info("No model is loaded yet: open a checkpoint on the **Model** page.")
        st.page_link(views.MODEL.file, label="Open a model", icon=":material/arrow_forward:")
        stop_page()
    return loaded


def require_memory(loaded: LoadedModel, missing: str) -> None:
    """Stop a memory page for a model built without a memory, saying what the page would show
    (`missing`, e.g. "it has no slots to map")."""
    if loaded.model.memory is None:
        st.info(
            "This model was built without a memory (`memory=False`, the paper's ConvLSTM "
            f"baseline): {missing}. Open an LMC-Memory checkpoint on the **Model** page."
        )
        stop_page()
