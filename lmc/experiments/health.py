"""Memory health in every row of a grid: what each variant's memory holds, beside its error.

`with_health(table)` runs `lmc.analysis.health_check.health_check` on each run's checkpoint over
held-out generated clips (the validation set by default: the study chooses among variants, so the
test set stays untouched) and adds the figures as columns. Each run's report is kept in its run
directory (`health-<checkpoint>-<split><clips>.json`) and reused while the checkpoint is the same.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from lmc.analysis.health_report import HealthReport

# The columns added to a grid's table, in reading order: a choice among the fields (and derived
# properties) of HealthReport, which defines each.
HEALTH_COLUMNS = (
    "slots_alive",
    "effective_slots",
    "nmi_position",
    "nmi_direction",
    "nmi_direction_shuffled",
    "probe_direction_readout",
    "probe_direction_query",
    "probe_chance",
    "mse_own",
    "other_recall_change",
    "uniform_change",
    "alignment_top1",
    "alignment_top1_chance",
    # On clips with motion contexts, the family figures (`HealthReport.family`), NaN elsewhere:
    # each `family_<name>` column is the group's field <name> (family_nmi: nmi_family).
    "family_nmi",
    "family_nmi_shuffled",
    "family_nmi_cell",
    "family_probe_readout",
    "family_probe_query",
    "family_probe_long_readout",
    "family_probe_truth",
    "family_chance",
)
FAMILY_PREFIX = "family_"
FAMILY_FIELDS = {"nmi": "nmi_family", "nmi_shuffled": "nmi_family_shuffled"}  # the others: as named


def _column(report: HealthReport, column: str):
    """A column's value: a field or property of the report, or of its family group."""
    if not column.startswith(FAMILY_PREFIX):
        return getattr(report, column)
    if report.family is None:
        return None
    name = column.removeprefix(FAMILY_PREFIX)
    return getattr(report.family, FAMILY_FIELDS.get(name, name))


def _fingerprint(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def run_health(
    run_dir: str | Path, *, which: str = "best", split: str = "val", clips: int = 256
) -> HealthReport | None:
    """The health report of one run's `which` checkpoint ("best" or "last"), or None for a run
    without memory. The clips are of the generator's motion the run was trained on (with motion
    contexts, the report has the family figures)."""
    from lmc.analysis.health_check import health_check
    from lmc.checkpoint import load_checkpoint
    from lmc.data.fixed_sets import fixed_set
    from lmc.io import atomic_write

    run_dir = Path(run_dir)
    checkpoint = run_dir / f"{which}.safetensors"
    config = json.loads((run_dir / "config.json").read_text())
    if not config["model"]["memory"]:
        return None
    motion = config["train"].get("motion", "standard")
    suffix = "" if motion == "standard" else f"-{motion}"
    cache = run_dir / f"health-{which}-{split}{clips}{suffix}.json"
    if cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("checkpoint") == _fingerprint(checkpoint):
            return HealthReport.from_dict(stored["report"])
    train = config["train"]
    short_len, out_len = train["short_len"], train["out_len"]
    size = config["model"]["image_size"]
    sample = fixed_set(split, None, short_len + out_len, image_size=size, motion=motion).subset(
        slice(0, clips)
    )
    model, _ = load_checkpoint(checkpoint)
    report = health_check(model, sample, short_len, out_len)
    record = {"checkpoint": _fingerprint(checkpoint), "report": report.to_dict()}
    text = json.dumps(record, indent=1)
    atomic_write(cache, lambda tmp: tmp.write_text(text + "\n"))
    return report


def health_row(report: HealthReport | None) -> dict[str, float]:
    """The HEALTH_COLUMNS of one report (NaN for a run without memory or a figure it lacks)."""
    if report is None:
        return dict.fromkeys(HEALTH_COLUMNS, math.nan)
    values = {k: _column(report, k) for k in HEALTH_COLUMNS}
    return {k: math.nan if v is None else v for k, v in values.items()}


def with_health(
    table: pd.DataFrame, *, which: str = "best", split: str = "val", clips: int = 256
) -> pd.DataFrame:
    """A grid's table with the health columns added, one health check per row (cached); NaN for
    a row that failed (it has an `error`)."""
    errors = table.get("error", [None] * len(table))
    rows = [
        health_row(
            None
            if isinstance(error, str)
            else run_health(run_dir, which=which, split=split, clips=clips)
        )
        for run_dir, error in zip(table["run_dir"], errors, strict=True)
    ]
    return pd.concat(
        [table.reset_index(drop=True), pd.DataFrame(rows, columns=list(HEALTH_COLUMNS))], axis=1
    )
