"""Clicks as a user makes them, in a real browser (Debian's Chromium driven by Playwright): the
Search page's filters, pager and "Open on Recall"; the Compare memories page's run button and
what differs; the Input page's previous / next / random clip; download buttons whose files parse.
Every value shown is checked against lmc.analysis over the pass the server stored.

The session's one server and Chromium serve these tests (conftest.py: `served`, `browser`);
LMC_SCREENSHOTS (search.png, compare.png, health.png, over the pages' default 500 clips) and
LMC_SCREENSHOT_CHECKPOINT work as tests/browser_helpers.py says.
"""

import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser_helpers import (
    CLIPS,
    chosen,
    no_error,
    open_page,
    rerun,
    run_pass,
    screenshot,
    settle,
)

from dashboard.memory_widgets import gallery
from lmc.analysis import compare as cp
from lmc.analysis import dataset_pass as dp
from lmc.analysis import search as se
from lmc.analysis.health_check import health_path
from lmc.demos import DEMO_SHORT_NAMES, demo_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Each entry: whether a progress bar and a spinner were on the page at the same moment.
BOTH_SIGNS_JS = """() => {
  window.__bothSigns = false;
  new MutationObserver(() => {
    if (document.querySelector('[data-testid="stProgress"]') &&
        document.querySelector('[data-testid="stSpinner"]')) window.__bothSigns = true;
  }).observe(document.body, {subtree: true, childList: true});
}"""
# What is wrong with the head of the Plotly chart with this Streamlit key: its title and legend
# overlap, or the title runs past the chart's edge ([] when nothing).
HEAD_JS = """(key) => {
  const chart = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const box = chart.getBoundingClientRect();
  const a = chart.querySelector('.gtitle').getBoundingClientRect();
  const b = chart.querySelector('.legend').getBoundingClientRect();
  const problems = [];
  if (!(a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top))
    problems.push('the legend overlaps the title');
  if (a.left < box.left - 1 || a.right > box.right + 1 || a.top < box.top - 1)
    problems.push('the title is cut');
  return problems;
}"""


def stored_pass(served, checkpoint: Path) -> dp.DatasetPass:
    """The pass the server stored for `checkpoint` over CLIPS clips (dashboard.model_state's
    key: the file's digest and the dataset)."""
    key = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16] + "-lmc"
    selection = dp.fixed_set_selection(CLIPS, image_size=64)
    return dp.load_pass(dp.cache_path(key, selection, root=served["cache"]))


def sidebar_clip(page, clip: int):
    """The sidebar's name of the input when it is test clip `clip` (after its icon)."""
    return page.get_by_test_id("stSidebar").get_by_text(re.compile(rf"\btest clip {clip}$"))


def captions(page) -> list[str]:
    return page.locator("[data-testid='stMain'] [data-testid='stImageCaption']").all_inner_texts()


def expected_caption(sample, found: se.SearchPage, i: int) -> str:
    # The values as the page passes them (numpy scalars), so the digits round alike.
    slot, weight, clip, cell = found.slot[i], found.weight[i], found.clip[i], found.cell[i]
    return gallery.weight_text(slot, weight, sample.memory_size) + gallery.place_text(
        sample, clip, cell, clip_digits=True
    )


def download(page, label: str, folder: Path) -> Path:
    """Press the download button `label` in the page's Download area; the file it gave."""
    area = page.locator("[data-testid='stExpander']", has_text="Download").last
    if not area.get_by_role("button", name=label).is_visible():
        area.locator("summary").click()
    with page.expect_download() as event:
        area.get_by_role("button", name=label).click()
    path = folder / event.value.suggested_filename
    event.value.save_as(path)
    return path


def test_search_pages_by_slot_and_opens_a_card_on_recall(page, served):
    open_page(page, "Search")
    run_pass(page, "search")
    page.get_by_text("Each card: the clip's last input frame").wait_for()
    sample = stored_pass(served, served["checkpoint"])
    top = sample.short_weights.argmax(-1)
    slot = int(np.bincount(top.ravel()).argmax())  # the busiest: more than one page
    count = int((top == slot).sum())
    assert count > se.PAGE_SIZE
    box = page.locator(".st-key-search-slot").get_by_role("combobox")
    box.click()
    box.press_sequentially(f"slot {slot}")  # a long list renders only the options in view
    rerun(page, page.get_by_role("option", name=f"slot {slot}", exact=True).click)
    page.get_by_text(f"{count:,} of the {CLIPS * 16:,} cells").wait_for()
    settle(page)
    # The filters left at None say "any", not Streamlit's "Choose an option".
    for key in ("cell", "row", "col"):
        box = page.locator(f".st-key-search-{key}").get_by_role("combobox")
        assert (box.input_value(), box.get_attribute("placeholder")) == ("", "any"), key
    first = se.search_pass(sample, se.Query(slot=slot), page=1)
    assert captions(page)[0] == expected_caption(sample, first, 0)

    # By its name: a fragment's rerun may leave a stale copy of the key's container behind.
    rerun(page, page.get_by_role("button", name="Next", exact=True).click)
    page.get_by_text(re.compile(r"^Page 2 of \d+: matches 17 \.\. ")).wait_for()
    settle(page)
    assert page.locator(".st-key-search-page input").input_value() == "2"
    second = se.search_pass(sample, se.Query(slot=slot), page=2)
    shown = captions(page)
    assert shown[0] == expected_caption(sample, second, 0) != expected_caption(sample, first, 0)
    assert len(shown) == len(second.clip)
    screenshot(page, "search")

    clip, cell = int(sample.clip_index[second.clip[0]]), int(second.cell[0])
    opener = page.locator(".st-key-search-open0-button").get_by_role(
        "button", name="Open on Recall"
    )
    rerun(page, opener.click)
    page.get_by_role("heading", name="Memory recall").wait_for()
    page.get_by_text(f"Cell {cell}, top 5 slots").wait_for()
    settle(page)
    sidebar_clip(page, clip).wait_for()
    assert chosen(page, "recall-cell").startswith(f"cell {cell} ·")
    # The Recall page shares the cell's figure with Compare: its legend keeps off its title.
    # Plotly draws the figure after the run ends: wait for its legend before measuring it.
    page.locator(".st-key-recall-distribution .js-plotly-plot .legend").wait_for()
    assert page.evaluate(HEAD_JS, "recall-distribution") == []
    no_error(page)


