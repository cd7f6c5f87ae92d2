"""Family figures of the memory health against cases built by hand and their controls."""

import numpy as np
import pytest

from lmc.analysis.families import (
    cell_labels,
    family_health,
    labelled_cells,
    slot_families,
    slot_name,
)
from lmc.analysis.health import names_context
from lmc.analysis.health_report import FamilyHealth, HealthReport, figure_rows
from lmc.data.motion_contexts import FAMILIES, displacement_features
from lmc.data.moving_mnist import generate_clips
from lmc.experiments.health import health_row

N, CELLS = 120, 16


def labels(seed=0):
    rng = np.random.default_rng(seed)
    family = rng.integers(0, 6, (N, CELLS))
    coverage = np.full((N, CELLS), 0.5)
    truth = np.eye(6)[family] + 0.01 * rng.normal(size=(N, CELLS, 6))
    return rng, family, coverage, truth


def test_a_memory_whose_slots_are_families_names_the_context():
    rng, family, coverage, truth = labels()
    top = family * 3  # slots 0, 3, 6, ...: one per family, whatever the cell
    readout = np.eye(6)[family] + 0.1 * rng.normal(size=(N, CELLS, 6))
    report = family_health(top, readout, readout, family, coverage, truth)
    assert report.nmi_family == pytest.approx(1.0)
    assert report.nmi_family_shuffled < 0.05 and report.nmi_cell < 0.05
    assert report.probe_readout > 0.95 and report.probe_truth > 0.95
    assert report.chance == pytest.approx(np.bincount(family.ravel()).max() / family.size)
    assert report.cells == N * CELLS and report.probe_long_readout is None
    assert names_context(report.nmi_family, report.nmi_family_shuffled, report.nmi_cell)
    verdict = HealthReport(family=report).verdicts
    assert len(verdict) == 1
    assert verdict[0].startswith(
        "names the motion context: its top slot follows the family (NMI 1.00"
    )


def test_a_positional_memory_follows_the_cell():
    rng, family, coverage, truth = labels(1)
    top = np.broadcast_to(np.arange(CELLS), (N, CELLS))  # one slot per cell
    noise = rng.normal(size=(N, CELLS, 6))
    report = family_health(top, noise, noise, family, coverage, truth)
    assert report.nmi_cell == pytest.approx(1.0)
    assert not names_context(report.nmi_family, report.nmi_family_shuffled, report.nmi_cell)
    assert report.probe_readout < 0.3
    assert HealthReport(family=report).verdicts[0].startswith("does not name the motion context")


def test_a_memory_between_follows_the_cell_more_than_the_family():
    half = FamilyHealth(
        nmi_family=0.3, nmi_family_shuffled=0.01, nmi_cell=0.5, probe_readout=0.4, chance=0.18
    )
    (verdict,) = HealthReport(family=half).verdicts
    assert verdict.startswith("follows the cell more than the motion context: its top slot")
    assert "(NMI 0.50) more than the family (NMI 0.30, shuffled 0.01)" in verdict


def test_family_figures_are_one_group_of_the_report_in_and_out_of_json():
    figures = FamilyHealth(
        nmi_family=0.4,
        nmi_family_shuffled=0.02,
        nmi_cell=0.1,
        nmi_cell_shuffled=0.03,
        probe_readout=0.75,
        probe_query=0.7,
        probe_long_readout=0.8,
        probe_truth=0.9,
        chance=0.18,
        cells=1234,
    )
    report = HealthReport(family=figures)
    again = HealthReport.from_dict(report.to_dict())
    assert again.family == figures
    rows = {row.label: row.text for row in figure_rows(report)}
    assert rows["NMI top slot ~ motion family"] == "0.400 (shuffled 0.020)"
    assert rows["family probe, readout"] == "0.750 (chance 0.180)"
    assert rows["labelled cells (family known)"] == "1234"
    assert HealthReport.from_dict({}).family is None  # a standard report has no group
    row = health_row(report)
    assert row["family_nmi"] == 0.4 and row["family_nmi_shuffled"] == 0.02
    assert row["family_nmi_cell"] == 0.1 and row["family_probe_truth"] == 0.9
    assert np.isnan(health_row(HealthReport())["family_nmi"])
    assert all("family" not in row.label for row in figure_rows(HealthReport()))


def test_only_covered_cells_count():
    _, family, coverage, truth = labels(2)
    coverage[:, :8] = 0.1  # below MIN_COVERAGE
    family[:, 8] = -1  # empty
    keep = labelled_cells(family, coverage)
    assert keep.sum() == N * 7
    report = family_health(family, truth, truth, family, coverage, truth)
    assert report.cells == N * 7
    with pytest.raises(ValueError, match="0 labelled cells"):
        family_health(family, truth, truth, family, np.zeros_like(coverage), truth)
    with pytest.raises(ValueError, match="readouts has shape"):
        family_health(family, truth[:3], truth, family, coverage, truth)


def test_slot_names_need_a_dominant_family():
    top = np.array([[0, 0, 0, 0, 1, 1]])
    family = np.array([[1, 1, 1, 2, 3, 4]])
    counts = slot_families(top, family, np.ones_like(top, dtype=bool), slots=3)
    assert counts.tolist()[0] == [0, 3, 1, 0, 0, 0] and counts[2].sum() == 0
    assert slot_name(counts[0], min_cells=4) == f"{FAMILIES[1]}, 75 % of its cells"
    assert slot_name(counts[1], min_cells=1) is None  # one of two cells each: no majority
    assert slot_name(counts[2], min_cells=0) is None
    # A share of a few cells names nothing: by default MIN_NAMING_CELLS (20) must pick the slot.
    assert slot_name(counts[0]) is None and slot_name(np.array([1, 0, 0, 0, 0, 0])) is None
    assert slot_name(np.array([0, 0, 0, 0, 0, 20])) == f"{FAMILIES[5]}, 100 % of its cells"
    assert slot_name(np.array([9, 10, 0, 0, 0, 0])) is None  # 19 cells


def test_cell_labels_pair_each_cell_with_its_digits_motion():
    clips = generate_clips(5, 12, seed=1, split="test", motion="contexts")
    family, coverage, features = cell_labels(clips.positions, clips.families, slice(0, 10))
    assert family.shape == coverage.shape == (5, 16) and features.shape == (5, 16, 3 * 10 - 5)
    one = np.flatnonzero(coverage[0] > 0.5)[0]
    own = [displacement_features(clips.positions[0, :10, d][None])[0] for d in range(2)]
    assert any(np.allclose(features[0, one], f) for f in own)
    assert family[0, one] in clips.families[0]
