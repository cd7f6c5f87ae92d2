"""The view in the URL: a link names the model, the input and what the page shows, so the same
link in a new browser opens the same view.

    ?model=live&input=test&clip=12&cell=5&phase=long       (on the Recall page)
    ?model=runs/a/best.safetensors&input=probe&digits=3,7&direction=45&speed=2.5
    ?input=file&file=models/data/standard.npy&layout=TN&clip=4&frame=3   (on the Rollout page)
    ?model=runs/c/best.safetensors&testset=contexts&clip=3    (the motion-context test set)

app.py calls `incoming` at the start of each run: the query parameters, when they are not the ones
this session wrote last (a link just opened). `open_model` opens the model they name before the
start-up defaults (dashboard/startup.py), `apply` sets the input and the page's widget keys after
them, and `write` puts the session's state back into the URL after the page ran (fragments call
it too: they rerun alone). Every value is checked against what the session can show: a value
that cannot be shown is ignored, the view falls back to its default, and `show_notes` says at the
top of the page which value was ignored and why, naming the limit.

The values are checked in dashboard/link_values.py; the Search and Compare memories pages' own
in dashboard/url_memory.py. A model or dataset path in a link is
resolved (links and `..` first) and must lie inside the checkpoint roots with a checkpoint's or
`.npy` suffix: nothing outside them is ever opened or read. Bundled demos go by name ("live",
"paper").
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

import streamlit as st

from dashboard import startup, test_set, url_memory, views
from dashboard.input_state import (
    DATASET_FILE,
    MOTION_PROBE,
    PROBE_MAX_DIGITS,
    TEST_SET,
    Probe,
    current_input,
    dataset_array,
    file_clip,
    input_problem,
    probe_clip,
    probe_default_digit,
    set_input,
    test_clip,
)
from dashboard.keys import Atlas, Embeddings, Input, Intervene, Model, Recall, Rollout, Url
from dashboard.link_values import (
    Ignored,
    checked,
    dataset_file,
    integer,
    model_path,
    probe_from,
)
from dashboard.model_state import (
    LoadedModel,
    ModelRef,
    current_model,
    open_checkpoint,
    select_model,
)
from dashboard.series import BOTH_RECALLS, LONG_RECALL, SHORT_RECALL
from dashboard.settings import (
    display_path,
    inside_roots,
    load_settings,
)
from lmc.analysis.inputs import InputError, clip_collection, default_out_len, guess_layout
from lmc.checkpoint import CheckpointError
from lmc.config import MIN_MOTION_FRAMES
from lmc.demos import available_demos, demo_path
from lmc.official import DATASETS

KEEP_WRITTEN = 8  # how many of the session's own recent URLs are not taken for a new link
# A link's inputs and the Input page's sources they open.
INPUTS = {"test": TEST_SET, "probe": MOTION_PROBE, "file": DATASET_FILE}
LAYOUTS = ("TN", "NT")
PROBE_PARAMS = ("digits", "direction", "speed", "turn", "future", "family", "seed")
GLOBAL_PARAMS = ("model", "dataset", "testset", "input", "clip", "file", "layout", *PROBE_PARAMS)
# The parameters of each page beyond the model and the input, and the session keys they set.
PAGE_PARAMS: dict[str, dict[str, str]] = {
    views.ROLLOUT.title: {"frame": Rollout.FRAME},
    views.RECALL.title: {"cell": Recall.CELL, "phase": Recall.PHASE},
    views.ATLAS.title: {"slot": Atlas.SLOT, "phase": Atlas.PHASE},
    views.EMBEDDINGS.title: {"phase": Embeddings.PHASE},
    views.INTERVENE.title: {"cell": Intervene.CELL, "slot": Intervene.SLOT},
}
# Each page's recall phases as the URL names them, and as its radio shows them.
PHASES = {"short": SHORT_RECALL, "long": LONG_RECALL, "both": BOTH_RECALLS}
PAGE_PHASES = {
    views.RECALL.title: ("short", "long", "both"),
    views.ATLAS.title: ("short", "long"),
    views.EMBEDDINGS.title: ("short", "long"),
}


# ------------------------------------------------------------------------------- model
def model_param(ref: ModelRef | None) -> str | None:
    """How a link names the session's model: a demo's name, a path inside the roots, or None
    (an upload, or a start checkpoint outside the roots: the next session opens it anyway)."""
    if ref is None:
        return None
    path = Path(ref.path).resolve()
    for name in available_demos():
        if demo_path(name).resolve() == path:
            return name
    try:
        return display_path(inside_roots(path, load_settings().roots))
    except ValueError:
        return None


def open_model(params: Mapping[str, str] | None) -> None:
    """Open the model a link names (before the start-up defaults, so the demo is not opened
    for nothing); a model that cannot be opened is noted, and the default opens instead."""
    if not params:
        return
    notes = _notes()
    dataset = params.get("dataset")
    if dataset is not None and dataset not in DATASETS:
        notes.append(
            f"`dataset={dataset}` is not a dataset; the datasets are {', '.join(DATASETS)}"
        )
        dataset = None
    if "model" not in params:
        return
    try:
        path, label = model_path(params["model"])
        loaded = open_checkpoint(path, dataset=dataset, label=label)
    except Ignored as err:
        notes.append(str(err))
        return
    except (CheckpointError, OSError) as err:
        notes.append(f"`model={params['model']}` could not be opened: {err}")
        return
    select_model(loaded)


# ------------------------------------------------------------------------------- input
def _test_input(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    count = load_settings().test_clips
    limit = f"the test set has clips 0 .. {count - 1}"
    index = checked(notes, integer, params, "clip", 0, count - 1, limit) if "clip" in params else 0
    if index is None:
        return
    cfg = loaded.model.config
    set_input(test_clip(index, cfg.image_size, cfg.image_channels), ("test", index))
    st.session_state[Input.SOURCE] = INPUTS["test"]
    st.session_state[Input.TEST_INDEX] = index


def _probe_input(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    probe = probe_from(params, notes)
    cfg = loaded.model.config
    try:
        clip = probe_clip(probe, cfg.image_size, cfg.image_channels)
    except (InputError, ValueError) as err:
        notes.append(f"the link's motion probe cannot be made: {err}")
        return
    set_input(clip, ("probe", probe))
    state = st.session_state
    state[Input.SOURCE] = INPUTS["probe"]
    state[Input.PROBE_COUNT] = len(probe.digits)
    for i in range(PROBE_MAX_DIGITS):
        state[Input.probe_digit(i)] = (
            probe.digits[i] if i < len(probe.digits) else probe_default_digit(i)
        )
    state[Input.PROBE_DIRECTION] = probe.direction
    state[Input.PROBE_SPEED] = probe.speed
    state[Input.PROBE_TURN] = probe.turn
    state[Input.PROBE_FUTURE] = probe.future
    state[Input.PROBE_FAMILY] = probe.family
    state[Input.PROBE_DRAW] = "mid-range" if probe.seed is None else "seed"
    if probe.seed is not None:
        state[Input.PROBE_SEED] = probe.seed


def _file_input(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    if "file" not in params:
        notes.append("`input=file` needs `file=` naming a .npy file of the checkpoint folders")
        return
    try:
        path, label = dataset_file(params["file"])
        array = dataset_array(path, label)
    except (Ignored, InputError) as err:
        notes.append(str(err))
        return
    layout = guess_layout(array.shape)
    if "layout" in params:
        if params["layout"] in LAYOUTS:
            layout = params["layout"]
        else:
            notes.append(f"`layout={params['layout']}` is not a layout; the layouts are TN and NT")
    try:
        clips = clip_collection(array, layout, label)
    except InputError as err:
        notes.append(f"`file={params['file']}`: {err}")
        return
    if not len(clips):
        notes.append(f"`file={params['file']}` holds no clips")
        return
    limit = f"{label} has clips 0 .. {len(clips) - 1}"
    index = (
        checked(notes, integer, params, "clip", 0, len(clips) - 1, limit) if "clip" in params else 0
    )
    if index is None:
        index = 0
    try:
        clip = file_clip(clips, index, label, path.name)
    except (InputError, ValueError) as err:
        notes.append(f"clip {index} of {label} cannot be read: {err}")
        return
    if (problem := input_problem(loaded, clip)) is not None:
        notes.append(f"clip {index} of {label} does not fit the model: {problem}")
        return
    set_input(clip, ("file", str(path), layout, index))
    state = st.session_state
    state[Input.SOURCE] = INPUTS["file"]
    state[Input.NPY_PICK] = label
    state[Input.NPY_LAYOUT_FOR] = label
    state[Input.NPY_LAYOUT] = layout
    state[Input.NPY_INDEX] = index


def _apply_input(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    kind = params.get("input", "test" if "clip" in params else None)
    if kind is None:
        return
    if kind not in INPUTS:
        notes.append(
            f"`input={kind}` is not an input of a link; the inputs are {', '.join(INPUTS)}"
        )
    elif kind == "test":
        _test_input(params, loaded, notes)
    elif kind == "probe":
        _probe_input(params, loaded, notes)
    else:
        _file_input(params, loaded, notes)


def _apply_test_set(params: Mapping[str, str], loaded: LoadedModel, notes: list[str]) -> None:
    """`testset=standard|contexts`: the session's test set (dashboard/test_set.py), before the
    input, whose test clip comes from it; a test clip already shown follows it."""
    if "testset" not in params:
        return
    value = params["testset"]
    if value not in test_set.TEST_SETS:
        notes.append(
            f"`testset={value}` is not a test set; the test sets are {', '.join(test_set.TEST_SETS)}"
        )
    elif (problem := test_set.unavailable(loaded.model.config.image_size, value)) is not None:
        notes.append(f"`testset={value}` does not fit this model: {problem}")
    else:
        st.session_state[Input.TEST_MOTION] = value
        startup.follow_test_set(loaded)


def input_params(origin: tuple | None) -> dict[str, str]:
    """The URL's parameters for an input's origin (input_state.set_input); {} for one a link
    cannot name (an upload, a frame folder)."""
    if not origin:
        return {}
    kind = origin[0]
    if kind == "test":
        return {"input": "test", "clip": str(origin[1])}
    if kind == "probe":
        probe: Probe = origin[1]
        if probe.family != "bounce":  # one digit: direction, speed and turn are unused
            seed = {} if probe.seed is None else {"seed": str(probe.seed)}
            return {
                "input": "probe",
                "family": probe.family,
                "digits": str(probe.digits[0]),
                **seed,
                "future": str(probe.future),
            }
        return {
            "input": "probe",
            "digits": ",".join(map(str, probe.digits)),
            "direction": str(probe.direction),
            "speed": f"{probe.speed:g}",
            "turn": str(probe.turn),
            "future": str(probe.future),
        }
    if kind == "file":
        _, path, layout, index = origin
        return {
            "input": "file",
            "file": display_path(Path(path)),
            "layout": layout,
            "clip": str(index),
        }
    return {}


# ---------------------------------------------------------------------- the page's values
def _has_long(clip) -> bool:
    """Whether the clip's long-window recall exists (lmc.analysis.recall.recall_view)."""
    t = clip.frames.shape[0]
    return t > clip.short_len and t >= MIN_MOTION_FRAMES