def test_search_downloads_every_match_of_the_filters_shown(page, served, tmp_path):
    open_page(page, "Search")
    run_pass(page, "search")
    page.get_by_text("Each card: the clip's last input frame").wait_for()
    settle(page)
    filters = json.loads(download(page, "the filters (JSON)", tmp_path).read_text())
    matches = download(page, re.compile(r"^all [\d,]+ matches \(CSV\)$"), tmp_path)
    assert matches.name.endswith(f"_{CLIPS}-test-clips_{filters['phase']}_matches.csv")
    table = pd.read_csv(matches)
    sample = stored_pass(served, served["checkpoint"])
    query = se.Query(**{f.name: filters[f.name] for f in dataclasses.fields(se.Query)})
    want = se.match_table(sample, query, filters["phase"], filters["sort"])
    assert len(table) == filters["matches"] == len(want) > 0
    assert table[["clip", "cell"]].to_numpy().tolist() == want[["clip", "cell"]].to_numpy().tolist()
    np.testing.assert_allclose(table["weight"], want["weight"], rtol=1e-6)


def test_compare_runs_both_memories_and_says_what_differs(page, served, tmp_path):
    open_page(page, "Compare memories")
    page.get_by_role("heading", name="Compare memories").wait_for()
    settle(page)
    # The second model by default: the bundled demo that is not the session's.
    left = served["checkpoint"]
    live = demo_path("live")
    right = demo_path("paper") if left.resolve() == live.resolve() else live
    names = tuple(
        next(
            (DEMO_SHORT_NAMES[n] for n in ("live", "paper") if demo_path(n).resolve() == p), p.name
        )
        for p in (left.resolve(), right.resolve())
    )
    page.evaluate(BOTH_SIGNS_JS)
    run_pass(page, "compare")
    page.get_by_role("heading", name="What differs").wait_for()
    settle(page)
    said = page.locator("[data-testid='stMain'] li").all_inner_texts()
    a, b = (cp.summarise(stored_pass(served, p)) for p in (left, right))
    assert cp.alive_sentence(a, b, names) in said
    assert cp.effective_sentence(a, b, names) in said
    assert re.search(r"Slots alive \(ever a top choice\): \d+ (of \d+ )?vs \d+ of \d+", said[0])
    assert not page.evaluate("() => window.__bothSigns"), "a spinner drew over the progress bar"
    for side in ("left", "right"):
        assert page.evaluate(HEAD_JS, f"compare-cell_chart-{side}") == [], side
    record = json.loads(download(page, "what differs (JSON)", tmp_path).read_text())
    assert (record["left"], record["right"]) == names and record["clips"] == CLIPS
    assert record["differences"] == said
    no_error(page)
    page.locator("[data-testid='stExpander']", has_text="Download").last.locator("summary").click()
    screenshot(page, "compare")


def test_input_clip_navigation_moves_the_clip(page):
    open_page(page, "Input")
    number = page.locator(".st-key-input-test-number input")
    number.wait_for()
    settle(page)

    def press(move: str) -> int:
        before = number.input_value()
        button = page.locator(f".st-key-input-test-{move}-button")
        rerun(page, button.get_by_role("button", name=move.capitalize()).click)
        assert number.input_value() != before
        shown = int(number.input_value())
        sidebar_clip(page, shown).wait_for()
        return shown

    start = int(number.input_value())
    if start == 999:
        start = press("previous")
    assert press("next") == start + 1
    assert press("previous") == start
    assert press("random") != start
    no_error(page)


def test_health_page_shows_the_kept_report(page, served):
    report = json.loads(health_path(served["checkpoint"]).read_text())
    open_page(page, "Memory health")
    page.get_by_text("Kept with the checkpoint").wait_for()
    settle(page)
    links = page.locator("[data-testid='stMain'] [data-testid='stPageLink']")
    assert links.count() == len(report["findings"])
    shown = page.locator("[data-testid='stMain']").inner_text()
    for finding in report["findings"]:
        assert finding["verdict"].partition(": ")[0] in shown
    no_error(page)
    screenshot(page, "health")
