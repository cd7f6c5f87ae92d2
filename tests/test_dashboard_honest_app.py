"""Honest figures in AppTest: the probe delivers the motion asked for or says why it cannot, and
the Rollout page scores the model against the better of its two baselines."""

import dataclasses

import numpy as np
import pytest
import torch
from dashboard_helpers import (
    assert_no_exception,
    errors,
    go,
    input_source,
    start_app,
    write_fixture,
)
from streamlit.proto.Metric_pb2 import Metric as MetricProto

from dashboard import views
from dashboard.keys import Input
from lmc import ModelConfig, build_model, save_checkpoint


@pytest.fixture
def models(tmp_path):
    return write_fixture(tmp_path)


@pytest.fixture
def app(tmp_path, monkeypatch, models):
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
    assert input_source(app) == "motion probe: digit 3 at 0°, 4 px/frame"
    assert true_motion(app) == [("→ 0°", "4.00 px/frame")]
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
    assert input_source(app) == "motion probe: digit 3 at 0°, 4 px/frame"
    probe(app, 45, 5.5)
    assert not app.error and true_motion(app) == [("↗ 45°", "5.50 px/frame")]


def test_a_probe_input_stretched_over_its_bounce_is_flagged(app):
    probe(app, 0, 4.0)
    app.slider(key=Input.split("motion_probe")).set_value(14).run()
    warnings = " ".join(w.value for w in app.warning)
    assert "Digit 3 bounces off a border before frame 11, inside the input" in warnings
    assert "at most 10 frames" in warnings


def constant_model(path, value: float):
    """A tiny 64x64 model whose every predicted pixel is `value` (before the clamp to [0, 1]):
    its last decoder layer has zero weights and bias `value`."""
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny", image_size=64))
    with torch.no_grad():
        model.frame_decoder[-1].weight.zero_()
        model.frame_decoder[-1].bias.fill_(value)
    save_checkpoint(model, path, step=1)
    return path


@pytest.mark.parametrize(
    "value, color",
    [(-1.0, "GRAY"), (0.5, "RED"), (0.02, "GREEN")],
    ids=["all-zero, a tie", "grey, worse", "faint, better"],
)
def test_rollout_scores_the_model_against_the_better_of_both_baselines(
    tmp_path, monkeypatch, models, value, color
):
    """The delta is against the better floor and its colour says whether the model beats it.
    Oracles: the all-zero frames' MSE is the truth's own sum of squares, copy-last's the squared
    difference from the last input frame, the model's that of the constant it predicts."""
    checkpoint = constant_model(models / "constant.safetensors", value)
    app = start_app(monkeypatch, tmp_path, checkpoint, page=views.INPUT)
    probe(app, 0, 4.0)
    clip = app.session_state[Input.CLIP]
    go(app, views.ROLLOUT)
    assert not app.error
    truth = clip.future.astype(np.float64)

    def mse(frames):
        return float(((frames - truth) ** 2).sum(axis=(1, 2, 3)).mean())

    floors = {"copy last frame": mse(clip.short[-1:]), "all-zero frames": mse(0 * truth)}
    better = min(floors, key=floors.get)
    model_mse = mse(np.full_like(truth, min(max(value, 0.0), 1.0)))
    metric = next(m for m in app.metric if m.label == "MSE per frame")
    assert float(metric.value) == pytest.approx(model_mse, abs=0.051)
    name, delta = metric.delta.split(" vs ")[1], float(metric.delta.split(" vs ")[0])
    assert name == better == "all-zero frames"  # fast digits: black frames are the harder floor
    assert delta == pytest.approx(model_mse - floors[better], abs=0.051)
    assert metric.proto.color == getattr(MetricProto.MetricColor, color)
    assert [m.label for m in app.metric[:3]] == ["MSE per frame", "SSIM", "PSNR"]
    assert all(" vs " in m.delta for m in app.metric[:3])
    table = next(d.value for d in app.dataframe if "frames" in d.value.columns)  # the means
    rows = dict(zip(table["method"], table["mse"], strict=True))
    for name, floor in floors.items():
        assert rows[name] == pytest.approx(floor, rel=1e-4)
    captions = " ".join(c.value for c in app.caption)
    assert f"all-zero frames MSE {floors['all-zero frames']:.1f}" in captions


