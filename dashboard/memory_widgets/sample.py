"""The dataset pass shared by the Slot atlas and Embeddings pages, drawn with Streamlit: from
the disk cache, or behind a button with a progress bar. It runs over the session's test set
(standard Moving-MNIST or motion contexts, dashboard/test_set.py), chosen beside the slider."""

from __future__ import annotations

import time

import streamlit as st

from dashboard.keys import Model
from dashboard.progress_text import pass_estimate, progress_text
from dashboard.test_set import TEST_SETS, test_set_choice

SAMPLE_RANGE = (100, 2000, 100)  # min, max, step of the clip-count slider
SAMPLE_DEFAULT = 500
# The estimate before this session has timed a pass of its own: the live demo model, both
# phases, one thread, measured with `python -m dashboard.bench_memory --sections pass --clips 500
# --checkpoint models/demo-live/lmc-small-mnist-live.safetensors`: 11.6 s for 500 clips on the
# 2-core development machine while a training run held the other core (2026-12).
SECONDS_PER_CLIP = 0.023


def seconds_per_clip(model_key: str) -> tuple[float, bool]:
    """(seconds per clip, measured here): the speed of this model's last pass in this session,
    else the benchmark's SECONDS_PER_CLIP."""
    measured = st.session_state.get(Model.PASS_SPEED, {}).get(model_key)
    return (measured, True) if measured else (SECONDS_PER_CLIP, False)


def record_speed(model_key: str, seconds: float, clips: int) -> None:
    """Remember a pass's whole wait (reading the test set, the pass, writing the file) per clip:
    what the next estimate for this model should promise."""
    st.session_state.setdefault(Model.PASS_SPEED, {})[model_key] = seconds / clips


class PassProgress:
    """A progress bar's callback over `total` clips: one message per percent, not per batch,
    with the time left at the speed so far. `offset` counts clips done by earlier passes of the
    same bar; `label` names the pass running now."""

    def __init__(self, bar, total: int, unit: str = "clips"):
        self.bar, self.total, self.unit = bar, total, unit
        self.shown = -1
        self.start = time.perf_counter()
        self.offset, self.label = 0, ""

    def __call__(self, done: int, _total: int | None = None) -> None:
        done += self.offset
        percent = 100 * done // self.total
        if percent != self.shown:
            self.shown = percent
            text = progress_text(done, self.total, self.unit, time.perf_counter() - self.start)
            self.bar.progress(done / self.total, text=f"{self.label}{text}")


def clips_slider(clips_key: str, help: str, loaded) -> tuple[int, str]:
    """The session's test set (`loaded`'s model decides whether motion contexts fit) and the
    number of its clips a pass runs over, on the slider every memory page shares."""
    left, right = st.columns([1, 2])
    with left:
        motion = test_set_choice(loaded)
    st.session_state.setdefault(clips_key, SAMPLE_DEFAULT)
    low, high, step = SAMPLE_RANGE
    num = right.slider(
        f"clips from the generated test set ({TEST_SETS[motion]})",
        low,
        high,
        step=step,
        key=clips_key,
        help=help,
    )
    return num, motion


@st.cache_resource(max_entries=4, show_spinner="Reading the stored pass ...")
def stored_pass(path: str, mtime_ns: int):
    # The disk file is the truth; this keeps one read copy per file version in memory (shared,
    # never mutated by the pages).
    from lmc.analysis.dataset_pass import load_pass

    return load_pass(path)


def dataset_sample(loaded, clips_key: str, run_key: str):
    """The memory's recall over the first N clips of the generated test set (N on the slider
    `clips_key`), from the disk cache, or after a press on the button `run_key` with a progress
    bar. Returns a DatasetPass, or None while it has not been computed."""
    from lmc.analysis import dataset_pass as dp

    num, motion = clips_slider(
        clips_key,
        "The first N clips of the fixed test set (the clips of the Input page up to 1,000); "
        "each gives one query per cell.",
        loaded,
    )
    size = loaded.model.config.image_size
    selection = dp.fixed_set_selection(num, image_size=size, motion=motion)
    path = dp.cache_path(loaded.key, selection)
    if not path.is_file():
        speed, measured = seconds_per_clip(loaded.key)
        basis = "at the speed of this model's last pass" if measured else "on one CPU core"
        st.info(
            f"The memory has not been run over these {num} clips ({TEST_SETS[motion]}) with "
            "this model yet: "
            f"{pass_estimate(num, speed)} {basis}, then stored on disk for the next start."
        )
        if not st.button(f"Run the memory over {num} clips", key=run_key, type="primary"):
            return None
        progress = PassProgress(st.progress(0.0, text=progress_text(0, num, "clips", 0.0)), num)
        dp.fixed_set_pass(loaded.model, num, model_key=loaded.key, progress=progress, motion=motion)
        record_speed(loaded.key, time.perf_counter() - progress.start, num)
        st.rerun()  # draw the page again without the button and the notice
    result = stored_pass(str(path), path.stat().st_mtime_ns)
    if result is None:
        st.error(f"The stored pass {path} cannot be read; delete it to compute it again.")
    return result
