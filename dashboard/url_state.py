"""The view in the URL: a link names the model, the input and what the page shows, so the same
link in a new browser opens the same view.

    ?model=live&input=test&clip=12&cell=5&phase=long       (on the Recall page)
    ?model=runs/a/best.safetensors&input=probe&digits=3,7&direction=45&speed=2.5
    ?input=file&file=models/data/standard.npy&layout=TN&clip=4&seen=8&frame=3   (on Rollout)

app.py calls `incoming` at the start of each run: the query parameters, when they are not the ones
this session wrote lately (a link just opened). `open_model` opens the model they name before the
start-up defaults (dashboard/startup.py), `apply` sets the test set, the input and the page's
values after them, and `write` puts the session's view back into the URL after the page ran
(fragments too: they rerun alone). The page's values are the rows of dashboard/link_table.py;
the model and the input are here. A value that cannot be shown is ignored, the view keeps its
default, and `show_notes` says at the top of the page which value was ignored and why.

A model or dataset path in a link must lie inside the checkpoint roots once resolved
(dashboard/link_values.py): nothing outside them is ever opened or read. Bundled demos go by name.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import asdict
from pathlib import Path

import streamlit as st

from dashboard import startup, views
from dashboard.input_state import (
    DATASET_FILE,
    MOTION_PROBE,
    PROBE_INPUT,
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
from dashboard.keys import Input, Model, Url
from dashboard.link_table import GLOBAL, PAGES, PROBE, Param, names, new_search
from dashboard.link_values import (
    Context,
    Ignored,
    choice,
    dataset_file,
    model_name,
    model_path,
    number,
)
from dashboard.model_state import LoadedModel, current_model, open_checkpoint, select_model
from dashboard.settings import display_path, load_settings
from lmc.analysis.inputs import Clip, InputError, clip_collection, default_short_len, guess_layout
from lmc.config import MIN_MOTION_FRAMES
from lmc.official import DATASETS

KEEP_WRITTEN = 8  # how many of the session's own recent URLs are not taken for a new link
# A link's inputs and the Input page's sources they open.
INPUTS = {"test": TEST_SET, "probe": MOTION_PROBE, "file": DATASET_FILE}
LAYOUTS = ("TN", "NT")
INPUT_NAMES = ("model", "dataset", "input", "clip", "file", "layout", "seen")
FAMILY_PROBE = ("family", "digits", "seed", "future")  # a family's digit moves by its own rule
BOUNCE_PROBE = ("digits", "direction", "speed", "turn", "future")


def _noted(notes: list[str], name: str, text: str, parse, *args):
    """parse(*args), or None with the reason noted as `name=text` and the message."""
    try:
        return parse(*args)
    except Ignored as err:
        notes.append(f"`{name}={text}`{err}")
        return None


def _index(notes: list[str], params, name: str, low: int, high: int, limit: str) -> int | None:
    """params[name] (default `low`) as a whole number in low .. high, or None (noted)."""
    text = params.get(name, str(low))
    return _noted(notes, name, text, number, text, low, high, limit)


def apply_rows(rows: Iterable[Param], params, ctx: Context, notes, into: MutableMapping) -> None:
    """Each row the link names, parsed into `into` (the session's state, or a probe's fields)."""
    for row in rows:
        if row.name in params:
            value = _noted(notes, row.name, params[row.name], row.parse, params[row.name], ctx)
            if value is not None:
                into.update(value if isinstance(value, dict) else {row.key: value})


def rows_text(rows: Iterable[Param], ctx: Context, values: Mapping) -> dict[str, str]:
    """The URL's text of each row whose value is set and not its default."""
    out = {}
    for row in rows:
        value = values.get(row.key)
        if value is not None and value != row.default_value(ctx):
            if (text := row.format(value, ctx)) is not None:
                out[row.name] = text
    return out


