"""Input page: choose the clip every page works on: a generated test clip with its true motion,
a motion probe with a chosen motion, an uploaded clip, a clip of a dataset file or a frame
folder. A valid choice becomes the input at once; an invalid one says why and changes nothing."""

import math

import numpy as np
import streamlit as st

from dashboard import input_state, model_state, widgets
from dashboard import memory_widgets as mw
from dashboard.clip_picker import PickerKeys, clip_picker
from dashboard.downloads import input_downloads
from dashboard.fingerprint import fingerprint
from dashboard.input_state import (
    DATASET_FILE,
    MOTION_PROBE,
    PROBE_DIRECTION,
    PROBE_FAMILIES,
    PROBE_FUTURE,
    PROBE_INPUT,
    PROBE_MAX_DIGITS,
    PROBE_SEED,
    PROBE_SPEED,
    PROBE_TURN,
    SOURCES,
    TEST_SET,
    UPLOAD,
    Probe,
    probe_default_digit,
)
from dashboard.keys import Input
from dashboard.memory_widgets.sweep_figure import motion_label, sweep_figure
from dashboard.settings import (
    display_path,
    find_files,
    find_frame_datasets,
    label_paths,
    load_settings,
)
from dashboard.test_set import test_set_choice
from dashboard.trace import trace
from dashboard.widget_state import seed_widget
from lmc.analysis.inputs import (
    Clip,
    InputError,
    check_clip,
    clip_collection,
    default_short_len,
    guess_layout,
    resize_frames,
)
from lmc.analysis.probe import (
    bounce_frames,
    digit_family,
    digit_names,
    family_params_text,
    family_path,
    max_probe_speed,
    motion_summary,
)
from lmc.analysis.probe_sweep import ProbeSweep, probe_sweep
from lmc.analysis.uploads import UPLOAD_TYPES, decode_upload
from lmc.config import MIN_MOTION_FRAMES, SIDE_MULTIPLE

TEST_PICKER = PickerKeys(
    Input.TEST_INDEX, Input.TEST_NUMBER, Input.TEST_PREVIOUS, Input.TEST_NEXT, Input.TEST_RANDOM
)
NPY_PICKER = PickerKeys(
    Input.NPY_INDEX, Input.NPY_NUMBER, Input.NPY_PREVIOUS, Input.NPY_NEXT, Input.NPY_RANDOM
)
SWEEP_STEPS = (90, 45, 30)  # degrees between the sweep's directions
SWEEP_SPEED_CHOICES = tuple(x / 2 for x in range(1, 17))  # 0.5 .. 8 px/frame
LAYOUTS = {"TN": "(T, N, H, W): mnist_test_seq.npy", "NT": "(N, T, H, W) or (N, T, C, H, W)"}
PROBE_DRAWS = ("mid-range", "seed")
FAMILY_LABELS = {"bounce": "bounce: a chosen direction and speed"}

trace("page input")
settings = load_settings()
loaded = model_state.require_model()
cfg = loaded.model.config
st.title("Input")
st.caption(
    f"The model sees the first frames of a clip (at least {MIN_MOTION_FRAMES}) and predicts the "
    f"rest; frames must be {cfg.image_channels}-channel with sides a multiple of {SIDE_MULTIPLE} "
    f"(this model was trained on {cfg.image_size}x{cfg.image_size}). " + mw.DIRECTION_NOTE
)


default = seed_widget


@st.cache_data(max_entries=8, show_spinner="Decoding the upload ...")
def decode(content: str, name: str, channels: int, _data: bytes) -> np.ndarray:
    # The name stays in the key: its extension decides how the bytes are read.
    return decode_upload(_data, name, channels)


@st.cache_resource(max_entries=4, show_spinner="Reading the frame folders (once) ...")
def open_folder(root: str, clip_len: int, channels: int, side: int):
    """The folder's frames resized to the model's side: at their own size a few KB of PNG could
    declare frames of 6000x6000 (the reader also bounds what a folder may decode)."""
    from lmc.data.folders import FrameFolderDataset

    return FrameFolderDataset(root, clip_len, split="test", channels=channels, size=side)


