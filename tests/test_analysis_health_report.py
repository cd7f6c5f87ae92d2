"""The typed health report: its JSON against the bundled reports, absent and foreign fields, the
figure table drawn from the fields, and a group of figures added in one place."""

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmc.analysis.health_report import (
    VERDICTS,
    FamilyHealth,
    Finding,
    HealthReport,
    figure,
    figure_rows,
    read_report,
)
from lmc.experiments.health import HEALTH_COLUMNS, health_row
from lmc.health import format_report

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "models/demo/lmc-small-mnist.health.json"
LIVE = ROOT / "models/demo-live/lmc-small-mnist-live.health.json"


@pytest.mark.parametrize("path", [PAPER, LIVE], ids=["paper", "live"])
def test_a_bundled_report_reads_and_writes_back_every_value(path):
    stored = json.loads(path.read_text())
    report = read_report(path)
    values = report.to_dict()
    # Every key the file holds comes back with its value; the verdicts drawn again from the
    # figures read word for word as the ones the file was written with.
    for key, value in stored.items():
        if key != "findings":
            assert values[key] == value, key
    assert [(f["name"], f["healthy"], f["verdict"]) for f in stored["findings"]] == [
        (f.name, f.healthy, f.verdict) for f in report.findings()
    ]
    assert HealthReport.from_dict(json.loads(json.dumps(values))) == report


def test_an_absent_field_reads_as_missing_and_its_verdict_is_left_out():
    # The paper demo's report as it was written before the reader figures and the probe's
    # classifier and ceiling were measured.
    stored = json.loads(PAPER.read_text())
    later = (
        "mse_long_other_recall",
        "readout_clip_correlation",
        "probe_method",
        "probe_direction_truth",
        "probe_direction_long_readout",
        "feature_active",
    )
    report = HealthReport.from_dict({k: v for k, v in stored.items() if not k.startswith(later)})
    assert report.mse_long_other_recall is None and report.probe_method is None
    assert [f.name for f in report.findings()] == [
        "usage",
        "tuning",
        "knowledge",
        "use",
        "matching",
        "alignment",
    ]
    rows = {row.label: row.text for row in figure_rows(report)}
    assert rows["MSE, another clip's long-window recall"] is None
    assert rows["MSE, own recall"] == "103.96"
    assert rows["slots alive (top choice of some cell)"] == "3 of 100"
    # A figure whose control is absent is not printed half.
    no_chance = dataclasses.replace(report, probe_chance=None)
    assert {r.label: r.text for r in figure_rows(no_chance)}["direction probe, readout"] is None
    empty = HealthReport.from_dict({})
    assert empty.findings() == [] and empty.slots_dead is None
    assert all(row.text is None for row in figure_rows(empty))


def test_a_foreign_value_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="health report field 'slots_alive': 'many' is not int"):
        HealthReport.from_dict({"slots_alive": "many"})
    with pytest.raises(ValueError, match="'mse_own': True is not float"):
        HealthReport.from_dict({"mse_own": True})
    with pytest.raises(ValueError, match="'clips': 2.5 is not int"):
        HealthReport.from_dict({"clips": 2.5})
    with pytest.raises(ValueError, match="a health report is a JSON object, not list"):
        HealthReport.from_dict([1, 2])
    # What this version does not know, or derives itself, is ignored; ints read as ints.
    report = HealthReport.from_dict({"clips": 64.0, "mse_own": 3, "future": 1, "verdicts": ["x"]})
    assert report.clips == 64 and isinstance(report.clips, int)
    assert report.mse_own == 3.0 and isinstance(report.mse_own, float)


def test_nan_figures_survive_json_and_print_as_not_available():
    report = dataclasses.replace(read_report(LIVE), probe_direction_readout=math.nan)
    again = HealthReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert math.isnan(again.probe_direction_readout)
    assert {r.label: r.text for r in figure_rows(again)}["direction probe, readout"] is None
    text = format_report(dataclasses.replace(again, seconds=1.0), "live")
    assert "direction probe, readout" in text and "n/a" in text


