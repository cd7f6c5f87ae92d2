"""Does the model follow its memory? Replace what it recalls and watch the prediction change.

LMC-Memory (Lee et al., CVPR 2021) feeds the recalled motion context to the predictor through an
attention gate. Forcing the recall of one slot (a one-hot addressing) or transplanting another
clip's recall, in one cell or over the whole grid, and comparing the predictions frame by frame
tells how much the output depends on what the memory returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lmc.analysis.inputs import Clip
from lmc.analysis.recall import TraceArrays, trace_arrays
from lmc.nn.memory import MemoryOverride


def frame_difference(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two predictions (T, ...) -> per frame (T,) mean absolute difference and mean squared error,
    both averaged over pixels, after clamping to [0, 1]."""
    a = np.clip(np.asarray(a, dtype=np.float64), 0.0, 1.0)
    b = np.clip(np.asarray(b, dtype=np.float64), 0.0, 1.0)
    if a.shape != b.shape:
        raise ValueError(f"predictions of shapes {a.shape} and {b.shape} cannot be compared")
    diff = (a - b).reshape(a.shape[0], -1)
    return np.abs(diff).mean(axis=1), (diff**2).mean(axis=1)


def cell_mask(cells: Sequence[int] | None, num_cells: int) -> torch.Tensor | None:
    """Cell indices -> bool mask (num_cells,), None (the whole grid) for None."""
    if cells is None:
        return None
    cells = [int(c) for c in cells]
    bad = [c for c in cells if not 0 <= c < num_cells]
    if bad:
        raise ValueError(f"cells {bad} out of range: the grid has cells 0 .. {num_cells - 1}")
    mask = torch.zeros(num_cells, dtype=torch.bool)
    mask[cells] = True
    return mask


def slot_override(
    slot: int,
    num_cells: int,
    memory_size: int,
    cells: Sequence[int] | None = None,
    weight: float = 1.0,
) -> MemoryOverride:
    """Recall slot `slot` with addressing weight `weight`, the rest shared evenly by the other
    slots, in `cells` (the whole grid if None).

    weight 1 recalls the slot alone (readout = M_slot), a vector far from any blend the softmax
    produces; `lmc.analysis.projection.max_weight(S)` is the most the softmax can give one slot,
    an intervention the model could have met in training.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight={weight}: must be in [0, 1]")
    if weight == 1.0 or memory_size == 1:
        return MemoryOverride.slot(slot, num_cells, memory_size, cells=cells)
    if not 0 <= slot < memory_size:
        raise ValueError(f"slot={slot}: must be in 0 .. {memory_size - 1}")
    weights = torch.full((1, num_cells, memory_size), (1.0 - weight) / (memory_size - 1))
    weights[..., slot] = weight
    return MemoryOverride(weights=weights, cells=cell_mask(cells, num_cells))


def transplant_override(
    donor: TraceArrays, cells: Sequence[int] | None = None, what: str = "weights"
) -> MemoryOverride:
    """Recall what another clip recalled: its addressing `weights` or its `readout`, cell by cell."""
    mask = cell_mask(cells, donor.num_cells)
    if what == "weights":
        return MemoryOverride(weights=torch.from_numpy(donor.weights[None]).float(), cells=mask)
    if what == "readout":
        return MemoryOverride(readout=torch.from_numpy(donor.readout[None]).float(), cells=mask)
    raise ValueError(f"what={what!r}: must be 'weights' or 'readout'")


@dataclass
class Intervention:
    """original and intervened predictions (out_len, C, H, W) clamped to [0, 1]; mae and mse per
    frame (out_len,) between them; original and intervened recalls (the intervened one holds the
    weights/readout actually used; NaN weights where a readout was injected)."""

    original: np.ndarray
    intervened: np.ndarray
    mae: np.ndarray
    mse: np.ndarray
    original_recall: TraceArrays
    intervened_recall: TraceArrays


@dataclass(frozen=True)
class Prediction:
    """The model's own prediction of a clip (out_len, C, H, W) clamped to [0, 1] and its recall:
    the side of every intervention on that clip that does not change."""

    frames: np.ndarray
    recall: TraceArrays


def _short_batch(model: torch.nn.Module, clip: Clip) -> torch.Tensor:
    short = torch.from_numpy(np.array(clip.short))
    return short[None].float().to(next(model.parameters()).device)


def own_prediction(model: torch.nn.Module, clip: Clip, out_len: int) -> Prediction:
    """Predict from `clip.short` with the model's own recall (phase 2, inference)."""
    out = model.predict(_short_batch(model, clip), out_len)
    return Prediction(out.frames[0].clamp(0, 1).float().cpu().numpy(), trace_arrays(out.memory))


def intervene(
    model: torch.nn.Module,
    clip: Clip,
    out_len: int,
    override: MemoryOverride,
    original: Prediction | None = None,
) -> Intervention:
    """Predict from `clip.short` with and without `override` (phase 2, inference). `original`:
    `own_prediction(model, clip, out_len)` when the caller keeps it (a page that tries one
    override after another runs the model once a try, not twice)."""
    if getattr(model, "memory", None) is None:
        raise ValueError("this model has no memory (built with memory=False): nothing to override")
    if original is None:
        original = own_prediction(model, clip, out_len)
    changed = model.predict(_short_batch(model, clip), out_len, memory_override=override)
    intervened = changed.frames[0].clamp(0, 1).float().cpu().numpy()
    if intervened.shape != original.frames.shape:
        raise ValueError(
            f"the original prediction has shape {original.frames.shape}, this one "
            f"{intervened.shape}: both must predict {out_len} frames of the same clip"
        )
    mae, mse = frame_difference(original.frames, intervened)
    return Intervention(
        original=original.frames,
        intervened=intervened,
        mae=mae,
        mse=mse,
        original_recall=original.recall,
        intervened_recall=trace_arrays(changed.memory),
    )
