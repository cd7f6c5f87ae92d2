"""Memory health: is the memory of a trained LMC-Memory model alive, and what does it hold?

LMC-Memory (Lee et al., CVPR 2021) recalls a motion context from S slots, one query per cell. A
memory can look busy in every figure and still hold nothing: all cells may pick the same few
slots (collapse), the slots may stand for cell positions rather than motions, the readout may not
tell the motion apart, and the predictor may ignore the recall altogether. Each measure here
answers one of those questions beside a control (chance, a shuffle, the softmax's bound); the
report and its verdicts in words are `lmc.analysis.health_report`, whose thresholds are these.
Numbers in, numbers out: `health_check` runs the model.

Arrays: weights (N clips, cells, S); readouts and queries (N, cells, D); direction and speed
(N, cells), NaN where no digit passed (`lmc.data.motion.cell_motion`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmc.analysis.alignment import kl_divergence, top1_agreement
from lmc.analysis.projection import max_weight

DIRECTION_BINS = 8
SPEED_BINS = 4
PROBE_FOLDS = 5
# The classifier of `probe`, named in every report: reports written before 2026-12-03 lack the
# field and used a one-hot ridge (PROBE_METHOD_BEFORE), whose ceiling was lower.
PROBE_METHOD = "shrinkage LDA"
PROBE_METHOD_BEFORE = "one-hot ridge"
MIN_OCCUPANCY = 0.5  # a cell counts as moving when a digit covered it in half the input frames

# Thresholds of the verdicts, chosen so that the bundled paper-faithful demo and a memory that
# works fall clearly on either side; each verdict prints the numbers it was drawn from.
ALIVE_SHARE = 0.25  # fewer than a quarter of the slots ever chosen: collapsed
MARGIN = 0.05  # an NMI, a probe or an agreement this far above its control counts
INFORMED_PROBE = 0.5  # half the clips' direction (of 8) told from the readout: informed
USED_CHANGE = 0.01  # another clip's recall must move the MSE by 1 % for the recall to count
SPREAD_SHARE = 0.25  # short-input queries spread less than a quarter of the long's: collapsed
MIN_SPREAD = 0.1  # queries that differ between clips by less than a tenth of their norm: collapsed


# ----------------------------------------------------------------------------- usage


def effective_slots(weights: np.ndarray) -> np.ndarray:
    """exp(entropy) of each addressing (..., S) -> (...): S for uniform weights, 1 for one slot."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.where(w > 0, w * np.log(w), 0.0).sum(axis=-1)
    return np.exp(entropy)


@dataclass
class Usage:
    """slots_alive: slots that are the top choice of at least one query; effective_slots: the mean
    exp(entropy) per query; max_weight: the largest weight any query gives a slot, beside
    max_weight_bound, the most the softmax can give (cosine 1 to one slot, -1 to all others)."""

    slots_alive: int
    memory_size: int
    effective_slots: float
    max_weight: float
    max_weight_bound: float

    @property
    def slots_dead(self) -> int:
        return self.memory_size - self.slots_alive


def usage(weights: np.ndarray, temperature: float = 1.0, addressing: str = "cosine") -> Usage:
    weights = np.asarray(weights)
    size = weights.shape[-1]
    flat = weights.reshape(-1, size)
    if not len(flat):
        raise ValueError("usage needs at least one query")
    return Usage(
        slots_alive=int(np.unique(flat.argmax(axis=-1)).size),
        memory_size=size,
        effective_slots=float(effective_slots(flat).mean()),
        max_weight=float(flat.max()),
        max_weight_bound=max_weight(size, temperature, addressing),
    )


# ----------------------------------------------------------------------------- what slots follow


def direction_bin(direction: np.ndarray, bins: int = DIRECTION_BINS) -> np.ndarray:
    """Radians -> bin 0 .. bins-1, bin 0 centred on rightwards (0 rad); NaN -> -1."""
    direction = np.asarray(direction, dtype=np.float64)
    finite = np.isfinite(direction)
    width = 2 * np.pi / bins
    shifted = np.mod(np.where(finite, direction, 0.0) + width / 2, 2 * np.pi)
    index = np.floor(shifted / width).astype(np.int64) % bins
    return np.where(finite, index, -1)


def speed_bin(speed: np.ndarray, bins: int = SPEED_BINS) -> np.ndarray:
    """Speeds -> quantile bins 0 .. bins-1 of the finite values (equal counts); NaN -> -1."""
    speed = np.asarray(speed, dtype=np.float64)
    finite = np.isfinite(speed)
    out = np.full(speed.shape, -1, dtype=np.int64)
    if finite.any():
        edges = np.quantile(speed[finite], np.linspace(0, 1, bins + 1)[1:-1])
        out[finite] = np.searchsorted(edges, speed[finite], side="right")
    return out