def _page_value(name: str, params, page: str, loaded: LoadedModel, clip, notes) -> object:
    """The session value of parameter `name` of `page`, or None when it is ignored (noted)."""
    memory = getattr(loaded.model, "memory", None) is not None
    if name in ("cell", "slot") and not memory:
        notes.append(f"`{name}={params[name]}`: this model has no memory, so no {name}s")
        return None
    if name == "cell":
        rows, cols = loaded.model.query_grid(*clip.frames.shape[-2:])
        cells = rows * cols
        limit = f"this model's query grid on this input has cells 0 .. {cells - 1} ({rows}x{cols})"
        return checked(notes, integer, params, "cell", 0, cells - 1, limit)
    if name == "slot":
        size = loaded.model.config.memory_size
        limit = f"this model's memory has slots 0 .. {size - 1}"
        return checked(notes, integer, params, "slot", 0, size - 1, limit)
    if name == "frame":
        same = st.session_state.get(Rollout.OUT_LEN_FOR) == clip.key
        out_len = int(st.session_state[Rollout.OUT_LEN]) if same else default_out_len(clip)
        limit = f"the rollout predicts frames 1 .. {out_len}"
        return checked(notes, integer, params, "frame", 1, out_len, limit)
    text = params["phase"]  # the recall phase
    allowed = PAGE_PHASES[page]
    if text not in allowed:
        notes.append(
            f"`phase={text}` is not a phase of this page; the phases are {', '.join(allowed)}"
        )
        return None
    if text != "short" and not _has_long(clip):
        notes.append(
            f"`phase={text}`: the input has no frames after the {clip.short_len} the model "
            "sees, so there is no long-window (phase 1) recall"
        )
        return None
    return PHASES[text]


