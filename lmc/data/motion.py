"""The true motion of generated Moving-MNIST clips, per cell of the memory's query grid.

LMC-Memory (Lee et al., CVPR 2021, sec. 3.2) addresses its motion memory with one query per cell
of an H/16 x W/16 grid, each cell seeing a 16x16 patch of the frame. To ask whether a memory slot
stands for a motion, we need the motion each cell actually saw: the mean velocity of the digits
whose 28x28 box overlaps the cell's patch, weighted by the overlap area.

Angles follow the screen, not the array: `direction = atan2(-dy, dx)`, so 0 is rightwards, pi/2
upwards, +-pi leftwards and -pi/2 downwards (image rows, y, grow downwards). Speeds are in
pixels/frame. Velocities are those of `MovingMNISTClips.velocities`: (dy, dx) per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lmc.data.mnist_digits import DIGIT_SIZE

FrameSelection = slice | Sequence[int] | np.ndarray | None


@dataclass
class CellMotion:
    """The motion seen by each cell, cells in row-major order (cell = row * grid[1] + col).

    velocity: (N, cells, 2) mean (dy, dx) in pixels/frame over the selected frames and digits,
        weighted by the area of each digit box inside the cell; NaN where no box ever overlaps.
    direction: (N, cells) radians in (-pi, pi], atan2(-dy, dx) of `velocity`; NaN where empty.
    speed: (N, cells) pixels/frame, the norm of `velocity` (the net motion: two digits crossing
        a cell in opposite directions cancel); NaN where empty.
    occupancy: (N, cells) in [0, 1], fraction of the selected frames in which at least one digit
        box overlaps the cell; 0 exactly where the other fields are NaN.
    coverage: (N, cells) >= 0, mean area of digit boxes inside the cell per frame, in units of
        the cell's area and summed over digits (so up to the number of digits).
    grid: (rows, cols) of the query grid.
    """

    velocity: np.ndarray
    direction: np.ndarray
    speed: np.ndarray
    occupancy: np.ndarray
    coverage: np.ndarray
    grid: tuple[int, int]


@dataclass
class ClipMotion:
    """The mean motion of each digit over the selected frames of its clip.

    velocity: (N, D, 2) mean (dy, dx) in pixels/frame; direction: (N, D) radians, atan2(-dy, dx);
    speed: (N, D) pixels/frame, the norm of `velocity` (a bounce shortens it: it is net motion).
    """

    velocity: np.ndarray
    direction: np.ndarray
    speed: np.ndarray


def screen_direction(velocity: np.ndarray) -> np.ndarray:
    """(..., 2) (dy, dx) -> (...) radians, 0 = rightwards, pi/2 = upwards on screen."""
    # 0.0 - dy, not -dy: a still vertical component must be +0.0, else leftwards comes out as -pi.
    return np.arctan2(0.0 - velocity[..., 0], velocity[..., 1])


def _select(array: np.ndarray, name: str, frames: FrameSelection) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim != 4 or array.shape[-1] != 2:
        raise ValueError(f"{name} has shape {array.shape}, expected (N, T, D, 2)")
    if frames is not None:
        array = array[:, frames]
    if array.shape[1] == 0:
        raise ValueError(f"frames={frames!r} selects no frame of {name} with shape {array.shape}")
    return array


def _overlap(start: np.ndarray, size: int, cell: int, cells: int) -> np.ndarray:
    """Length of [start, start + size) inside each of `cells` intervals of length `cell`.

    start: (...) -> (..., cells).
    """
    cell_start = np.arange(cells) * cell
    low = np.maximum(start[..., None], cell_start)
    high = np.minimum(start[..., None] + size, cell_start + cell)
    return np.clip(high - low, 0, None)


def cell_motion(
    positions: np.ndarray,
    velocities: np.ndarray,
    image_size: int = 64,
    grid: tuple[int, int] = (4, 4),
    digit_size: int = DIGIT_SIZE,
    frames: FrameSelection = None,
) -> CellMotion:
    """The true motion in each cell of a `grid` over an `image_size` square canvas.

    positions: (N, T, D, 2) top-left (y, x) of each digit box, best the pasted ones
    (`MovingMNISTClips.positions`); velocities: (N, T, D, 2) (dy, dx). `frames` selects time
    steps (e.g. `slice(0, 10)` for a 10-frame context); default all. Each cell covers
    image_size / rows x image_size / cols pixels, 16x16 for the model's grid.
    """
    rows, cols = grid
    if rows < 1 or cols < 1 or image_size % rows or image_size % cols:
        raise ValueError(
            f"grid={grid}: rows and cols must be >= 1 and divide image_size={image_size}"
        )
    positions = _select(positions, "positions", frames)
    velocities = _select(velocities, "velocities", frames)
    if positions.shape != velocities.shape:
        raise ValueError(
            f"positions {positions.shape} and velocities {velocities.shape} must match"
        )
    num_clips, num_frames, num_digits = positions.shape[:3]
    cell_h, cell_w = image_size // rows, image_size // cols
    overlap_y = _overlap(positions[..., 0], digit_size, cell_h, rows)  # (N, T, D, rows)
    overlap_x = _overlap(positions[..., 1], digit_size, cell_w, cols)  # (N, T, D, cols)
    area = (overlap_y[..., :, None] * overlap_x[..., None, :]).reshape(
        num_clips, num_frames, num_digits, rows * cols
    )
    total = area.sum(axis=(1, 2))  # (N, cells)
    weighted = np.einsum("ntdk,ntdc->nkc", area, velocities)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty cells: 0/0 is the NaN we want
        velocity = weighted / total[..., None]
    return CellMotion(
        velocity=velocity,
        direction=screen_direction(velocity),
        speed=np.linalg.norm(velocity, axis=-1),
        occupancy=(area.sum(axis=2) > 0).mean(axis=1),
        coverage=total / (num_frames * cell_h * cell_w),
        grid=(rows, cols),
    )


def clip_motion(velocities: np.ndarray, frames: FrameSelection = None) -> ClipMotion:
    """The mean velocity of each digit over the selected frames: (N, T, D, 2) -> ClipMotion."""
    velocity = _select(velocities, "velocities", frames).mean(axis=1)
    return ClipMotion(
        velocity=velocity,
        direction=screen_direction(velocity),
        speed=np.linalg.norm(velocity, axis=-1),
    )
