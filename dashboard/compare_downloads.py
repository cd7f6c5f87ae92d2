"""The Compare memories page's download area: what differs (the sentences with the summaries and
reports' numbers as JSON, the numbers alone as a table), each side's slot usage as a table, and
every figure of the page as offline HTML (the recall panel, which reruns alone, keeps its own on
the shelf, so a figure downloaded is the one shown)."""

from __future__ import annotations

from dashboard.downloads import (
    Download,
    Shelf,
    download_area,
    figure_downloads,
    json_download,
    model_name,
    table_downloads,
)
from lmc.analysis import compare as cp
from lmc.analysis import exports as ex

SIDES = ("left", "right")


def compare_items(
    models, names, num_clips: int, phase: str, summaries, reports, usages, shelf: Shelf
) -> list[Download]:
    """models: the two LoadedModels; names: how the page names them; phase: "short" or "long";
    summaries (cp.MemorySummary), reports (HealthReport or None) and usages (SlotUsage): one per
    side."""
    stem = (model_name(models[0]), "vs", model_name(models[1]), f"{num_clips} test clips", phase)
    record = cp.comparison(*summaries, names, *reports) | {"phase": phase, "clips": num_clips}
    items = [json_download("differences", "what differs (JSON)", stem, record)]
    items += table_downloads(
        "numbers",
        "what differs, the numbers",
        stem,
        lambda: cp.numbers(*summaries, names, *reports),
    )
    for side, name, usage in zip(SIDES, names, usages, strict=True):
        items += table_downloads(
            f"usage-{side}", f"slot usage, {name}", stem, lambda u=usage: ex.usage_table(u)
        )
    return items + figure_downloads(shelf, stem, "Compare memories")


def compare_downloads(*args, **kwargs) -> None:
    """The area itself (arguments: compare_items')."""
    from dashboard.keys import Compare as Keys

    download_area(
        Keys,
        compare_items(*args, **kwargs),
        note="Left and right as on the page. The numbers: each measure of the sentences, a "
        "column per model (report: from the health report stored with the checkpoint).",
    )
