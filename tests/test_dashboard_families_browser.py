"""The motion families in a real browser (Debian's Chromium driven by Playwright): a link opens
the Slot atlas on the test set with motion contexts, the slot's family make-up is drawn, and a
click on one of its bars opens the Search page on that slot's cells of that family. Every value
shown is checked against lmc.analysis over the pass the server stored.

The session's one server and Chromium serve this test (conftest.py: `served`, `browser`);
LMC_SCREENSHOTS (atlas-families.png, search-families.png) and LMC_SCREENSHOT_CHECKPOINT work
as tests/browser_helpers.py says.
"""

import hashlib
import re

import numpy as np
import pytest
from browser_helpers import (
    CLIPS,
    chosen,
    click_point,
    no_error,
    open_tab,
    run_pass,
    screenshot,
    settle,
)

from lmc.analysis import dataset_pass as dp
from lmc.analysis import search as se
from lmc.analysis.families import MIN_NAMING_CELLS, labelled_cells, slot_families, slot_name
from lmc.data.motion_contexts import FAMILIES

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def tabs(browser):
    """Tabs of the session's Chromium opened by the test, closed after it."""
    opened = []

    def open_link(url):
        opened.append(open_tab(browser, url))
        return opened[-1]

    yield open_link
    for tab in opened:
        tab.context.close()


def stored_pass(served) -> dp.DatasetPass:
    """The pass the server stored over CLIPS clips of the motion-context test set."""
    checkpoint = served["checkpoint"]
    key = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:16] + "-lmc"
    selection = dp.fixed_set_selection(CLIPS, image_size=64, motion="contexts")
    return dp.load_pass(dp.cache_path(key, selection, root=served["cache"]))


def test_a_family_bar_of_the_atlas_opens_its_cells_on_search(tabs, served):
    # A link: the Slot atlas on the motion-context clips, whatever the model was trained on.
    page = tabs(f"{served['url']}/atlas?testset=contexts")
    page.get_by_role("heading", name="Slot atlas").wait_for()
    run_pass(page, "atlas")
    page.locator(".st-key-atlas-usage_chart .js-plotly-plot").wait_for()
    sample = stored_pass(served)
    assert sample is not None and sample.has_families
    top = sample.short_weights.argmax(-1)
    known = labelled_cells(sample.cell_family, sample.family_coverage)
    counts = slot_families(top, sample.cell_family, known, sample.memory_size)
    # The slot most labelled cells pick (a random model's busiest may take the empty cells),
    # opened by a link in a new session, as a user would share it (the pass is on disk now).
    slot = int(counts.sum(axis=1).argmax())
    page = tabs(f"{served['url']}/atlas?testset=contexts&slot={slot}")
    run_pass(page, "atlas")  # the slider of the new session, to the stored pass's clips
    chart = page.locator(".st-key-atlas-family_chart .js-plotly-plot")
    chart.wait_for()
    settle(page)
    assert chosen(page, "atlas-slot").startswith(f"slot {slot} ·")
    mine = known & (top == slot)
    title = f"family make-up: {int(mine.sum()):,} cells over {int(mine.any(axis=1).sum())} clips"
    chart.locator(".gtitle", has_text=title).wait_for()
    name = slot_name(counts[slot])
    if name:
        heading = f"Slot {slot}: {name}"
    elif mine.sum() < MIN_NAMING_CELLS:
        heading = f"Slot {slot}: too few labelled cells to name it"
    else:
        heading = f"Slot {slot}: no family dominates"
    page.get_by_text(heading).first.wait_for()
    shares = page.evaluate(
        "(el) => Array.from(el.calcdata[0], bar => bar.s)", chart.element_handle()
    )
    np.testing.assert_allclose(shares, counts[slot] / counts[slot].sum(), rtol=1e-6)
    screenshot(page, "atlas-families")

    family = int(np.argmax(counts[slot]))  # the longest bar: the easiest to hit
    click_point(page, "atlas-family_chart", 0, family)
    page.get_by_role("heading", name="Search").wait_for()
    settle(page)
    assert chosen(page, "search-slot") == f"slot {slot}"
    assert chosen(page, "search-family") == FAMILIES[family]
    found = se.search_pass(sample, se.Query(slot=slot, family=FAMILIES[family]))
    assert found.total == counts[slot, family]
    page.get_by_text(f"{found.total:,} of the {CLIPS * 16:,} cells").wait_for()
    captions = page.locator("[data-testid='stMain'] [data-testid='stImageCaption']")
    shown = captions.all_inner_texts()
    assert len(shown) == min(found.total, se.PAGE_SIZE)
    assert all(re.search(rf" · {FAMILIES[family]} · clip's digits", c) for c in shown)
    assert f"family={FAMILIES[family]}" in page.url  # the link names the search
    no_error(page)
    screenshot(page, "search-families")