def from_test_set() -> tuple[Clip, tuple]:
    test_set_choice(loaded)
    index = clip_picker("Test clip", settings.test_clips, TEST_PICKER)
    clip = input_state.test_clip(index, cfg.image_size, cfg.image_channels)
    return clip, ("test", index)


def from_family_probe(family: str, future: int) -> tuple[Clip, tuple]:
    """One digit moving in a motion family, its parameters mid-range or drawn from a seed."""
    left, right = st.columns(2)
    digit = left.selectbox(
        "digit", list(range(10)), key=default(Input.probe_digit(0), probe_default_digit(0))
    )
    draw = right.radio(
        "parameters",
        PROBE_DRAWS,
        key=default(Input.PROBE_DRAW, PROBE_DRAWS[0]),
        horizontal=True,
        help="The family's parameters (radius, period, speed, ...) in the middle of the ranges "
        "the generator of motion contexts draws from, or drawn from those ranges by a seed.",
    )
    low, high, step = PROBE_SEED
    seed = right.number_input(
        "seed", low, high, step=step, key=default(Input.PROBE_SEED, 0), disabled=draw != "seed"
    )
    probe = Probe((digit,), future=future, family=family, seed=None if draw != "seed" else seed)
    clip = input_state.probe_clip(probe, cfg.image_size, cfg.image_channels)
    _, _, params = family_path(family, PROBE_INPUT + future, cfg.image_size, probe.seed)
    st.caption(f"{family}: {family_params_text(family, params)}.")
    return clip, ("probe", probe)


def from_probe() -> tuple[Clip, tuple]:
    base = Probe()
    family = st.selectbox(
        "motion family",
        PROBE_FAMILIES,
        key=default(Input.PROBE_FAMILY, base.family),
        format_func=lambda f: FAMILY_LABELS.get(f, f),
        help="A family of the motion-context clips (lmc.data.motion_contexts): bounce is the "
        "straight-line probe of a chosen direction and speed; every other family moves one "
        "digit as the generator does.",
    )
    if family != "bounce":
        future = st.slider(
            "Future frames (ground truth)",
            *PROBE_FUTURE[:2],
            key=default(Input.PROBE_FUTURE, base.future),
        )
        return from_family_probe(family, future)
    left, right = st.columns(2)
    with left:
        count = st.slider(
            "Digits", 1, PROBE_MAX_DIGITS, key=default(Input.PROBE_COUNT, len(base.digits))
        )
        digit_cols = st.columns(PROBE_MAX_DIGITS)
        labels = [
            digit_cols[i].selectbox(
                f"digit {i + 1}",
                list(range(10)),
                key=default(Input.probe_digit(i), probe_default_digit(i)),
            )
            for i in range(count)
        ]
        future = st.slider(
            "Future frames (ground truth)",
            *PROBE_FUTURE[:2],
            key=default(Input.PROBE_FUTURE, base.future),
        )
    with right:
        low, high, step = PROBE_DIRECTION
        direction = st.slider(
            "Direction (°)",
            low,
            high,
            step=step,
            key=default(Input.PROBE_DIRECTION, base.direction),
        )
        low, high, step = PROBE_SPEED
        speed = st.slider(
            "Speed (pixels per frame)",
            low,
            high,
            step=step,
            key=default(Input.PROBE_SPEED, base.speed),
        )
        low, high, step = PROBE_TURN
        turn = st.slider(
            "Each further digit turns by (degrees)",
            low,
            high,
            step=step,
            key=default(Input.PROBE_TURN, base.turn),
            disabled=count == 1,
        )
    probe = Probe(tuple(labels), direction, speed, turn, future)
    limit = min(max_probe_speed(a, PROBE_INPUT, cfg.image_size) for a in probe.directions)
    right.caption(
        f"Straight through the {PROBE_INPUT} input frames of a {cfg.image_size}x"
        f"{cfg.image_size} frame, without a bounce: at most {limit:.2f} px/frame in "
        f"{'this direction' if count == 1 else 'these directions'}. The digits start far "
        "enough back; only the future may bounce."
    )
    clip = input_state.probe_clip(probe, cfg.image_size, cfg.image_channels)
    return clip, ("probe", probe)


