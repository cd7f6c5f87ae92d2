"""What `python -m dashboard.bench` does in the browser: time an action from the click to the end
of the script run it starts, and click a point of a Plotly chart where it is drawn.

Streamlit marks its app element with the state of the script run (`data-test-script-state`) and
each element the current run has not redrawn yet with `data-stale="true"`. A tab counts the runs
it has seen start, so `timed(page, action)` ends when the run that `action` started has ended and
its page is whole, however late the server starts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# Installed in every document of a tab before its scripts run (the bench's and the browser
# tests'): counts the script runs seen, a change to 'running' or out of it. The observer reads records after the
# DOM changed, so a short run can be over (state 'notRunning' again) when its records are read:
# the record's old value still shows it ran (seen in CI: "no run started" after a quick click).
# A click on a menu link can also load the page anew (a full navigation, seen on a loaded
# machine): the new document starts its own count, so each document carries a token of its own.
COUNT_RUNS_JS = """
window.__lmcRuns = 0;
window.__lmcDocument = Math.random();
new MutationObserver((records) => {
  for (const r of records)
    if (r.oldValue === 'running'
        || r.target.getAttribute('data-test-script-state') === 'running') window.__lmcRuns++;
}).observe(document, {subtree: true, attributes: true, attributeOldValue: true,
                      attributeFilter: ['data-test-script-state']});
"""
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-connection-state') === 'CONNECTED'
    && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-stale="true"]');
}"""
RAN_SINCE_JS = f"""([doc, n]) =>
  (window.__lmcDocument === doc ? window.__lmcRuns > n : window.__lmcRuns > 0) && ({IDLE_JS})()"""
MARK_JS = "() => [window.__lmcDocument, window.__lmcRuns]"  # what RAN_SINCE_JS compares with

# The page pixel of point i of a Plotly trace: a bar's middle (vertical or horizontal), a
# marker's centre. A click must land there: Plotly's drag layer lies over the bars.
POINT_JS = """([key, trace, i]) => {
  const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const full = gd._fullData[trace], layout = gd._fullLayout;
  const xa = layout[full.xaxis.replace('x', 'xaxis')], ya = layout[full.yaxis.replace('y', 'yaxis')];
  let x, y;
  if (full.type === 'bar' && full.orientation === 'h') {
    x = gd.calcdata[trace][i].s / 2; y = gd.calcdata[trace][i].p;
  } else if (full.type === 'bar') { x = gd.calcdata[trace][i].p; y = gd.calcdata[trace][i].s / 2; }
  else if (full.type === 'scattergl') { x = full.x[i]; y = full.y[i]; }
  else { x = gd.calcdata[trace][i].x; y = gd.calcdata[trace][i].y; }
  const box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.c2p(x), box.top + ya._offset + ya.c2p(y)];
}"""


def timed(page, action: Callable[[], object], shown=None) -> float:
    """Seconds from `action` (a click) to the end of the script run it starts; with `shown` (a
    locator), to the end of the run that shows it (a click that switches pages runs twice)."""
    before = page.evaluate(MARK_JS)
    start = time.perf_counter()
    action()
    page.wait_for_function(RAN_SINCE_JS, arg=before, polling="raf")
    if shown is not None:
        shown.wait_for()
        page.wait_for_function(IDLE_JS, polling="raf")
    return time.perf_counter() - start


def idle(page) -> None:
    page.wait_for_function(IDLE_JS)


def nav_link(page, title: str):
    return page.locator("[data-testid='stSidebarNav'] a", has_text=title).first


def point_clicker(page, chart_key: str, trace: int, index: int) -> Callable[[], None]:
    """An action that clicks point `index` of trace `trace` of a chart; measured where it is
    drawn now, so the click itself is all that the action does."""
    chart = page.locator(f".st-key-{chart_key.replace('.', '-')} .js-plotly-plot").first
    chart.scroll_into_view_if_needed()
    x, y = page.evaluate(POINT_JS, [chart_key.replace(".", "-"), trace, index])
    return lambda: page.mouse.click(x, y)
