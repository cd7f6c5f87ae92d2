"""Every control of every page survives a link, page by page, driven by the link table
(dashboard/link_table.py): a link that sets each of a page's values away from its default opens in
a new session with nothing ignored, the page draws those values, and the URL it writes back is the
link as it came; opened again, that URL shows the same view. A value added to the table without a
link here fails `test_the_links_cover_every_value_of_the_table`.

The first link of each page opens in Chromium in tests/test_dashboard_url_browser.py."""

import pytest
from dashboard_helpers import assert_clean, ignored, open_link, write_link_models
from page_links import ELSEWHERE, LINKS, page_link

from dashboard import link_table, views
from dashboard.keys import Compare, Embeddings, Intervene

# Widgets to read back, beside the written URL: (session key, the value the link sets).
SHOWN = {
    views.INTERVENE.title: [(Intervene.CELL, 5), (Intervene.STEP, 3)],
    views.COMPARE.title: [(Compare.CLIP, 2), (Compare.CELL, 5)],
}
# Each page's first link opens in Chromium (test_dashboard_url_browser.py) and, for two pages,
# twice here (test_the_written_url_opens_the_same_view_again); the others open here.
CASES = [(page, i) for page, links in LINKS.items() for i in range(1, len(links))]


def test_the_links_cover_every_value_of_the_table():
    for page, rows in link_table.PAGES.items():
        linked = {name for one in LINKS.get(page, []) for name in one}
        missing = {row.name for row in rows} - linked - {n for p, n in ELSEWHERE if p == page}
        assert not missing, f"{page}: no link here sets {sorted(missing)}"


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return write_link_models(tmp_path_factory.mktemp("links"))


def _open(monkeypatch, tmp_path, models, page: views.PageSpec, link: dict):
    at = open_link(monkeypatch, tmp_path, models, page, link)
    run = [b for b in at.button if b.key and b.key.endswith(".run.button")]
    if run:  # a memory pass not stored yet: run it, as a user would, and the link holds
        run[0].click().run()
    return at


def _spec(title: str) -> views.PageSpec:
    return next(s for s in views.PAGES if s.title == title)


@pytest.mark.parametrize("page,index", CASES, ids=[f"{p}-{i}" for p, i in CASES])
def test_a_link_opens_every_value_and_is_written_back_as_it_came(
    page, index, models, tmp_path, monkeypatch
):
    link = page_link(page, index, models)
    at = _open(monkeypatch, tmp_path, models, _spec(page), link)
    assert_clean(at)
    assert not ignored(at), ignored(at)
    assert {k: at.query_params.get(k) for k in link} == link


@pytest.mark.parametrize("page", [views.INTERVENE.title, views.COMPARE.title])
def test_the_written_url_opens_the_same_view_again(page, models, tmp_path, monkeypatch):
    at = _open(monkeypatch, tmp_path, models, _spec(page), page_link(page, 0, models))
    written = {k: at.query_params[k] for k in at.query_params}
    again = _open(monkeypatch, tmp_path, models, _spec(page), written)
    assert_clean(again)
    assert not ignored(again)
    assert {k: again.query_params[k] for k in again.query_params} == written
    for key, value in SHOWN[page]:
        assert again.session_state[key] == value, key


def test_a_link_to_a_umap_not_computed_says_so_and_shows_pca(models, tmp_path, monkeypatch):
    link = {"clips": "100", "method": "umap", "points": "500"}
    at = _open(monkeypatch, tmp_path, models, views.EMBEDDINGS, link)
    assert_clean(at)
    assert at.radio(key=Embeddings.MAP).value == "PCA"
    assert "The UMAP of these 500 points is not computed yet" in " ".join(i.value for i in at.info)
    assert at.button(key=Embeddings.UMAP_BUTTON).label == "Compute UMAP"
