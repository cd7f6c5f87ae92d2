"""The metrics of the video-prediction field, batched in torch over (B, T, C, H, W) frames.

    from lmc.metrics import frame_metrics, summarize, copy_last_frame
    per_frame = frame_metrics(pred, target)  # {"mse": (B, T), "mae": ..., "psnr": ..., "ssim": ...}
    report = summarize(per_frame)  # {"mse": {"per_frame": [T floats], "mean": float}, ...}

Conventions (Lee et al., CVPR 2021, and the field; docs: reference/lmc-memory.md, section 4):
inputs are floats in [0, 1]; predictions are clamped to [0, 1] before the metrics, never inside
the rollout. The metric functions themselves do not clamp, so that they measure exactly what they
are given; `frame_metrics(..., clamp=True)` (the default) applies the convention once. MSE and MAE
are per-frame *sums* over the C x H x W pixels; PSNR uses data range 1 and is capped at 100 dB;
SSIM matches scikit-image's `structural_similarity(win_size=7, data_range=1.0)`. Every function
returns float64 values of shape (B, T).
"""

from lmc.metrics.baselines import copy_last_frame, zero_frames_like
from lmc.metrics.perceptual import MetricUnavailable, lpips, lpips_available
from lmc.metrics.pixel import PSNR_CAP_DB, check_frames, clamp01, mae, map_frame_chunks, mse, psnr
from lmc.metrics.report import METRICS, frame_metrics, summarize
from lmc.metrics.structural import ssim

__all__ = [
    "METRICS",
    "PSNR_CAP_DB",
    "MetricUnavailable",
    "check_frames",
    "clamp01",
    "copy_last_frame",
    "frame_metrics",
    "lpips",
    "lpips_available",
    "mae",
    "map_frame_chunks",
    "mse",
    "psnr",
    "ssim",
    "summarize",
    "zero_frames_like",
]