def test_per_frame_curves_draw_each_baseline_in_its_own_line():
    from dashboard import widgets

    scores = {"mse": np.ones(3), "ssim": np.ones(3), "psnr": np.ones(3)}
    named = {"model": scores, "copy last frame": scores, "all-zero frames": scores}
    fig = widgets.per_frame_figure(named, {})
    dashes = {t.name: t.line.dash for t in fig.data if t.showlegend}
    assert dashes == {"model": None, "copy last frame": "dash", "all-zero frames": "dot"}


def test_the_probe_sweep_tabulates_the_top_slots_of_each_motion(app, models):
    from lmc import load_checkpoint
    from lmc.analysis.probe_sweep import probe_sweep

    app.segmented_control(key=Input.SOURCE).set_value("Motion probe").run()
    assert not any(d.value.columns[0] == "motion" for d in app.dataframe)  # on request only
    app.selectbox(key=Input.SWEEP_STEP).set_value(90)
    app.multiselect(key=Input.SWEEP_SPEEDS).set_value([1.0, 5.0])
    app.slider(key=Input.SWEEP_DIGITS).set_value(2).run()
    app.button(key=Input.SWEEP_BUTTON).click().run()
    assert_no_exception(app)
    assert not app.error
    table = next(d.value for d in app.dataframe if d.value.columns[0] == "motion")
    assert list(table["motion"]) == [
        f"{arrow} {a}°, {v:g} px/frame"
        for a, arrow in ((0, "→"), (90, "↑"), (180, "←"), (270, "↓"))
        for v in (1.0, 5.0)
    ]
    model, _ = load_checkpoint(models / "demo.safetensors")
    oracle = probe_sweep(model, [0, 90, 180, 270], [1.0, 5.0], [0, 1], short_len=10)
    for shown, row in zip(table.to_dict("records"), oracle.table(k=3), strict=True):
        if row["fits"]:
            first = shown["top slots (share of cells)"].split(", ")[0]
            assert first == f"{row['top_slots'][0]} ({row['top_shares'][0]:.0%})"
        else:  # 5 px/frame x 9 steps = 45 px > 36 px
            assert shown["top slots (share of cells)"].startswith("not probed")
        assert shown["distinct top slots"] == row["distinct_slots"]
    heatmap = app.get("plotly_chart")[-1]
    assert "slot" in heatmap.proto.spec


def test_sweep_figure_shows_probed_motions_and_chosen_slots_on_a_scale_of_the_data():
    from dashboard.memory_widgets.sweep_figure import sweep_figure
    from lmc.analysis.probe_sweep import ProbeSweep

    top = np.full((2, 2, 1, 4), -1)
    top[0, 0, 0] = [2, 2, 2, 5]
    top[1, 0, 0] = [5, 5, 5, 5]
    sweep = ProbeSweep(
        directions=np.array([0.0, 90.0]),
        speeds=np.array([1.0, 6.0]),
        labels=np.array([3]),
        fits=np.array([[True, False], [True, False]]),
        top_slot=top,
        memory_size=8,
    )
    heat = sweep_figure(sweep).data[0]
    assert list(heat.y) == ["→ 0°, 1 px/frame", "↑ 90°, 1 px/frame"]  # not probed: no row
    assert list(heat.x) == ["slot 2", "slot 5"]  # only slots some motion picks
    np.testing.assert_allclose(heat.z, [[0.75, 0.25], [0.0, 1.0]])
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)
    assert heat.text.tolist() == [["75 %", "25 %"], ["", "100 %"]]
    # Shares that stay small fill the colour scale: it ends at the largest share, not at 100 %.
    spread = np.full((2, 2, 1, 8), -1)
    spread[0, 0, 0] = [1, 2, 3, 4, 5, 6, 7, 0]
    spread[1, 0, 0] = [1, 1, 2, 3, 4, 5, 6, 7]
    small = sweep_figure(dataclasses.replace(sweep, top_slot=spread)).data[0]
    assert (small.zmin, small.zmax) == (0.0, 0.25)
    assert small.colorbar.tickformat == ".0%"
