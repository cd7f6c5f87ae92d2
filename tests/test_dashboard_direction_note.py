"""One way of writing a direction: every page that writes one (an arrow and its degrees) says the
convention once, and the pages that write none do not."""

import pytest
from dashboard_helpers import assert_clean, go, start_app, texts, write_fixture

from dashboard import memory_widgets as mw
from dashboard import views

WRITES_DIRECTIONS = (
    views.INPUT,
    views.RECALL,
    views.ATLAS,
    views.SEARCH,
    views.EMBEDDINGS,
    views.COMPARE,
)
WRITES_NONE = (views.MODEL, views.ROLLOUT, views.HEALTH)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    root = tmp_path_factory.mktemp("direction")
    return write_fixture(root) / "demo.safetensors"


def test_each_page_that_writes_a_direction_states_the_convention_once(app, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, app)
    for page in WRITES_DIRECTIONS:
        go(at, page)
        assert_clean(at)
        assert texts(at).count(mw.DIRECTION_NOTE) == 1, page.title
    for page in WRITES_NONE:
        go(at, page)
        assert mw.DIRECTION_NOTE not in texts(at), page.title


def test_the_convention_matches_how_a_motion_is_written():
    import math

    # Each arrow the note names is the one motion_text writes for that angle.
    for arrow, degrees in (("→", 0), ("↑", 90), ("←", 180), ("↓", 270)):
        assert f"{arrow} {degrees}°" in mw.DIRECTION_NOTE
        assert mw.motion_text(math.radians(degrees), 2.0).startswith(f"{arrow} {degrees}°")
    # Angles come in (-pi, pi] (atan2): written in 0 .. 359 as the note counts them.
    assert mw.motion_text(-math.pi / 2, 2.0) == "↓ 270° 2.0 px/frame"
    assert mw.motion_text(math.radians(-0.4), 2.0).startswith("→ 0°")
    assert mw.motion_text(1.0, 0.04) == "still (0.0 px/frame)"