def nmi(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised mutual information (arithmetic mean normalisation) of two labelings."""
    from sklearn.metrics import normalized_mutual_info_score

    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.size < 2:
        return float("nan")
    return float(normalized_mutual_info_score(a, b))


def shuffled_nmi(a: np.ndarray, b: np.ndarray, seed: int = 0, repeats: int = 5) -> float:
    """NMI of `a` with `b` shuffled: what the NMI reads when there is no relation at all (NMI is
    biased upwards for many labels on few samples, so a raw value means little alone)."""
    rng = np.random.default_rng(seed)
    b = np.asarray(b).reshape(-1)
    return float(np.mean([nmi(a, rng.permutation(b)) for _ in range(repeats)]))


def names_context(nmi_family: float, nmi_family_shuffled: float, nmi_cell: float) -> bool:
    """A memory names the motion context (clips of `lmc.data.motion_contexts`) when its top slot
    follows the family above the family's shuffle (by MARGIN) and more than the cell, over the
    same labelled cells: the one rule of the health verdict, Compare and the study."""
    return nmi_family > nmi_family_shuffled + MARGIN and nmi_family > nmi_cell


# ----------------------------------------------------------------------------- what the recall knows


@dataclass
class Probe:
    """Cross-validated accuracy of a linear classifier, beside chance (the majority class share)."""

    accuracy: float
    chance: float
    samples: int
    classes: int


def probe(
    features: np.ndarray, labels: np.ndarray, folds: int = PROBE_FOLDS, seed: int = 0
) -> Probe:
    """A linear classifier of labels (M,) from features (M, D), standardised, stratified k-fold.

    Linear discriminant analysis with Ledoit-Wolf shrinkage: closed form (a fraction of a second
    for 2,800 cells of 512 features, where a logistic regression took 48 s) and it reads a
    low-dimensional code whole. The ridge classifier used before (one-hot least squares) could
    not: from the true cell velocity itself it told the direction (8 bins) only 0.59 of the time,
    where this reads 0.91 and a logistic regression 0.97. On the demos' readouts all three agree
    within 0.01 (docs/memory-health.md, "How good can a probe be").
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"features {x.shape} and labels {y.shape} do not pair up")
    classes, counts = np.unique(y, return_counts=True)
    chance = float(counts.max() / counts.sum()) if len(y) else float("nan")
    usable = min(folds, int(counts.min())) if len(classes) > 1 else 0
    if usable < 2:
        return Probe(float("nan"), chance, len(y), len(classes))
    model = make_pipeline(
        StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    )
    split = StratifiedKFold(n_splits=usable, shuffle=True, random_state=seed)
    scores = cross_val_score(model, x, y, cv=split)
    return Probe(float(scores.mean()), chance, len(y), len(classes))


def velocity_of(direction: np.ndarray, speed: np.ndarray) -> np.ndarray:
    """(M,) screen angles and speeds -> (M, 2) velocities (right, up), the probe's ceiling input."""
    return np.stack([speed * np.cos(direction), speed * np.sin(direction)], axis=-1)


def moving_cells(
    direction: np.ndarray, occupancy: np.ndarray | None, min_occupancy: float = MIN_OCCUPANCY
) -> np.ndarray:
    """(N, cells) bool: cells a digit crossed in enough of the input frames to have a motion."""
    keep = np.isfinite(np.asarray(direction, dtype=np.float64))
    if occupancy is not None:
        keep &= np.asarray(occupancy) >= min_occupancy
    return keep


# ----------------------------------------------------------------------------- alignment


@dataclass
class AlignmentHealth:
    """Top-1 agreement and mean KL(long || short) of each cell's two addressings, and the same
    with every clip's long-window recall paired with another clip's short-input recall."""

    top1: float
    top1_chance: float
    kl: float
    kl_chance: float


def alignment_health(long_weights: np.ndarray, short_weights: np.ndarray) -> AlignmentHealth:
    long_weights, short_weights = np.asarray(long_weights), np.asarray(short_weights)
    if long_weights.shape != short_weights.shape or long_weights.ndim != 3:
        raise ValueError(
            f"long {long_weights.shape} and short {short_weights.shape}: expected two (N, cells, S)"
        )
    other = np.roll(short_weights, 1, axis=0)  # the next clip's recall, cell for cell
    return AlignmentHealth(
        top1=float(top1_agreement(long_weights, short_weights).mean()),
        top1_chance=float(top1_agreement(long_weights, other).mean()),
        kl=float(kl_divergence(long_weights, short_weights).mean()),
        kl_chance=float(kl_divergence(long_weights, other).mean()),
    )


# ----------------------------------------------------------------------------- recall across clips


def clip_correlation(short: np.ndarray, long: np.ndarray) -> float:
    """How much of what tells the clips apart in the long window's readouts (N, cells, D) the
    short input's carry: the correlation of the two after removing each cell's mean over the
    clips (1: the same differences, 0: unrelated ones). A soft addressing blends nearly every
    slot alike, so the readouts share a large common part that a plain distance is dominated by."""
    short = np.asarray(short, dtype=np.float64)
    long = np.asarray(long, dtype=np.float64)
    short = short - short.mean(axis=0, keepdims=True)
    long = long - long.mean(axis=0, keepdims=True)
    norm = np.sqrt(np.sum(short**2) * np.sum(long**2))
    return float(np.sum(short * long) / norm) if norm > 0 else 0.0
