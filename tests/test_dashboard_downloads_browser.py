"""Every download button of every page, pressed in a real browser (the session's server and
Chromium, conftest.py: `served`, `browser`), and each file opened with the library a user would:
pandas for CSV and Parquet (a Parquet file holds the same table as its CSV), json, numpy, imageio
for GIF, MP4 and PNG, and the figures' ZIP unpacked into HTML pages that each draw a figure with
the archive's one copy of plotly.js. A button whose file does not come fails the test (Streamlit
only logs a download that raises)."""

import json
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pandas as pd
import pytest
from browser_helpers import WAIT_MS, no_error, open_page, open_tab, rerun, run_pass, settle
from dashboard_helpers import figures_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def read(path: Path) -> object:
    """The file opened as a user would; fails on a file that does not hold what its name says."""
    kind = path.suffix
    if kind == ".csv":
        table = pd.read_csv(path)
        assert len(table.columns) and len(table), path.name
        return table
    if kind == ".parquet":
        table = pd.read_parquet(path)
        assert len(table.columns) and len(table), path.name
        return table
    if kind == ".json":
        return json.loads(path.read_text())
    if kind == ".npy":
        array = np.load(path, allow_pickle=False)
        assert array.size and np.isfinite(array).all(), path.name
        return array
    if kind == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return {name: arrays[name] for name in arrays.files}
    if kind in (".gif", ".mp4"):
        frames = iio.imread(path, index=None, plugin="pillow" if kind == ".gif" else "FFMPEG")
        assert frames.ndim == 4 and len(frames) > 1, (path.name, frames.shape)
        return frames
    if kind == ".png":
        image = iio.imread(path)
        assert image.ndim in (2, 3) and min(image.shape[:2]) > 1, path.name
        return image
    if kind == ".md":
        return path.read_text()
    if kind == ".zip":
        pages = figures_in(path.read_bytes())
        assert len(pages) > 1, path.name
        assert all("Plotly.newPlot" in html for html in pages.values()), path.name
        return pages
    raise AssertionError(f"no test opens {path.name}")


def press_every_download(page, folder: Path) -> dict[str, object]:
    """Press each button of the page's Download area; {file name: what `read` made of it}."""
    area = page.locator("[data-testid='stExpander']", has_text="Download").last
    area.wait_for()
    # Each download widget holds its button and a hidden one beside it: the visible ones count.
    if not area.locator("[data-testid='stDownloadButton'] button:visible").count():
        area.locator("summary").click()
    buttons = area.locator("[data-testid='stDownloadButton'] button:visible")
    buttons.first.wait_for()
    widgets = area.locator("[data-testid='stDownloadButton']").count()
    assert buttons.count() == widgets, (buttons.count(), widgets)
    files = {}
    for k in range(widgets):
        # A download does not rerun the page (on_click="ignore"): the buttons stay as they are.
        with page.expect_download(timeout=WAIT_MS) as event:
            buttons.nth(k).click()
        path = folder / event.value.suggested_filename
        event.value.save_as(path)
        assert path.name not in files, f"two buttons give {path.name}"
        files[path.name] = read(path)
    no_error(page)
    # Each Parquet file holds the table of the CSV beside it.
    for name, table in files.items():
        if name.endswith(".parquet"):
            csv = files[name.removesuffix(".parquet") + ".csv"]
            # CSV cannot tell an empty text from a missing value: pandas reads both as NaN.
            texts = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
            csv = csv.fillna({c: "" for c in texts})
            pd.testing.assert_frame_equal(table, csv, check_dtype=False, rtol=1e-6)
    return files


def kinds(files: dict) -> list[str]:
    return sorted({Path(name).suffix for name in files})


