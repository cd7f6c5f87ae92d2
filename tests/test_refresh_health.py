"""Shipped health reports stay whole: every bundled report carries every field the current health
check measures (a figure added to the check fails here until the demos are measured again), and
`python -m train.refresh_health` measures a model again and writes the report everywhere the
model carries it, leaving its weights and the rest of its card alone."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from lmc.analysis.health_report import HealthReport, health_path, read_report
from lmc.checkpoint import load_checkpoint, read_header, save_checkpoint
from lmc.demos import DEMOS
from train.refresh_health import main, with_section

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {f.name for f in dataclasses.fields(HealthReport)}


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_a_bundled_report_has_every_field_of_the_current_check(name):
    checkpoint = ROOT / DEMOS[name]
    kept = json.loads(health_path(checkpoint).read_text())
    missing = sorted(FIELDS - kept.keys())
    assert not missing, (
        f"{health_path(checkpoint).name} lacks {missing}: measure it again with "
        f"`python -m train.refresh_health {DEMOS[name]}`"
    )
    report = read_report(health_path(checkpoint))
    assert report.probe_method is not None and report.probe_direction_truth is not None
    # The copy the checkpoint carries (which the dashboard reads first) is the same report.
    carried = read_header(checkpoint)["metadata"]["health"]
    assert HealthReport.from_dict(carried) == report


CARD = """# A model

## Test metrics

| metric | value |
|---|---|
| MSE | 1.0 |

## Memory health

- an old verdict

| measure | value |
|---|---|
| slots alive (top choice of some cell) | 1 of 12 |

A note written by hand after the table.

## Notes

Lineage.
"""


def test_with_section_replaces_the_section_and_keeps_what_follows_the_table():
    new = "## Memory health\n\n- a new verdict\n\n| measure | value |\n|---|---|\n| x | 2 |\n"
    card = with_section(CARD, new)
    assert "an old verdict" not in card and "1 of 12" not in card
    assert new in card
    assert card.index(new) < card.index("A note written by hand") < card.index("## Notes")
    assert card.startswith("# A model\n\n## Test metrics") and card.endswith("Lineage.\n")
    # A card without the section gets it before its notes.
    bare = CARD[: CARD.index("## Memory health")] + "## Notes\n\nLineage.\n"
    assert with_section(bare, new).index(new) < with_section(bare, new).index("## Notes")


def test_refresh_measures_again_and_writes_the_report_everywhere(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    checkpoint = folder / "m.safetensors"
    old = {"clips": 6, "short_len": 10, "out_len": 4, "slots_alive": 1, "memory_size": 12}
    save_checkpoint(tiny_model, checkpoint, step=7, model_card=CARD, health=old)
    (folder / "MODEL_CARD.md").write_text(CARD)
    health_path(checkpoint).write_text(json.dumps(old))

    report = main([str(checkpoint)])

    assert (report.clips, report.short_len, report.out_len) == (6, 10, 4)  # the stored ones
    assert report.probe_method is not None and report.mse_own is not None
    kept = json.loads(health_path(checkpoint).read_text())
    assert FIELDS <= kept.keys() and kept["clips"] == 6
    model, metadata = load_checkpoint(checkpoint)
    assert HealthReport.from_dict(metadata["health"]) == report
    assert metadata["step"] == 7  # the rest of the metadata stays
    for name, tensor in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name
    for card in ((folder / "MODEL_CARD.md").read_text(), metadata["model_card"]):
        assert "an old verdict" not in card and report.verdicts[0] in card
        assert "A note written by hand after the table." in card and "Lineage." in card


def test_a_model_without_memory_is_refused_and_nothing_is_written(tmp_path):
    from lmc.config import ModelConfig
    from lmc.model import build_model

    checkpoint = tmp_path / "m.safetensors"
    save_checkpoint(build_model(ModelConfig.preset("tiny", memory=False)), checkpoint)
    before = checkpoint.read_bytes()
    with pytest.raises(ValueError, match="has no memory"):
        main([str(checkpoint)])
    assert checkpoint.read_bytes() == before and not health_path(checkpoint).exists()


def test_in_a_folder_of_several_models_the_models_own_card_is_the_one_written(tmp_path):
    from train.refresh_health import card_file

    checkpoint = tmp_path / "m.safetensors"
    (tmp_path / "MODEL_CARD.md").write_text(CARD)
    assert card_file(checkpoint) == tmp_path / "MODEL_CARD.md"
    (tmp_path / "m.MODEL_CARD.md").write_text(CARD)  # `export_model --shared_folder`
    assert card_file(checkpoint) == tmp_path / "m.MODEL_CARD.md"
