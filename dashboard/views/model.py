"""Model page: open a checkpoint (bundled demo, checkpoint folders, upload) and read what it is:
configuration, parameter counts, model card and training curves."""

from pathlib import Path

import streamlit as st

from dashboard import model_state, widgets
from dashboard.card_text import card_markdown
from dashboard.checkpoint_picker import FolderChoice
from dashboard.downloads import Shelf, model_downloads
from dashboard.keys import Model
from dashboard.page_stop import stop_page
from dashboard.second_model import DEMO, FOLDERS
from dashboard.settings import beside, display_path, load_settings
from dashboard.start_here import start_here
from dashboard.trace import trace
from lmc.checkpoint import CheckpointError
from lmc.demos import DEMO_TITLES, available_demos, demo_label, demo_path
from lmc.model import parameter_counts
from lmc.training import metrics_log

UPLOAD = "Upload"
SOURCES = [DEMO, FOLDERS, UPLOAD]  # the same words as the Compare page's second model
DATASETS = {"movingmnist": "Moving-MNIST (64x64, gray)", "kth": "KTH (128x128, gray, sigmoid)"}

trace("page model")
settings = load_settings()
st.title("Model")
st.caption(
    "Open an LMC-Memory checkpoint: ours (.safetensors, or a run's last.pt) or the authors' "
    "released .pt. Files are never unpickled; a file that cannot be opened leaves the current "
    "model loaded."
)
start_here()


def bundled_demos(start: Path) -> dict[str, Path]:
    """{title: path} of the demos on disk, the checkpoint opened at start first when it is not
    one of them (LMC_DEMO_CHECKPOINT)."""
    found = {DEMO_TITLES[name]: demo_path(name).resolve() for name in available_demos()}
    if start.is_file() and start.resolve() not in found.values():
        found = {f"opened at start: {start.name}": start.resolve(), **found}
    return found


def try_open(path: Path, dataset: str | None, label: str, shown_name: str) -> None:
    try:
        loaded = model_state.open_checkpoint(path, dataset=dataset, label=label)
    except (CheckpointError, OSError) as err:
        # Uploads live under a hashed temporary name: show the user's file name instead.
        message = str(err).replace(str(path), shown_name)
        st.error(f"Could not open {shown_name}: {message}", icon=":material/error:")
        if model_state.current_model() is not None:
            st.caption("The previous model stays loaded.")
        return
    model_state.select_model(loaded)
    st.success(f"Opened {label}.", icon=":material/check_circle:")


def dataset_choice(key: str) -> str:
    st.session_state.setdefault(key, "movingmnist")
    return st.radio(
        "Dataset of an authors' .pt checkpoint",
        list(DATASETS),
        format_func=DATASETS.get,
        key=key,
        horizontal=True,
        help="The authors' weights do not record the image size and output activation; "
        "ignored for our own checkpoints.",
    )


with st.container(border=True):
    st.session_state.setdefault(Model.SOURCE, DEMO)
    source = st.segmented_control(
        "Checkpoint", SOURCES, key=Model.SOURCE, required=True, label_visibility="collapsed"
    )
    if source == DEMO:
        demos = bundled_demos(settings.demo_checkpoint)
        if not demos:
            st.warning(
                f"No bundled demo is on disk (looked for `{display_path(settings.demo_checkpoint)}`"
                "). Open a checkpoint from the folders or upload one (or set LMC_DEMO_CHECKPOINT).",
                icon=":material/warning:",
            )
        else:
            # The button only asks (on_click runs before the rerun); the open happens here, above
            # the button, so the button already says that the demo is open.
            if (requested := st.session_state.pop(Model.DEMO_REQUEST, None)) is not None:
                try_open(requested, None, demo_label(requested), requested.name)
            current = model_state.current_model()
            open_path = current.path if current is not None else None
            st.session_state.setdefault(
                Model.DEMO_CHOICE,
                next((t for t, p in demos.items() if p == open_path), next(iter(demos))),
            )
            if st.session_state[Model.DEMO_CHOICE] not in demos:
                st.session_state[Model.DEMO_CHOICE] = next(iter(demos))
            title = st.radio(
                "Bundled demo",
                list(demos),
                key=Model.DEMO_CHOICE,
                help="Both demos are the small preset trained on a 2-core CPU with the same data "
                "and seed; open one, then the other, on the same clip (docs/memory-health.md).",
            )
            demo = demos[title]
            st.caption(f"`{display_path(demo)}`")
            is_open = open_path == demo
            st.button(
                "This demo is open" if is_open else "Open this demo",
                key=Model.DEMO_BUTTON,
                type="primary",
                disabled=is_open,
                on_click=st.session_state.__setitem__,
                args=(Model.DEMO_REQUEST, demo),
            )
        if error := st.session_state.get(Model.DEMO_ERROR):
            st.error(f"The bundled demo could not be opened: {error}", icon=":material/error:")
    elif source == FOLDERS:
        left, right = st.columns([3, 2])
        choice = FolderChoice(left, settings.roots, Model.PICK, Model.TYPED_PATH)
        with right:
            dataset = dataset_choice(Model.DATASET)
        if st.button("Open checkpoint", key=Model.OPEN_BUTTON, type="primary"):
            if (chosen := choice.chosen()) is not None:
                path, label = chosen
                try_open(path, dataset, label, label)
    else:
        dataset = dataset_choice(Model.UPLOAD_DATASET)
        limit = settings.max_upload_mb
        upload = st.file_uploader(
            "Checkpoint file",
            type=["safetensors", "pt", "pth"],
            key=Model.UPLOAD,
            max_upload_size=limit,
            help=f"At most {limit} MB. Our .safetensors checkpoints, our training state last.pt, "
            "or the authors' .pt; nothing is unpickled.",
        )
        if upload is not None:
            if problem := widgets.upload_problem(upload, limit):
                st.error(problem, icon=":material/error:")
            elif st.session_state.get(Model.UPLOADED) != (upload.file_id, dataset):
                st.session_state[Model.UPLOADED] = (upload.file_id, dataset)
                path = model_state.save_upload(upload.getvalue(), upload.name)
                try_open(path, dataset, f"upload: {upload.name}", upload.name)

