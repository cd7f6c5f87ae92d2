"""Pictures of clips and rollouts as uint8 arrays (and PNG files), shared by the CLI and dashboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def to_uint8(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """Frames (..., C, H, W) floats (clamped to [0, 1]) -> uint8 (..., H, W, C)."""
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().float().cpu().numpy()
    frames = np.clip(frames, 0.0, 1.0)
    return np.round(np.moveaxis(frames, -3, -1) * 255).astype(np.uint8)


def frame_row(frames: np.ndarray, gap: int = 2, fill: int = 255) -> np.ndarray:
    """uint8 (T, H, W, C) -> one image (H, T*W + (T-1)*gap, C) with light gaps between frames."""
    t, h, w, c = frames.shape
    row = np.full((h, t * w + (t - 1) * gap, c), fill, dtype=np.uint8)
    for i in range(t):
        row[:, i * (w + gap) : i * (w + gap) + w] = frames[i]
    return row


def rollout_strip(
    short: torch.Tensor, target: torch.Tensor | None, pred: torch.Tensor, gap: int = 2
) -> np.ndarray:
    """One clip's input, ground truth and prediction (each (T, C, H, W)) stacked as rows:
    input | ground truth | prediction, the future rows aligned under each other."""
    rows = [frame_row(to_uint8(short), gap)]
    if target is not None:
        rows.append(frame_row(to_uint8(target), gap))
    rows.append(frame_row(to_uint8(pred), gap))
    width = max(r.shape[1] for r in rows)
    padded = [
        np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows
    ]
    return np.concatenate(padded, axis=0)


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """uint8 (H, W, C) with C 1 or 3 -> PNG, written atomically."""
    from PIL import Image

    from lmc.io import atomic_write

    image = image[..., 0] if image.shape[-1] == 1 else image
    return atomic_write(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))
