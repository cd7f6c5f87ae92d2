"""The Compare memories page in Streamlit's AppTest: two tiny checkpoints (one memory collapsed by
hand onto a single slot, one at its random start) side by side on the same clips, each number of
the page checked against a pass computed here apart from the app; a bad second model meets a
message, never a traceback."""

import json
from pathlib import Path

import numpy as np
import pytest
from dashboard_helpers import (
    COMPARE_NAMES as NAMES,
)
from dashboard_helpers import (
    assert_clean,
    assert_no_exception,
    errors,
    start_app,
    texts,
    write_compare_checkpoints,
)

from dashboard import memory_widgets as mw
from dashboard import views
from dashboard.keys import Compare
from dashboard.second_model import DEMO, FOLDERS, other_demo
from lmc import load_checkpoint
from lmc.analysis import compare as cp
from lmc.analysis import dataset_pass as dp
from lmc.demos import DEMO_TITLES, available_demos, demo_path

TIMEOUT = 90  # seconds per run: the machine may be shared
CLIPS = 100  # the least the clip slider allows


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return write_compare_checkpoints(tmp_path_factory.mktemp("compare-app"))


def _reference(path: Path, cache: Path) -> dp.DatasetPass:
    """The pass over the same clips, computed here, apart from the app and its cache."""
    model, _ = load_checkpoint(path)
    return dp.fixed_set_pass(model, CLIPS, model_key=path.stem, root=cache)[0]


def _open_second(at, path: str):
    at.segmented_control(key=Compare.SOURCE).set_value(FOLDERS).run()
    at.text_input(key=Compare.TYPED_PATH).set_value(path).run()
    at.button(key=Compare.OPEN_BUTTON).click().run()
    assert_no_exception(at)
    return at


