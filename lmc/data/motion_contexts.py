"""Moving-MNIST with motion contexts: each digit follows one of six families of motion.

LMC-Memory (Lee et al., CVPR 2021) claims its memory recalls a *long-term motion context* that a
short input only hints at ("walking or running" from a leg movement). Standard Moving-MNIST has
one context (constant velocity with bounces): ten frames show each digit's whole future, so the
memory has nothing to add. Here each digit draws one family uniformly and independently:

- `bounce`: constant velocity, speed U(2, 3.5) px/frame, uniform direction, reflected;
- `orbit-cw`, `orbit-ccw`: a circle of radius U(8, 14) whose centre keeps it inside the canvas,
  period U(24, 36) frames, uniform starting angle, clockwise / counter-clockwise on screen;
- `zigzag`: a main velocity U(1.5, 2.5) along a uniform direction plus a perpendicular one
  U(1.5, 2.5) whose sign flips every H frames (H uniform in 5..8, uniform phase), reflected;
- `oscillate`: p(t) = c + A sin(2 pi t / P + phi) u, A U(8, 14), P U(16, 28), u a uniform unit
  vector, c such that the segment fits;
- `stop-go`: speed U(2.5, 4) along a uniform direction for G frames (G in 4..6), then still for
  S frames (S in 3..5), repeating from a uniform phase; reflected.

Positions are a digit's top-left (y, x) in [0, free] with free = image_size - 28; "reflected"
mirrors the whole motion at a border, as the standard generator does for its velocity. Every
family's context shows only over several frames (a flip, a stop, a curve), so a short look at
the input cannot tell it, and the future depends on it (`tests/test_motion_contexts.py`).
"""

from __future__ import annotations

import math

import numpy as np

from lmc.data.walls import reflect

FAMILIES = ("bounce", "orbit-cw", "orbit-ccw", "zigzag", "oscillate", "stop-go")
# Each digit's parameters, one column each, NaN where its family has no such parameter. Angles
# are radians on screen (atan2(-dy, dx)); lengths in pixels; times in frames.
PARAM_NAMES = (
    "speed",  # bounce, stop-go: px/frame while moving; zigzag: along the main direction
    "direction",  # bounce, zigzag, stop-go: of the (main) motion; oscillate: of the axis u
    "side_speed",  # zigzag: the perpendicular speed
    "half_period",  # zigzag: H, frames between flips; stop-go: G, frames moving
    "pause",  # stop-go: S, frames standing still
    "phase",  # zigzag, stop-go: frames into the cycle at t = 0; orbit, oscillate: radians
    "radius",  # orbit: r; oscillate: the amplitude A
    "period",  # orbit, oscillate: frames per turn / swing
    "centre_y",  # orbit, oscillate: the centre c
    "centre_x",
)
CONTEXTS_GENERATOR_VERSION = 1


def family_index(name: str) -> int:
    """The index of a family by name; an unknown name raises with the valid ones."""
    if name not in FAMILIES:
        raise ValueError(f"unknown motion family {name!r}; valid families: {', '.join(FAMILIES)}")
    return FAMILIES.index(name)


def _unit(theta: np.ndarray) -> np.ndarray:
    """(...) screen angles -> (..., 2) unit (dy, dx) vectors; y grows downwards."""
    return np.stack([-np.sin(theta), np.cos(theta)], axis=-1)


def _stepped(start: np.ndarray, steps: np.ndarray, free: float) -> tuple[np.ndarray, np.ndarray]:
    """Walk from `start` (M, 2) by `steps` (M, T, 2), reflecting at the borders.

    A reflection mirrors the rest of the walk on that axis, so a digit that bounces keeps its
    pattern (the zigzag's flips, the stop-go rhythm) in the mirrored direction. Returns the
    positions (M, T, 2) and the steps as taken (M, T, 2): positions[t+1] = reflect(positions[t] +
    taken[t]), the convention of `MovingMNISTClips.velocities`.
    """
    m, t = steps.shape[:2]
    positions = np.empty((m, t, 2))
    taken = np.empty((m, t, 2))
    sign = np.ones((m, 2))
    position = start
    for i in range(t):
        velocity = sign * steps[:, i]
        positions[:, i] = position
        taken[:, i] = velocity
        position, carried = reflect(position + velocity, velocity, free)
        sign = np.where(carried != velocity, -sign, sign)  # flipped on the axis it bounced on
    return positions, taken