def test_findings_name_their_question_and_no_page():
    assert [f.name for f in dataclasses.fields(Finding)] == ["name", "healthy", "verdict"]
    names = [f.name for f in read_report(LIVE).findings()]
    assert names == ["usage", "tuning", "knowledge", "use", "matching", "reader", "alignment"]
    assert len(VERDICTS) == len(names) + 1  # and "context", on clips with motion families


def test_every_row_control_and_grid_column_is_a_field_of_the_report():
    for record in (HealthReport, FamilyHealth):  # the report and its group of family figures
        fields = {f.name for f in dataclasses.fields(record)}
        controls = {f.metadata.get("control") for f in dataclasses.fields(record)} - {None}
        assert controls <= fields
    row = health_row(read_report(LIVE))
    assert list(row) == list(HEALTH_COLUMNS)
    assert row["slots_alive"] == 87
    assert row["other_recall_change"] == pytest.approx(176.43 / 138.64 - 1, abs=1e-3)
    # The live demo was measured on standard clips: every figure but the motion-context ones.
    assert all(math.isfinite(v) == (not k.startswith("family_")) for k, v in row.items())
    old = health_row(HealthReport.from_dict({"clips": 8}))
    assert all(math.isnan(v) for v in old.values())  # a figure a report lacks: NaN, no crash


def test_a_group_of_figures_is_added_in_one_place():
    # The way a new group lands: fields with `figure(...)`, default None. Reading, writing and
    # the figure table follow; an older report without them still reads.
    @dataclass
    class WithFamily(HealthReport):
        nmi_family: float | None = figure(
            "NMI top slot ~ motion family", "nmi_family_shuffled", "{:.3f} (shuffled {:.3f})"
        )
        nmi_family_shuffled: float | None = figure()

    stored = json.loads(LIVE.read_text())
    older = WithFamily.from_dict(stored)
    assert older.nmi_family is None and older.slots_alive == 87
    newer = WithFamily.from_dict(stored | {"nmi_family": 0.41, "nmi_family_shuffled": 0.02})
    assert newer.to_dict()["nmi_family"] == 0.41
    rows = {r.label: r.text for r in figure_rows(newer)}
    assert rows["NMI top slot ~ motion family"] == "0.410 (shuffled 0.020)"


@dataclass
class Family:
    nmi_family: float | None = figure(
        "NMI top slot ~ motion family", "nmi_family_shuffled", "{:.3f} (shuffled {:.3f})"
    )
    nmi_family_shuffled: float | None = figure()
    slot_families: list | None = figure()  # not a number: kept as it is


@dataclass
class WithFamilyGroup(HealthReport):
    family: Family | None = None


def test_a_group_of_figures_is_one_field_and_one_nested_object():
    stored = json.loads(LIVE.read_text())
    assert WithFamilyGroup.from_dict(stored).family is None  # an older report
    group = {"nmi_family": 0.41, "nmi_family_shuffled": 0.02, "slot_families": ["orbit", None]}
    report = WithFamilyGroup.from_dict(stored | {"family": group})
    assert report.family == Family(0.41, 0.02, ["orbit", None])
    assert report.to_dict()["family"] == group
    assert WithFamilyGroup.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    labels = [r.label for r in figure_rows(report)]
    assert labels[-1] == "NMI top slot ~ motion family"
    assert {r.label: r.text for r in figure_rows(report)}[labels[-1]] == "0.410 (shuffled 0.020)"
    assert labels[-1] not in [r.label for r in figure_rows(WithFamilyGroup.from_dict(stored))]
    with pytest.raises(ValueError, match="field 'family.nmi_family': 'high' is not float"):
        WithFamilyGroup.from_dict({"family": {"nmi_family": "high"}})
    with pytest.raises(ValueError, match="field 'family' is a JSON object, not float"):
        WithFamilyGroup.from_dict({"family": 0.4})