def _context(loaded: LoadedModel) -> Context:
    clip = current_input()
    fits = clip is not None and input_problem(loaded, clip) is None
    return Context(loaded, clip if fits else None, st.session_state)


# ------------------------------------------------------------------------------- model
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
    value = params["model"]
    if (found := _noted(notes, "model", value, model_path, value)) is None:
        return
    try:
        select_model(open_checkpoint(found[0], dataset=dataset, label=found[1]))
    except (OSError, ValueError) as err:  # CheckpointError is a ValueError
        notes.append(f"`model={value}` could not be opened: {err}")


# ------------------------------------------------------------------------------- input
def _test_input(params, ctx: Context, notes) -> tuple[Clip, tuple, dict] | None:
    last = load_settings().test_clips - 1
    limit = f"the test set has clips 0 .. {last}"
    if (index := _index(notes, params, "clip", 0, last, limit)) is None:
        return None
    cfg = ctx.loaded.model.config
    clip = test_clip(index, cfg.image_size, cfg.image_channels)
    return clip, ("test", index), {Input.TEST_INDEX: index}


def _probe_input(params, ctx: Context, notes) -> tuple[Clip, tuple, dict] | None:
    fields: dict = {}
    apply_rows(PROBE, params, ctx, notes, fields)
    probe = Probe(**fields)
    cfg = ctx.loaded.model.config
    try:
        clip = probe_clip(probe, cfg.image_size, cfg.image_channels)
    except (InputError, ValueError) as err:
        notes.append(f"the link's motion probe cannot be made: {err}")
        return None
    digits = [*probe.digits, *map(probe_default_digit, range(len(probe.digits), PROBE_MAX_DIGITS))]
    keys = {
        Input.PROBE_COUNT: len(probe.digits),
        **{Input.probe_digit(i): digits[i] for i in range(PROBE_MAX_DIGITS)},
        Input.PROBE_DIRECTION: probe.direction,
        Input.PROBE_SPEED: probe.speed,
        Input.PROBE_TURN: probe.turn,
        Input.PROBE_FUTURE: probe.future,
        Input.PROBE_FAMILY: probe.family,
        Input.PROBE_DRAW: "mid-range" if probe.seed is None else "seed",
    }
    if probe.seed is not None:
        keys[Input.PROBE_SEED] = probe.seed
    return clip, ("probe", probe), keys


def _file_input(params, ctx: Context, notes) -> tuple[Clip, tuple, dict] | None:
    if "file" not in params:
        notes.append("`input=file` needs `file=` naming a .npy file of the checkpoint folders")
        return None
    text = params["file"]
    try:
        path, label = dataset_file(text)
        array = dataset_array(path, label)
    except Ignored as err:
        notes.append(f"`file={text}`{err}")
        return None
    except InputError as err:
        notes.append(str(err))
        return None
    layout = guess_layout(array.shape)
    if "layout" in params:
        pick = choice({name: name for name in LAYOUTS}, "a layout", "layouts")
        layout = _noted(notes, "layout", params["layout"], pick, params["layout"], ctx) or layout
    try:
        clips = clip_collection(array, layout, label)
        if not len(clips):
            raise InputError("it holds no clips")
        limit = f"{label} has clips 0 .. {len(clips) - 1}"
        index = _index(notes, params, "clip", 0, len(clips) - 1, limit) or 0
        clip = file_clip(clips, index, label, path.name)
    except (InputError, ValueError) as err:
        notes.append(f"`file={text}`: {err}")
        return None
    if (problem := input_problem(ctx.loaded, clip)) is not None:
        notes.append(f"clip {index} of {label} does not fit the model: {problem}")
        return None
    keys = {Input.NPY_PICK: label, Input.NPY_LAYOUT_FOR: label, Input.NPY_LAYOUT: layout}
    return clip, ("file", str(path), layout, index), {**keys, Input.NPY_INDEX: index}


MAKERS = {"test": _test_input, "probe": _probe_input, "file": _file_input}


