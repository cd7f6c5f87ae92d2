import numpy as np
import pytest
import torch

from lmc import build_model
from lmc.config import ModelConfig
from lmc.data.moving_mnist import generate_clips
from lmc.experiments.probe_ceiling import convlstm_cells, format_ceiling, probe_ceiling


@pytest.fixture(scope="module")
def tiny_and_clips():
    torch.manual_seed(0)
    model = build_model(ModelConfig.preset("tiny", image_size=64)).eval()
    return model, generate_clips(48, 20, seed=5, split="test", image_size=64)


def test_convlstm_cells_average_each_layer_state_over_its_cell(tiny_and_clips):
    model, clips = tiny_and_clips
    frames = clips.to_tensor()[:3, :10]
    cells = convlstm_cells(model, frames, (4, 4))
    layers, hidden = model.config.lstm_layers, model.config.lstm_channels
    assert cells.shape == (3, 16, 2 * layers * hidden)
    # Cell 0 of the first layer's h is the mean of the top-left quarter of its 16x16 map.
    with torch.inference_mode():
        encoded = model.frame_encoder(frames.flatten(0, 1)).unflatten(0, (3, 10))
        state = model.convlstm.initial_state(encoded[:, 0])
        for step in range(10):
            state = model.convlstm(encoded[:, step], state)
    h0 = state[0][0]
    side = h0.shape[-1] // 4
    expected = h0[:, :, :side, :side].mean(dim=(-2, -1)).numpy()
    np.testing.assert_allclose(cells[:, 0, :hidden], expected, rtol=1e-5, atol=1e-6)


def test_probe_ceiling_reads_the_truth_far_above_chance(tiny_and_clips):
    model, clips = tiny_and_clips
    result = probe_ceiling(model, clips)
    probes = result["probes"]
    assert set(probes) == {
        "true velocity",
        "readout",
        "query",
        "long window's readout",
        "ConvLSTM state",
    }
    # The true velocity is the label's own source: the health probe must read it nearly whole.
    assert probes["true velocity"]["lda"] > 0.8 > result["chance"] + 0.4
    assert set(probes["readout"]) == {"lda", "ridge", "logistic"}
    text = format_ceiling(result, "tiny")
    assert f"on {result['cells']} moving cells" in text and "true velocity" in text
