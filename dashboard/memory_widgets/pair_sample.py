"""The dataset pass of several models over the same clips (the Compare memories page): each read
from the disk cache that the Slot atlas and Embeddings share, the missing ones computed behind
one button with one progress bar."""

from __future__ import annotations

import time
from collections.abc import Sequence

import streamlit as st

from dashboard.memory_widgets.sample import (
    PassProgress,
    clips_slider,
    record_speed,
    seconds_per_clip,
    stored_pass,
)
from dashboard.progress_text import duration, progress_text


def dataset_samples(models: Sequence, names: Sequence[str], clips_key: str, run_key: str):
    """The memory's recall of each model (LoadedModel) over the first N clips of the session's
    generated test set (N on the slider `clips_key`, the range of the other pages, so their
    stored passes serve here too; the models see frames of one size). Returns a list of DatasetPass in the models' order, or None while some are
    not computed (the button `run_key` computes them) or one cannot be read."""
    from lmc.analysis import dataset_pass as dp

    num, motion = clips_slider(
        clips_key,
        "The first N clips of the fixed test set, the same for every model; each gives one "
        "query per cell.",
        models[0],
    )
    paths = [
        dp.cache_path(
            m.key, dp.fixed_set_selection(num, image_size=m.model.config.image_size, motion=motion)
        )
        for m in models
    ]
    missing = []  # the models to run, a checkpoint on both sides once
    for i, path in enumerate(paths):
        if not path.is_file() and path not in paths[:i]:
            missing.append(i)
    if missing:
        who = " and ".join(names[i] for i in missing)
        memories = "The memories of" if len(missing) > 1 else "The memory of"
        # The notice and the button, then the bar, share one slot that is emptied once the
        # passes are done, and the page goes on in this run: after a rerun the finished bar
        # stayed on screen under the next spinner ("Measuring the memory ...") until the run
        # ended, two signs of progress at once.
        slot = st.empty()
        with slot.container():
            wait = sum(num * seconds_per_clip(models[i].key)[0] for i in missing)
            st.info(
                f"{memories} {who} {'have' if len(missing) > 1 else 'has'} not been run over "
                f"these {num} clips yet: {duration(wait)}, then stored on disk for the "
                "next start."
            )
            run = st.button(
                f"Run {'both memories' if len(missing) > 1 else 'the memory'} over {num} clips",
                key=run_key,
                type="primary",
            )
        if not run:
            return None
        total = num * len(missing)
        progress = PassProgress(
            slot.progress(0.0, text=progress_text(0, total, "clips", 0.0)), total
        )
        for done_before, i in enumerate(missing):
            progress.offset, progress.label = done_before * num, f"{names[i]}: "
            start = time.perf_counter()
            dp.fixed_set_pass(
                models[i].model, num, model_key=models[i].key, progress=progress, motion=motion
            )
            record_speed(models[i].key, time.perf_counter() - start, num)
        slot.empty()
    samples = [stored_pass(str(p), p.stat().st_mtime_ns) for p in paths]
    for path, sample in zip(paths, samples, strict=True):
        if sample is None:
            st.error(f"The stored pass {path} cannot be read; delete it to compute it again.")
            return None
    return samples
