"""The motion probe: chosen MNIST digits moving in a chosen direction at a chosen speed.

A probe is an input whose motion is known exactly, so a user can ask what the memory recalls for
"a 3 moving up-right at 3 px/frame" and compare the recall across directions and speeds. Digits
move as in the Moving-MNIST generator (reflection at the borders, overlaps combined by maximum).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lmc.analysis.inputs import Clip, InputError, TrueMotion
from lmc.config import SIDE_MULTIPLE
from lmc.data.mnist_digits import DIGIT_SIZE, digit_pool, load_mnist_digits
from lmc.data.moving_mnist import _paste, reflect


def probe_velocity(direction_deg: float, speed: float) -> np.ndarray:
    """(dy, dx) of a motion at `direction_deg` on screen (0 rightwards, 90 upwards) and `speed`
    pixels/frame; the convention of `lmc.data.motion` (rows grow downwards)."""
    theta = math.radians(direction_deg)
    return np.array([-speed * math.sin(theta), speed * math.cos(theta)])


def probe_starts(num_digits: int, image_size: int) -> np.ndarray:
    """Default top-left corners (D, 2): one digit in the centre; several spread on a circle
    around it, so they start apart."""
    free = image_size - DIGIT_SIZE
    centre = np.array([free / 2, free / 2])
    if num_digits == 1:
        return centre[None]
    angles = math.pi / 4 + 2 * math.pi * np.arange(num_digits) / num_digits
    radius = 0.35 * free
    return centre + radius * np.stack([np.sin(angles), np.cos(angles)], axis=-1)


def probe_digit_images(labels: Sequence[int], variant: int = 0) -> np.ndarray:
    """(D, 28, 28) uint8: the `variant`-th test-pool image of each class in `labels`."""
    images, classes = load_mnist_digits()
    pool = digit_pool("test")
    chosen = []
    for label in labels:
        if not 0 <= int(label) <= 9:
            raise InputError(f"digit {label!r}: must be a class 0..9")
        matches = pool[classes[pool] == label]
        chosen.append(images[matches[variant % len(matches)]])
    return np.stack(chosen)


def motion_probe(
    labels: Sequence[int],
    directions_deg: float | Sequence[float],
    speed: float,
    num_frames: int = 20,
    *,
    short_len: int = 10,
    image_size: int = 64,
    starts: np.ndarray | None = None,
    variant: int = 0,
) -> Clip:
    """A clip of MNIST digits of the chosen `labels` moving in known directions.

    Each digit moves at `speed` pixels/frame in its direction (degrees, one for all or one per
    digit; 0 rightwards, 90 upwards) from `starts` (D, 2) top-left corners (default
    `probe_starts`), bouncing off the borders like Moving-MNIST. Overlaps combine by maximum.
    """
    labels = [int(label) for label in labels]
    d = len(labels)
    if d < 1:
        raise InputError("a motion probe needs at least one digit")
    free = image_size - DIGIT_SIZE
    if image_size < DIGIT_SIZE or image_size % SIDE_MULTIPLE:
        raise InputError(
            f"image_size={image_size}: must be a multiple of {SIDE_MULTIPLE} of at least {DIGIT_SIZE}"
        )
    if not 0 <= speed <= free:
        raise InputError(
            f"speed={speed} px/frame: must be between 0 and {free} (the free range of a "
            f"{DIGIT_SIZE}-pixel digit on a {image_size}-pixel canvas)"
        )
    if num_frames < 1:
        raise InputError(f"num_frames={num_frames}: must be at least 1")
    directions = np.broadcast_to(np.asarray(directions_deg, dtype=np.float64), (d,))
    velocity = np.stack([probe_velocity(a, speed) for a in directions])  # (D, 2)
    position = probe_starts(d, image_size) if starts is None else np.asarray(starts, float)
    if position.shape != (d, 2) or position.min() < 0 or position.max() > free:
        raise InputError(
            f"starts {np.asarray(position).tolist()}: expected ({d}, 2) corners in [0, {free}]"
        )
    positions = np.empty((num_frames, d, 2))
    velocities = np.empty_like(positions)
    for t in range(num_frames):
        positions[t], velocities[t] = position, velocity
        position, velocity = reflect(position + velocity, velocity, free)
    corners = np.rint(positions).astype(np.int64)
    frames = _paste(probe_digit_images(labels, variant)[None], corners[None], image_size)[0]
    names = ", ".join(str(label) for label in labels)
    angle = ", ".join(f"{a:g}" for a in dict.fromkeys(directions.tolist()))
    return Clip(
        frames=np.divide(frames, 255.0, dtype=np.float32)[:, None],
        short_len=min(short_len, num_frames),
        source=f"motion probe: digit{'s' if d > 1 else ''} {names} at {angle} deg, {speed:g} px/frame",
        motion=TrueMotion(
            positions=corners.astype(np.float32),
            velocities=velocities.astype(np.float32),
            labels=np.asarray(labels, dtype=np.uint8),
        ),
    )


def motion_summary(motion: TrueMotion, frames: slice | None = None) -> list[dict[str, float]]:
    """Per digit: label, mean direction (degrees, 0 rightwards, 90 upwards) and net speed
    (pixels/frame) over the selected frames, from the true velocities."""
    velocity = motion.velocities if frames is None else motion.velocities[frames]
    mean = velocity.mean(axis=0)  # (D, 2)
    rows = []
    for label, (dy, dx) in zip(motion.labels.tolist(), mean.tolist(), strict=True):
        rows.append(
            {
                "digit": int(label),
                "direction_deg": math.degrees(math.atan2(0.0 - dy, dx)) % 360.0,
                "speed_px": math.hypot(dy, dx),
            }
        )
    return rows
