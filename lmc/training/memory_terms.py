"""Extra training terms that keep the memory alive (this project's variants, not in the paper).

The published recipe has none: alignment comes only from phase 2 having to predict well through
a memory written in phase 1. The health check (`lmc.health`) shows what that gives on a CPU
budget: one or a few slots win every query (rich get richer), and the matching encoder learns to
give every clip the same query, so the recall carries nothing. Each term attacks one failure:

- `align_weight`: phase 2 pulls the short input's *queries* towards the long window's (cosine
  distance, the long window's queries detached as the target);
- `address_align_weight`: phase 2 pulls the short input's *addressing* towards the long window's,
  KL(long || short) per cell, the long window's weights detached. Unlike the query term it cannot
  be met by a constant query unless the long addressing is itself constant, which the balance
  term forbids;
- `readout_align_weight`: phase 2 pulls the short input's *readout* (what the decoder is given,
  through the frozen embedder) towards the long window's, a squared distance relative to the long
  readout's norm, the long readout detached. It aims at what the predictor uses rather than at
  the addressing, which at a soft temperature can agree on the top slot and still blend the
  slots differently;
- `clip_align_weight`: phase 2 pulls what is *particular to each clip* in the short readout (its
  deviation from the batch's mean readout, cell by cell) towards the long window's, relative to
  how much the long readouts differ between clips. The readout term above is dominated by the
  readout every clip shares (a soft addressing blends nearly all slots alike), so it can reach a
  small value while the short recall still carries little of what tells one clip from another;
- `matching_learns="alignment"`: the matching encoder learns from the phase-2 alignment terms
  alone, not from the phase-2 prediction loss. The prediction loss otherwise teaches it to pick
  the slots whose recall the decoder can safely ignore whenever it cannot yet recall what the long
  window recalls, working against the alignment term (docs/memory-health.md);
- `balance_weight`: in each phase, log S minus the entropy of the addressing averaged over the
  batch's queries (0 when every slot gets the same share over the batch, log S when one slot takes
  everything). It leaves each query free to be sharp; it only forbids one slot from taking all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

EPS = 1e-8


def query_alignment_loss(short_query: torch.Tensor, long_query: torch.Tensor) -> torch.Tensor:
    """Mean cosine distance, cell by cell, between the short input's queries (B, cells, D) and the
    long window's (the target, detached): 0 when both address the memory alike."""
    return (1 - F.cosine_similarity(short_query, long_query.detach(), dim=-1)).mean()


def addressing_alignment_loss(
    short_weights: torch.Tensor, long_weights: torch.Tensor
) -> torch.Tensor:
    """Mean KL(long || short) over cells between addressing weights (B, cells, S); the long
    window's weights are the target (detached). 0 when the short input recalls what the long
    window recalls."""
    target = long_weights.detach()
    kl = target * (torch.log(target + EPS) - torch.log(short_weights + EPS))
    return kl.sum(-1).mean()


def readout_alignment_loss(short_readout: torch.Tensor, long_readout: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between the short input's readouts (B, cells, D) and the long
    window's (the target, detached), over the long readouts' mean squared norm: 0 when the short
    input recalls exactly what the long window recalls, 1 when it recalls nothing (zeros)."""
    target = long_readout.detach()
    scale = target.pow(2).sum(-1).mean().clamp_min(EPS)
    return (short_readout - target).pow(2).sum(-1).mean() / scale


def clip_readout_alignment_loss(
    short_readout: torch.Tensor, long_readout: torch.Tensor
) -> torch.Tensor:
    """Squared distance between the batch-centred readouts (B, cells, D) of the short input and
    of the long window (the target, detached), over the long readouts' variance between clips:
    0 when the short input tells the clips apart as the long window does, 1 when its readout is
    the same for every clip of the batch. Needs B >= 2."""
    if short_readout.shape[0] < 2:
        raise ValueError(f"batch of {short_readout.shape[0]}: the clip alignment needs at least 2")
    target = long_readout.detach()
    target = target - target.mean(0, keepdim=True)
    short = short_readout - short_readout.mean(0, keepdim=True)
    scale = target.pow(2).sum(-1).mean().clamp_min(EPS)
    return (short - target).pow(2).sum(-1).mean() / scale


def usage_balance_loss(weights: torch.Tensor) -> torch.Tensor:
    """log S - H(mean addressing over every query of the batch), for weights (B, cells, S):
    0 when the slots share the batch evenly, log S when one slot takes all of it."""
    usage = weights.reshape(-1, weights.shape[-1]).mean(0)
    entropy = -(usage * torch.log(usage + EPS)).sum()
    return math.log(weights.shape[-1]) - entropy


MATCHING_SOURCES = ("prediction", "alignment")  # what the matching encoder learns from
NAMES = (
    "align_weight",
    "address_align_weight",
    "balance_weight",
    "readout_align_weight",
    "clip_align_weight",
)


@dataclass(frozen=True)
class MemoryTerms:
    """The weights of the extra terms; all 0 is the published recipe."""

    align_weight: float = 0.0
    address_align_weight: float = 0.0
    balance_weight: float = 0.0
    readout_align_weight: float = 0.0
    clip_align_weight: float = 0.0
    matching_learns: str = "prediction"  # one of MATCHING_SOURCES; "prediction" is published

    def __post_init__(self) -> None:
        for name in NAMES:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}={value!r}: must be a finite number >= 0")
        if self.matching_learns not in MATCHING_SOURCES:
            raise ValueError(
                f"matching_learns={self.matching_learns!r}: must be one of {MATCHING_SOURCES}"
            )
        if self.matching_learns == "alignment" and not self.needs_long_recall():
            raise ValueError(
                "matching_learns='alignment' needs an alignment term (align_weight, "
                "address_align_weight, readout_align_weight or clip_align_weight > 0): without "
                "one the matching encoder would learn nothing"
            )

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in NAMES) or self.matching_learns != "prediction"

    def needs_long_recall(self) -> bool:
        """Whether phase 2 needs what phase 1 recalled."""
        return bool(
            self.align_weight
            or self.address_align_weight
            or self.readout_align_weight
            or self.clip_align_weight
        )
