"""Evaluate a model on a set of clips, with the field's metrics and two baselines beside it.

Conventions (Lee et al., CVPR 2021 and the field): predictions are clamped to [0, 1] before the
metrics, never inside the rollout; MSE and MAE are per-frame sums over pixels. Every figure comes
with the copy-last-frame and the all-zero baselines, so it has a floor next to it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from lmc.metrics import copy_last_frame, frame_metrics

METHODS = ("model", "copy_last", "zeros")


@torch.inference_mode()
def evaluate(
    model: torch.nn.Module,
    batches: Iterable[torch.Tensor],
    short_len: int,
    out_len: int,
    *,
    device: str | torch.device = "cpu",
    metrics: tuple[str, ...] = ("mse", "mae", "psnr", "ssim"),
    on_batch=None,
) -> dict[str, dict[str, torch.Tensor]]:
    """Per-frame metric *sums* over clips, for the model and the baselines.

    batches: clips (B, >= short_len + out_len, C, H, W) in [0, 1]. Returns
    {method: {metric: (out_len,) float64 sum over clips}} plus {"count": {"clips": tensor}} so that
    sums from several processes can be added before dividing.
    """
    was_training = model.training
    model.eval()
    sums: dict[str, dict[str, torch.Tensor]] = {
        m: {k: torch.zeros(out_len, dtype=torch.float64) for k in metrics} for m in METHODS
    }
    count = torch.zeros((), dtype=torch.float64)
    try:
        for clip in batches:
            clip = clip.to(device, non_blocking=True)
            short = clip[:, :short_len]
            target = clip[:, short_len : short_len + out_len]
            preds = {
                "model": model(short, out_len=out_len).frames.float(),
                "copy_last": copy_last_frame(short, out_len),
                "zeros": torch.zeros_like(target),
            }
            for method, pred in preds.items():
                values = frame_metrics(pred, target, clamp=True, metrics=metrics)
                for name in metrics:
                    sums[method][name] += values[name].double().sum(0).cpu()
            count += clip.shape[0]
            if on_batch is not None:
                on_batch(clip.shape[0])
    finally:
        model.train(was_training)
    sums["count"] = {"clips": count}
    return sums


def finalize(sums: dict[str, dict[str, torch.Tensor]]) -> dict[str, dict[str, object]]:
    """Sums -> {method: {metric: {"per_frame": [...], "mean": float}}}, JSON-ready."""
    n = float(sums["count"]["clips"])
    if n == 0:
        raise ValueError("no clip was evaluated")
    out: dict[str, dict[str, object]] = {}
    for method in METHODS:
        out[method] = {}
        for name, total in sums[method].items():
            per_frame = (total / n).tolist()
            out[method][name] = {"per_frame": per_frame, "mean": sum(per_frame) / len(per_frame)}
    out["clips"] = int(n)
    return out


def batched(clips: torch.Tensor, batch_size: int) -> Iterable[torch.Tensor]:
    for start in range(0, clips.shape[0], batch_size):
        yield clips[start : start + batch_size]
