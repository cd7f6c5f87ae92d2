"""Memory health: is this model's memory alive? The verdicts first, then the figures behind them.

Each finding of `lmc.analysis.health_report` (usage, what the slots follow, what the recall
knows, whether the prediction uses it, whether the matching encoder tells clips apart, alignment)
in words, with a link to the page that shows its evidence (`dashboard.health_reports.EVIDENCE`),
then every figure beside its control.
A checkpoint may carry its report (the bundled demos do); any other is measured on demand over
generated test clips, whose true motion is known per cell, and the report is kept on disk.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import streamlit as st

from dashboard import model_state, test_set
from dashboard.choices import HEALTH_CLIPS, HEALTH_CLIPS_DEFAULT
from dashboard.downloads import health_downloads
from dashboard.health_reports import EVIDENCE, kept_report
from dashboard.keys import Health
from dashboard.memory_widgets.sample import PassProgress, seconds_per_clip
from dashboard.progress_text import pass_estimate, progress_text
from lmc.analysis.dataset_pass import cache_root
from lmc.analysis.health import PROBE_METHOD_BEFORE
from lmc.analysis.health_check import RUNS_PER_CLIP
from lmc.analysis.health_report import HealthReport, figure_rows, read_report
from lmc.io import atomic_write


def _stored_path(model_key: str, clips: int, motion: str) -> Path:
    tail = "" if motion == "standard" else f"-{motion}"  # standard reports keep their old names
    return cache_root() / "health" / f"{model_key}-test{clips}{tail}.json"


def _measure(loaded, clips: int, motion: str) -> HealthReport:
    """Run the health check (seconds to a minute) on the session's test set, with a progress
    bar over its clip runs, and keep the report on disk; on the motion-context clips it holds
    the family figures too."""
    from lmc.analysis.health_check import health_check
    from lmc.data.fixed_sets import fixed_set

    model = loaded.model
    sample = fixed_set(
        "test", max(clips, 1000), 20, image_size=model.config.image_size, motion=motion
    )
    total = RUNS_PER_CLIP * clips
    bar = st.progress(0.0, text=progress_text(0, total, "clip runs", 0.0))
    progress = PassProgress(bar, total, unit="clip runs")
    progress.label = "The memory pass, then five rollouts of each clip: "
    report = health_check(model, sample.subset(slice(0, clips)), 10, 10, progress=progress)
    text = json.dumps(report.to_dict(), indent=1)
    atomic_write(_stored_path(loaded.key, clips, motion), lambda tmp: tmp.write_text(text + "\n"))
    return report


def _stored(loaded, clips: int, motion: str) -> HealthReport | None:
    path = _stored_path(loaded.key, clips, motion)
    if path.is_file():
        try:
            return read_report(path)
        except (OSError, ValueError):
            return None  # a torn or foreign file: measuring again is always safe
    return None


def _show(loaded, report: HealthReport, source: str) -> None:
    st.caption(source)
    for finding in report.findings():
        box = st.container(border=True)
        with box:
            text, link = st.columns([5, 2], vertical_alignment="center")
            icon = ":material/check_circle:" if finding.healthy else ":material/error:"
            colour = "green" if finding.healthy else "red"
            name, _, rest = finding.verdict.partition(": ")
            text.markdown(f":{colour}[{icon} **{name}**]: {rest}")
            if finding.name in EVIDENCE:
                spec, what = EVIDENCE[finding.name]
                link.page_link(spec.file, label=f"Evidence: {spec.title}", help=what)
    st.markdown("##### The figures, each beside its control")
    rows = [{"measure": r.label, "value": r.text} for r in figure_rows(report) if r.text]
    # Tall enough for every row: the figures are few and belong on one screen, not in a scroller.
    st.dataframe(rows, hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
    method = report.probe_method or PROBE_METHOD_BEFORE
    # Reports written before the ceiling was measured have no such row to explain.
    ceiling = (
        "; the ceiling is the same probe on the cells' true velocity"
        if report.probe_direction_truth is not None
        else ""
    )
    st.caption(
        f"Probes: 5-fold linear classifiers ({method}) on standardised features, chance "
        f"the majority class{ceiling}. Shuffled: "
        "the same labels in random order. Another clip: the next clip's recall, cell for cell. "
        "`python -m lmc.health CHECKPOINT` prints the same report; "
        "docs/memory-health.md explains each measure."
    )
    health_downloads(loaded, report, rows)


st.title("Memory health")
st.caption(
    "Is the memory alive? Every way a memory can be dead, measured beside a control, and said "
    "in words, with a link to the page that shows the evidence."
)
loaded = model_state.require_model()
model_state.require_memory(loaded, "it has no memory whose health could be measured")

motion = test_set.test_set_choice(loaded)
where = test_set.TEST_SETS[motion]
# The report kept with a checkpoint was measured on the data it was trained on.
carried = kept_report(loaded) if motion == test_set.model_default(loaded) else None
st.session_state.setdefault(Health.CLIPS, HEALTH_CLIPS_DEFAULT)
clips = st.radio(
    "Generated test clips to measure on", HEALTH_CLIPS, horizontal=True, key=Health.CLIPS
)
report = _stored(loaded, clips, motion)
if carried is not None and carried.clips == clips:
    _show(
        loaded,
        carried,
        f"Kept with the checkpoint: measured on the first {clips} test clips ({where}).",
    )
elif report is not None:
    _show(
        loaded,
        report,
        f"Measured on the first {clips} clips of the generated test set ({where}; kept on disk).",
    )
else:
    speed, measured = seconds_per_clip(loaded.key)
    basis = "at the speed of this model's last pass" if measured else "on one CPU core"
    st.info(
        f"This checkpoint has no health report for {clips} clips ({where}) yet: "
        f"{pass_estimate(RUNS_PER_CLIP * clips, speed)} {basis}. Measuring runs "
        "the memory "
        "over the clips, three rollouts each (own recall, another clip's, uniform) and four "
        "linear probes."
    )
    if st.button(f"Measure on {clips} test clips", key=Health.MEASURE_BUTTON, type="primary"):
        start = time.perf_counter()
        with st.spinner(f"Measuring the memory's health on {clips} clips ..."):
            report = _measure(loaded, clips, motion)
        st.session_state[Health.LAST_SECONDS] = time.perf_counter() - start
        st.rerun()
if seconds := st.session_state.get(Health.LAST_SECONDS):
    st.caption(f"The last measurement took {seconds:.1f} s.")
