"""Alignment of the long-term recall (phase 1) with the short-input recall (phase 2).

Memory alignment learning (Lee et al., CVPR 2021, sec. 3.3) writes the memory from the motion
context encoder reading a long window, then trains the matching encoder, which sees only the
short input, to predict through that same memory. Nothing forces the two recalls to agree
directly; if the training worked, the short input recalls what the long window recalled. Per
cell: do both pick the same top slot, how far apart are the weights (KL(long || short)), how
close are the readouts (cosine), how many of the top-k slots they share.

Arrays: weights (..., cells, S), readouts (..., cells, D), any leading axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def top1_agreement(long_weights: np.ndarray, short_weights: np.ndarray) -> np.ndarray:
    """(..., S) twice -> (...) bool: the two addressings give their largest weight to one slot."""
    return np.argmax(long_weights, axis=-1) == np.argmax(short_weights, axis=-1)


def kl_divergence(p: np.ndarray, q: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """KL(p || q) in nats over the last axis; `eps` guards q = 0 (softmax weights never are)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.maximum(p, eps)) - np.log(np.maximum(q, eps))), 0.0)
    return terms.sum(axis=-1)


def readout_cosine(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Cosine similarity of vectors along the last axis."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return (a * b).sum(axis=-1) / np.maximum(norms, eps)


def topk_overlap(long_weights: np.ndarray, short_weights: np.ndarray, k: int = 5) -> np.ndarray:
    """Fraction of the k most weighted slots that the two addressings share, in [0, 1]."""
    k = min(k, np.shape(long_weights)[-1])
    top_long = np.argsort(-np.asarray(long_weights), axis=-1, kind="stable")[..., :k]
    top_short = np.argsort(-np.asarray(short_weights), axis=-1, kind="stable")[..., :k]
    shared = (top_long[..., :, None] == top_short[..., None, :]).any(axis=-1).sum(axis=-1)
    return shared / k


@dataclass
class Alignment:
    """Per cell (...): agree (bool) top-1 agreement, kl KL(long || short) in nats, cosine of
    the readouts, overlap the shared fraction of the top-k slots."""

    agree: np.ndarray
    kl: np.ndarray
    cosine: np.ndarray
    overlap: np.ndarray
    k: int


def alignment(
    long_weights: np.ndarray,
    short_weights: np.ndarray,
    long_readout: np.ndarray,
    short_readout: np.ndarray,
    k: int = 5,
) -> Alignment:
    """Every per-cell alignment measure between the long-term and the short-input recall."""
    if np.shape(long_weights) != np.shape(short_weights):
        raise ValueError(
            f"long weights {np.shape(long_weights)} and short weights {np.shape(short_weights)} must match"
        )
    return Alignment(
        agree=top1_agreement(long_weights, short_weights),
        kl=kl_divergence(long_weights, short_weights),
        cosine=readout_cosine(long_readout, short_readout),
        overlap=topk_overlap(long_weights, short_weights, k),
        k=min(k, np.shape(long_weights)[-1]),
    )


def summarise(al: Alignment) -> dict[str, float]:
    """Means over all cells (and clips): the numbers to quote for a model."""
    return {
        "top1_agreement": float(np.mean(al.agree)),
        "kl_mean": float(np.mean(al.kl)),
        "kl_median": float(np.median(al.kl)),
        "readout_cosine": float(np.mean(al.cosine)),
        f"top{al.k}_overlap": float(np.mean(al.overlap)),
    }


SUMMARY_LABELS = {
    "top1_agreement": "same top-1 slot (share of cells)",
    "kl_mean": "KL(long ‖ short), mean over cells (nats)",
    "kl_median": "KL(long ‖ short), median over cells (nats)",
    "readout_cosine": "readout cosine, mean over cells",
}


def summary_label(key: str) -> str:
    """A key of `summarise` in words, for tables a person reads ("kl_mean" -> "KL(long ‖ short),
    mean over cells (nats)")."""
    if key in SUMMARY_LABELS:
        return SUMMARY_LABELS[key]
    k = key.removeprefix("top").removesuffix("_overlap")
    if k.isdigit():
        return f"top-{k} slots shared (share)"
    return key.replace("_", " ")


def mismatched(
    long_weights: np.ndarray,
    short_weights: np.ndarray,
    long_readout: np.ndarray,
    short_readout: np.ndarray,
    k: int = 5,
    shift: int = 1,
) -> Alignment:
    """Chance level: the same measures between clip i's long recall and clip i+shift's short
    recall (clips on axis 0, same cell). A model aligns only as far as it beats this."""
    if np.shape(long_weights)[0] < 2:
        raise ValueError("the mismatched baseline needs at least 2 clips on axis 0")
    return alignment(
        long_weights,
        np.roll(short_weights, shift, axis=0),
        long_readout,
        np.roll(short_readout, shift, axis=0),
        k,
    )
