"""What the memory recalls for one clip, per query cell (Lee et al., CVPR 2021, sec. 3.2).

Every cell of the H/16 x W/16 query grid addresses the S memory slots with w = softmax(cos(q, M)).
With no temperature the cosines in [-1, 1] let one slot take at most e^2 / (e^2 + S - 1) of the
mass (0.07 for S = 100), so the raw weights all look alike: these statistics show what varies
(the entropy and the effective number of slots, the weight above uniform, the ranking of slots).

Pure functions take numpy arrays whose last axis is the slot axis (any leading axes: cells,
clips). `recall_view` runs the model once for the dashboard and returns numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lmc.analysis.inputs import Clip, default_out_len
from lmc.config import MIN_MOTION_FRAMES
from lmc.model import Prediction
from lmc.nn.memory import MemoryTrace


def entropy(weights: np.ndarray) -> np.ndarray:
    """(..., S) distributions -> (...) entropy in nats (0 log 0 = 0; NaN rows stay NaN)."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(w > 0, w * np.log(w), 0.0)
    terms = np.where(np.isnan(w), np.nan, terms)
    return -terms.sum(axis=-1)


def normalised_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy divided by log S: 1 for the uniform distribution, 0 for one slot."""
    size = np.shape(weights)[-1]
    if size < 2:
        return np.zeros(np.shape(weights)[:-1])
    return entropy(weights) / np.log(size)


def effective_slots(weights: np.ndarray) -> np.ndarray:
    """exp(entropy): how many slots the blend is worth (S when uniform, 1 for one slot)."""
    return np.exp(entropy(weights))


def centred(weights: np.ndarray) -> np.ndarray:
    """weights - 1/S: above zero a slot gets more than its uniform share, below zero less."""
    w = np.asarray(weights, dtype=np.float64)
    return w - 1.0 / w.shape[-1]


def cell_specific(weights: np.ndarray) -> np.ndarray:
    """(..., cells, S) -> each cell's weights minus their mean over the cells: what differs
    between cells once what every cell shares (a slot most queries resemble, a stripe down the
    addressing) is taken out."""
    w = np.asarray(weights, dtype=np.float64)
    return w - w.mean(axis=-2, keepdims=True)


def slot_ranks(weights: np.ndarray) -> np.ndarray:
    """(..., S) -> (..., S) int rank of every slot, 0 for the largest weight (ties: lower index)."""
    order = np.argsort(-np.asarray(weights), axis=-1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(order.shape[-1]), axis=-1)
    return ranks


@dataclass
class TopSlots:
    """The k most weighted slots: slots (..., k) int, their weights and cosines (..., k)."""

    slots: np.ndarray
    weights: np.ndarray
    cosines: np.ndarray


def top_slots(weights: np.ndarray, cosine: np.ndarray, k: int = 5) -> TopSlots:
    """The k slots with the largest weight per row, largest first (ties: lower slot index)."""
    weights = np.asarray(weights)
    if k < 1:
        raise ValueError(f"k={k}: must be at least 1")
    k = min(k, weights.shape[-1])
    order = np.argsort(-weights, axis=-1, kind="stable")[..., :k]
    return TopSlots(
        slots=order,
        weights=np.take_along_axis(weights, order, axis=-1),
        cosines=np.take_along_axis(np.asarray(cosine), order, axis=-1),
    )


@dataclass
class RecallStats:
    """Per-row (cell) summaries of an addressing: entropy in nats, normalised by log S,
    effective number of slots, the largest weight, and the same minus 1/S; top: the top-k slots."""

    entropy: np.ndarray
    normalised_entropy: np.ndarray
    effective_slots: np.ndarray
    max_weight: np.ndarray
    max_centred: np.ndarray
    top: TopSlots


def recall_stats(weights: np.ndarray, cosine: np.ndarray, k: int = 5) -> RecallStats:
    """All per-cell addressing statistics of weights and cosine (..., S)."""
    weights = np.asarray(weights, dtype=np.float64)
    ent = entropy(weights)
    size = weights.shape[-1]
    return RecallStats(
        entropy=ent,
        normalised_entropy=ent / np.log(size) if size > 1 else np.zeros_like(ent),
        effective_slots=np.exp(ent),
        max_weight=weights.max(axis=-1),
        max_centred=weights.max(axis=-1) - 1.0 / size,
        top=top_slots(weights, cosine, k),
    )


# --------------------------------------------------------------------------------- one clip


@dataclass
class TraceArrays:
    """One clip's recall as numpy: query and readout (cells, D), cosine and weights (cells, S),
    grid (rows, cols), phase (1 long-term, 2 short input), overridden (cells,) bool or None."""

    query: np.ndarray
    cosine: np.ndarray
    weights: np.ndarray
    readout: np.ndarray
    grid: tuple[int, int]
    phase: int
    overridden: np.ndarray | None = None

    @property
    def num_cells(self) -> int:
        return self.query.shape[0]

    @property
    def memory_size(self) -> int:
        return self.weights.shape[-1]


def trace_arrays(trace: MemoryTrace, index: int = 0) -> TraceArrays:
    """Clip `index` of a MemoryTrace as float32 numpy arrays."""

    def numpy(t: torch.Tensor) -> np.ndarray:
        return t[index].detach().float().cpu().numpy()

    return TraceArrays(
        query=numpy(trace.query),
        cosine=numpy(trace.cosine),
        weights=numpy(trace.weights),
        readout=numpy(trace.readout),
        grid=tuple(trace.grid),
        phase=trace.phase,
        overridden=None if trace.overridden is None else trace.overridden.cpu().numpy(),
    )


# The measures of one recall's addressing (cells, S) by name, and whether each diverges around 0
# (a colour scale centred there).
ADDRESSING_MEASURES = {
    "centred": True,  # weight - 1/S
    "cell-specific": True,  # weight - the mean over the cells
    "cosine": True,
    "rank": False,  # 0 = the top slot
    "weight": False,
}


def addressing_measure(arrays: TraceArrays, kind: str) -> tuple[np.ndarray, bool]:
    """(cells, S) float64 values of the measure `kind` (ADDRESSING_MEASURES) of one recall, and
    whether they diverge around 0."""
    if kind not in ADDRESSING_MEASURES:
        raise ValueError(
            f"unknown measure {kind!r}: the measures are {', '.join(ADDRESSING_MEASURES)}"
        )
    values = {
        "centred": centred,
        "cell-specific": cell_specific,
        "cosine": lambda _: np.asarray(arrays.cosine, dtype=np.float64),
        "rank": lambda w: slot_ranks(w).astype(np.float64),
        "weight": lambda w: np.asarray(w, dtype=np.float64),
    }[kind](arrays.weights)
    return values, ADDRESSING_MEASURES[kind]


@dataclass
class RecallView:
    """Everything the recall page draws for one clip.

    short_frames (T, C, H, W) the input; future (F, C, H, W) the true continuation or None;
    prediction (out_len, C, H, W) clamped to [0, 1]; short: the recall from the input (phase 2,
    what inference uses); long: the recall from the long-term window (phase 1), None without a
    known future; long_prediction: the frames predicted through that long-term recall;
    gates (out_len, F) the attention gate over the memory feature per output step (phase 2);
    long_gates the same for the prediction through the long-term recall, None without it.
    """

    short_frames: np.ndarray
    future: np.ndarray | None
    prediction: np.ndarray
    short: TraceArrays
    long: TraceArrays | None
    long_prediction: np.ndarray | None
    gates: np.ndarray
    long_gates: np.ndarray | None = None


@torch.inference_mode()
def _both_recalls(model, short: torch.Tensor, long: torch.Tensor, out_len: int):
    """`model.predict(short, out_len)` and `model.predict(short, out_len, long, phase=1)`, with
    both rollouts in one batch of two: the same numbers (each clip of a batch is computed alone),
    one pass of the predictor instead of two (the Recall page's time on a new clip)."""
    was_training = model.training
    model.eval()
    try:
        model.check_frames(short, "short", MIN_MOTION_FRAMES)
        model.check_frames(long, "long", MIN_MOTION_FRAMES)
        short_trace, short_feature = model.recall(short, phase=2)
        long_trace, long_feature = model.recall(short, long, phase=1)
        frames, gates = model.rollout(
            model.predictor_input(short.expand(2, *short.shape[1:])),
            out_len,
            torch.cat([short_feature, long_feature]),
        )
    finally:
        model.train(was_training)
    short_trace.gates, long_trace.gates = gates[:1], gates[1:]
    return (
        Prediction(frames=frames[:1], memory=short_trace),
        Prediction(frames=frames[1:], memory=long_trace),
    )


def recall_view(model: torch.nn.Module, clip: Clip, out_len: int | None = None) -> RecallView:
    """Run the model on one clip: its input is `clip.short`; out_len defaults to the clip's
    ground truth (`lmc.analysis.inputs.default_out_len`).

    When the clip holds frames after the input, the long-term window is the whole clip (input and
    future, as in training phase 1) and its recall comes back too, provided it is long enough for
    the motion encoder.
    """
    if getattr(model, "memory", None) is None:
        raise ValueError("this model has no memory (built with memory=False): nothing to recall")
    short_len = clip.short_len
    out_len = default_out_len(clip) if out_len is None else int(out_len)
    clip = torch.from_numpy(np.array(clip.frames))
    clip = clip.float().to(next(model.parameters()).device)
    short = clip[None, :short_len]
    long_trace = long_prediction = long_gates = None
    if clip.shape[0] > short_len and clip.shape[0] >= MIN_MOTION_FRAMES:
        pred, long_pred = _both_recalls(model, short, clip[None], out_len)
        long_trace = trace_arrays(long_pred.memory)
        long_prediction = long_pred.frames[0].clamp(0, 1).float().cpu().numpy()
        long_gates = long_pred.memory.gates[0].float().cpu().numpy()
    else:
        pred = model.predict(short, out_len)
    future = clip[short_len:] if clip.shape[0] > short_len else None
    return RecallView(
        short_frames=short[0].cpu().numpy(),
        future=None if future is None else future.cpu().numpy(),
        prediction=pred.frames[0].clamp(0, 1).float().cpu().numpy(),
        short=trace_arrays(pred.memory),
        long=long_trace,
        long_prediction=long_prediction,
        gates=pred.memory.gates[0].float().cpu().numpy(),
        long_gates=long_gates,
    )