loaded = model_state.current_model()
if loaded is None:
    st.info("No model is loaded. Open the bundled demo, a checkpoint file, or upload one.")
    stop_page()

cfg = loaded.model.config
meta = loaded.metadata
counts = parameter_counts(loaded.model)

st.subheader(loaded.label)
uploaded = loaded.path.is_relative_to(model_state.upload_dir())  # nothing beside it is its own
origin = "uploaded" if uploaded else display_path(loaded.path)
facts = [f"format: {meta.get('format', '?')}", f"file: {origin}", f"sha256 {loaded.digest[:12]}"]
if meta.get("step") is not None:
    facts.insert(1, f"step {meta['step']}")
st.caption(" - ".join(facts))

cols = st.columns(4)
cols[0].metric("Parameters (inference)", f"{counts['inference'] / 1e6:.2f} M")
cols[1].metric(
    "Memory",
    f"{cfg.memory_size} x {cfg.memory_dim}" if cfg.memory else "off",
    help="slots x slot width",
)
grid = f"{cfg.grid[0]}x{cfg.grid[1]} cells" if cfg.query == "local" else "1 global query"
cols[2].metric("Query", grid if cfg.memory else "-", help="one query per H/16 x W/16 cell")
cols[3].metric("Frames", f"{cfg.image_size}x{cfg.image_size}x{cfg.image_channels}")

card, card_note = card_markdown(meta.get("model_card"))
card_file = None if uploaded else beside(loaded.path, "MODEL_CARD.md")
if not card and card_note is None and card_file is not None:
    card, card_note = card_markdown(card_file.read_text(errors="replace"))
total = counts["total"]
parts = [
    {"part": f"`{k}`", "parameters": f"{v:,}", "share": f"{100 * v / total:.1f} %"}
    for k, v in counts.items()
    if k not in ("total", "inference")
]
parts.append({"part": "total (training)", "parameters": f"{total:,}", "share": "100 %"})

left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown("##### Configuration")
    rows = [{"field": f"`{k}`", "value": str(v)} for k, v in cfg.to_dict().items()]
    st.table(rows, hide_index=True)
    metrics = meta.get("metrics")
    if isinstance(metrics, dict) and metrics:
        st.markdown("##### Validation scores saved with it")
        shown = {
            str(name).upper(): f"{value:.4g}" if isinstance(value, (int, float)) else "not a number"
            for name, value in metrics.items()
        }
        st.table([shown], hide_index=True)
        if meta.get("metrics_source"):
            st.caption(f"on {str(meta['metrics_source'])[:200]}; MSE and MAE are per-frame sums")
with right:
    st.markdown("##### Model card")
    if card_note:
        st.warning(card_note)
    with st.container(border=bool(card), height=480 if card.count("\n") > 20 else "content"):
        if card:
            st.markdown(card)
        else:
            st.caption(
                "This checkpoint carries no model card, and no MODEL_CARD.md lies beside it."
            )
    st.markdown("##### Parameters by part")
    st.table(parts, hide_index=True)
    st.caption(
        "The context encoder reads the long-term sequence in training phase 1 only, so inference "
        f"uses {counts['inference']:,} of the {total:,} parameters."
    )

# Its own log (NAME.metrics.jsonl, where a folder holds two models), else the folder's.
log = (
    None
    if uploaded
    else beside(loaded.path, f"{loaded.path.stem}.{metrics_log.FILE_NAME}")
    or beside(loaded.path, metrics_log.FILE_NAME)
)
records: list[dict] = []
shelf = Shelf()
st.markdown("##### Training curves")
if log is None:
    st.caption(
        "No metrics.jsonl beside this checkpoint: curves are shown for checkpoints opened from "
        "a run folder."
    )
else:
    records = metrics_log.read_records(log)
    if records:
        st.plotly_chart(
            shelf.figure("training curves", widgets.training_figure(records)), key=Model.CURVES
        )
        st.caption(f"{len(records)} records from `{display_path(log)}`.")
    else:
        st.caption(f"`{display_path(log)}` holds no records yet.")
model_downloads(loaded, records, card, shelf)
