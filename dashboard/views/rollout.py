"""Rollout page: what the model predicts from the current input, frame by frame, against the
ground truth, the two baselines (copy the last frame, all-zero frames), a second checkpoint and
other methods' predictions."""

import numpy as np
import streamlit as st

from dashboard import input_state, model_state, url_state, widgets
from dashboard.choices import NO_SECOND
from dashboard.downloads import rollout_downloads
from dashboard.keys import Rollout as Keys
from dashboard.series import (
    BASELINES,
    COPY_LAST,
    GROUND_TRUTH,
    MODEL,
    SECOND_MODEL,
    ZEROS,
    shown,
)
from dashboard.settings import (
    CHECKPOINT_SUFFIXES,
    find_files,
    find_folders,
    label_paths,
    load_settings,
)
from dashboard.stepper import step_slider
from dashboard.trace import trace
from dashboard.widget_state import seed_widget
from dashboard.widgets import Row, heat, to_rgb
from lmc.analysis.inputs import InputError, default_out_len
from lmc.analysis.rollout import (
    METHOD_FILES,
    MethodResults,
    Rollout,
    Versus,
    copy_last,
    error_maps,
    frame_scores,
    load_method_dir,
    method_results,
    run_rollout,
    score_table,
    versus_better_baseline,
    zero_frames,
)
from lmc.analysis.uploads import read_npy
from lmc.checkpoint import CheckpointError

NONE = NO_SECOND

trace("page rollout")
settings = load_settings()
st.title("Rollout")
loaded, clip = input_state.require_model_and_input()


@st.cache_data(max_entries=32, show_spinner=False)
def rollout(model_key: str, clip_key: str, out_len: int, _model, _clip) -> Rollout:
    trace("model rollout")
    return run_rollout(_model, _clip, out_len)


@st.cache_resource(max_entries=2, show_spinner="Reading the method's results ...")
def open_method_dir(folder: str, mtime_ns: int) -> MethodResults:
    return load_method_dir(folder)


# ------------------------------------------------------------------------------- controls
top = st.columns([1, 2, 2])
if st.session_state.get(Keys.OUT_LEN_FOR) != clip.key:
    # A new input starts with as many predicted frames as it has ground truth.
    st.session_state[Keys.OUT_LEN_FOR] = clip.key
    st.session_state[Keys.OUT_LEN] = default_out_len(clip)
out_len = top[0].number_input("Frames to predict", 1, 50, key=Keys.OUT_LEN)
checkpoints = label_paths(find_files(settings.roots, CHECKPOINT_SUFFIXES), settings.roots)
second_options = [NONE, *checkpoints]
st.session_state.setdefault(Keys.COMPARE, NONE)
if st.session_state[Keys.COMPARE] not in second_options:
    st.session_state[Keys.COMPARE] = NONE
second_pick = top[1].selectbox(
    "Compare with a second checkpoint",
    second_options,
    key=Keys.COMPARE,
    help="e.g. the same model without memory; it predicts from the same input.",
)
st.caption(f"**{loaded.label}** on **{clip.source}** ({widgets.clip_summary(clip)}).")

main = rollout(loaded.key, clip.key, int(out_len), loaded.model, clip)
second, second_label = None, None
if second_pick != NONE:
    try:
        other = model_state.open_checkpoint(checkpoints[second_pick], label=second_pick)
        problem = input_state.input_problem(other, clip)
        if problem:
            raise InputError(f"the input does not fit {second_pick}: {problem}")
        second = rollout(other.key, clip.key, int(out_len), other.model, clip)
        second_label = SECOND_MODEL
    except (CheckpointError, InputError, ValueError, OSError) as err:
        st.error(f"Second checkpoint: {err}", icon=":material/error:")

