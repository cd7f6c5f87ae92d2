"""The bundled demo model: it loads through the one checkpoint loader, carries its model card, and
beats both baselines by the margin its card promises on a subset of the generated test set.

The checkpoint ships in the repository (trained on a CPU, see models/demo/MODEL_CARD.md), so a
missing file is a failure, not a skip.
"""

from lmc import load_checkpoint
from lmc.data import fixed_set
from lmc.demos import demo_path
from lmc.evaluation import batched, evaluate, finalize

DEMO = demo_path("paper")
SHORT, OUT = 10, 10
SUBSET = 32  # the first clips of the fixed test set: enough for a stable mean, seconds to run
MARGIN = 0.30  # the demo's MSE is at least 30 % below the better baseline


def test_demo_is_the_small_preset_with_a_model_card():
    model, meta = load_checkpoint(DEMO)
    assert DEMO.stat().st_size < 10 * 2**20
    assert model.config.memory and model.config.memory_size == 100
    assert (model.config.lstm_channels, model.config.memory_dim) == (32, 64)  # `small`
    card = meta["model_card"]
    assert "python -m train.train" in card and "copy last" in card and "all-zero" in card


def test_demo_beats_both_baselines_on_a_test_subset(tmp_path):
    model, _ = load_checkpoint(DEMO)
    clips = fixed_set("test", root=tmp_path).to_tensor()[:SUBSET]
    report = finalize(evaluate(model, batched(clips, 32), SHORT, OUT))
    mse = {method: report[method]["mse"]["mean"] for method in ("model", "copy_last", "zeros")}
    floor = min(mse["copy_last"], mse["zeros"])
    assert mse["model"] <= (1 - MARGIN) * floor, mse
    assert report["model"]["ssim"]["mean"] > report["copy_last"]["ssim"]["mean"]
