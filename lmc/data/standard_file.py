"""The field's standard Moving-MNIST benchmark file, `mnist_test_seq.npy`, for users who have it.

That file (Srivastava et al., ICML 2015; about 800 MB, not shipped here) holds 10,000 clips of 20
frames as one uint8 array laid out time first, (T, N, 64, 64). It has no metadata, so the motion
of its digits is unknown. Numbers computed on it and on generated clips are not the same
measurement: label them with `source_label`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmc.data.moving_mnist import MovingMNISTClips

STANDARD_SOURCE = "standard Moving-MNIST file"
STANDARD_SHAPE = (20, 10_000, 64, 64)  # (T, N, H, W) of the published file


def source_label(clips: MovingMNISTClips | None = None) -> str:
    """ "generated Moving-MNIST (seed S, split X)" for generated clips, else the standard file's."""
    return STANDARD_SOURCE if clips is None else clips.source


def load_standard_file(path: str | Path) -> np.ndarray:
    """Read a file with the standard layout (T, N, H, W) uint8 and return it as (N, T, H, W).

    The array is memory-mapped read-only and transposed as a view, so nothing is read until
    frames are used: slice the clips you need, then `moving_mnist.frames_to_tensor` them.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no standard Moving-MNIST file at {path}")
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.ndim != 4:
        raise ValueError(
            f"{path}: array of shape {array.shape}, expected 4-D (T, N, H, W) such as "
            f"{STANDARD_SHAPE}"
        )
    if array.dtype != np.uint8:
        raise ValueError(f"{path}: dtype {array.dtype}, expected uint8 frames in 0..255")
    if min(array.shape) < 1:
        raise ValueError(f"{path}: empty array of shape {array.shape}, expected {STANDARD_SHAPE}")
    return array.transpose(1, 0, 2, 3)