# ---------------------------------------------------------------------------- other methods
methods: dict[str, np.ndarray] = {}  # name -> prediction (T, C, H, W) for this clip
with top[2].popover("Other methods' predictions", icon=":material/compare:", width="stretch"):
    st.caption(
        "Results saved as inputs.npy, trues.npy and preds.npy (N, T, C, H, W) in [0, 1], the "
        "layout of OpenSTL and most video-prediction code."
    )
    folders = label_paths(find_folders(settings.roots, METHOD_FILES), settings.roots)
    folder = st.selectbox(
        "Results folder",
        [NONE, *folders],
        key=Keys.METHOD_DIR,
        help="inside the checkpoint folders",
    )
    uploads = st.file_uploader(
        "or upload the three files",
        type=["npy"],
        accept_multiple_files=True,
        key=Keys.METHOD_UPLOAD,
        max_upload_size=settings.max_upload_mb,
        help=f"inputs.npy, trues.npy, preds.npy; at most {settings.max_upload_mb} MB each.",
    )
    name = st.text_input("Method name", key=Keys.METHOD_NAME, placeholder="e.g. SimVP")
    results = None
    try:
        if uploads:
            for upload in uploads:
                if problem := widgets.upload_problem(upload, settings.max_upload_mb):
                    raise InputError(problem)
            by_name = {u.name: u for u in uploads}
            missing = [f for f in METHOD_FILES if f not in by_name]
            if missing:
                raise InputError(f"missing {', '.join(missing)} among the uploaded files")
            arrays = [read_npy(by_name[f].getvalue(), f) for f in METHOD_FILES]
            results = method_results(*arrays, name=name or "uploaded method")
        elif folder != NONE:
            path = folders[folder]
            results = open_method_dir(str(path), (path / "preds.npy").stat().st_mtime_ns)
            results = MethodResults(name or path.name, results.inputs, results.trues, results.preds)
        if results is not None:
            top = len(results) - 1
            key = seed_widget(Keys.METHOD_INDEX, 0, (0, top))
            index = st.number_input(f"Clip (0 .. {top})", 0, top, key=key)
            if results.matches(clip, int(index)):
                methods[results.name] = results.prediction(int(index))
                st.success(f"Clip {index} is the current input: {results.name} is shown below.")
            else:
                st.warning(f"The current input is not clip {index} of these results.")
                if st.button(f"Use clip {index} as the input", key=Keys.METHOD_USE_BUTTON):
                    input_state.set_input(results.clip(int(index)))
                    st.rerun()
    except (InputError, ValueError, OSError) as err:
        st.error(str(err), icon=":material/error:")

# --------------------------------------------------------------------------------- scores
target = main.target
named: dict[str, dict[str, np.ndarray]] = {}
preds: dict[str, np.ndarray] = {MODEL: main.pred}
if second is not None:
    preds[second_label] = second.pred
preds.update(methods)
if target is not None:
    named[MODEL] = frame_scores(main.pred, target)
    named[COPY_LAST] = frame_scores(copy_last(main.inputs, len(target)), target)
    named[ZEROS] = frame_scores(zero_frames(target), target)
    for label, pred in preds.items():
        if label != MODEL:
            named[label] = frame_scores(pred, target)


def score_metric(column, label: str, versus: Versus, digits: int, unit: str = "", help=None):
    """The model's score with its difference from the better baseline on that score, green when
    the model beats it, red when it does not (grey on a tie)."""
    color = "gray" if versus.delta == 0 else ("green" if versus.beats else "red")
    column.metric(
        label,
        f"{versus.value:.{digits}f}{unit}",
        delta=f"{versus.delta:+.{digits}f} vs {versus.baseline}",
        delta_color=color,
        delta_arrow="auto",
        help=help,
    )


cols = st.columns(4)
if target is not None:
    versus = {
        m: versus_better_baseline(named, MODEL, BASELINES, m) for m in ("mse", "ssim", "psnr")
    }
    score_metric(
        cols[0],
        "MSE per frame",
        versus["mse"],
        1,
        help="sum of squared errors over the pixels of a frame, mean over the predicted frames",
    )
    score_metric(cols[1], "SSIM", versus["ssim"], 3)
    score_metric(cols[2], "PSNR", versus["psnr"], 1, " dB")
    floors = ", ".join(
        f"{name} MSE {np.mean(named[name]['mse']):.1f}, SSIM {np.mean(named[name]['ssim']):.3f}, "
        f"PSNR {np.mean(named[name]['psnr']):.1f} dB"
        for name in BASELINES
    )
    st.caption(
        f"Each difference is against the better baseline on that score ({floors}): green where "
        "the model beats it, red where it does not."
    )
