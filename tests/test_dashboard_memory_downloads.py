"""The Search and Compare memories pages' download areas in Streamlit's AppTest: each file decoded
(pandas, JSON, HTML) and its values checked against lmc.analysis over a pass computed apart from
the app: the search's file holds every match, not the page shown; the comparison's the sentences
and numbers of both sides, both usage tables and every figure."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from dashboard_helpers import COMPARE_NAMES as NAMES
from dashboard_helpers import COMPARE_REPORTS as REPORTS
from dashboard_helpers import (
    assert_clean,
    figures_in,
    start_app,
    write_compare_checkpoints,
    write_search_checkpoint,
)

from dashboard import views
from dashboard.compare_downloads import compare_items
from dashboard.downloads import FIGURES_LABEL, Shelf
from dashboard.keys import Compare, Search
from lmc import load_checkpoint
from lmc.analysis import compare as cp
from lmc.analysis import dataset_pass as dp
from lmc.analysis import search as se
from lmc.analysis.dataset_pass import load_pass
from lmc.analysis.health_report import HealthReport
from lmc.analysis.slots import slot_usage

TIMEOUT = 90  # seconds per run: the machine may be shared
CLIPS = 100


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """The Compare memories tests' checkpoints (dashboard_helpers)."""
    return write_compare_checkpoints(tmp_path_factory.mktemp("compare-app"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The Search tests' checkpoint (dashboard_helpers)."""
    return write_search_checkpoint(tmp_path_factory.mktemp("search-app"))


def buttons(at, page: type) -> dict[str, str]:
    """{label: file name} of the page's download buttons, each in its page's namespace."""
    found = {}
    for button in at.download_button:
        assert button.key.startswith(f"{page.__name__.lower()}.download.")
        found[button.label] = button.help.strip("`")
    return found


def test_search_offers_every_match_not_only_the_page(checkpoint, tmp_path, monkeypatch, files):  # noqa: F811
    at = start_app(
        monkeypatch, tmp_path, checkpoint, test_clips=8, page=views.SEARCH, timeout=TIMEOUT
    )
    at.slider(key=Search.CLIPS).set_value(CLIPS).run()
    at.button(key=Search.RUN_BUTTON).click().run()
    assert_clean(at)
    (stored,) = (tmp_path / "cache" / "analysis").glob("*.npz")
    sample = load_pass(stored)
    slot = int(np.bincount(sample.short_weights.argmax(-1).ravel()).argmax())
    at.selectbox(key=Search.SLOT).set_value(slot).run()
    at.button(key=Search.NEXT).click().run()  # the page shown is the second
    assert_clean(at)
    found = buttons(at, Search)
    stem = f"tiny_{CLIPS}-test-clips_short"
    want = se.search_pass(sample, se.Query(slot=slot), page_size=CLIPS * 16)
    assert want.total > 2 * se.PAGE_SIZE
    assert found[f"all {want.total:,} matches (CSV)"] == f"{stem}_matches.csv"
    assert found["the filters (JSON)"] == f"{stem}_filters.json"

    table = pd.read_csv(io.BytesIO(files[f"{stem}_matches.csv"]()))
    assert len(table) == want.total  # every page's rows, in the order of the pages
    assert table["clip"].tolist() == sample.clip_index[want.clip].tolist()
    assert table["cell"].tolist() == want.cell.tolist()
    assert set(table["top slot"]) == {slot}
    np.testing.assert_allclose(table["weight"], want.weight, rtol=1e-6)
    assert table["weight"].is_monotonic_decreasing
    degrees = np.mod(np.degrees(sample.direction[want.clip, want.cell]), 360)
    np.testing.assert_allclose(table["true direction (°)"], degrees, rtol=1e-5)
    np.testing.assert_allclose(
        table["speed (px/frame)"], sample.speed[want.clip, want.cell], rtol=1e-5
    )
    digits = [", ".join(map(str, sample.labels[c])) for c in want.clip]
    assert table["digits in the clip"].astype(str).tolist() == digits
    filters = json.loads(files[f"{stem}_filters.json"]())
    assert filters["slot"] == slot and filters["matches"] == want.total
    assert (filters["phase"], filters["sort"], filters["digit"]) == ("short", "weight", None)

    # Another filter and sort: the file follows what is shown.
    at.selectbox(key=Search.ROW).set_value(0)
    at.radio(key=Search.SORT).set_value("clip, then cell").run()
    assert_clean(at)
    query = se.Query(slot=slot, row=0)
    table = pd.read_csv(io.BytesIO(files[f"{stem}_matches.csv"]()))
    by_clip = se.match_table(sample, query, sort="clip")
    assert len(table) == se.search_pass(sample, query).total == len(by_clip)
    assert (
        table[["clip", "cell"]].to_numpy().tolist() == by_clip[["clip", "cell"]].to_numpy().tolist()
    )
    assert set(table["row"]) == {0}


def test_compare_offers_what_differs_both_usages_and_the_figures(
    checkpoints,  # noqa: F811
    tmp_path,
    monkeypatch,
    files,
):
    at = start_app(
        monkeypatch,
        tmp_path,
        checkpoints / "collapsed.safetensors",
        page=views.COMPARE,
        timeout=TIMEOUT,
    )
    at.segmented_control(key=Compare.SOURCE).set_value("Checkpoint folders").run()
    at.text_input(key=Compare.TYPED_PATH).set_value(str(checkpoints / "live.safetensors")).run()
    at.button(key=Compare.OPEN_BUTTON).click().run()
    at.slider(key=Compare.CLIPS).set_value(CLIPS).run()
    at.button(key=Compare.RUN_BUTTON).click().run()
    assert_clean(at)
    found = buttons(at, Compare)
    stem = f"collapsed_vs_live_{CLIPS}-test-clips_short"
    assert found["what differs (JSON)"] == f"{stem}_differences.json"
    assert found["what differs, the numbers (CSV)"] == f"{stem}_numbers.csv"
    assert found[f"slot usage, {NAMES[0]} (CSV)"] == f"{stem}_usage-left.csv"
    assert found[f"slot usage, {NAMES[1]} (CSV)"] == f"{stem}_usage-right.csv"
    titles = [
        f"{what}, {name}"
        for what in ("slot usage", "recalled contexts", "one cell's recall")
        for name in NAMES
    ]
    assert found[FIGURES_LABEL] == f"{stem}_compare-memories_figures.zip"
    assert {*titles, "query grid"} <= set(figures_in(files[found[FIGURES_LABEL]]()))

    passes = []
    for name in ("collapsed", "live"):
        model, _ = load_checkpoint(checkpoints / f"{name}.safetensors")
        passes.append(dp.fixed_set_pass(model, CLIPS, model_key=name, root=tmp_path / "ref")[0])
    summaries = [cp.summarise(p) for p in passes]
    reports = [HealthReport.from_dict(r) for r in REPORTS.values()]

    record = json.loads(files[f"{stem}_differences.json"]())
    assert (record["left"], record["right"]) == NAMES
    assert (record["phase"], record["clips"]) == ("short", CLIPS)
    assert record["differences"] == cp.differences(*summaries, NAMES, *reports)
    shown = " ".join(m.value for m in at.markdown)
    assert all(sentence in shown for sentence in record["differences"])
    assert record["summaries"]["left"]["slots_alive"] == 1
    assert record["reports"]["right"]["mse_other_recall"] == 165.1

    numbers = pd.read_csv(io.BytesIO(files[f"{stem}_numbers.csv"]())).set_index("measure")
    assert numbers.columns.tolist() == list(NAMES)
    assert numbers.loc["slots_alive"].tolist() == [1, summaries[1].slots_alive]
    np.testing.assert_allclose(
        numbers.loc["effective_slots"], [s.effective_slots for s in summaries], rtol=1e-6
    )
    np.testing.assert_allclose(numbers.loc["report: mse_own"], [100.0, 130.0])

    for side, sample in zip(("left", "right"), passes, strict=True):
        usage = slot_usage(sample.short_weights)
        table = pd.read_csv(io.BytesIO(files[f"{stem}_usage-{side}.csv"]()))
        assert table["top1_count"].tolist() == usage.top1_count.tolist()
        assert table["top1_count"].sum() == CLIPS * 16
        assert table["dead"].tolist() == usage.dead.tolist()
    assert pd.read_csv(io.BytesIO(files[f"{stem}_usage-left.csv"]()))["top1_count"][0] == CLIPS * 16

    # A click on cell 5 reruns the recall panel alone: its figure in the file is the one shown.
    at.session_state[Compare.CELL] = 5
    at.run()
    shown = figures_in(files[found[FIGURES_LABEL]]())
    assert "cell 5: its whole addressing" in shown[f"one cell's recall, {NAMES[1]}"]
    assert shown["index.html"].count("<h2>") == 7


def test_compare_file_names_keep_two_sides_apart():
    # Two runs' best.safetensors: the file names still tell the sides apart.
    sides = [SimpleNamespace(path=Path(f"/runs/{r}/best.safetensors"), label=r) for r in "ab"]
    usage = slot_usage(np.eye(3)[[0, 0, 1]])
    summary = cp.MemorySummary(3, 3, 2, 2.0, 2 / 3, None, None, None, None)
    pair = (summary, summary)
    items = compare_items(
        sides, ("a/best", "b/best"), 100, "long", pair, (None, None), (usage, usage), Shelf()
    )
    names = [i.file_name for i in items]
    assert len(set(names)) == len(names) and len({i.name for i in items}) == len(items)
    assert "a-best_vs_b-best_100-test-clips_long_differences.json" in names
    assert not [i for i in items if i.figure]  # nothing drawn, no figure offered
    usage_left = next(i for i in items if i.name == "usage-left.csv")
    assert pd.read_csv(io.BytesIO(usage_left.make()))["top1_count"].tolist() == [2, 1, 0]