def _metrics(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def test_two_memories_side_by_side_with_what_differs(checkpoints, tmp_path, monkeypatch):
    at = start_app(
        monkeypatch,
        tmp_path,
        checkpoints / "collapsed.safetensors",
        page=views.COMPARE,
        timeout=TIMEOUT,
    )
    assert_clean(at)
    _open_second(at, str(checkpoints / "live.safetensors"))
    assert_clean(at)
    assert "Left: collapsed.safetensors" in texts(at) and "Right: live.safetensors" in texts(at)
    # Neither memory has run over these clips: one notice, one button for both.
    assert any(
        "memories of collapsed.safetensors and live.safetensors have not been run" in i.value
        for i in at.info
    )
    at.slider(key=Compare.CLIPS).set_value(CLIPS).run()
    at.button(key=Compare.RUN_BUTTON).click().run()
    assert_clean(at)

    left = _reference(checkpoints / "collapsed.safetensors", tmp_path / "reference")
    right = _reference(checkpoints / "live.safetensors", tmp_path / "reference")
    a, b = cp.summarise(left), cp.summarise(right)
    assert a.slots_alive == 1 and b.slots_alive > 1  # the collapse the fixture made
    assert _metrics(at, "slots ever top-1") == ["1 of 10", f"{b.slots_alive} of 10"]
    assert _metrics(at, "effective slots") == ["10.0", f"{b.effective_slots:.1f}"]
    # What differs: each sentence with the numbers of the two passes, and the stored reports'.
    said = " ".join(m.value for m in at.markdown)
    for sentence in (
        cp.alive_sentence(a, b, NAMES),
        cp.effective_sentence(a, b, NAMES),
        cp.cell_sentence(a, b, NAMES),
        cp.direction_sentence(a, b, NAMES),
    ):
        assert sentence in said
    assert f"Slots alive (ever a top choice): 1 vs {b.slots_alive} of 10 (collapsed vs" in said
    assert (
        "Another clip's recall changes the MSE by +0.0 % vs +27.0 % (256 test clips each) — "
        "collapsed.safetensors's prediction ignores its recall; live.safetensors's prediction "
        "reads its recall." in said
    )
    assert "No stored health report" not in said
    # Usage bars, two maps, the query grid and one cell's addressing on each side.
    assert len(at.get("plotly_chart")) == 7
    # One cell's recall: the session's test clip 0, cell 0, then cell 5 as a click sets it.
    assert at.number_input(key=Compare.CLIP).value == 0
    weights = (left.short_weights[0, 0], right.short_weights[0, 0])
    assert cp.recall_sentence(weights, NAMES, 0, 0) in texts(at)
    at.session_state[Compare.CELL] = 5
    at.number_input(key=Compare.CLIP).set_value(7).run()
    assert_clean(at)
    weights = (left.short_weights[7, 5], right.short_weights[7, 5])
    assert cp.recall_sentence(weights, NAMES, 7, 5) in texts(at)
    # Both sides on the same axes, holding both recalls (the collapsed one's near-uniform
    # weights beside the live one's sharp ones, which their own scales made look alike).
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    cell_specs = [s for s in specs if "its whole addressing" in str(s["layout"].get("title"))]
    assert len(cell_specs) == 2
    ranges = [(s["layout"]["yaxis"]["range"], s["layout"]["yaxis2"]["range"]) for s in cell_specs]
    assert ranges[0] == ranges[1]
    (w_low, w_high), _ = ranges[0]
    centred = [w[7, 5] - 0.1 for w in (left.short_weights, right.short_weights)]
    assert w_low <= min(c.min() for c in centred) and w_high >= max(c.max() for c in centred)
    assert w_high - w_low < 1.2 * (max(c.max() for c in centred) - min(c.min() for c in centred))
    top = np.argsort(-right.short_weights[7, 5], kind="stable")[:5]
    assert f"live.safetensors, top 5 slots (w − 1/S, cosine): **{top[0]}** (" in texts(at)
    # The long window's recall: the sentences follow the phase.
    at.radio(key=Compare.PHASE).set_value("long window (phase 1)").run()
    assert_clean(at)
    long_a, long_b = cp.summarise(left, "long"), cp.summarise(right, "long")
    assert cp.effective_sentence(long_a, long_b, NAMES) in " ".join(m.value for m in at.markdown)


def test_a_second_model_that_cannot_be_compared_meets_a_message(checkpoints, tmp_path, monkeypatch):
    at = start_app(
        monkeypatch,
        tmp_path,
        checkpoints / "collapsed.safetensors",
        page=views.COMPARE,
        timeout=TIMEOUT,
    )
    _open_second(at, "/etc/passwd")
    assert "outside the folders the dashboard may read" in errors(at)
    assert any("Choose a checkpoint and open it" in i.value for i in at.info)
    _open_second(at, str(checkpoints / "corrupt.safetensors"))
    assert "Could not open" in errors(at) and "truncated or corrupted" in errors(at)
    _open_second(at, str(checkpoints / "plain.safetensors"))
    assert any("built without a memory" in i.value for i in at.info)
    _open_second(at, str(checkpoints / "small.safetensors"))
    assert any("different sizes (64 vs 32 px)" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_the_second_demo_is_by_default_the_one_not_open(checkpoints, tmp_path, monkeypatch):
    demos = {DEMO_TITLES[name]: demo_path(name) for name in available_demos()}
    assert other_demo(demos, demo_path("paper")) == DEMO_TITLES["live"]
    assert other_demo(demos, demo_path("live")) == DEMO_TITLES["paper"]
    assert other_demo(demos, checkpoints / "live.safetensors") == next(iter(demos))
    at = start_app(monkeypatch, tmp_path, demo_path("paper"), page=views.COMPARE, timeout=TIMEOUT)
    assert_clean(at)
    assert at.segmented_control(key=Compare.SOURCE).value == DEMO
    assert at.radio(key=Compare.DEMO).value == DEMO_TITLES["live"]
    assert "Left: published recipe" in texts(at) and "Right: live memory" in texts(at)


def test_usage_bars_of_two_memories_share_one_scale():
    shares, centred = np.array([0.5, 0.3, 0.2]), np.array([0.01, -0.002, 0.0])
    own = mw.usage_figure(shares, centred, shares == 0, None)
    assert own.layout.yaxis.range is None  # a memory alone: its own scale
    assert own.data[0].marker.cmax == 0.01
    shared = mw.usage_figure(shares, centred, shares == 0, None, top=0.8, colour_bound=0.05)
    assert tuple(shared.layout.yaxis.range) == (0, 0.8)
    assert (shared.data[0].marker.cmin, shared.data[0].marker.cmax) == (-0.05, 0.05)
    # A bar near uniform is near white on the diverging scale: every bar has an edge, the
    # chosen one a thick one.
    chosen = mw.usage_figure(shares, centred, shares == 0, 1)
    assert list(chosen.data[0].marker.line.width) == [0.75, 2.5, 0.75]
    assert chosen.data[0].marker.line.color == mw.INK


def test_the_cell_recall_legend_sits_under_its_title():
    """Beside the title the legend overlapped it in the page's narrow halves: it has a line of
    the figure's head to itself, under the title, and the head a line per entry."""
    from dashboard.memory_widgets.recall_figures import LEGEND_ROW_PX, TITLE_PX

    w, c = np.full(10, 0.1), np.zeros(10)
    both = mw.distribution_figure(w, c, w, c, cell=3, height=320)
    title, legend = both.layout.title, both.layout.legend
    assert (title.yref, title.yanchor) == ("container", "middle")
    assert (legend.yref, legend.yanchor, legend.orientation) == ("container", "top", "h")
    # In pixels from the top: the title in the middle of its line, then the legend, then the plot.
    assert (1 - title.y) * 320 == pytest.approx(TITLE_PX / 2)
    assert (1 - legend.y) * 320 == pytest.approx(TITLE_PX - 2)
    assert both.layout.margin.t == TITLE_PX + 2 * LEGEND_ROW_PX
    assert [t.name for t in both.data if t.showlegend is not False] == [
        "short input (phase 2)",
        "long window (phase 1)",
    ]
    one = mw.distribution_figure(w, c, cell=3, height=320)
    assert one.layout.margin.t == TITLE_PX + LEGEND_ROW_PX
    # In a narrow column the title takes two lines, and the legend moves down by one.
    narrow = mw.distribution_figure(w, c, w, c, cell=3, height=320, narrow=True)
    assert narrow.layout.title.text == "cell 3: its whole addressing<br>over the 10 slots"
    assert narrow.layout.margin.t == 2 * TITLE_PX + 2 * LEGEND_ROW_PX
    assert (1 - narrow.layout.legend.y) * 320 == pytest.approx(2 * TITLE_PX - 2)
    assert (1 - narrow.layout.title.y) * 320 == pytest.approx(TITLE_PX)
