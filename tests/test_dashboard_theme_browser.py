"""The dashboard follows the browser's light or dark theme, and its figures with it: in a dark
browser the page is dark and a memory page's figures write their text light on a see-through
background, so nothing is black on black (issue 26 §5). LMC_SCREENSHOTS keeps a picture."""

from __future__ import annotations

import pytest
from browser_helpers import open_page, open_tab, run_pass, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Relative luminance of a CSS colour "rgb(r, g, b)" or "rgba(r, g, b, a)", with its alpha.
COLOURS_JS = """(key) => {
  const parse = (colour) => {  // any CSS colour (a name, #hex, rgba) as the browser reads it
    const probe = document.createElement('span');
    probe.style.color = colour;
    document.body.appendChild(probe);
    const text = getComputedStyle(probe).color;
    probe.remove();
    const v = text.match(/[\\d.]+/g).map(Number);
    const lum = (0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]) / 255;
    return [lum, v.length > 3 ? v[3] : 1];
  };
  const app = document.querySelector('[data-testid="stApp"]');
  const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  const tick = gd.querySelector('.xtick text');
  return {
    page: parse(getComputedStyle(app).backgroundColor),
    paper: parse(gd._fullLayout.paper_bgcolor),
    plot: parse(gd._fullLayout.plot_bgcolor),
    ticks: parse(getComputedStyle(tick).fill),
  };
}"""


@pytest.mark.parametrize("colors", ["dark", "light"])
def test_a_memory_page_follows_the_browsers_theme(browser, served, colors):
    page = open_tab(browser, served["url"], colors=colors)
    try:
        open_page(page, "Slot atlas")
        run_pass(page, "atlas")
        chart = page.locator(".st-key-atlas-usage_chart .js-plotly-plot .xtick text").first
        chart.wait_for()
        found = page.evaluate(COLOURS_JS, "atlas-usage_chart")
        dark = colors == "dark"
        assert (found["page"][0] < 0.2) if dark else (found["page"][0] > 0.9), found
        # The figure draws on the page: a see-through paper and plot, or one of the page's tone.
        for part in ("paper", "plot"):
            luminance, alpha = found[part]
            assert alpha < 0.1 or (luminance < 0.3 if dark else luminance > 0.7), (part, found)
        # Tick labels stand out from the page: light on dark, dark on light.
        assert abs(found["ticks"][0] - found["page"][0]) > 0.4, found
        screenshot(page, f"atlas-{colors}")
    finally:
        page.context.close()
