"""One rollout of a model on one clip, its per-frame scores, and the predictions of other methods.

A rollout feeds `clip.short` to `model.predict` and clamps the frames to [0, 1], the evaluation
convention of the field (never inside the model). Scores are those of `lmc.metrics` per output
frame (MSE and MAE are per-frame sums over pixels), always beside the two floors of the field:
copy the last input frame, or predict all-zero (black) frames. Either can be the harder one
(all-zero frames beat copy-last on fast Moving-MNIST digits), so a model is compared with the
better of the two on each score.
Other methods come in the layout most video-prediction code bases save (OpenSTL and others):
`inputs.npy`, `trues.npy` and `preds.npy`, each (N, T, C, H, W) floats in [0, 1].
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lmc.analysis.inputs import Clip, InputError, default_out_len
from lmc.analysis.uploads import array_to_clip_frames
from lmc.metrics import frame_metrics

SCORES = ("mse", "mae", "psnr", "ssim")
HIGHER_IS_BETTER = {"mse": False, "mae": False, "psnr": True, "ssim": True}
METHOD_FILES = ("inputs.npy", "trues.npy", "preds.npy")


@dataclass(frozen=True)
class Rollout:
    """inputs (T_in, C, H, W) what the model saw; target (T_gt, C, H, W) the ground truth of the
    first T_gt <= out_len predicted frames, None when the clip has no future; pred (out_len, C, H,
    W) clamped to [0, 1]; gate (out_len,) the mean attention-fusion gate on the recalled memory
    feature at each output step (None without memory); seconds the wall time of the model call."""

    inputs: np.ndarray
    target: np.ndarray | None
    pred: np.ndarray
    gate: np.ndarray | None
    seconds: float

    @property
    def out_len(self) -> int:
        return self.pred.shape[0]


def run_rollout(model: torch.nn.Module, clip: Clip, out_len: int | None = None) -> Rollout:
    """Predict `out_len` frames (default `default_out_len`) after `clip.short`."""
    out_len = default_out_len(clip) if out_len is None else int(out_len)
    if out_len < 1:
        raise InputError(f"out_len={out_len}: must be at least 1")
    device = next(model.parameters()).device
    short = torch.from_numpy(np.array(clip.short))[None].to(device)
    start = time.perf_counter()
    prediction = model.predict(short, out_len)
    seconds = time.perf_counter() - start
    pred = prediction.frames[0].float().clamp(0.0, 1.0).cpu().numpy()
    gate = None
    if prediction.memory is not None and prediction.memory.gates is not None:
        gate = prediction.memory.gates[0].float().mean(-1).cpu().numpy()
    future = clip.future[:out_len]
    return Rollout(
        inputs=np.array(clip.short),
        target=np.array(future) if len(future) else None,
        pred=pred,
        gate=gate,
        seconds=seconds,
    )


# ------------------------------------------------------------------------------------ scores
def frame_scores(
    pred: np.ndarray, target: np.ndarray, metrics: tuple[str, ...] = SCORES
) -> dict[str, np.ndarray]:
    """pred, target (T, C, H, W) -> {metric: (T',) float64} over the first T' = min(len) frames.

    Predictions are clamped to [0, 1] first (lmc.metrics' convention).
    """
    n = min(len(pred), len(target))
    if n == 0:
        raise InputError("no frame to score: the prediction or the ground truth is empty")
    p = torch.from_numpy(np.ascontiguousarray(pred[:n], dtype=np.float32))[None]
    t = torch.from_numpy(np.ascontiguousarray(target[:n], dtype=np.float32))[None]
    values = frame_metrics(p, t, clamp=True, metrics=metrics)
    return {name: v[0].numpy() for name, v in values.items()}


def copy_last(inputs: np.ndarray, out_len: int) -> np.ndarray:
    """(T_in, C, H, W) -> (out_len, C, H, W): the last input frame repeated, the field's floor."""
    return np.repeat(inputs[-1:], out_len, axis=0)


def zero_frames(target: np.ndarray) -> np.ndarray:
    """All-zero frames of the target's shape, float32: the black-frame floor."""
    return np.zeros(np.shape(target), dtype=np.float32)


@dataclass(frozen=True)
class Versus:
    """A method's mean `metric` beside the better baseline on that metric (the named one)."""

    metric: str
    value: float
    baseline: str
    baseline_value: float

    @property
    def delta(self) -> float:
        """value - baseline_value: below zero is better for MSE/MAE, above zero for PSNR/SSIM."""
        return self.value - self.baseline_value

    @property
    def beats(self) -> bool:
        """Whether the method is strictly better than the better baseline."""
        if HIGHER_IS_BETTER[self.metric]:
            return self.value > self.baseline_value
        return self.value < self.baseline_value


def versus_better_baseline(
    named: dict[str, dict[str, np.ndarray]], method: str, baselines: Sequence[str], metric: str
) -> Versus:
    """`method`'s mean `metric` against the best mean of the `baselines` (names in `named`)."""
    missing = [b for b in (method, *baselines) if b not in named]
    if missing or not baselines:
        raise ValueError(f"no scores for {missing or 'any baseline'}; scored: {list(named)}")
    means = {b: float(np.mean(named[b][metric])) for b in baselines}
    best = best_method({b: named[b] for b in baselines}, metric)
    return Versus(metric, float(np.mean(named[method][metric])), best, means[best])


def error_maps(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(T, C, H, W) x 2 -> (T', H, W) absolute error of the clamped prediction, mean over C."""
    n = min(len(pred), len(target))
    return np.abs(np.clip(pred[:n], 0.0, 1.0) - target[:n]).mean(axis=1)


def mean_scores(scores: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(np.mean(values)) for name, values in scores.items()}


def score_table(named: dict[str, dict[str, np.ndarray]]) -> list[dict[str, object]]:
    """{method: {metric: (T,)}} -> one row per method: its name, frames and mean of each metric."""
    rows = []
    for name, scores in named.items():
        row: dict[str, object] = {"method": name}
        row["frames"] = len(next(iter(scores.values())))
        row.update(mean_scores(scores))
        rows.append(row)
    return rows


def best_method(named: dict[str, dict[str, np.ndarray]], metric: str) -> str:
    """The method with the best mean `metric` (lowest MSE/MAE, highest PSNR/SSIM)."""
    means = {name: float(np.mean(s[metric])) for name, s in named.items()}
    pick = max if HIGHER_IS_BETTER[metric] else min
    return pick(means, key=means.get)


# ---------------------------------------------------------------------------- other methods
@dataclass(frozen=True)
class MethodResults:
    """A method's saved test results: inputs (N, T_in, C, H, W), trues and preds (N, T_out, C, H,
    W), floats in [0, 1] or uint8; the arrays may be memory maps (nothing is read until a clip is
    picked)."""

    name: str
    inputs: np.ndarray
    trues: np.ndarray
    preds: np.ndarray

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def _clip_arrays(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not 0 <= index < len(self):
            raise InputError(f"clip {index}: {self.name} has clips 0 .. {len(self) - 1}")
        return tuple(
            array_to_clip_frames(np.asarray(a[index]), f"{self.name} {what}[{index}]")
            for a, what in ((self.inputs, "inputs"), (self.trues, "trues"), (self.preds, "preds"))
        )

    def clip(self, index: int) -> Clip:
        """inputs[index] followed by trues[index], split where the inputs end."""
        inputs, trues, _ = self._clip_arrays(index)
        return Clip(
            np.concatenate([inputs, trues]),
            short_len=inputs.shape[0],
            source=f"{self.name} results, clip {index}",
        )

    def prediction(self, index: int) -> np.ndarray:
        """preds[index] as (T_out, C, H, W) float32 in [0, 1]."""
        return self._clip_arrays(index)[2]

    def matches(self, clip: Clip, index: int, atol: float = 1.5 / 255) -> bool:
        """Whether `clip` is this method's clip `index` (same input and ground truth, to within
        8-bit rounding), so that its prediction can be shown beside the model's."""
        inputs, trues, _ = self._clip_arrays(index)
        if clip.short.shape != inputs.shape or clip.future.shape[1:] != trues.shape[1:]:
            return False
        n = min(len(clip.future), len(trues))
        return bool(
            np.allclose(clip.short, inputs, atol=atol, rtol=0)
            and np.allclose(clip.future[:n], trues[:n], atol=atol, rtol=0)
        )


def _as_clips(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim == 4:  # (N, T, H, W): grayscale saved without its channel axis
        array = array[:, :, None]
    if array.ndim != 5:
        raise InputError(f"{what} has shape {array.shape}; expected (N, T, C, H, W)")
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"{what} has dtype {array.dtype}; expected floats in [0, 1] or uint8")
    return array


def method_results(
    inputs: np.ndarray, trues: np.ndarray, preds: np.ndarray, name: str = "other method"
) -> MethodResults:
    """Check the three arrays against each other and wrap them; errors name the shapes."""
    inputs = _as_clips(inputs, "inputs.npy")
    trues = _as_clips(trues, "trues.npy")
    preds = _as_clips(preds, "preds.npy")
    if preds.shape != trues.shape:
        raise InputError(
            f"preds.npy {preds.shape} and trues.npy {trues.shape} must have the same shape"
        )
    if inputs.shape[0] != trues.shape[0]:
        raise InputError(
            f"inputs.npy has {inputs.shape[0]} clips and trues.npy {trues.shape[0]}; they must match"
        )
    if inputs.shape[2:] != trues.shape[2:]:
        raise InputError(
            f"inputs.npy frames {inputs.shape[2:]} and trues.npy frames {trues.shape[2:]} "
            "(C, H, W) must match"
        )
    return MethodResults(name=name, inputs=inputs, trues=trues, preds=preds)


def load_method_dir(folder: str | Path, name: str | None = None) -> MethodResults:
    """inputs.npy, trues.npy and preds.npy from `folder`, memory-mapped, never unpickled."""
    folder = Path(folder)
    missing = [f for f in METHOD_FILES if not (folder / f).is_file()]
    if missing:
        raise InputError(f"{folder} lacks {', '.join(missing)}; expected {', '.join(METHOD_FILES)}")
    arrays = []
    for filename in METHOD_FILES:
        try:
            arrays.append(np.load(folder / filename, mmap_mode="r", allow_pickle=False))
        except (ValueError, OSError, EOFError) as err:
            raise InputError(f"{folder / filename} is not a readable numeric .npy: {err}") from None
    return method_results(*arrays, name=name or folder.name)
