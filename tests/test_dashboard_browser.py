"""The dashboard end to end in a real browser: Debian's Chromium driven by Playwright against
`streamlit run dashboard/app.py` in a subprocess. Saves a full-page screenshot of each page to
docs/screenshots/ for the README.

The app opens LMC_DEMO_CHECKPOINT when it is set, else the bundled demo when it exists (the
screenshots then show a trained model), else a tiny random test checkpoint; every check holds
for all three.
"""

import os
import time
from pathlib import Path

import numpy as np
import pytest
from test_dashboard_app import npy_bytes, write_fixture

from dashboard.server import CHROMIUM_ARGS, serving
from lmc.demos import demo_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "docs" / "screenshots"
BUNDLED_DEMO = demo_path("paper")
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory, chromium):
    root = tmp_path_factory.mktemp("dashboard")
    models = write_fixture(root)
    demo = os.environ.get("LMC_DEMO_CHECKPOINT") or (
        str(BUNDLED_DEMO) if BUNDLED_DEMO.is_file() else str(models / "demo.safetensors")
    )
    env = dict(
        os.environ,
        LMC_DEMO_CHECKPOINT=demo,
        LMC_CHECKPOINT_ROOTS=os.pathsep.join([str(models), str(Path(demo).parent)]),
        LMC_TEST_CLIPS="16",
        LMC_CACHE_DIR=str(root / "cache"),
        LMC_DASHBOARD_TRACE=str(root / "trace.txt"),
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    with serving(env, root / "streamlit.log") as url:
        yield {"url": url, "chromium": chromium, "root": root, "models": models}


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=server["chromium"], args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.set_default_timeout(WAIT_MS)
        yield tab
        browser.close()


def idle(page) -> None:
    """Wait until the script run the last action started has finished."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=WAIT_MS)
    page.wait_for_timeout(200)


def heading(page, text: str):
    return page.get_by_role("heading", name=text, exact=True)


def sidebar(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    heading(page, title).wait_for()
    idle(page)


def choose(page, option: str) -> None:
    """Click an option of a segmented control."""
    page.get_by_test_id("stButtonGroup").get_by_text(option, exact=True).first.click()
    idle(page)


def upload(page, label: str, name: str, data: bytes) -> None:
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label)
    uploader.locator("input[type=file]").set_input_files(
        {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    )
    idle(page)


def press_slider(page, label: str, key: str, times: int = 1) -> None:
    """Move a slider by `times` key presses, waiting for the rerun each one starts (a press
    during a rerun can be lost)."""
    slider = page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")
    for _ in range(times):
        before = slider.get_attribute("aria-valuenow")
        slider.focus()
        slider.press(key)
        # On a busy machine the rerun may start later than idle() looks: wait for the value to
        # move first (the slider is found anew each time: a rerun may replace its element), so
        # the next press cannot fall into the rerun of this one.
        deadline = time.monotonic() + WAIT_MS / 1000
        while slider.get_attribute("aria-valuenow") == before and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        idle(page)


def screenshot(page, name: str) -> None:
    """A full-page PNG: Streamlit scrolls inside its main block, so grow the viewport first."""
    height = page.evaluate(
        "() => { document.querySelector('[data-testid=stMain]').scrollTo(0, 0);"
        " const b = document.querySelector('[data-testid=stMainBlockContainer]');"
        " return b.getBoundingClientRect().top + b.scrollHeight; }"
    )
    page.set_viewport_size({"width": 1400, "height": max(900, int(height) + 60)})
    page.wait_for_timeout(800)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_first_visit_to_a_page_url_goes_through_the_router(server, page):
    page.goto(f"{server['url']}/rollout")
    heading(page, "Rollout").wait_for()
    idle(page)
    assert "Model" in sidebar(page) and "Input" in sidebar(page)
    assert "app" not in page.get_by_test_id("stSidebarNav").inner_text().split()


def test_model_page_and_bad_checkpoints(server, page):
    page.goto(server["url"])
    heading(page, "Model").wait_for()
    idle(page)
    assert "bundled demo" in sidebar(page)
    # The page heading comes first; a model card may have a section of the same name.
    page.get_by_text("Configuration", exact=True).first.wait_for()
    screenshot(page, "model")
    choose(page, "Upload")
    upload(page, "Checkpoint file", "broken.safetensors", b"\x00not a checkpoint" * 50)
    page.get_by_text("Could not open broken.safetensors").wait_for()
    assert "truncated or corrupted" in page.get_by_test_id("stAlert").first.inner_text()
    assert "bundled demo" in sidebar(page)  # the previous model stays
    choose(page, "Checkpoint folders")
    page.get_by_label("or a path inside those folders").fill("/etc/passwd")
    page.get_by_role("button", name="Open checkpoint").click()
    idle(page)
    page.get_by_text("outside the folders the dashboard may read").wait_for()
    choose(page, "Bundled demo")


def test_input_page_sources_and_bad_clips(server, page):
    nav(page, "Input")
    press_slider(page, "Test clip", "ArrowRight", 2)
    page.get_by_test_id("stSidebar").get_by_text("test clip 2").wait_for(timeout=WAIT_MS)
    page.get_by_text("True motion over the input frames").wait_for()
    screenshot(page, "input")
    choose(page, "Motion probe")
    press_slider(page, "Direction", "PageUp")  # a tenth of the range, to the step: 35 degrees
    page.get_by_test_id("stSidebar").get_by_text("motion probe: digit 3 at 35 deg").wait_for(
        timeout=WAIT_MS
    )
    screenshot(page, "input-probe")
    choose(page, "Upload")
    # A 16x16 GIF header and nothing a GIF decoder can read after it (the header is checked
    # first: "GIF89a this..." would declare 26984x29728 frames and be refused for that).
    upload(page, "Clip file", "broken.gif", b"GIF89a\x10\x00\x10\x00 this is not a GIF")
    page.get_by_text("cannot be read as a GIF").wait_for()
    upload(page, "Clip file", "short.npy", npy_bytes(np.zeros((5, 64, 64), np.uint8)))
    page.get_by_text("gives the model 5 input frames; it needs at least 9").wait_for()
    assert "motion probe" in sidebar(page)  # a refused clip changes nothing
    choose(page, "Test set")  # back to a clip with ground truth, kept across pages
    # The sidebar is drawn before the page and again after it: wait for the second drawing.
    page.get_by_test_id("stSidebar").get_by_text("test clip 2").wait_for(timeout=WAIT_MS)


def test_rollout_frames_comparison_and_fragment(server, page):
    nav(page, "Input")
    assert page.get_by_test_id("stSlider").filter(has_text="Test clip").count() == 1
    nav(page, "Rollout")  # its speed is measured by `python -m dashboard.bench`
    page.get_by_test_id("stImage").first.wait_for()
    page.get_by_text("Frame by frame").wait_for()
    compare = page.get_by_test_id("stSelectbox").filter(has_text="Compare with a second checkpoint")
    compare.click()
    page.get_by_role("option").filter(has_text="no-memory/best.safetensors").click()
    idle(page)
    page.get_by_text("second model").first.wait_for()
    trace = server["root"] / "trace.txt"
    before = trace.read_text().splitlines()
    press_slider(page, "Predicted frame", "ArrowRight", 3)
    after = trace.read_text().splitlines()[len(before) :]
    assert after and all("fragment rollout.viewer" in line for line in after), after
    assert "ground truth" in page.get_by_test_id("stImageCaption").all_inner_texts()
    page.get_by_text("Animation", exact=True).click()
    page.wait_for_timeout(500)
    screenshot(page, "rollout")
