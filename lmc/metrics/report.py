"""All metrics of a batch in one call, and their JSON-ready summary over clips."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from lmc.metrics.perceptual import lpips
from lmc.metrics.pixel import check_frames, clamp01, mae, mse, psnr
from lmc.metrics.structural import ssim

METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "mse": mse,
    "mae": mae,
    "psnr": psnr,
    "ssim": ssim,
    "lpips": lpips,
}


def frame_metrics(
    pred: torch.Tensor,
    target: torch.Tensor,
    *,
    clamp: bool = True,
    metrics: Iterable[str] = ("mse", "mae", "psnr", "ssim"),
) -> dict[str, torch.Tensor]:
    """(B, T, C, H, W) x 2 -> {name: (B, T) float64} for each requested metric.

    clamp: clamp the predictions to [0, 1] first, the evaluation convention of the field (the
    rollout itself never clamps). Targets are data and are left as they are. Valid names: the
    keys of METRICS; "lpips" raises MetricUnavailable where its weights are missing.
    """
    names = list(metrics)
    unknown = [name for name in names if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; valid metrics: {', '.join(METRICS)}")
    check_frames(pred, target)
    if clamp:
        pred = clamp01(pred)
    return {name: METRICS[name](pred, target) for name in names}


def summarize(per_frame: dict[str, torch.Tensor]) -> dict[str, dict[str, object]]:
    """{name: (N clips, T) values} -> {name: {"per_frame": [T floats], "mean": float}}.

    per_frame holds the mean over clips of each output frame; mean is the mean over all clips and
    frames. Plain Python numbers, ready for JSON. Concatenate the batches along dim 0 first.
    """
    out: dict[str, dict[str, object]] = {}
    for name, values in per_frame.items():
        if values.dim() != 2 or values.numel() == 0:
            raise ValueError(
                f"summarize takes non-empty (clips, frames) tensors; {name!r} has shape "
                f"{tuple(values.shape)}"
            )
        values = values.detach().double()
        out[name] = {"per_frame": values.mean(0).tolist(), "mean": values.mean().item()}
    return out
