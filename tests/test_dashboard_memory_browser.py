"""The memory pages in a real browser (Debian's Chromium driven by Playwright), each chart clicked
with the mouse where Plotly drew the point: a cell of the Recall grid and a row of the addressing
heatmap open that cell; a bar of the Slot atlas opens its slot; a context and a slot of the
Embeddings map show their neighbours, a box shows its cells; a cell of the Intervene grid becomes
the one intervened in, and the intervention changes the prediction.

The session's one server and Chromium serve these tests (conftest.py: `served`, `browser`);
LMC_SCREENSHOTS and LMC_SCREENSHOT_CHECKPOINT work as tests/browser_helpers.py says.
"""

import os
import re

import pytest
from browser_helpers import (
    CLIPS,
    chosen,
    click_point,
    no_error,
    open_page,
    rerun,
    run_pass,
    screenshot,
    settle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


# Where Plotly drew point `i` of trace `trace` of the chart with Streamlit key `key`, in page
# pixels: its data coordinates through the trace's axes (a bar: the middle of its height).
# A point of the map with no other point within `gap` pixels, so that a click on it cannot be
# taken for a neighbour: [trace, index, hover text] of the first such point of a trace whose
# name matches, or null.
LONE_POINT_JS = """([key, pattern, gap]) => {
  const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const layout = gd._fullLayout, xa = layout.xaxis, ya = layout.yaxis;
  const all = [];
  gd._fullData.forEach((full, t) => {
    for (let i = 0; i < full.x.length; i++)
      all.push([t, i, xa.c2p(full.x[i]), ya.c2p(full.y[i]), full.name, full.hovertext[i]]);
  });
  for (const [t, i, px, py, name, text] of all) {
    if (!new RegExp(pattern).test(name)) continue;
    if (px < gap || py < gap || px > xa._length - gap || py > ya._length - gap) continue;
    const alone = all.every(([u, j, qx, qy]) =>
      (u === t && j === i) || Math.hypot(qx - px, qy - py) >= gap);
    if (alone) return [t, i, text];
  }
  return null;
}"""


def shown_slot(page) -> int:
    """The slot the Slot atlas shows: "Slot k: top choice of ..."."""
    text = page.get_by_text(re.compile(r"^Slot \d+: top choice of")).first.inner_text()
    return int(re.match(r"Slot (\d+)", text).group(1))


def served_memory_size() -> int:
    """Slots of the served model: the tiny one's 10, or the screenshot checkpoint's."""
    checkpoint = os.environ.get("LMC_SCREENSHOT_CHECKPOINT")
    if not checkpoint:
        return 10
    from lmc.checkpoint import read_header

    return int(read_header(checkpoint)["config"]["memory_size"])


def test_recall_grid_and_heatmap_clicks_open_the_cell(page):
    open_page(page, "Recall")
    page.get_by_text("Cell 0, top 5 slots").wait_for()
    page.locator(".st-key-recall-heatmap .heatmaplayer").wait_for()
    # The grid's invisible markers carry the cell ids: trace 1, one per cell.
    click_point(page, "recall-grid_chart", 1, 5)
    page.get_by_text("Cell 5, top 5 slots").wait_for()
    page.locator(".st-key-recall-distribution .gtitle", has_text="cell 5:").wait_for()
    assert chosen(page, "recall-cell").startswith("cell 5 ·")
    # A click anywhere on row 9 of the addressing heatmap (here over slot 3) picks cell 9; the
    # tiny model has 10 slots, so the marker of (cell 9, slot 3) is point 93 of trace 1 (a
    # screenshot checkpoint has its own number of slots).
    slots = served_memory_size()
    click_point(page, "recall-heatmap", 1, 9 * slots + 3)
    page.get_by_text("Cell 9, top 5 slots").wait_for()
    page.locator(".st-key-recall-distribution .gtitle", has_text="cell 9:").wait_for()
    assert chosen(page, "recall-cell").startswith("cell 9 ·")
    # Side by side, the long window's heatmap answers as well.
    rerun(page, page.locator(".st-key-recall-phase").get_by_text("both, side by side").click)
    click_point(page, "recall-heatmap_long", 1, 12 * slots + 0)
    page.get_by_text("Cell 12, top 5 slots").wait_for()
    no_error(page)
    rerun(page, page.locator(".st-key-recall-phase").get_by_text("short input (phase 2)").click)
    screenshot(page, "recall")


def test_atlas_bar_click_opens_its_slot(page):
    open_page(page, "Slot atlas")
    run_pass(page, "atlas")
    page.get_by_text("The 16 cells that give slot").wait_for()
    screenshot(page, "atlas")
    busiest = shown_slot(page)  # the atlas opens on the busiest slot
    usage = "document.querySelector('.st-key-atlas-usage_chart .js-plotly-plot')"
    shares = page.evaluate(f"() => Array.from({usage}.calcdata[0], bar => bar.s)")
    dead = page.evaluate(f"() => Array.from({usage}.calcdata[1] ?? [], point => point.x)")
    if dead:
        # A dead slot has no bar to click, only its x on the axis (a marker without
        # customdata, named by its x): a click on it opens that slot.
        other = int(dead[0])
        click_point(page, "atlas-usage_chart", 1, 0)
        page.get_by_text(f"Slot {other} is dead: no cell picks it").wait_for()  # said, not drawn
    else:
        other = next(k for k, share in enumerate(shares) if k != busiest and share > 0)
        click_point(page, "atlas-usage_chart", 0, other)
        page.get_by_text(f"Slot {other}: top choice of").wait_for()
    assert chosen(page, "atlas-slot").startswith(f"slot {other} ·")
    # The busiest bar carries (slot, mean weight), a row of a 2-D array: it opens its slot.
    click_point(page, "atlas-usage_chart", 0, busiest)
    page.get_by_text(f"Slot {busiest}: top choice of").wait_for()
    no_error(page)


def test_embedding_clicks_and_a_box(page):
    open_page(page, "Embeddings")
    # The pass over the clips is the Slot atlas's, run here when this test runs alone.
    run_pass(page, "embeddings")
    page.get_by_text(f"recalled contexts ({CLIPS} clips").wait_for()
    page.locator(".st-key-embeddings-chart canvas").first.wait_for()
    if os.environ.get("LMC_SCREENSHOTS"):  # the documented picture shows the UMAP map
        rerun(page, page.get_by_role("button", name="Compute UMAP").click)
        page.locator(".st-key-embeddings-map").get_by_text("UMAP").wait_for()
    page.get_by_text("Nothing selected.").wait_for()
    # The map opens in "click a point": a click on a context shows its clip and cell. The slots
    # are hidden first, so that the lone point found is a context (slots beyond the contexts
    # sit in a band around them, inside the plot).
    slots = page.locator(".st-key-embeddings-show_slots").get_by_text("show the memory slots")
    rerun(page, slots.click)
    page.locator(".st-key-embeddings-chart").scroll_into_view_if_needed()
    lone = page.evaluate(LONE_POINT_JS, ["embeddings-chart", "^(?!memory slots)", 8])
    assert lone is not None, "no context stands 8 px apart from the others"
    trace, index, text = lone
    clip, cell = re.match(r"clip (\d+) · cell (\d+)", text).groups()
    click_point(page, "embeddings-chart", trace, index)
    page.get_by_text(f"Clip {clip}, cell {cell} — nearest slots").wait_for()
    page.get_by_text("Its 6 nearest other contexts").wait_for()
    # A slot's diamond shows the slot's nearest contexts.
    rerun(page, slots.click)
    page.locator(".st-key-embeddings-chart").scroll_into_view_if_needed()
    lone = page.evaluate(LONE_POINT_JS, ["embeddings-chart", "^memory slots$", 8])
    assert lone is not None, "no slot stands 8 px apart from the other points"
    trace, index, text = lone
    click_point(page, "embeddings-chart", trace, index)
    page.get_by_text(f"{text.capitalize()}: its 6 nearest contexts").wait_for()
    no_error(page)
    # A box drawn over most of the map selects the contexts inside and shows their cells.
    rerun(page, page.locator(".st-key-embeddings-drag").get_by_text("box a group").click)
    drag = page.locator(".st-key-embeddings-chart .nsewdrag").first
    box = drag.bounding_box()
    page.mouse.move(box["x"] + 0.05 * box["width"], box["y"] + 0.05 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"], steps=8)
    page.mouse.move(box["x"] + 0.95 * box["width"], box["y"] + 0.95 * box["height"], steps=8)
    page.mouse.up()
    page.get_by_text("contexts selected").wait_for()
    page.locator("[data-testid='stMain'] [data-testid='stImage'] img").nth(1).wait_for()
    screenshot(page, "embeddings")


def test_an_intervention_changes_the_prediction(page):
    open_page(page, "Intervene")
    label = page.locator("[data-testid='stMetric']", has_text="mean |Δ| per pixel")
    label.wait_for()
    value = float(label.locator("[data-testid='stMetricValue']").inner_text())
    assert value > 0
    settle(page)
    click_point(page, "intervene-grid_chart", 1, 2)  # cell 2 alone
    page.get_by_text("when cell 2 recalls").wait_for()
    assert chosen(page, "intervene-cell") == "2"
    no_error(page)
    screenshot(page, "intervene")
