"""The dataset pass of several models over the same clips (the Compare memories page): each read
from the disk cache that the Slot atlas and Embeddings share, the missing ones computed behind
one button with one progress bar."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from dashboard.memory_widgets.sample import (
    SAMPLE_DEFAULT,
    SAMPLE_RANGE,
    SECONDS_PER_CLIP,
    _stored_pass,
)


def dataset_samples(models: Sequence, names: Sequence[str], clips_key: str, run_key: str):
    """The memory's recall of each model (LoadedModel) over the first N clips of the generated
    test set (N on the slider `clips_key`, the range of the other pages, so their stored passes
    serve here too). Returns a list of DatasetPass in the models' order, or None while some are
    not computed (the button `run_key` computes them) or one cannot be read."""
    from lmc.analysis import dataset_pass as dp

    st.session_state.setdefault(clips_key, SAMPLE_DEFAULT)
    low, high, step = SAMPLE_RANGE
    num = st.slider(
        "clips from the generated test set",
        low,
        high,
        step=step,
        key=clips_key,
        help="The first N clips of the fixed test set, the same for every model; each gives one "
        "query per cell.",
    )
    paths = [
        dp.cache_path(m.key, dp.fixed_set_selection(num, image_size=m.model.config.image_size))
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
            st.info(
                f"{memories} {who} {'have' if len(missing) > 1 else 'has'} not been run over "
                f"these {num} clips yet: about "
                f"{max(1, round(len(missing) * num * SECONDS_PER_CLIP))} s on one CPU core, then "
                "stored on disk for the next start."
            )
            run = st.button(
                f"Run {'both memories' if len(missing) > 1 else 'the memory'} over {num} clips",
                key=run_key,
                type="primary",
            )
        if not run:
            return None
        total = num * len(missing)
        bar = slot.progress(0.0, text=f"0 / {total} clips")
        shown = [-1]
        for done_before, i in enumerate(missing):

            def progress(done: int, _: int, offset: int = done_before * num, name=names[i]) -> None:
                percent = 100 * (offset + done) // total
                if percent != shown[0]:  # one message per percent, not per batch
                    shown[0] = percent
                    bar.progress(
                        (offset + done) / total, text=f"{name}: {offset + done} / {total} clips"
                    )

            dp.fixed_set_pass(models[i].model, num, model_key=models[i].key, progress=progress)
        slot.empty()
    samples = [_stored_pass(str(p), p.stat().st_mtime_ns) for p in paths]
    for path, sample in zip(paths, samples, strict=True):
        if sample is None:
            st.error(f"The stored pass {path} cannot be read; delete it to compute it again.")
            return None
    return samples