else:
    cols[0].info("No ground truth after the input: no scores.", icon=":material/info:")
cols[3].metric(
    "Model time", f"{main.seconds * 1000:.0f} ms", help="the model call alone, on the CPU"
)

# ----------------------------------------------------------------------------------- grid
short_len = clip.short_len
rows = [
    Row(
        f"input | {GROUND_TRUTH}",
        to_rgb(np.concatenate([main.inputs, target]) if target is not None else main.inputs),
    )
]
for label, pred in preds.items():
    rows.append(Row(shown(label), to_rgb(pred), short_len))
    if target is not None:
        rows.append(
            Row(
                f"|error| {label if label != MODEL else ''}".rstrip(),
                heat(error_maps(pred, target)),
                short_len,
            )
        )
st.image(widgets.grid_image(rows, short_len + int(out_len), short_len), width="stretch")
st.caption(
    f"Frames 1-{short_len} are the input; the error maps show |prediction - truth| from black "
    "(0) through red and yellow to white (1)."
)


# --------------------------------------------------------------------------- frame viewer
@url_state.fragment
def viewer() -> None:
    trace("fragment rollout.viewer")
    st.markdown("##### Frame by frame")
    if out_len > 1:
        key = seed_widget(Keys.FRAME, 1, (1, int(out_len)))
        k = step_slider("Predicted frame", 1, int(out_len), key, "frame")
    else:
        k = 1
    panels = [("last input", to_rgb(main.inputs[-1:])[0])]
    if target is not None and k <= len(target):
        panels.append((GROUND_TRUTH, to_rgb(target[k - 1 : k])[0]))
    for label, pred in preds.items():
        panels.append((shown(label), to_rgb(pred[k - 1 : k])[0]))
        if target is not None and k <= len(target):
            err = heat(np.abs(pred[k - 1] - target[k - 1]).mean(0))
            panels.append((f"|error| {label if label != MODEL else ''}".rstrip(), err))
    factor = widgets.display_factor(panels[0][1].shape[0], 160)
    columns = st.columns(len(panels))
    for column, (title, image) in zip(columns, panels, strict=True):
        column.image(widgets.upscale(image, factor), caption=title, width="stretch")
    if named:
        values = [
            {"method": m, **{s: float(v[s][k - 1]) for s in ("mse", "ssim", "psnr")}}
            for m, v in named.items()
            if k <= len(v["mse"])
        ]
        st.dataframe(values, hide_index=True, column_config=widgets.score_columns())


viewer()

with st.expander("Animation", icon=":material/animation:"):
    truth = np.concatenate([main.inputs, target]) if target is not None else main.inputs
    panels = [(GROUND_TRUTH if target is not None else "input", to_rgb(truth))]
    for label, pred in preds.items():
        panels.append((shown(label), to_rgb(np.concatenate([main.inputs, pred]))))
    st.image(widgets.animation(panels, short_len), caption="input, then prediction")

# --------------------------------------------------------------------------------- curves
if named:
    st.markdown("##### Per-frame scores")
    gates = {MODEL: main.gate} if main.gate is not None else {}
    if second is not None and second.gate is not None:
        gates[second_label] = second.gate
    st.plotly_chart(widgets.per_frame_figure(named, gates), key=Keys.CURVES)
    st.dataframe(score_table(named), hide_index=True, column_config=widgets.score_columns())
    st.caption(
        "MSE and MAE are per-frame sums over pixels (the field's convention), predictions "
        "clamped to [0, 1]. The memory gate is the mean attention on the recalled motion feature "
        "at each step (Lee et al., eq. 6)."
    )

rollout_downloads(loaded, clip, main, preds, named, second=second)
