"""Pixel metrics (MSE, MAE, PSNR) per frame, and the input checks and chunking all metrics share.

MSE and MAE follow the Moving-MNIST convention of the field: the per-frame *sum* over the
C x H x W pixels, in [0, 1] units (a 64 x 64 frame with ten pixels off by 0.5 has MSE 2.5). The
sums accumulate in float64 so that large frames lose no precision; the result is float64 (B, T).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

# A perfect frame has infinite PSNR, which would turn every average it enters into inf. 100 dB is
# an RMS error of 1e-5, far below one 8-bit grey level (~4e-3), so no real error is capped.
PSNR_CAP_DB = 100.0
_FRAME_DIMS = (2, 3, 4)

# On the CPU the metrics work through the frames in chunks of about 2**18 pixels (1 MiB of float32
# per map). Whole-batch temporaries of tens of MiB are fresh memory from the OS on every call, and
# their page faults cost more than the arithmetic: the MSE of 320 frames of 128 x 128 took ~17,000
# page faults and 29-67 ms in one piece, none and 3-7 ms in chunks (SSIM: 96 ms and 26 ms).
# Accelerators take the batch in one piece (up to 2**26 pixels per chunk).
CPU_CHUNK_PIXELS = 2**18
DEVICE_CHUNK_PIXELS = 2**26


def check_frames(pred: torch.Tensor, target: torch.Tensor) -> None:
    """Raise ValueError unless pred and target are floating (B, T, C, H, W) tensors of one shape
    on one device; the message names the shapes, dtypes or devices found."""
    for name, x in (("pred", pred), ("target", target)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
        if x.dim() != 5:
            raise ValueError(
                f"metrics take (B, T, C, H, W) frames; {name} has shape {tuple(x.shape)} "
                f"({x.dim()}-D). Add the missing axes, e.g. x[None] for one clip or "
                "x[:, :, None] for grayscale (B, T, H, W)"
            )
        if not x.is_floating_point():
            raise ValueError(
                f"metrics take floating frames in [0, 1]; {name} has dtype {x.dtype}. "
                "Convert 8-bit frames with x.float() / 255"
            )
    if pred.shape != target.shape:
        raise ValueError(
            f"pred and target shapes differ: pred {tuple(pred.shape)} vs "
            f"target {tuple(target.shape)}; both must be (B, T, C, H, W)"
        )
    if pred.device != target.device:
        raise ValueError(f"pred is on {pred.device} but target on {target.device}")


def map_frame_chunks(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    pred: torch.Tensor,
    target: torch.Tensor,
    pixels: int | None = None,
) -> torch.Tensor:
    """Apply fn, which maps (b, t, C, H, W) pairs to (b, t), to chunks of about `pixels` pixels
    (by default CPU_CHUNK_PIXELS on the CPU, DEVICE_CHUNK_PIXELS elsewhere) and join the results
    into (B, T). Chunks are whole clips when a clip fits, otherwise runs of frames of one clip; they
    are views, so no input is copied."""
    if pixels is None:
        pixels = CPU_CHUNK_PIXELS if pred.device.type == "cpu" else DEVICE_CHUNK_PIXELS
    frame = math.prod(pred.shape[2:])
    clip = max(1, pred.shape[1] * frame)
    if clip <= pixels:
        step = pixels // clip
        parts = [fn(p, q) for p, q in zip(pred.split(step), target.split(step), strict=True)]
        return torch.cat(parts)
    step = max(1, pixels // frame)
    rows = []
    for p_clip, q_clip in zip(pred.split(1), target.split(1), strict=True):
        runs = zip(p_clip.split(step, dim=1), q_clip.split(step, dim=1), strict=True)
        rows.append(torch.cat([fn(p, q) for p, q in runs], dim=1))
    return torch.cat(rows) if rows else fn(pred, target)


def _squared_error_sums(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).square().sum(_FRAME_DIMS, dtype=torch.float64)


def _absolute_error_sums(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).abs().sum(_FRAME_DIMS, dtype=torch.float64)


def clamp01(x: torch.Tensor) -> torch.Tensor:
    """Clamp predictions to [0, 1], the range of the data; a new tensor, the input is unchanged."""
    return x.clamp(0.0, 1.0)


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) x 2 -> (B, T) float64: per-frame sum of squared errors over C x H x W."""
    check_frames(pred, target)
    return map_frame_chunks(_squared_error_sums, pred, target)


def mae(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) x 2 -> (B, T) float64: per-frame sum of absolute errors over C x H x W."""
    check_frames(pred, target)
    return map_frame_chunks(_absolute_error_sums, pred, target)


def psnr(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T, C, H, W) x 2 -> (B, T) float64: 10 log10(1 / mean squared error) per frame.

    Data range 1, as scikit-image's `peak_signal_noise_ratio(data_range=1)`; a frame equal to its
    target (or within an RMS error of 1e-5) gets PSNR_CAP_DB = 100 instead of inf.
    """
    check_frames(pred, target)
    mean_sq = mse(pred, target) / math.prod(pred.shape[2:])
    floor = 10.0 ** (-PSNR_CAP_DB / 10.0)
    return -10.0 * torch.log10(mean_sq.clamp_min(floor))
