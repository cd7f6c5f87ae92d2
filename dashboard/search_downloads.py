"""The Search page's download area: every match of the search on show, not only the page shown
(lmc.analysis.search.match_table: clip, cell, place, top slot and weight, true direction and
speed, the clip's digits), and the filters that found them, so a file says what it holds."""

from __future__ import annotations

import dataclasses

from dashboard.downloads import Download, download_area, json_download, model_name, table_downloads
from lmc.analysis import search as se


def search_items(
    loaded, sample, query: se.Query, phase: str, sort: str, total: int
) -> list[Download]:
    """phase: "short" or "long"; sort: one of se.SORTS; total: the number of matches."""
    stem = (model_name(loaded), f"{sample.num_clips} test clips", phase)
    items = table_downloads(
        "matches",
        f"all {total:,} matches",
        stem,
        lambda: se.match_table(sample, query, phase, sort),
    )
    filters = {"phase": phase, "sort": sort, "matches": total, **dataclasses.asdict(query)}
    items.append(json_download("filters", "the filters (JSON)", stem, filters))
    return items


def search_downloads(loaded, sample, query: se.Query, phase: str, sort: str, total: int) -> None:
    from dashboard.keys import Search as Keys

    download_area(
        Keys,
        search_items(loaded, sample, query, phase, sort, total),
        note="Every match of these filters, in the order shown, one row per (clip, cell); the "
        "clip is its number in the generated test set. None in the filters: any.",
    )
