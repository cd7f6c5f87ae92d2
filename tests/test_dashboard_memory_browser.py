"""The memory pages in a real browser (Debian's Chromium driven by Playwright): the recall heatmap
renders and a click on a cell opens its distribution; the embedding renders and a box selection
shows its cells; an intervention changes the prediction.

Set LMC_SCREENSHOTS=<folder> to save a full-page screenshot of each page there, and
LMC_SCREENSHOT_CHECKPOINT=<file> to serve that checkpoint instead of the tiny random one (the
pictures in docs/screenshots come from the bundled demo model this way).
"""

import os
import re
import time
from pathlib import Path

import pytest
import torch

from dashboard.server import CHROMIUM_ARGS, serving
from lmc import ModelConfig, build_model, save_checkpoint

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
WAIT_MS = 90_000  # the machine may be shared: pages and passes get time


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    root = tmp_path_factory.mktemp("memory-browser")
    checkpoint = os.environ.get("LMC_SCREENSHOT_CHECKPOINT")
    if not checkpoint:
        torch.manual_seed(0)
        config = ModelConfig.preset("tiny", image_size=64, output_activation="sigmoid")
        checkpoint = str(save_checkpoint(build_model(config), root / "tiny.safetensors"))
    env = dict(
        os.environ,
        LMC_DEMO_CHECKPOINT=checkpoint,
        LMC_CACHE_DIR=str(root / "cache"),
        NUMBA_CACHE_DIR=os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".lmc-cache" / "numba")),
    )
    with serving(env, root / "server.log") as url:
        yield url


@pytest.fixture(scope="module")
def page(server, chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(server)
        # Wait for the app's own menu (a page title), not Streamlit's first listing of files.
        page.locator("[data-testid='stSidebarNav'] a", has_text="Slot atlas").wait_for()
        yield page
        browser.close()


def open_page(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()


def settle(page) -> None:
    """Wait until Streamlit has finished the current run."""
    time.sleep(0.5)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=WAIT_MS
    )
    time.sleep(0.5)


def click_at(page, chart_key: str, fx: float, fy: float) -> None:
    """Click a Plotly chart (by its Streamlit key) at a fraction of its plot area."""
    drag = page.locator(f".st-key-{chart_key} .nsewdrag").first
    drag.wait_for()
    box = drag.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def shown_slot(page) -> int:
    """The slot the Slot atlas shows: "Slot k: top choice of ..."."""
    text = page.get_by_text(re.compile(r"^Slot \d+: top choice of")).first.inner_text()
    return int(re.match(r"Slot (\d+)", text).group(1))


def click_tallest_bar(page, chart_key: str) -> int:
    """Click the middle of the tallest bar of a bar chart; returns its index."""
    bars = page.locator(f".st-key-{chart_key} .trace.bars .point path")
    bars.first.wait_for(state="attached")  # a dead slot's bar has no height: it is hidden
    boxes = [bars.nth(i).bounding_box() for i in range(bars.count())]
    heights = [b["height"] if b else 0.0 for b in boxes]
    k = max(range(len(heights)), key=heights.__getitem__)
    box = boxes[k]
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return k


def screenshot(page, name: str) -> None:
    folder = os.environ.get("LMC_SCREENSHOTS")
    if not folder:
        return
    settle(page)
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height) + 20})
    time.sleep(1.5)  # charts re-layout to the new size
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_recall_heatmap_and_a_cell_click(page):
    open_page(page, "Recall")
    page.get_by_text("Cell 0, top 5 slots").wait_for()
    page.locator(".st-key-recall-heatmap .heatmaplayer").wait_for()
    # Cell 5 is row 1, column 1 of the 4 x 4 grid drawn over the last input frame.
    click_at(page, "recall-grid_chart", 1.5 / 4, 1.5 / 4)
    page.get_by_text("Cell 5, top 5 slots").wait_for()
    page.locator(".st-key-recall-distribution .gtitle", has_text="cell 5:").wait_for()
    screenshot(page, "recall")


def test_embedding_box_selection_shows_cells(page):
    open_page(page, "Slot atlas")
    run = page.locator(".st-key-atlas-run-button button")
    run.wait_for()
    run.click()
    page.get_by_text("The 16 cells that give slot").wait_for()
    screenshot(page, "atlas")
    # A bar carries (slot, mean weight), a row of a 2-D array: a click on it opens its slot.
    settle(page)
    busiest = shown_slot(page)  # the atlas opens on the busiest slot
    other = 1 if busiest == 0 else 0
    combobox = page.locator(".st-key-atlas-slot").get_by_role("combobox")
    combobox.click()
    # Type to filter: with 100 slots the list is virtualised around the chosen slot, so the
    # n-th rendered option need not be slot n.
    page.keyboard.type(f"slot {other} ")
    page.get_by_role("option").filter(has_text=f"slot {other} ").first.click()
    page.get_by_text(f"Slot {other}: top choice of").wait_for()
    settle(page)
    assert click_tallest_bar(page, "atlas-usage_chart") == busiest
    page.get_by_text(f"Slot {busiest}: top choice of").wait_for()
    assert not page.get_by_test_id("stException").count()
    open_page(page, "Embeddings")
    page.get_by_text("recalled contexts (500 clips").wait_for()
    page.locator(
        ".st-key-embeddings-chart .scatterlayer, .st-key-embeddings-chart canvas"
    ).first.wait_for()
    if os.environ.get("LMC_SCREENSHOTS"):  # the documented picture shows the UMAP map
        page.get_by_role("button", name="Compute UMAP").click()
        page.locator(".st-key-embeddings-map").get_by_text("UMAP").wait_for()
        settle(page)
    page.locator(".st-key-embeddings-drag").get_by_text("box select").click()
    settle(page)
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
    click_at(page, "intervene-grid_chart", 2.5 / 4, 0.5 / 4)  # cell 2 alone
    page.get_by_text("when cell 2 recalls").wait_for()
    screenshot(page, "intervene")
