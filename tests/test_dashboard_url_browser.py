"""Every page's link in a real browser: for each page, a link that sets every value of the page's
link table away from its default (tests/page_links.py) opens in a browser context of its own (a
new user's), nothing is ignored, the URL the page writes back holds the link as it came, and the
widgets show its values. AppTest checks every link of the table (test_dashboard_url_pages.py);
this checks that the server, the browser's URL and the drawn widgets agree."""

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

import pytest
from browser_helpers import chosen, no_error, open_tab, rerun, settle
from page_links import LINKS, page_link

from dashboard import views

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# What each page draws from its link: (widget key in the page's CSS class, text it starts with).
DRAWN = {
    views.RECALL.title: [("recall-cell", "cell 5")],
    views.ATLAS.title: [("atlas-slot", "slot 3")],
    views.SEARCH.title: [("search-slot", "slot 2"), ("search-cell", "6"), ("search-digit", "3")],
    views.EMBEDDINGS.title: [("embeddings-colour", "speed")],
    views.COMPARE.title: [("compare-cell", "5")],
}


# The pages that run a memory pass over the test clips: the prefix of their clips and run keys.
PASSES = {
    views.ATLAS.title: "atlas",
    views.SEARCH.title: "search",
    views.EMBEDDINGS.title: "embeddings",
    views.COMPARE.title: "compare",
}


def _url(served: dict, spec: views.PageSpec, link: dict) -> str:
    return f"{served['url']}/{Path(spec.file).stem}?{urlencode(link)}"


@pytest.mark.parametrize(
    "spec", [s for s in views.PAGES if s.title in LINKS], ids=lambda s: s.title
)
def test_a_link_opens_its_page_with_every_value_in_a_new_browser(spec, browser, served):
    link = page_link(spec.title, 0, served["models"])
    if "second" in link and spec is views.COMPARE:
        link["second"] = str(served["models"] / "demo.safetensors")  # a memory in the roots
    page = open_tab(browser, _url(served, spec, link))
    try:
        if spec.title in PASSES:  # the page's memory pass, run as a user would if not stored
            prefix = PASSES[spec.title]
            page.locator(f".st-key-{prefix}-clips").get_by_role("slider").wait_for()
            run = page.locator(f".st-key-{prefix}-run-button button")
            if run.count():
                rerun(page, run.click)
        settle(page)
        no_error(page)
        assert not page.get_by_text("values of this link were ignored").count()
        written = dict(parse_qsl(urlparse(page.url).query))
        assert {k: written.get(k) for k in link} == link
        assert urlparse(page.url).path.endswith(Path(spec.file).stem)
        for key, text in DRAWN.get(spec.title, []):
            assert chosen(page, key).startswith(text), (key, chosen(page, key))
    finally:
        page.context.close()
