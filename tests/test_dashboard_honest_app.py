"""Honest figures in AppTest: the probe delivers the motion asked for or says why it cannot, and
the Rollout page scores the model against the better of its two baselines."""

import pytest
from dashboard_helpers import (
    assert_no_exception,
    errors,
    input_source,
    start_app,
    write_fixture,
)

from dashboard import views
from dashboard.keys import Input


@pytest.fixture
def app(tmp_path, monkeypatch):
    models = write_fixture(tmp_path)
    return start_app(monkeypatch, tmp_path, models / "demo.safetensors", page=views.INPUT)


def probe(app, direction: int, speed: float, future: int = 10):
    app.segmented_control(key=Input.SOURCE).set_value("Motion probe").run()
    app.slider(key=Input.PROBE_DIRECTION).set_value(direction)
    app.slider(key=Input.PROBE_FUTURE).set_value(future)
    app.slider(key=Input.PROBE_SPEED).set_value(speed).run()
    assert_no_exception(app)
    return app


def true_motion(app) -> list[tuple[str, str]]:
    table = app.dataframe[0].value
    return list(zip(table["direction"], table["speed"], strict=True))


def test_the_probe_moves_as_asked_or_says_why_it_cannot(app):
    probe(app, 0, 4.0)
    assert not app.error
    assert input_source(app) == "motion probe: digit 3 at 0 deg, 4 px/frame"
    assert true_motion(app) == [("0 deg", "4.00 px/frame")]
    captions = " ".join(c.value for c in app.caption)
    assert "at most 4.00 px/frame" in captions
    assert "bounces off a border before frame 11, after the input" in captions
    assert not app.warning
    # The request: 6 px/frame cannot cross 10 frames of 64 px; the page says so and the
    # input stays the last one that could be delivered.
    probe(app, 0, 6.0)
    message = errors(app)
    for part in ("6 px/frame", "10 input frames", "64x64", "at most 4.00 px/frame"):
        assert part in message
    assert input_source(app) == "motion probe: digit 3 at 0 deg, 4 px/frame"
    probe(app, 45, 5.5)
    assert not app.error and true_motion(app) == [("45 deg", "5.50 px/frame")]


def test_a_probe_input_stretched_over_its_bounce_is_flagged(app):
    probe(app, 0, 4.0)
    app.slider(key=Input.split("motion_probe")).set_value(14).run()
    warnings = " ".join(w.value for w in app.warning)
    assert "Digit 3 bounces off a border before frame 11, inside the input" in warnings
    assert "at most 10 frames" in warnings
