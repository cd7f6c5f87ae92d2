"""What the browser tests share: a tab of the session's Chromium on the session's dashboard
(fixtures `browser` and `dashboard` in conftest.py), and waits on Streamlit's own state.

Streamlit marks its app element with the state of the script run (`data-test-script-state`:
running, notRunning, ...) and each element the current run has not redrawn yet with
`data-stale="true"`. A tab counts the runs it has seen start, so that `rerun(page, action)` waits
for the run that `action` starts to end, however late the server starts it: no fixed sleep, and a
run that never comes fails after WAIT_MS instead of passing by accident.

Set LMC_SCREENSHOTS=<folder> to save a full-page screenshot of each page the tests name there
(nothing is written otherwise), and LMC_SCREENSHOT_CHECKPOINT=<file> to serve that checkpoint
instead of the tiny random one (the pictures in docs/screenshots come from the bundled live demo).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# The page-state scripts the dashboard's benchmark waits on too: one copy, there.
from dashboard.bench_browser import (
    COUNT_RUNS_JS,
    IDLE_JS,
    MARK_JS,
    POINT_JS,
    RAN_SINCE_JS,
)

# How much slower than an idle 2-core machine this one runs: LMC_TEST_TIME_SCALE=4 beside other
# work multiplies every wait and timeout of the browser tests by 4.
TIME_SCALE = float(os.environ.get("LMC_TEST_TIME_SCALE") or 1)
# Every wait of a browser test: a page that has not answered by then is stuck (a pass over the
# tests' 100 clips takes seconds), so the test fails within it rather than at the suite's timeout.
WAIT_MS = 30_000 * TIME_SCALE

# Clips of the memory pages' passes: the pictures show the pages' default; the checks are quicker.
CLIPS = 500 if os.environ.get("LMC_SCREENSHOTS") else 100

STATE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const stale = Array.from(document.querySelectorAll('[data-stale="true"]'));
  return `script ${app?.getAttribute('data-test-script-state')}, connection `
    + `${app?.getAttribute('data-test-connection-state')}, ${window.__lmcRuns} runs seen, `
    + `${stale.length} stale elements ` + stale.slice(0, 5).map((e) => e.dataset.testid).join(' ')
    + `; this document loaded ${performance.getEntriesByType('navigation')[0]?.name}`;
}"""
# Resolves once an element's box has stayed put for two animation frames (after a scroll or a
# re-layout), so that a click lands where the element is drawn.
STILL_JS = """async (el) => {
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  let last = '';
  for (let i = 0; i < 120; i++) {
    await frame();
    const b = el.getBoundingClientRect();
    const now = [b.left, b.top, b.width, b.height].join();
    if (now === last) return;
    last = now;
  }
}"""


def open_tab(
    browser, url: str, height: int = 1000, first_wait_ms: int = WAIT_MS, colors: str = "light"
):
    """A fresh tab (its own Streamlit session) on `url`, counting script runs, once the
    dashboard's first run has ended (within `first_wait_ms`); `colors` is the browser's theme,
    "light" or "dark"."""
    context = browser.new_context(
        viewport={"width": 1400, "height": height}, accept_downloads=True, color_scheme=colors
    )
    context.add_init_script(COUNT_RUNS_JS)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(url)
    # The app's own menu (a page title), not Streamlit's first listing of the files.
    page.locator("[data-testid='stSidebarNav'] a", has_text="Slot atlas").wait_for(
        timeout=first_wait_ms
    )
    settle(page, first_wait_ms)
    return page


