"""lmc.analysis.slots: usage, top cells, crops and slot motion against hand-computed small cases."""

import numpy as np
import pytest

from lmc.analysis import slots as sl


def constructed_weights() -> np.ndarray:
    """2 clips x 2 cells x 3 slots; top slots: clip 0 -> (0, 0), clip 1 -> (2, 0)."""
    return np.array(
        [
            [[0.6, 0.3, 0.1], [0.5, 0.2, 0.3]],
            [[0.2, 0.3, 0.5], [0.4, 0.35, 0.25]],
        ]
    )


def test_slot_usage_counts():
    usage = sl.slot_usage(constructed_weights())
    np.testing.assert_array_equal(usage.top1_count, [3, 0, 1])
    np.testing.assert_allclose(usage.top1_fraction, [0.75, 0.0, 0.25])
    np.testing.assert_allclose(usage.mean_weight, [1.7 / 4, 1.15 / 4, 1.15 / 4])
    np.testing.assert_allclose(usage.mean_centred, usage.mean_weight - 1 / 3)
    np.testing.assert_array_equal(usage.dead, [False, True, False])
    assert usage.num_dead == 1 and usage.queries == 4
    # A threshold also marks rarely chosen slots dead.
    assert sl.slot_usage(constructed_weights(), threshold=0.3).dead.tolist() == [False, True, True]


def test_top_cells_for_a_slot():
    top = sl.top_cells(constructed_weights(), slot=1, k=3)
    # slot 1 weights: (0,0) .3, (0,1) .2, (1,0) .3, (1,1) .35
    np.testing.assert_array_equal(top.clip, [1, 0, 1])
    np.testing.assert_array_equal(top.cell, [1, 0, 0])
    np.testing.assert_allclose(top.weight, [0.35, 0.3, 0.3])
    np.testing.assert_array_equal(top.rank, [1, 1, 1])
    assert sl.top_cells(constructed_weights(), slot=0, k=1).rank.tolist() == [0]
    with pytest.raises(ValueError, match="slot=3"):
        sl.top_cells(constructed_weights(), slot=3)


def test_cell_crops_and_boxes():
    images = np.arange(2 * 8 * 8).reshape(2, 8, 8)
    assert sl.cell_box(3, (2, 2), (8, 8)) == (4, 4, 4, 4)
    assert sl.cell_box(1, (2, 2), (8, 8)) == (0, 4, 4, 4)
    crops = sl.cell_crops(images, np.array([1, 0]), np.array([2, 1]), (2, 2))
    np.testing.assert_array_equal(crops[0], images[1, 4:8, 0:4])
    np.testing.assert_array_equal(crops[1], images[0, 0:4, 4:8])
    assert sl.cell_crops(images, np.array([], int), np.array([], int), (2, 2)).shape == (0, 4, 4)


def test_motion_energy():
    frames = np.zeros((1, 3, 2, 2), np.uint8)
    frames[0, 1:, 0, 0] = 255  # one pixel switches on after the first frame
    energy = sl.motion_energy(frames)
    assert energy.shape == (1, 2, 2)
    assert energy[0, 0, 0] == pytest.approx(0.5) and energy[0, 1, 1] == 0


# --------------------------------------------------------------------------------- projection


# --------------------------------------------------------------------------------- intervention


def test_slot_motion_groups_cells_by_top_slot():
    top = np.array([[0, 0, 1, 2]])
    direction = np.array([[0.0, np.pi / 2, np.pi, np.nan]])
    speed = np.array([[2.0, 4.0, 1.0, np.nan]])
    motion = sl.slot_motion(top, direction, speed, size=3)
    np.testing.assert_array_equal(motion.count, [2, 1, 0])
    assert motion.mean_direction[0] == pytest.approx(np.pi / 4)
    assert motion.resultant[0] == pytest.approx(np.sqrt(2) / 2)  # |(1, 0) + (0, 1)| / 2
    assert motion.resultant[1] == pytest.approx(1.0) and np.isnan(motion.resultant[2])
    np.testing.assert_allclose(motion.mean_speed[:2], [3.0, 1.0])
    assert motion.tuning() == pytest.approx((2 * np.sqrt(2) / 2 + 1) / 3)
    # Rarely occupied cells are left out.
    rare = sl.slot_motion(top, direction, speed, 3, occupancy=np.array([[1, 0.2, 1, 0]]))
    np.testing.assert_array_equal(rare.count, [1, 1, 0])
