"""The two floors every figure is reported beside: repeat the last input frame, or predict zeros."""

from __future__ import annotations

import torch


def copy_last_frame(short: torch.Tensor, out_len: int) -> torch.Tensor:
    """(B, T_in, C, H, W) inputs -> (B, out_len, C, H, W): the last input frame, repeated."""
    if short.dim() != 5 or short.shape[1] < 1:
        raise ValueError(
            f"copy_last_frame takes (B, T_in, C, H, W) inputs with T_in >= 1; "
            f"got shape {tuple(short.shape)}"
        )
    if out_len < 1:
        raise ValueError(f"out_len must be at least 1; got {out_len}")
    return short[:, -1:].repeat(1, out_len, 1, 1, 1)


def zero_frames_like(target: torch.Tensor) -> torch.Tensor:
    """All-zero frames of the target's shape, dtype and device (the black-frame baseline)."""
    return torch.zeros_like(target)