def from_upload() -> Clip | None:
    limit = settings.max_upload_mb
    upload = st.file_uploader(
        "Clip file",
        type=list(UPLOAD_TYPES),
        key=Input.UPLOAD,
        max_upload_size=limit,
        help=f"GIF, MP4, a ZIP of frame images, or a .npy array (T, H, W) / (T, C, H, W) / "
        f"(T, H, W, C), uint8 or floats in [0, 1]. At most {limit} MB.",
    )
    if upload is None:
        return None
    if problem := widgets.upload_problem(upload, limit):
        raise InputError(problem)
    data = upload.getvalue()
    frames = decode(fingerprint(data), upload.name, cfg.image_channels, data)
    h, w = frames.shape[-2:]
    if h % 16 or w % 16 or h < 16 or w < 16:
        side = cfg.image_size
        resize = st.checkbox(
            f"Resize the frames from {h}x{w} to {side}x{side}",
            key=default(Input.UPLOAD_RESIZE, False),
            help="Frames must have sides that are multiples of 16.",
        )
        if resize:
            frames = resize_frames(frames, (side, side))
    return Clip(frames, default_short_len(len(frames)), f"upload: {upload.name}")


def from_dataset_file() -> tuple[Clip | None, tuple | None]:
    files = label_paths(find_files(settings.roots, (".npy",)), settings.roots)
    picked = st.selectbox(
        "Dataset file (.npy)",
        list(files),
        key=Input.NPY_PICK,
        placeholder="no .npy file in the folders" if not files else "choose a file",
        help="A file of many clips inside the folders: "
        + ", ".join(map(display_path, settings.roots)),
    )
    if not picked:
        return None, None
    path = files[picked]
    array = input_state.dataset_array(path, picked)
    if st.session_state.get(Input.NPY_LAYOUT_FOR) != picked:
        st.session_state[Input.NPY_LAYOUT_FOR] = picked
        st.session_state[Input.NPY_LAYOUT] = guess_layout(array.shape)
    layout = st.radio(
        "Layout", list(LAYOUTS), format_func=LAYOUTS.get, key=Input.NPY_LAYOUT, horizontal=True
    )
    clips = clip_collection(array, layout, picked)
    if not len(clips):
        raise InputError(f"{picked} holds no clips")
    index = clip_picker("Clip", len(clips), NPY_PICKER)
    clip = input_state.file_clip(clips, index, picked, path.name)
    return clip, ("file", str(path), layout, index)


def from_frame_folder() -> Clip | None:
    folders = label_paths(find_frame_datasets(settings.roots), settings.roots)
    picked = st.selectbox(
        "Frame-folder dataset",
        list(folders),
        key=Input.FOLDER_PICK,
        placeholder="no frame folders found" if not folders else "choose a dataset",
        help="A folder of video folders of frames (video_00000/frame_00000.png ...).",
    )
    clip_len = st.number_input("Clip length", 2, 200, key=default(Input.FOLDER_CLIP_LEN, 20))
    if not picked:
        return None
    root = folders[picked]
    try:
        dataset = open_folder(str(root), int(clip_len), cfg.image_channels, cfg.image_size)
    except (ValueError, OSError) as err:
        raise InputError(str(err)) from None
    top = max(len(dataset) - 1, 1)
    index = st.slider("Clip", 0, top, key=default(Input.FOLDER_INDEX, 0, (0, top)))
    index = min(index, len(dataset) - 1)
    frames = dataset[index].numpy()
    video = dataset.video_names[dataset.video_of(index)]
    start, stop = dataset.frame_range(index)
    return Clip(
        frames, default_short_len(len(frames)), f"{root.name}/{video} frames {start}-{stop - 1}"
    )