def apply(params: Mapping[str, str] | None, page: str) -> None:
    """Set the input and page `page`'s values a link names, each checked; after the start-up
    defaults, so the model is there. Unknown parameters are noted too."""
    if params is None:
        return
    notes = _notes()
    known = {
        *GLOBAL_PARAMS,
        *(n for p in PAGE_PARAMS.values() for n in p),
        *(n for p in url_memory.PARAMS.values() for n in p),
    }
    for name in params:
        if name not in known:
            notes.append(
                f"`{name}` is not a parameter of a link; they are {', '.join(sorted(known))}"
            )
    loaded = current_model()
    if loaded is None:
        return
    _apply_test_set(params, loaded, notes)
    _apply_input(params, loaded, notes)
    url_memory.apply(page, params, loaded, notes)  # Search and Compare: not about the input
    clip = current_input()
    if clip is None or input_problem(loaded, clip) is not None:
        return
    for name, key in PAGE_PARAMS.get(page, {}).items():
        if name in params:
            value = _page_value(name, params, page, loaded, clip, notes)
            if value is not None:
                st.session_state[key] = value


def _notes() -> list[str]:
    """The notes of the link being applied (`incoming` starts them)."""
    return st.session_state[Url.NOTES][1]


# --------------------------------------------------------------------------- reading, writing
def incoming(page: str) -> dict[str, str] | None:
    """The URL's parameters on `page` when this session did not write them (a link just opened,
    or the URL cleared by a change of page), else None. A new link starts its notes afresh."""
    st.session_state[Url.PAGE] = page
    params = st.query_params.to_dict()
    # Any recent URL of this session, not only the last: a run that a page restarts (st.rerun)
    # may still carry the URL written before it.
    if params in st.session_state.get(Url.WRITTEN, []):
        return None
    st.session_state[Url.NOTES] = (page, [])
    return params


