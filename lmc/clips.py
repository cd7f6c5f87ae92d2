"""The clip contract: what every part of the project accepts as frames, checked in one place.

Frames are floats in [0, 1], laid out (B, T, C, H, W) for the model and (T, C, H, W) for one
clip of the analysis and the dashboard. The model takes C = its `image_channels` (1 or 3), sides
that are multiples of SIDE_MULTIPLE (two stride-2 convolutions in the frame encoder and four
poolings in the motion encoder: the memory's query grid is H/16 x W/16), and, wherever the motion
encoder reads the frames, at least MIN_MOTION_FRAMES of them (it halves time three times; Lee et
al., CVPR 2021, sec. 3.2). The model, `lmc.analysis` and the dashboard all call `check_frames`,
so a clip is refused with the same message wherever it comes in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lmc.config import MIN_MOTION_FRAMES, SIDE_MULTIPLE
from lmc.errors import InputError

LAYOUTS = {5: "(B, T, C, H, W)", 4: "(T, C, H, W)"}


def query_grid(height: int, width: int) -> tuple[int, int]:
    """The memory's query grid (rows, cols) over frames of height x width: one cell per 16x16."""
    return height // SIDE_MULTIPLE, width // SIDE_MULTIPLE


def _is_floating(frames: Any) -> bool:
    if isinstance(frames, np.ndarray):
        return bool(np.issubdtype(frames.dtype, np.floating))
    return bool(frames.is_floating_point())


def check_frames(
    frames: Any,
    *,
    channels: int,
    min_frames: int = 1,
    name: str = "the clip",
    batched: bool = True,
) -> None:
    """Raise InputError naming the value and the limit unless `frames` (a torch tensor or a numpy
    array, (B, T, C, H, W) if batched else (T, C, H, W)) is a clip a model with `channels`
    channels can take with `min_frames` frames or more."""
    dims = 5 if batched else 4
    if not isinstance(frames, np.ndarray) and not hasattr(frames, "is_floating_point"):
        raise InputError(
            f"{name} must be a torch.Tensor or numpy array of shape {LAYOUTS[dims]}, got "
            f"{type(frames).__name__}"
        )
    shape = tuple(frames.shape)
    if len(shape) != dims:
        raise InputError(
            f"{name} has shape {shape} ({len(shape)} dims); expected {dims} dims {LAYOUTS[dims]}"
        )
    if not _is_floating(frames):
        raise InputError(
            f"{name} has dtype {frames.dtype}; expected a floating dtype with values in [0, 1]"
        )
    t, c, h, w = shape[-4:]
    if t < min_frames:
        why = (
            " (its 3D motion encoder halves time three times)"
            if min_frames == MIN_MOTION_FRAMES
            else ""
        )
        raise InputError(
            f"{name} gives the model {t} input frames; it needs at least {min_frames}{why}"
        )
    if c != channels:
        kind = {1: "grayscale", 3: "RGB"}.get(channels, f"{channels}-channel")
        raise InputError(
            f"{name} has {c} channel{'s' if c != 1 else ''}; this model expects {channels} ({kind})"
        )
    if h < SIDE_MULTIPLE or w < SIDE_MULTIPLE or h % SIDE_MULTIPLE or w % SIDE_MULTIPLE:
        raise InputError(
            f"{name} has frames of {h}x{w} pixels; each side must be a positive multiple of "
            f"{SIDE_MULTIPLE} (e.g. 64x64): resize it"
        )