def split_slider(clip: Clip, slug: str) -> Clip:
    """Let the user choose how many frames the model sees; the rest is ground truth."""
    t = clip.frames.shape[0]
    if t <= MIN_MOTION_FRAMES:
        return clip  # nothing to choose; check_clip explains when it is too short
    key = default(Input.split(slug), clip.short_len, (MIN_MOTION_FRAMES, t))
    short_len = st.slider("Frames the model sees", MIN_MOTION_FRAMES, t, key=key)
    return clip.with_short_len(short_len)


def bounce_notes(clip: Clip) -> None:
    """Say where each digit first meets a border. Inside the input of a probe that is a warning:
    the motion the model sees is no longer the one asked for. A digit of a motion family other
    than bounce turns, swings or stops by its family's rule, not at a border: no note."""
    probe = clip.source.startswith("motion probe")
    for d, (label, frame) in enumerate(
        zip(clip.motion.labels.tolist(), bounce_frames(clip.motion), strict=True)
    ):
        if frame is None or digit_family(clip.motion, d) not in (None, "bounce"):
            continue
        where = "inside the input" if frame <= clip.short_len else "after the input"
        text = f"Digit {label} bounces off a border before frame {frame}, {where}."
        if probe and frame <= clip.short_len:
            st.warning(
                f"{text} The model sees another motion than the probe's settings: let it see "
                f"at most {frame - 1} frames.",
                icon=":material/warning:",
            )
        else:
            st.caption(text)


def show_clip(clip: Clip) -> None:
    st.image(widgets.strip(clip.frames, clip.short_len, label=""), width="stretch")
    future = clip.frames.shape[0] - clip.short_len
    st.caption(f"{clip.source}: {widgets.clip_summary(clip)}. Frames 1-{clip.short_len} go in.")
    if not future:
        st.info(
            "This clip has no frames after the input: the rollout will show the prediction "
            "without ground truth, so there is no error or score to compare.",
            icon=":material/info:",
        )
    if clip.motion is not None:
        left, right = st.columns([2, 3])
        with left:
            st.markdown("##### True motion over the input frames")
            rows = motion_summary(clip.motion, slice(0, clip.short_len))
            st.dataframe(
                [
                    {
                        "digit": r["digit"],
                        **({} if r["family"] is None else {"family": r["family"]}),
                        "direction": mw.direction_text(
                            math.radians(r["direction_deg"]), r["speed_px"]
                        ),
                        "speed": f"{r['speed_px']:.2f} px/frame",
                    }
                    for r in rows
                ],
                hide_index=True,
            )
            st.caption(
                "Mean velocity; a bounce on a border shortens the net speed"
                + (
                    ", and so do a family's turns and stops."
                    if clip.motion.families is not None
                    else "."
                )
            )
            if clip.motion.families is not None:
                st.markdown("Motion families: " + ", ".join(digit_names(clip.motion)) + ".")
            bounce_notes(clip)
        with right:
            st.plotly_chart(
                widgets.trajectory_figure(clip.motion, clip.short_len, clip.frames.shape[-1]),
                key=Input.TRAJECTORY,
            )


st.session_state.setdefault(Input.SOURCE, TEST_SET)
source = st.segmented_control("Source", list(SOURCES), key=Input.SOURCE, required=True)
candidate, origin = None, None
with st.container(border=True):
    try:
        if source == TEST_SET:
            candidate, origin = from_test_set()
        elif source == MOTION_PROBE:
            candidate, origin = from_probe()
        elif source == UPLOAD:
            candidate = from_upload()
        elif source == DATASET_FILE:
            candidate, origin = from_dataset_file()
        else:
            candidate = from_frame_folder()
        if candidate is not None:
            candidate = split_slider(candidate, source.lower().replace(" ", "_"))
            check_clip(
                candidate.frames,
                channels=cfg.image_channels,
                short_len=candidate.short_len,
                what=candidate.source,
            )
    except (InputError, ValueError) as err:
        st.error(str(err), icon=":material/error:")
        candidate = None

