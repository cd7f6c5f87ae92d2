"""Tables for notebooks: a grid's results summarised over seeds, an evaluation as a long table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lmc.experiments.grid import BASELINE, METRICS, SETTINGS

SUMMARY_METRICS = (*METRICS, *(f"{BASELINE}_{m}" for m in METRICS), "train_s")


def summarize(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per variant (in the table's order): its settings, `n` (rows, i.e. seeds, that
    finished: a row with an `error` counts in neither `n` nor the statistics) and for each metric
    `<metric>_mean` and `<metric>_std`, the sample standard deviation over seeds (ddof=1; NaN
    with a single seed).

    metrics: the columns to summarise; default those of SUMMARY_METRICS the table has.
    """
    if "variant" not in table:
        raise ValueError(f"summarize needs a 'variant' column; the table has {list(table)}")
    if metrics is None:
        metrics = [m for m in SUMMARY_METRICS if m in table]
    missing = [m for m in metrics if m not in table]
    if missing:
        raise ValueError(f"columns {missing} are not in the table; it has {list(table)}")
    groups = table.groupby("variant", sort=False)
    finished = table[table["error"].isna()] if "error" in table else table
    done = finished.groupby("variant", sort=False)
    out = done.size().reindex(groups.size().index, fill_value=0).rename("n").to_frame()
    settings = [s for s in SETTINGS if s in table]
    if settings:
        out = groups[settings].first().join(out)
    stats: dict[str, Any] = {}
    for metric in metrics:
        stats[f"{metric}_mean"] = done[metric].mean()
        stats[f"{metric}_std"] = done[metric].std(ddof=1)
    return out.join(pd.DataFrame(stats)).reset_index()


def evaluation_frame(final: dict[str, Any]) -> pd.DataFrame:
    """`lmc.evaluation.finalize` output -> long table: method, metric, frame (1-based), value.

    `frame.groupby(["method", "metric"]).value.mean()` gives the means `finalize` reports.
    """
    rows = [
        (method, metric, frame, value)
        for method, results in final.items()
        if isinstance(results, dict)
        for metric, result in results.items()
        for frame, value in enumerate(result["per_frame"], 1)
    ]
    return pd.DataFrame(rows, columns=["method", "metric", "frame", "value"])
