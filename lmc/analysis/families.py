"""Does the memory name the motion context? Figures on clips with motion families.

On Moving-MNIST with motion contexts (`lmc.data.motion_contexts`) every digit follows one of six
families, and each query cell takes the family of the digit that covers it most over the input
(`cell_family`). LMC-Memory's claim (Lee et al., CVPR 2021) is that its slots store such long-term
contexts; if so, a cell's top slot follows its family more than its place, and the readout tells
the family apart. Each figure stands beside its control: the NMI with the labels shuffled, the
probe beside chance (the majority family) and beside the probe on the truth (the covering digit's
own input displacements, `displacement_features`): what a perfect reader of the input could tell.

Arrays: top slots (N, cells) int; readouts and queries (N, cells, D); family (N, cells) int, -1
where no digit covers the cell; coverage (N, cells).
"""

from __future__ import annotations

import numpy as np

from lmc.analysis.health import Probe, nmi, probe, shuffled_nmi
from lmc.analysis.health_report import FamilyHealth
from lmc.data.motion_contexts import (
    FAMILIES,
    cell_family,
    covering_digit,
    displacement_features,
)

# A cell counts when its family's digit covers at least a quarter of it per input frame on
# average: less, and the cell mostly sees black canvas, whatever its label says.
MIN_COVERAGE = 0.25
# A slot is named by a family when more than half of the cells that pick it carry that family
# (chance: one in six), so no slot has two names.
NAMING_SHARE = 0.5
# ... and only when at least this many labelled cells pick it: one cell is 100 % of its family,
# and a handful may agree by chance (20 cells at one in six each: a majority about once in 10^4).
MIN_NAMING_CELLS = 20


def labelled_cells(family: np.ndarray, coverage: np.ndarray, min_coverage: float = MIN_COVERAGE):
    """(N, cells) bool: the cells whose family is known well enough to be measured against."""
    return (np.asarray(family) >= 0) & (np.asarray(coverage) >= min_coverage)


def known_families(
    family: np.ndarray, coverage: np.ndarray, min_coverage: float = MIN_COVERAGE
) -> np.ndarray:
    """(N, cells) each cell's family where it is labelled (`labelled_cells`), else -1: the family
    the dashboard shows, searches and colours a cell by, so its pages count the cells the
    figures count."""
    return np.where(labelled_cells(family, coverage, min_coverage), np.asarray(family), -1)


def family_name(index: int) -> str:
    """A family index as its name; "no family" for -1 (no digit covers the cell enough)."""
    return FAMILIES[index] if index >= 0 else "no family"


def family_health(
    top_slot: np.ndarray,
    readouts: np.ndarray,
    queries: np.ndarray,
    family: np.ndarray,
    coverage: np.ndarray,
    truth_features: np.ndarray,
    long_readouts: np.ndarray | None = None,
    min_coverage: float = MIN_COVERAGE,
    seed: int = 0,
) -> FamilyHealth:
    """The family figures (`health_report.FamilyHealth`) over the labelled cells of N clips.

    truth_features: (N, cells, F) each cell's covering digit's `displacement_features` over the
    input frames (the probe's ceiling); long_readouts: the long window's readouts, for their
    probe (None: not measured).
    """
    top_slot = np.asarray(top_slot)
    n, cells = top_slot.shape
    arrays = [("readouts", readouts), ("queries", queries), ("truth_features", truth_features)]
    if long_readouts is not None:
        arrays.append(("long_readouts", long_readouts))
    for name, array in arrays:
        if np.shape(array)[:2] != (n, cells):
            raise ValueError(f"{name} has shape {np.shape(array)}, expected ({n}, {cells}, ...)")
    keep = labelled_cells(family, coverage, min_coverage)
    if keep.sum() < 2:
        raise ValueError(
            f"{int(keep.sum())} labelled cells (coverage >= {min_coverage}): too few to measure"
        )
    labels = np.asarray(family)[keep]
    slots = top_slot[keep]
    cell_index = np.broadcast_to(np.arange(cells), (n, cells))[keep]
    readout: Probe = probe(np.asarray(readouts)[keep], labels, seed=seed)
    query: Probe = probe(np.asarray(queries)[keep], labels, seed=seed)
    truth: Probe = probe(np.asarray(truth_features)[keep], labels, seed=seed)
    long = (
        None if long_readouts is None else probe(np.asarray(long_readouts)[keep], labels, seed=seed)
    )
    return FamilyHealth(
        nmi_family=nmi(slots, labels),
        nmi_family_shuffled=shuffled_nmi(slots, labels, seed=seed),
        nmi_cell=nmi(slots, cell_index),
        nmi_cell_shuffled=shuffled_nmi(slots, cell_index, seed=seed),
        probe_readout=readout.accuracy,
        probe_query=query.accuracy,
        probe_long_readout=None if long is None else long.accuracy,
        probe_truth=truth.accuracy,
        chance=readout.chance,
        cells=int(keep.sum()),
    )


def cell_labels(
    positions: np.ndarray,
    families: np.ndarray,
    frames: slice,
    image_size: int = 64,
    grid: tuple[int, int] = (4, 4),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's family, coverage and its covering digit's input displacement features.

    positions: (N, T, D, 2); families: (N, D); frames: the input frames (e.g. slice(0, 10)).
    Returns family (N, cells) (-1 where no digit covers the cell), coverage (N, cells) and the
    features (N, cells, F) of `displacement_features` over the frames (the probe's ceiling).
    """
    positions = np.asarray(positions, dtype=np.float64)
    family, coverage = cell_family(positions, families, image_size, grid, frames)
    digit, _ = covering_digit(positions, image_size, grid, frames)
    seen = positions[:, frames]
    n, t, d = seen.shape[:3]
    per_digit = displacement_features(seen.transpose(0, 2, 1, 3).reshape(n * d, t, 2))
    features = np.take_along_axis(per_digit.reshape(n, d, -1), digit[..., None], axis=1)
    return family, coverage, features


def slot_families(
    top_slot: np.ndarray, family: np.ndarray, keep: np.ndarray, slots: int
) -> np.ndarray:
    """(slots, len(FAMILIES)) counts: how many labelled cells of each family pick each slot."""
    top_slot, family = np.asarray(top_slot)[keep], np.asarray(family)[keep]
    counts = np.zeros((slots, len(FAMILIES)), dtype=np.int64)
    np.add.at(counts, (top_slot, family), 1)
    return counts


def slot_name(
    counts: np.ndarray, share: float = NAMING_SHARE, min_cells: int = MIN_NAMING_CELLS
) -> str | None:
    """ "orbit-cw, 81 % of its cells" when one family holds more than `share` of a slot's
    labelled cells and they are at least `min_cells`, else None."""
    total = int(np.sum(counts))
    if total == 0 or total < min_cells:
        return None
    best = int(np.argmax(counts))
    fraction = counts[best] / total
    if fraction <= share:
        return None
    return f"{FAMILIES[best]}, {fraction:.0%} of its cells".replace("%", " %")