current = input_state.current_input()
if candidate is not None:
    input_state.set_input(candidate, origin)
    show_clip(candidate)
elif current is not None:
    st.caption(f"The input stays **{current.source}** ({widgets.clip_summary(current)}).")
    show_clip(current)


@st.cache_data(max_entries=4, show_spinner="Probing every motion of the grid ...")
def cached_sweep(model_key: str, step: int, speeds: tuple, digits: int, _model) -> ProbeSweep:
    trace("probe sweep")
    directions = list(range(0, 360, step))
    return probe_sweep(_model, directions, speeds, range(digits), short_len=PROBE_INPUT)


@st.fragment
def sweep_panel() -> None:
    """Which slots each motion of a directions x speeds grid recalls, on request."""
    trace("fragment input.sweep")
    st.markdown("##### Probe sweep: which slots does each motion recall?")
    if getattr(loaded.model, "memory", None) is None:
        st.info("This model has no memory: there is nothing to recall.", icon=":material/info:")
        return
    left, middle, right = st.columns([1, 2, 1])
    step = left.selectbox(
        "Directions every (degrees)", SWEEP_STEPS, key=default(Input.SWEEP_STEP, 45)
    )
    speeds = middle.multiselect(
        "Speeds (px/frame)",
        SWEEP_SPEED_CHOICES,
        key=default(Input.SWEEP_SPEEDS, [1.0, 2.0, 3.0, 4.0]),
    )
    digits = right.slider("Digits 0 .. n-1 per motion", 1, 10, key=default(Input.SWEEP_DIGITS, 3))
    settings = (int(step), tuple(sorted(speeds)), int(digits))
    clips = len(range(0, 360, step)) * len(speeds) * digits
    if st.button(
        f"Run the sweep ({clips} probes of {PROBE_INPUT} frames)",
        key=Input.SWEEP_BUTTON,
        disabled=not speeds,
        icon=":material/grid_on:",
    ):
        st.session_state[Input.SWEEP_RAN] = settings
    ran = st.session_state.get(Input.SWEEP_RAN)
    if ran is None:
        st.caption(
            "Each motion of the grid is probed with one digit per class, moving straight "
            "through the input; the table counts each cell's top slot."
        )
        return
    if ran != settings:
        st.caption("Showing the last sweep; press the button to run the new settings.")
    sweep = cached_sweep(loaded.key, *ran, loaded.model)
    cells = sweep.top_slot.shape[-1]
    st.caption(
        f"{len(sweep.labels)} digit(s) x {cells} cells per motion, {PROBE_INPUT} input frames at "
        f"{cfg.image_size}x{cfg.image_size}; the share of those cells whose top slot is each slot."
    )
    if sweep.fits.any():
        st.plotly_chart(sweep_figure(sweep), key=Input.SWEEP_FIGURE)
    rows = sweep.table(k=3)
    st.dataframe(
        [
            {
                "motion": motion_label(r["direction_deg"], r["speed_px"]),
                "top slots (share of cells)": ", ".join(
                    f"{s} ({share:.0%})"
                    for s, share in zip(r["top_slots"], r["top_shares"], strict=True)
                )
                if r["fits"]
                else "not probed: the input cannot hold it without a bounce",
                "distinct top slots": r["distinct_slots"],
            }
            for r in rows
        ],
        hide_index=True,
    )


if source == MOTION_PROBE:
    sweep_panel()

shown_clip = candidate if candidate is not None else current
if shown_clip is not None:
    input_downloads(shown_clip)