def test_model_page_downloads(browser, served, tmp_path):
    # In a tab of its own: the model with a training log is not the other pages' model.
    tab = open_tab(browser, served["url"])
    try:
        group = tab.get_by_test_id("stButtonGroup").get_by_text("Checkpoint folders", exact=True)
        rerun(tab, group.first.click)
        path = served["models"] / "no-memory" / "best.safetensors"
        tab.get_by_label("or a path inside those folders").fill(str(path))
        rerun(tab, tab.get_by_role("button", name="Open checkpoint").click)
        # Inside the closed Download area: attached, not yet visible (nor in the ARIA tree).
        download = tab.locator("[data-testid='stDownloadButton']", has_text="training log (CSV)")
        download.first.wait_for(state="attached")
        files = press_every_download(tab, tmp_path)
        assert kinds(files) == [".csv", ".json", ".parquet", ".zip"]
        assert files["no-memory-best_training-log.csv"]["iteration"].tolist() == [10, 20, 30]
        assert files["no-memory-best_config.json"]["memory"] is False
    finally:
        tab.context.close()


def test_input_and_rollout_downloads(page, served, tmp_path):
    open_page(page, "Input")
    page.get_by_text("True motion over the input frames").wait_for()
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".gif", ".npy", ".parquet"]

    open_page(page, "Rollout")
    page.get_by_text("Frame by frame").wait_for()
    # With a second checkpoint: its prediction and scores join the files.
    compare = page.get_by_test_id("stSelectbox").filter(has_text="Compare with a second checkpoint")
    compare.click()
    rerun(page, page.get_by_role("option").filter(has_text="no-memory/best.safetensors").click)
    page.get_by_text("second model").first.wait_for()
    settle(page)
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".gif", ".mp4", ".npy", ".parquet", ".zip"]
    scores = next(t for n, t in files.items() if n.endswith("_scores.parquet"))
    assert len(scores["method"].unique()) >= 3  # the model, the second model, the baselines
    preds = next(a for n, a in files.items() if n.endswith("_preds.npy"))
    assert preds.ndim == 5 and preds.shape[0] == 1


def test_memory_health_downloads(page, tmp_path):
    open_page(page, "Memory health")
    page.get_by_text("Kept with the checkpoint").wait_for()
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".json", ".parquet"]
    figures = next(t for n, t in files.items() if n.endswith("_health-figures.parquet"))
    assert figures.columns.tolist() == ["measure", "value"]


def test_recall_and_intervene_downloads(page, tmp_path):
    open_page(page, "Recall")
    page.get_by_text(re.compile(r"^Cell \d+, top \d+ slots")).first.wait_for()
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".npz", ".parquet", ".zip"]
    trace = next(a for n, a in files.items() if n.endswith("_phase2.npz"))
    np.testing.assert_allclose(trace["weights"].sum(-1), 1.0, rtol=1e-5)

    open_page(page, "Intervene")
    page.get_by_text("What the memory recalls instead").wait_for()
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".npz", ".png", ".zip"]


def test_pass_pages_downloads(page, tmp_path):
    """The pages over a dataset pass: Slot atlas, Search, Embeddings."""
    open_page(page, "Slot atlas")
    run_pass(page, "atlas")
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".parquet", ".zip"]
    passes = [t for n, t in files.items() if n.endswith("_pass.csv")]
    assert len(passes) == 1 and len(passes[0]) % 16 == 0

    open_page(page, "Search")
    run_pass(page, "search")
    page.get_by_text("Each card: the clip's last input frame").wait_for()
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".json", ".parquet"]

    open_page(page, "Embeddings")
    run_pass(page, "embeddings")
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".parquet", ".zip"]
    assert any("map" in pages for pages in files.values() if isinstance(pages, dict))


def test_compare_downloads(page, tmp_path):
    open_page(page, "Compare memories")
    run_pass(page, "compare")
    page.get_by_role("heading", name="What differs").wait_for()
    settle(page)
    files = press_every_download(page, tmp_path)
    assert kinds(files) == [".csv", ".json", ".parquet", ".zip"]
    numbers = next(t for n, t in files.items() if n.endswith("_numbers.parquet"))
    assert numbers.columns[0] == "measure" and len(numbers.columns) == 3