def view_params(page: str) -> dict[str, str]:
    """The URL's parameters for the session's view on `page`."""
    params: dict[str, str] = {}
    ref = st.session_state.get(Model.CURRENT)
    if (model := model_param(ref)) is not None:
        params["model"] = model
        if ref.dataset is not None:
            params["dataset"] = ref.dataset
    loaded = current_model()
    if loaded is not None and test_set.test_motion() != test_set.model_default(loaded):
        params["testset"] = test_set.test_motion()  # named only when not the model's own
    params.update(input_params(st.session_state.get(Input.ORIGIN)))
    reverse = {label: name for name, label in PHASES.items()}
    for name, key in PAGE_PARAMS.get(page, {}).items():
        value = st.session_state.get(key)
        if name == "phase":
            value = reverse.get(value)
        if isinstance(value, int | str) and not isinstance(value, bool):
            params[name] = str(value)
    params.update(url_memory.view_params(page))
    return params


def write(page: str | None = None) -> None:
    """Put the session's view on `page` (default: the page of this run) into the URL, only
    when it changed."""
    params = view_params(page or st.session_state.get(Url.PAGE, ""))
    written = [p for p in st.session_state.get(Url.WRITTEN, []) if p != params]
    st.session_state[Url.WRITTEN] = [*written[-(KEEP_WRITTEN - 1) :], params]
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def fragment(func):
    """`st.fragment` that also writes the URL after each rerun: a fragment reruns without
    app.py, so a cell or slot chosen in it would otherwise reach the URL only later."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            write()

    return st.fragment(run)


def show_notes(page: str) -> None:
    """Say, on the page a link opened, which of its values were ignored and why."""
    shown = st.session_state.get(Url.NOTES)
    if not shown or shown[0] != page or not shown[1]:
        return
    st.warning(
        "Some values of this link were ignored, and their defaults shown instead:\n\n"
        + "\n".join(f"- {note}" for note in shown[1]),
        icon=":material/link_off:",
    )
