"""The motion-context demo and its no-memory twin (issue 24): both ship in models/demo-contexts/
with a card each, the memory's health measured on the context clips (the family figures
included), and the criteria it meets and misses said on its card. A slow test holds the model to
what its card says on a subset of the context test set: its prediction reads its recall, and it
predicts better than its twin."""

import json

import pytest
from demo_helpers import shipped_pair

from lmc import load_checkpoint
from lmc.analysis.health_check import health_check, health_path
from lmc.data import fixed_set
from lmc.demos import available_demos, default_demo, demo_label, demo_path
from lmc.evaluation import batched, evaluate, finalize

CONTEXTS = demo_path("contexts")
TWIN = CONTEXTS.with_name("lmc-small-contexts-no-memory.safetensors")
SHORT, OUT = 10, 20
SUBSET = 16


def test_the_demo_and_its_twin_ship_with_their_cards_and_health():
    assert available_demos() == ["live", "paper", "contexts", "named"] and default_demo() == "live"
    _, meta, _, _ = shipped_pair(CONTEXTS, TWIN, predictor_frames=1)
    report = json.loads(health_path(CONTEXTS).read_text())
    assert report["family"]["cells"] > 0 and report["family"]["probe_truth"] > 0.5
    assert meta["health"] == report
    card = meta["model_card"]
    assert "## Notes" in card and "Against the criteria of issue 24" in card
    assert demo_label(CONTEXTS) == "bundled demo, motion contexts (lmc-small-contexts.safetensors)"


@pytest.mark.slow  # a health check and two evaluations of the small model over 16 clips
def test_the_demo_reads_its_recall_and_beats_its_twin(tmp_path):
    model, _ = load_checkpoint(CONTEXTS)
    twin, _ = load_checkpoint(TWIN)
    clips = fixed_set("test", SUBSET, SHORT + OUT, root=tmp_path, motion="contexts")
    report = health_check(model, clips, SHORT, OUT)
    assert report.slots_alive >= 25
    assert report.mse_other_recall > 1.01 * report.mse_own  # the prediction reads the recall
    mse = {
        name: finalize(evaluate(m, batched(clips.to_tensor(), 16), SHORT, OUT))["model"]["mse"][
            "mean"
        ]
        for name, m in (("memory", model), ("twin", twin))
    }
    assert mse["memory"] <= 0.95 * mse["twin"], mse