def _closed_form(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (M, T+1, 2) of a path that stays inside -> positions (M, T, 2), steps (M, T, 2)."""
    return path[:, :-1], np.diff(path, axis=1)


def _bounce(rng, m, t, free, params):
    speed = rng.uniform(2.0, 3.5, m)
    theta = rng.uniform(0, 2 * math.pi, m)
    start = rng.uniform(0, free, (m, 2))
    params.update(speed=speed, direction=theta)
    steps = np.broadcast_to((speed[:, None] * _unit(theta))[:, None], (m, t, 2))
    return _stepped(start, steps, free)


def _orbit(rng, m, t, free, params, clockwise: bool):
    radius = rng.uniform(8.0, 14.0, m)
    period = rng.uniform(24.0, 36.0, m)
    phase = rng.uniform(0, 2 * math.pi, m)
    centre = radius[:, None] + rng.uniform(0, 1, (m, 2)) * (free - 2 * radius)[:, None]
    params.update(radius=radius, period=period, phase=phase, centre_y=centre[:, 0])
    params.update(centre_x=centre[:, 1])
    turn = -1.0 if clockwise else 1.0  # a growing screen angle turns counter-clockwise
    angle = phase[:, None] + turn * 2 * math.pi * np.arange(t + 1) / period[:, None]
    return _closed_form(centre[:, None] + radius[:, None, None] * _unit(angle))


def _zigzag(rng, m, t, free, params):
    speed = rng.uniform(1.5, 2.5, m)
    side = rng.uniform(1.5, 2.5, m)
    theta = rng.uniform(0, 2 * math.pi, m)
    half = rng.integers(5, 9, m)
    phase = rng.integers(0, 2 * half)
    start = rng.uniform(0, free, (m, 2))
    params.update(speed=speed, side_speed=side, direction=theta, half_period=half, phase=phase)
    flip = np.where(((np.arange(t) + phase[:, None]) // half[:, None]) % 2 == 0, 1.0, -1.0)
    main = speed[:, None, None] * _unit(theta)[:, None]
    across = (side[:, None] * flip)[..., None] * _unit(theta + math.pi / 2)[:, None]
    return _stepped(start, main + across, free)


def _oscillate(rng, m, t, free, params):
    amplitude = rng.uniform(8.0, 14.0, m)
    period = rng.uniform(16.0, 28.0, m)
    phase = rng.uniform(0, 2 * math.pi, m)
    theta = rng.uniform(0, 2 * math.pi, m)
    axis = _unit(theta)
    reach = amplitude[:, None] * np.abs(axis)  # how far the swing goes on each axis
    centre = reach + rng.uniform(0, 1, (m, 2)) * (free - 2 * reach)
    params.update(radius=amplitude, period=period, phase=phase, direction=theta)
    params.update(centre_y=centre[:, 0], centre_x=centre[:, 1])
    swing = amplitude[:, None] * np.sin(
        2 * math.pi * np.arange(t + 1) / period[:, None] + phase[:, None]
    )
    return _closed_form(centre[:, None] + swing[..., None] * axis[:, None])


def _stop_go(rng, m, t, free, params):
    speed = rng.uniform(2.5, 4.0, m)
    theta = rng.uniform(0, 2 * math.pi, m)
    go = rng.integers(4, 7, m)
    pause = rng.integers(3, 6, m)
    phase = rng.integers(0, go + pause)
    start = rng.uniform(0, free, (m, 2))
    params.update(speed=speed, direction=theta, half_period=go, pause=pause, phase=phase)
    moving = (np.arange(t) + phase[:, None]) % (go + pause)[:, None] < go[:, None]
    steps = moving[..., None] * (speed[:, None] * _unit(theta))[:, None]
    return _stepped(start, steps, free)


_MAKERS = {
    "bounce": _bounce,
    "orbit-cw": lambda *a: _orbit(*a, clockwise=True),
    "orbit-ccw": lambda *a: _orbit(*a, clockwise=False),
    "zigzag": _zigzag,
    "oscillate": _oscillate,
    "stop-go": _stop_go,
}


def context_trajectories(
    rng: np.random.Generator, num_clips: int, seq_len: int, num_digits: int, free: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Continuous positions and steps (N, T, D, 2) float64 as (y, x), each digit's family (N, D)
    int64 (an index into FAMILIES) and its parameters (N, D, len(PARAM_NAMES)) float64.

    Families are drawn first, then each family's parameters for its own digits in FAMILIES order,
    so the stream of random numbers is fixed by the seed alone.
    """
    if free < 28:
        # A circle of the largest radius (14) must fit: 2 * 14 <= free.
        raise ValueError(
            f"image_size={free + 28}: motion contexts need image_size >= 56, so that an orbit "
            "of radius 14 fits beside the 28-pixel digit"
        )
    families = rng.integers(0, len(FAMILIES), size=(num_clips, num_digits))
    positions = np.empty((num_clips, seq_len, num_digits, 2))
    steps = np.empty_like(positions)
    params = np.full((num_clips, num_digits, len(PARAM_NAMES)), np.nan)
    for index, name in enumerate(FAMILIES):
        clip, digit = np.nonzero(families == index)
        if not len(clip):
            continue
        drawn: dict[str, np.ndarray] = {}
        path, taken = _MAKERS[name](rng, len(clip), seq_len, free, drawn)
        positions[clip, :, digit] = path
        steps[clip, :, digit] = taken
        for key, value in drawn.items():
            params[clip, digit, PARAM_NAMES.index(key)] = value
    # Rounding noise of the closed forms can step a hair outside; the paste needs [0, free].
    np.clip(positions, 0, free, out=positions)
    return positions, steps, families, params


def family_paths(
    rng, family: str, count: int, seq_len: int, free: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`count` paths of one family, drawn as `context_trajectories` draws that family's digits:
    positions and steps (count, T, 2) float64 as (y, x), parameters (count, len(PARAM_NAMES)),
    NaN where the family has none. rng: a numpy Generator, or any object with its `uniform`
    and `integers` (the motion probe's mid-range values, `lmc.analysis.probe`)."""
    family_index(family)  # an unknown name raises with the valid ones
    if free < 28:
        raise ValueError(
            f"image_size={free + 28}: motion contexts need image_size >= 56, so that an orbit "
            "of radius 14 fits beside the 28-pixel digit"
        )
    drawn: dict[str, np.ndarray] = {}
    positions, steps = _MAKERS[family](rng, count, seq_len, free, drawn)
    params = np.full((count, len(PARAM_NAMES)), np.nan)
    for key, value in drawn.items():
        params[:, PARAM_NAMES.index(key)] = value
    return np.clip(positions, 0, free), steps, params


def covering_digit(
    positions: np.ndarray,
    image_size: int = 64,
    grid: tuple[int, int] = (4, 4),
    frames: slice | None = None,
    digit_size: int = 28,
) -> tuple[np.ndarray, np.ndarray]:
    """Per query cell, the digit whose box covers the cell most over the selected frames.

    positions: (N, T, D, 2) top-left (y, x). Returns the digit index (N, cells) and its coverage
    (N, cells): its mean box area inside the cell per frame, in units of the cell's area (0 where
    no box ever overlaps the cell; the index is then 0 and means nothing).
    """
    from lmc.data.motion import _overlap

    rows, cols = grid
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 4 or positions.shape[-1] != 2:
        raise ValueError(f"positions has shape {positions.shape}, expected (N, T, D, 2)")
    if frames is not None:
        positions = positions[:, frames]
    n, t, d = positions.shape[:3]
    cell_h, cell_w = image_size // rows, image_size // cols
    overlap_y = _overlap(positions[..., 0], digit_size, cell_h, rows)
    overlap_x = _overlap(positions[..., 1], digit_size, cell_w, cols)
    area = (overlap_y[..., :, None] * overlap_x[..., None, :]).reshape(n, t, d, rows * cols)
    coverage = area.sum(axis=1) / (t * cell_h * cell_w)  # (N, D, cells)
    best = coverage.argmax(axis=1)  # (N, cells)
    return best, np.take_along_axis(coverage, best[:, None], axis=1)[:, 0]


def cell_family(
    positions: np.ndarray,
    families: np.ndarray,
    image_size: int = 64,
    grid: tuple[int, int] = (4, 4),
    frames: slice | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per query cell, the family of the digit whose box covers the cell most over the frames.

    positions: (N, T, D, 2) top-left (y, x); families: (N, D). Returns the family (N, cells)
    int64, -1 where no box ever overlaps the cell, and that digit's coverage (`covering_digit`).
    """
    positions = np.asarray(positions)
    families = np.asarray(families)
    if families.shape != (positions.shape[0], positions.shape[2]):
        raise ValueError(
            f"families has shape {families.shape}, expected {(positions.shape[0], positions.shape[2])}"
        )
    digit, coverage = covering_digit(positions, image_size, grid, frames)
    family = np.take_along_axis(families.astype(np.int64), digit, axis=1)
    return np.where(coverage > 0, family, -1), coverage


def displacement_features(positions: np.ndarray) -> np.ndarray:
    """Features of a path that do not depend on where it lies or which way it points.

    positions: (M, T, 2) (y, x) of M paths -> (M, 3T - 5): the T - 1 step lengths, then for each
    pair of consecutive steps their cross and dot products (the turn and the carry-on). A
    classifier on these is the control for "the family is in the input": what a perfect reader of
    the digits' positions can tell.
    """
    steps = np.diff(np.asarray(positions, dtype=np.float64), axis=1)
    if steps.shape[1] < 1:
        raise ValueError(f"positions of shape {positions.shape}: need at least two frames")
    a, b = steps[:, :-1], steps[:, 1:]
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    dot = (a * b).sum(axis=-1)
    return np.concatenate([np.linalg.norm(steps, axis=-1), cross, dot], axis=1)
