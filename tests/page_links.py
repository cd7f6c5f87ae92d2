"""Links that set every value of each page away from its default (dashboard/link_table.py),
shared by the link tests in AppTest (test_dashboard_url_pages.py) and in Chromium
(test_dashboard_url_browser.py). `{models}` stands for the folder of the dashboard fixture
(dashboard_helpers.write_fixture / write_link_models)."""

from dashboard import views

# A link per page (several where one value needs another test set or excludes another): every
# value of the page's table rows, none at its default. The tiny fixture: 64x64, a 4x4 query grid,
# 10 memory slots, 4 test clips; the clip count 100 is the slider's first step (default 500).
LINKS: dict[str, list[dict[str, str]]] = {
    views.ROLLOUT.title: [
        {"clip": "2", "predict": "6", "frame": "4", "second": "{models}/no-memory/best.safetensors"}
    ],
    views.HEALTH.title: [{"clips": "64"}],
    views.RECALL.title: [{"clip": "1", "cell": "5", "phase": "long", "measure": "cosine"}],
    views.ATLAS.title: [{"clips": "100", "slot": "3", "phase": "long"}],
    views.SEARCH.title: [
        {"clips": "100", "slot": "2", "cell": "6", "digit": "3", "sort": "clip", "phase": "long"},
        {"clips": "100", "towards": "315..45", "speeds": "1..2.5", "row": "1", "col": "2"},
        {"clips": "100", "towards": "left", "testset": "contexts", "family": "zigzag"},
        {"clips": "100", "page": "2"},
    ],
    views.EMBEDDINGS.title: [
        {
            "clips": "100",
            "space": "query",
            "phase": "long",
            "points": "1000",
            "occupied": "yes",
            "colour": "speed",
            "slots": "no",
        },
        {"clips": "100", "testset": "contexts", "colour": "family"},
    ],
    views.INTERVENE.title: [
        {"where": "cell", "cell": "5", "slot": "3", "strength": "alone", "step": "3"},
        {"mode": "clip", "donor": "2", "transplant": "readout"},
    ],
    views.COMPARE.title: [
        {
            "second": "{models}/other/wide.safetensors",
            "clips": "100",
            "phase": "long",
            "testclip": "2",
            "cell": "5",
        },
        {
            "second": "{models}/other/wide.safetensors",
            "clips": "100",
            "testset": "contexts",
            "colour": "family",
        },
    ],
}
# Values whose link needs minutes of work first, tested where that work is done.
ELSEWHERE = {
    (views.EMBEDDINGS.title, "method"): "test_dashboard_memory_app.py, the UMAP button's test",
}


def page_link(page: str, index: int, models) -> dict[str, str]:
    """The page's index-th link, with the fixture's folder filled in."""
    return {k: v.format(models=models) for k, v in LINKS[page][index].items()}
