"""Long work in the dashboard (Streamlit's AppTest): the estimate before a dataset pass comes from
the speed this session measured on the model's last pass. (The bar's words are tested in
test_dashboard_progress_text.py; the UMAP button in test_dashboard_memory_app.py.)"""

import pytest
import torch
from dashboard_helpers import assert_clean, start_app

from dashboard import views
from dashboard.keys import Atlas, Model
from dashboard.memory_widgets.sample import SECONDS_PER_CLIP
from dashboard.progress_text import pass_estimate
from lmc import ModelConfig, build_model, save_checkpoint

TIMEOUT = 90  # seconds per run: the machine may be shared


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("progress-app") / "tiny.safetensors"
    save_checkpoint(build_model(ModelConfig.preset("tiny", image_size=64)), path)
    return path


def _notice(at) -> str:
    return next(i.value for i in at.info if "has not been run" in i.value)


def test_the_next_estimate_uses_the_speed_of_the_last_pass(tiny, tmp_path, monkeypatch):
    at = start_app(monkeypatch, tmp_path, tiny, test_clips=8, page=views.ATLAS, timeout=TIMEOUT)
    at.slider(key=Atlas.CLIPS).set_value(100).run()
    # Before any pass: the benchmark's speed.
    assert f"{pass_estimate(100, SECONDS_PER_CLIP)} on one CPU core" in _notice(at)
    at.button(key=Atlas.RUN_BUTTON).click().run()
    assert_clean(at)
    (speed,) = at.session_state[Model.PASS_SPEED].values()  # one model, one measured speed
    assert 0 < speed < 1  # seconds per clip of a tiny model
    at.slider(key=Atlas.CLIPS).set_value(300).run()
    expected = f"{pass_estimate(300, speed)} at the speed of this model's last pass"
    assert expected in _notice(at)