def _wait(page, script: str, arg, timeout: float, what: str) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(script, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        state = page.evaluate(STATE_JS)
        raise AssertionError(f"{what} within {timeout / 1000:.0f} s ({state})") from None


def settle(page, timeout: float = WAIT_MS) -> None:
    """Wait until no script run is going and every element of the last one has been redrawn
    or removed."""
    _wait(page, IDLE_JS, None, timeout, "the dashboard did not finish its run")


def rerun(page, action: Callable[[], object], timeout: float = WAIT_MS) -> None:
    """Do `action` (a click, a key press, an upload) and wait for the script run it starts to
    end; fails after `timeout` ms when none starts or it does not end."""
    before = page.evaluate(MARK_JS)
    action()
    _wait(page, RAN_SINCE_JS, before, timeout, "no run started by the action ended")


def press(page, find: Callable[[], object], key: str, tries: int = 3) -> None:
    """Press `key` on the slider `find()` gives and wait for the run its new value starts. A press
    can be lost on a loaded machine (a run redrew the slider between focus and key, and the key
    went nowhere): when the value has not moved within a few seconds, the slider is found, focused
    and pressed again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries):
        slider = find()
        value = slider.input_value()
        before = page.evaluate(MARK_JS)
        slider.focus()
        slider.press(key)
        try:
            page.wait_for_function(
                "([el, v]) => !el.isConnected || el.value !== v",
                arg=[slider.element_handle(), value],
                timeout=5_000 * TIME_SCALE,
            )
        except PlaywrightTimeout:
            continue  # the press was lost: nothing to wait for
        _wait(page, RAN_SINCE_JS, before, WAIT_MS, "no run started by the key press ended")
        return
    raise AssertionError(f"{tries} presses of {key} did not move the slider")


def still(locator) -> None:
    """Wait until the element stops moving (a scroll, a chart's re-layout)."""
    locator.evaluate(STILL_JS)


STARTED_JS = """([doc, n]) => window.__lmcDocument !== doc || window.__lmcRuns > n
  || document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state')
     === 'running'"""


def open_page(page, title: str, timeout: float = WAIT_MS, tries: int = 3) -> None:
    """Open a page from the sidebar's menu and wait for its run to end. A click can go nowhere
    just after a run (the menu redrawn under it: seen in fresh tabs on a loaded machine); when no
    run has started within a few seconds, the link is clicked again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    link = page.locator("[data-testid='stSidebarNav'] a", has_text=title).first
    for _ in range(tries):
        before = page.evaluate(MARK_JS)
        link.click(timeout=timeout)
        try:
            page.wait_for_function(STARTED_JS, arg=before, timeout=10_000 * TIME_SCALE)
        except PlaywrightTimeout:
            continue
        _wait(page, RAN_SINCE_JS, before, timeout, f"the {title} page's run did not end")
        return
    raise AssertionError(f"{tries} clicks on {title!r} in the menu started no run")


def run_pass(page, prefix: str) -> None:
    """Set the clip slider of a memory page (keys `<prefix>.clips`, `<prefix>.run.button`) to
    CLIPS and press its run button when that pass is not stored yet; the session's pages share
    one cache, so a pass one test ran is read by the next."""
    slider = page.locator(f".st-key-{prefix}-clips").get_by_role("slider")
    slider.wait_for()
    if CLIPS == 100 and slider.input_value() != "100":
        # the slider's first step: 100 clips
        press(page, lambda: page.locator(f".st-key-{prefix}-clips").get_by_role("slider"), "Home")
    assert slider.input_value() == str(CLIPS)
    run = page.locator(f".st-key-{prefix}-run-button button")
    if run.count():
        rerun(page, run.click)


def chosen(page, widget_key: str) -> str:
    """The option a selectbox shows."""
    return page.locator(f".st-key-{widget_key}").get_by_role("combobox").input_value()


def no_error(page) -> None:
    assert not page.get_by_test_id("stException").count()


def screenshot(page, name: str) -> None:
    """A full-page PNG of the page in $LMC_SCREENSHOTS/<name>.png; nothing when it is unset.
    Streamlit scrolls inside its main block, so the viewport grows to the page first."""
    folder = os.environ.get("LMC_SCREENSHOTS")
    if not folder:
        return
    settle(page)
    page.mouse.move(1250, 8)  # off every element: no tooltip, no sidebar control on hover
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": 1400, "height": int(height) + 20})
    for chart in page.locator(".js-plotly-plot").all():
        still(chart)  # charts re-layout to the new size
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{name}.png"))
    page.set_viewport_size(size)


def click_point(page, chart_key: str, trace: int, index: int) -> None:
    """Click point `index` of trace `trace` of a Plotly chart, at the pixel where it is drawn,
    and wait for the run the click starts."""
    chart = page.locator(f".st-key-{chart_key} .js-plotly-plot").first
    chart.wait_for()
    chart.scroll_into_view_if_needed()
    still(chart)  # the scroll and any re-layout have ended before measuring
    x, y = page.evaluate(POINT_JS, [chart_key.replace(".", "-"), trace, index])
    rerun(page, lambda: page.mouse.click(x, y))
