"""lmc.analysis.compare: two memories' summaries on the same clips, and the sentences that say what
differs, checked against values worked out by hand from passes built for the purpose."""

import math

import numpy as np
import pytest

from lmc.analysis import compare as cp
from lmc.analysis.dataset_pass import DatasetPass
from lmc.analysis.health import direction_bin
from lmc.analysis.health_report import HealthReport

CLIPS, CELLS, SLOTS = 64, 16, 20
NAMES = ("published", "live")


def _weights(top: np.ndarray, peak: float) -> np.ndarray:
    """(N, cells, S) addressings giving `peak` to the slot `top` names and the rest evenly."""
    w = np.full((*top.shape, SLOTS), (1 - peak) / (SLOTS - 1))
    np.put_along_axis(w, top[..., None], peak, axis=-1)
    return w


def _effective(peak: float) -> float:
    """exp(entropy) of one such addressing, written out."""
    rest = (1 - peak) / (SLOTS - 1)
    return math.exp(-(peak * math.log(peak) + (SLOTS - 1) * rest * math.log(rest)))


def _pass(top: np.ndarray, peak: float, direction: np.ndarray | None) -> DatasetPass:
    n, cells = top.shape
    zeros = np.zeros((n, cells, 4), np.float32)
    return DatasetPass(
        short_query=zeros,
        short_cosine=np.zeros((n, cells, SLOTS), np.float32),
        short_weights=_weights(top, peak).astype(np.float32),
        short_readout=zeros,
        slots=np.eye(SLOTS, 4, dtype=np.float32),
        grid=(4, cells // 4) if cells > 1 else (1, 1),
        last_frame=np.zeros((n, 64, 64), np.uint8),
        energy=np.zeros((n, 64, 64), np.uint8),
        clip_index=np.arange(n),
        direction=direction,
        occupancy=None if direction is None else np.ones(top.shape, np.float32),
    )


@pytest.fixture(scope="module")
def two_passes():
    """A positional memory (each row of the 4 x 4 grid picks its own slot: 4 of 20 alive) and a
    motion-tuned one (the top slot is the direction's bin: 8 alive) on the same clips. Clip i's
    cell c moves in direction bin (i + c) % 8, so over the 64 clips every cell sees every
    direction equally often: the row is independent of the direction, exactly."""
    clip, cell = np.meshgrid(np.arange(CLIPS), np.arange(CELLS), indexing="ij")
    bins = (clip + cell) % 8
    direction = (bins * 2 * np.pi / 8).astype(np.float32)
    direction[direction > np.pi] -= 2 * np.pi  # screen angles in (-pi, pi]
    assert (direction_bin(direction) == bins).all()
    positional = _pass(cell // 4, 0.5, direction)
    tuned = _pass(bins, 0.9, direction)
    return cp.summarise(positional), cp.summarise(tuned)


def test_summaries_count_slots_and_measure_what_the_slots_follow(two_passes):
    a, b = two_passes
    assert (a.queries, a.memory_size, a.slots_alive) == (CLIPS * CELLS, SLOTS, 4)
    assert (b.queries, b.memory_size, b.slots_alive) == (CLIPS * CELLS, SLOTS, 8)
    assert a.effective_slots == pytest.approx(_effective(0.5), rel=1e-5)
    assert b.effective_slots == pytest.approx(_effective(0.9), rel=1e-5)
    assert (a.busiest_share, b.busiest_share) == (0.25, 0.125)
    # The row is a function of the cell: I = H(row) = log 4, H(cell) = log 16, so the NMI
    # (arithmetic normalisation) is 2 log 4 / (log 4 + log 16) = 2/3.
    assert a.nmi_cell == pytest.approx(2 / 3)
    assert a.nmi_direction == pytest.approx(0.0, abs=1e-12)
    assert b.nmi_direction == pytest.approx(1.0)
    assert b.nmi_cell == pytest.approx(0.0, abs=1e-12)
    # Shuffled controls read near zero on 1,024 queries.
    for control in (a.nmi_cell_shuffled, a.nmi_direction_shuffled, b.nmi_direction_shuffled):
        assert 0 <= control < 0.05


def test_sentences_from_two_passes_name_the_numbers_and_the_side(two_passes):
    a, b = two_passes
    assert cp.alive_sentence(a, b, NAMES) == (
        "Slots alive (ever a top choice): 4 vs 8 of 20 (collapsed vs in use, over the same "
        "1,024 queries) — live chooses 4 more slots."
    )
    assert cp.alive_sentence(a, a, NAMES).endswith("— both use as many slots.")
    # The names go with the sides: swapped, the left one chooses more.
    assert cp.alive_sentence(b, a, NAMES).endswith("— published chooses 4 more slots.")
    one_more = cp.MemorySummary(1024, SLOTS, 5, 8.0, 0.2, None, None, None, None)
    assert cp.alive_sentence(a, one_more, NAMES).endswith("— live chooses 1 more slot.")
    effective = cp.effective_sentence(a, b, NAMES)
    assert effective.startswith(
        f"Effective slots per query: {_effective(0.5):.1f} vs {_effective(0.9):.1f} of 20 "
    )
    assert effective.endswith("— live addresses more sharply.")
    assert cp.effective_sentence(a, a, NAMES).endswith("— both address about as sharply.")
    cell = cp.cell_sentence(a, b, NAMES)
    assert cell == (
        f"Top slot and the cell (NMI): 0.67 vs 0.00 (shuffled {a.nmi_cell_shuffled:.2f} vs "
        f"{b.nmi_cell_shuffled:.2f}) — published's slots follow the cell more."
    )
    direction = cp.direction_sentence(a, b, NAMES)
    assert direction.startswith("Top slot and the true direction (NMI): 0.00 vs 1.00 (shuffled ")
    assert direction.endswith("— live's slots follow the true direction more.")
    # The same memory on both sides follows the same things as much.
    assert cp.direction_sentence(b, b, NAMES).endswith(
        "— both models' slots follow the true direction about as much."
    )
    assert cp.direction_sentence(a, a, NAMES).endswith(
        "— neither model's slots follow the true direction."
    )


def test_memories_of_two_sizes_say_each_size():
    small = cp.MemorySummary(160, 10, 8, 9.5, 0.2, None, None, None, None)
    large = cp.MemorySummary(160, 100, 3, 99.2, 0.5, None, None, None, None)
    assert cp.alive_sentence(large, small, NAMES).startswith(
        "Slots alive (ever a top choice): 3 of 100 vs 8 of 10 (collapsed vs in use,"
    )
    # Without a second cell or true motion, those sentences are left out.
    assert cp.cell_sentence(large, small, NAMES) is None
    assert cp.direction_sentence(large, small, NAMES) is None
    assert len(cp.differences(large, small, NAMES, HealthReport(), HealthReport())) == 2


def test_a_single_cell_and_unknown_motion_give_no_nmi():
    top = np.zeros((5, 1), np.int64)
    summary = cp.summarise(_pass(top, 0.5, None))
    assert summary.queries == 5 and summary.slots_alive == 1
    assert summary.nmi_cell is None and summary.nmi_direction is None


# A collapsed memory the prediction ignores, and a live one it reads (the demos' reports, rounded).
PAPER_VALUES = {
    "clips": 256,
    "mse_own": 100.0,
    "mse_other_recall": 100.0,
    "probe_direction_readout": 0.27,
    "probe_chance": 0.15,
}
LIVE_VALUES = {
    "clips": 256,
    "mse_own": 130.0,
    "mse_other_recall": 165.1,
    "probe_direction_readout": 0.45,
    "probe_chance": 0.15,
}

PAPER, LIVE = HealthReport.from_dict(PAPER_VALUES), HealthReport.from_dict(LIVE_VALUES)


def test_sentences_from_two_health_reports():
    assert cp.use_sentence(PAPER, LIVE, NAMES) == (
        "Another clip's recall changes the MSE by +0.0 % vs +27.0 % (256 test clips each) — "
        "published's prediction ignores its recall; live's prediction reads its recall."
    )
    assert cp.probe_sentence(PAPER, LIVE, NAMES) == (
        "A linear probe tells the direction from the readout 0.27 vs 0.45 of the time (chance "
        "0.15 vs 0.15) — live's readout knows the motion better."
    )
    # 1 - 100 / 130 = 23 %
    assert cp.mse_sentence(PAPER, LIVE, NAMES) == (
        "Prediction MSE with its own recall: 100.0 vs 130.0 per frame (256 test clips each; "
        "lower is better) — published predicts better, by 23 %."
    )
    other = HealthReport.from_dict({**LIVE_VALUES, "clips": 1000})
    assert "(256 vs 1000 test clips)" in cp.use_sentence(PAPER, other, NAMES)
    assert cp.missing_reports_sentence(PAPER, LIVE, NAMES) is None


def test_a_missing_report_is_said_and_its_sentences_left_out(two_passes):
    a, b = two_passes
    assert cp.use_sentence(PAPER, None, NAMES) is None
    assert cp.probe_sentence(None, LIVE, NAMES) is None
    assert (
        cp.mse_sentence(PAPER, HealthReport(clips=256), NAMES) is None
    )  # an old report without it
    assert cp.missing_reports_sentence(PAPER, None, NAMES) == (
        "No stored health report for live, so whether the prediction reads the recall is not "
        "compared: measure it on the Memory health page."
    )
    both = cp.differences(a, b, NAMES, PAPER, LIVE)
    assert len(both) == 7 and both[4].startswith("Another clip's recall")
    one = cp.differences(a, b, NAMES, PAPER, None)
    assert len(one) == 5 and one[-1].startswith("No stored health report for live,")
    assert "published and live" in cp.differences(a, b, NAMES)[-1]


def test_one_cells_recall_on_both_sides():
    flat = np.full(20, 0.05)
    sharp = np.full(20, 0.1 / 19)
    sharp[7] = 0.9
    assert cp.recall_sentence((flat, sharp), NAMES, 12, 5) == (
        "Clip 12, cell 5: published's top slot is 0 (w − 1/S +0.0000, 20.0 effective slots of "
        f"20); live's top slot is 7 (w − 1/S +0.8500, {_effective(0.9):.1f} effective slots of "
        "20)."
    )


def test_the_numbers_and_the_record_behind_the_sentences(two_passes):
    import json

    a, b = two_passes
    report = HealthReport.from_dict({**LIVE_VALUES, "findings": ["x"], "mse_own": 130})
    rows = {r["measure"]: r for r in cp.numbers(a, b, NAMES, PAPER, report)}
    assert rows["slots_alive"] == {"measure": "slots_alive", "published": 4, "live": 8}
    assert rows["effective_slots"]["live"] == pytest.approx(_effective(0.9), rel=1e-5)
    assert rows["nmi_cell"]["published"] == pytest.approx(2 / 3)
    assert rows["report: mse_other_recall"] == {
        "measure": "report: mse_other_recall",
        "published": 100.0,
        "live": 165.1,
    }
    assert "report: findings" not in rows  # only the numbers the sentences read
    # A side without a report reads None; a measure neither report has is left out.
    rows = {r["measure"]: r for r in cp.numbers(a, b, NAMES, HealthReport(clips=64), None)}
    assert rows["report: clips"] == {"measure": "report: clips", "published": 64, "live": None}
    assert "report: mse_own" not in rows
    assert len(cp.numbers(a, b, NAMES)) == 12  # the summary's fields alone, the family's None
    record = json.loads(json.dumps(cp.comparison(a, b, NAMES, PAPER, None)))
    assert (record["left"], record["right"]) == NAMES
    assert record["differences"] == cp.differences(a, b, NAMES, PAPER, None)
    assert record["summaries"]["right"]["slots_alive"] == 8
    assert record["reports"] == {"left": PAPER_VALUES, "right": None}
