"""The named-slot demo (issue 24's positive control) and its no-memory twin: both ship in
models/demo-contexts/ with a card each; the memory's health, measured on the context clips, says
its slots name the motion family, and the card says which criteria of issue 24 it meets and which
not. A slow test holds the model to its card on a subset of the context test set: its top slot
follows the family more than the cell, and the health says it names the motion context."""

import json

import pytest
from demo_helpers import shipped_pair

from lmc import load_checkpoint
from lmc.analysis.health_check import health_check, health_path
from lmc.data import fixed_set
from lmc.demos import DEMO_TITLES, available_demos, default_demo, demo_label, demo_path

NAMED = demo_path("named")
TWIN = NAMED.with_name("lmc-small-contexts-named-no-memory.safetensors")
SHORT, OUT = 10, 20
SUBSET = 16


def test_the_demo_and_its_twin_ship_with_their_cards_and_health():
    assert available_demos() == ["live", "paper", "contexts", "named"] and default_demo() == "live"
    assert "positive control" in DEMO_TITLES["named"]
    _, meta, _, _ = shipped_pair(NAMED, TWIN, predictor_frames=3)
    report = json.loads(health_path(NAMED).read_text())
    assert meta["health"] == report
    family = report["family"]
    assert family["nmi_family"] > family["nmi_cell"]  # what the card claims, on 256 clips
    card = meta["model_card"]
    assert "## Notes" in card and "Against the criteria of issue 24" in card
    assert "taught" in card and "frozen" in card  # says how it differs from the paper's recipe
    assert demo_label(NAMED) == f"bundled demo, slots named by family ({NAMED.name})"


@pytest.mark.slow  # a health check of the small model over 16 clips
def test_its_top_slots_follow_the_family_and_are_named_by_it(tmp_path):
    model, _ = load_checkpoint(NAMED)
    clips = fixed_set("test", SUBSET, SHORT + OUT, root=tmp_path, motion="contexts")
    report = health_check(model, clips, SHORT, OUT)
    assert report.slots_alive >= 25
    assert report.family.nmi_family > report.family.nmi_cell, report.verdicts
    assert any("names the motion context" in v for v in report.verdicts)
