"""The dashboard end to end in a real browser: Debian's Chromium driven by Playwright against
`streamlit run dashboard/app.py` in a subprocess (the session's one server and Chromium,
conftest.py: `served`, `browser`). LMC_SCREENSHOTS=<folder> saves a full-page screenshot of
the Model, Input and Rollout pages there (tests/browser_helpers.py); nothing is written
otherwise.
"""

import os

import numpy as np
import pytest
from browser_helpers import open_tab, press, rerun, screenshot, settle
from dashboard_helpers import npy_bytes

from lmc.demos import demo_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def page(browser, served):
    tab = open_tab(browser, served["url"], height=900)
    yield tab
    tab.context.close()


def heading(page, text: str):
    return page.get_by_role("heading", name=text, exact=True)


def sidebar(page) -> str:
    return page.get_by_test_id("stSidebar").inner_text()


def nav(page, title: str) -> None:
    rerun(page, page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click)
    heading(page, title).wait_for()


def choose(page, option: str) -> None:
    """Click an option of a segmented control."""
    rerun(page, page.get_by_test_id("stButtonGroup").get_by_text(option, exact=True).first.click)


def upload(page, label: str, name: str, data: bytes) -> None:
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label)
    file = {"name": name, "mimeType": "application/octet-stream", "buffer": data}
    rerun(page, lambda: uploader.locator("input[type=file]").set_input_files(file))


def press_slider(page, label: str, key: str, times: int = 1) -> None:
    """Move a slider by `times` key presses, each after the run the last one started has ended
    (a press during a run can be lost)."""

    def find():  # found anew each time: a run may replace the slider's element
        return page.get_by_test_id("stSlider").filter(has_text=label).get_by_role("slider")

    for _ in range(times):
        before = find().input_value()
        press(page, find, key)
        assert find().input_value() != before


def second_checkpoint(served) -> str:
    """The Rollout page's second model: the fixture's untrained no-memory model, or for the
    documented pictures (LMC_SCREENSHOT_CHECKPOINT) a trained one, the bundled demo that is not
    served (conftest.py offers both demos' folders then)."""
    if not os.environ.get("LMC_SCREENSHOT_CHECKPOINT"):
        return "no-memory/best.safetensors"
    other = demo_path("paper" if served["checkpoint"] != demo_path("paper").resolve() else "live")
    return f"{other.parent.name}/{other.name}"


def test_first_visit_to_a_page_url_goes_through_the_router(served, page):
    page.goto(f"{served['url']}/rollout")
    heading(page, "Rollout").wait_for()
    settle(page)
    assert "Model" in sidebar(page) and "Input" in sidebar(page)
    assert "app" not in page.get_by_test_id("stSidebarNav").inner_text().split()


def test_model_page_and_bad_checkpoints(served, page):
    page.goto(served["url"])
    heading(page, "Model").wait_for()
    settle(page)
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
    rerun(page, page.get_by_role("button", name="Open checkpoint").click)
    page.get_by_text("outside the folders the dashboard may read").wait_for()
    choose(page, "Bundled demo")


def test_input_page_sources_and_bad_clips(page):
    nav(page, "Input")
    press_slider(page, "Test clip", "ArrowRight", 2)
    page.get_by_test_id("stSidebar").get_by_text("test clip 2").wait_for()
    page.get_by_text("True motion over the input frames").wait_for()
    screenshot(page, "input")
    choose(page, "Motion probe")
    press_slider(page, "Direction", "PageUp")  # a tenth of the range, to the step: 35 degrees
    page.get_by_test_id("stSidebar").get_by_text("motion probe: digit 3 at 35°").wait_for()
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
    page.get_by_test_id("stSidebar").get_by_text("test clip 2").wait_for()


def test_rollout_frames_comparison_and_fragment(served, page):
    nav(page, "Input")
    assert page.get_by_test_id("stSlider").filter(has_text="Test clip").count() == 1
    nav(page, "Rollout")  # its speed is measured by `python -m dashboard.bench`
    page.get_by_test_id("stImage").first.wait_for()
    page.get_by_text("Frame by frame").wait_for()
    compare = page.get_by_test_id("stSelectbox").filter(has_text="Compare with a second checkpoint")
    compare.click()
    rerun(page, page.get_by_role("option").filter(has_text=second_checkpoint(served)).click)
    page.get_by_text("second model").first.wait_for()
    trace = served["trace"]
    before = trace.read_text().splitlines()
    press_slider(page, "Predicted frame", "ArrowRight", 3)
    after = trace.read_text().splitlines()[len(before) :]
    assert after and all("fragment rollout.viewer" in line for line in after), after
    assert "ground truth" in page.get_by_test_id("stImageCaption").all_inner_texts()
    page.get_by_text("Animation", exact=True).click()  # a tab: drawn in the browser, no run
    screenshot(page, "rollout")
