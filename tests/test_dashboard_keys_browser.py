"""The arrow keys in Chromium: ← and → step the Rollout page's predicted frame, the Intervene
page's output step and the Input page's test clip (dashboard/stepper.py), from anywhere on the
page; a focused slider still steps once per key press, not twice."""

import pytest
from browser_helpers import no_error, open_page, rerun, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _slider(page, key: str):
    return page.locator(f".st-key-{key}").get_by_role("slider")


def _value(page, key: str) -> int:
    return int(_slider(page, key).input_value())


def _key(page, key: str) -> None:
    """Press `key` with the focus on the page, outside every widget."""
    page.locator("h1").first.click()
    rerun(page, lambda: page.keyboard.press(key))
    settle(page)


@pytest.mark.parametrize(
    "title,key", [("Rollout", "rollout-frame"), ("Intervene", "intervene-step")]
)
def test_the_arrow_keys_step_the_frame(page, title, key):
    open_page(page, title)
    _slider(page, key).wait_for()
    start = _value(page, key)
    _key(page, "ArrowRight")
    assert _value(page, key) == start + 1
    _key(page, "ArrowRight")
    assert _value(page, key) == start + 2
    _key(page, "ArrowLeft")
    assert _value(page, key) == start + 1
    # Focused, the slider takes the key itself: one step, not two.
    slider = _slider(page, key)
    slider.focus()
    rerun(page, lambda: slider.press("ArrowRight"))
    settle(page)
    assert _value(page, key) == start + 2
    no_error(page)


def test_the_arrow_keys_step_the_test_clip(page):
    open_page(page, "Input")
    number = page.locator(".st-key-input-test-number input")
    number.wait_for()
    settle(page)
    start = int(number.input_value())
    if start == 0:
        _key(page, "ArrowRight")
        start = 1
        assert int(number.input_value()) == 1
    _key(page, "ArrowLeft")
    assert int(number.input_value()) == start - 1
    _key(page, "ArrowRight")
    assert int(number.input_value()) == start
    # Focused, the clip slider takes the key itself: one clip on, not two.
    slider = _slider(page, "input-test-index")
    slider.focus()
    rerun(page, lambda: slider.press("ArrowRight"))
    settle(page)
    assert int(number.input_value()) == start + 1
    no_error(page)