def _apply_input(params: Mapping[str, str], ctx: Context, notes: list[str]) -> None:
    """The input a link names (test clip, probe, dataset file) and the frames the model sees."""
    kind = params.get("input", "test" if "clip" in params else None)
    if kind is None:
        return
    pick = choice({name: name for name in INPUTS}, "an input of a link", "inputs")
    if _noted(notes, "input", kind, pick, kind, ctx) is None:
        return
    made = MAKERS[kind](params, ctx, notes)
    if made is None:
        return
    clip, origin, keys = made
    source = INPUTS[kind]
    if "seen" in params:
        t = clip.frames.shape[0]
        limit = f"the input has {t} frames; the model sees {MIN_MOTION_FRAMES} .. {t}"
        if (seen := _index(notes, params, "seen", MIN_MOTION_FRAMES, t, limit)) is not None:
            clip = clip.with_short_len(seen)
            keys[Input.split(source.lower().replace(" ", "_"))] = seen
    set_input(clip, origin)
    st.session_state.update({Input.SOURCE: source, **keys})


def input_params(origin: tuple | None, clip: Clip | None, ctx: Context) -> dict[str, str]:
    """The URL's parameters for an input's origin (input_state.set_input) and the frames the model
    sees where they are not the input's own; {} for an input a link cannot name (an upload)."""
    if not origin or origin[0] not in MAKERS:
        return {}
    kind = origin[0]
    params = {"input": kind}
    if kind == "test":
        params["clip"] = str(origin[1])
        made = 10
    elif kind == "probe":
        probe: Probe = origin[1]
        shown = FAMILY_PROBE if probe.family != "bounce" else BOUNCE_PROBE
        fields = {
            **asdict(probe),
            "digits": probe.digits[: 1 if probe.family != "bounce" else None],
        }
        params.update(rows_text([p for p in PROBE if p.name in shown], ctx, fields))
        made = PROBE_INPUT
    else:
        _, path, layout, index = origin
        params.update(file=display_path(Path(path)), layout=layout, clip=str(index))
        made = default_short_len(clip.frames.shape[0]) if clip is not None else None
    if clip is not None and clip.short_len != min(made, clip.frames.shape[0]):
        params["seen"] = str(clip.short_len)
    return params


# ---------------------------------------------------------------------- the page's values
def apply(params: Mapping[str, str] | None, page: str) -> None:
    """Set the test set, the input and page `page`'s values a link names, each checked; after the
    start-up defaults, so the model is there. Unknown parameters are noted too."""
    if params is None:
        return
    notes = _notes()
    known = {*INPUT_NAMES, *names()}
    for name in params:
        if name not in known:
            notes.append(
                f"`{name}` is not a parameter of a link; they are {', '.join(sorted(known))}"
            )
    loaded = current_model()
    if loaded is None:
        return
    apply_rows(GLOBAL, params, _context(loaded), notes, st.session_state)
    if "testset" in params:
        startup.follow_test_set(loaded)  # a test clip shown follows the link's test set
    _apply_input(params, _context(loaded), notes)
    if page == views.SEARCH.title:
        new_search(params, st.session_state)
    apply_rows(PAGES.get(page, ()), params, _context(loaded), notes, st.session_state)


def view_params(page: str) -> dict[str, str]:
    """The URL's parameters for the session's view on `page`."""
    params: dict[str, str] = {}
    ref = st.session_state.get(Model.CURRENT)
    if (model := model_name(ref)) is not None:
        params["model"] = model
        if ref.dataset is not None:
            params["dataset"] = ref.dataset
    loaded = current_model()
    if loaded is None:
        return params
    ctx = _context(loaded)
    params.update(rows_text(GLOBAL, ctx, st.session_state))
    params.update(input_params(st.session_state.get(Input.ORIGIN), current_input(), ctx))
    params.update(rows_text(PAGES.get(page, ()), ctx, st.session_state))
    return params


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
