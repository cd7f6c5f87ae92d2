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

# Rounding left by float arithmetic at a border: a path that ends there exactly must not bounce.
_DUST = 1e-6


def probe_velocity(direction_deg: float, speed: float) -> np.ndarray:
    """(dy, dx) of a motion at `direction_deg` on screen (0 rightwards, 90 upwards) and `speed`
    pixels/frame; the convention of `lmc.data.motion` (rows grow downwards)."""
    theta = math.radians(direction_deg)
    return np.array([-speed * math.sin(theta), speed * math.cos(theta)])


def max_probe_speed(direction_deg: float, num_frames: int, image_size: int) -> float:
    """The highest speed (pixels/frame) at which a digit moving at `direction_deg` crosses
    `num_frames` frames of an `image_size` canvas without meeting a border (inf for one frame)."""
    steps = num_frames - 1
    if steps < 1:
        return math.inf
    theta = math.radians(direction_deg)
    # The larger of the two velocity components per pixel/frame of speed decides.
    reach = max(abs(math.cos(theta)), abs(math.sin(theta)))
    return (image_size - DIGIT_SIZE) / (steps * reach)


def _too_fast(speed: float, direction_deg: float, num_frames: int, image_size: int) -> str:
    free = image_size - DIGIT_SIZE
    path = (
        speed
        * (num_frames - 1)
        * max(
            abs(math.cos(math.radians(direction_deg))), abs(math.sin(math.radians(direction_deg)))
        )
    )
    limit = max_probe_speed(direction_deg, num_frames, image_size)
    return (
        f"{speed:g} px/frame at {direction_deg:g}° cannot cross the {num_frames} input frames "
        f"of a {image_size}x{image_size} frame without a bounce: its {num_frames - 1} steps "
        f"travel {path:.1f} px along one axis, and a {DIGIT_SIZE}-pixel digit has {free} px to "
        f"move. A bounce would turn the motion the model sees into another one. At "
        f"{direction_deg:g}° at most {limit:.2f} px/frame fits; choose a lower speed or fewer "
        "input frames."
    )


def probe_starts(
    velocities: np.ndarray, num_frames: int, short_len: int, image_size: int
) -> np.ndarray:
    """Top-left corners (D, 2) from which digits moving at `velocities` (D, 2) meet no border.

    Each path is centred on the canvas when the whole clip fits; where it does not, the digit
    starts as far back as it can on that axis, so the input moves as asked and the future runs
    as long as it can before the first bounce. Several digits keep to parallel lanes across the
    first digit's motion. Raises InputError, naming the speed, the number of input frames and
    the frame size, when a digit cannot cross even the `short_len` input frames without a bounce.
    """
    velocities = np.asarray(velocities, dtype=np.float64)
    d = len(velocities)
    free = image_size - DIGIT_SIZE
    for dy, dx in velocities:
        if max(abs(dy), abs(dx)) * (short_len - 1) > free + _DUST:
            direction = math.degrees(math.atan2(-dy, dx)) % 360.0
            raise InputError(_too_fast(math.hypot(dy, dx), direction, short_len, image_size))
    first = velocities[0]
    speed = math.hypot(*first)
    across = np.array([first[1], -first[0]]) / speed if speed > 0 else np.array([1.0, 0.0])
    lanes = (np.arange(d) - (d - 1) / 2) * (free / max(d - 1, 1))
    starts = np.empty((d, 2))
    for i, velocity in enumerate(velocities):
        whole, seen = velocity * (num_frames - 1), velocity * (short_len - 1)
        # On whole pixels where it can: a path from a half pixel rounds to uneven steps.
        wish = np.floor(free / 2 - whole / 2 + lanes[i] * across + _DUST)
        for axis in range(2):
            span = whole[axis] if abs(whole[axis]) <= free + _DUST else seen[axis]
            low, high = max(0.0, -span), min(float(free), free - span)
            starts[i, axis] = min(max(wish[axis], low), high)
    return np.clip(starts, 0.0, free)


def bounce_frames(motion: TrueMotion) -> list[int | None]:
    """Per digit, the number (1-based) of the first frame drawn after the digit met a border,
    or None when it never does: frames before it show the digit moving in a straight line."""
    changed = np.any(np.abs(motion.velocities - motion.velocities[:1]) > 1e-6, axis=-1)  # (T, D)
    return [int(np.argmax(c)) + 1 if c.any() else None for c in changed.T]


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
    digit; 0 rightwards, 90 upwards) from `starts` (D, 2) top-left corners. The default starts
    (`probe_starts`) keep every digit off the borders through the input, and through the whole
    clip where it fits; after that digits bounce like Moving-MNIST. A motion that cannot cross
    the input without a bounce, from the default starts or the given ones, raises InputError:
    the probe never delivers another motion than the one asked for. Overlaps combine by maximum.
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
    short_len = min(short_len, num_frames)
    directions = np.broadcast_to(np.asarray(directions_deg, dtype=np.float64), (d,))
    velocity = np.stack([probe_velocity(a, speed) for a in directions])  # (D, 2)
    if starts is None:
        position = probe_starts(velocity, num_frames, short_len, image_size)
    else:
        position = np.asarray(starts, float)
    if position.shape != (d, 2) or position.min() < 0 or position.max() > free:
        raise InputError(
            f"starts {np.asarray(position).tolist()}: expected ({d}, 2) corners in [0, {free}]"
        )
    start = position
    positions = np.empty((num_frames, d, 2))
    velocities = np.empty_like(positions)
    for t in range(num_frames):
        positions[t], velocities[t] = position, velocity
        ahead = position + velocity
        border = np.clip(ahead, 0.0, free)
        ahead = np.where(np.abs(ahead - border) < _DUST, border, ahead)
        position, velocity = reflect(ahead, velocity, free)
    motion = TrueMotion(positions=positions, velocities=velocities, labels=np.asarray(labels))
    for i, bounce in enumerate(bounce_frames(motion)):
        if bounce is not None and bounce <= short_len:
            raise InputError(
                f"digit {labels[i]} from (y, x) = {np.round(start[i], 1).tolist()} meets a border before input frame "
                f"{bounce} of {short_len}: at {speed:g} px/frame it would not move as asked; "
                "choose other starts, a lower speed or fewer input frames"
            )
    corners = np.rint(positions).astype(np.int64)
    frames = _paste(probe_digit_images(labels, variant)[None], corners[None], image_size)[0]
    names = ", ".join(str(label) for label in labels)
    angle = ", ".join(f"{a % 360:g}°" for a in dict.fromkeys(directions.tolist()))
    return Clip(
        frames=np.divide(frames, 255.0, dtype=np.float32)[:, None],
        short_len=min(short_len, num_frames),
        source=f"motion probe: digit{'s' if d > 1 else ''} {names} at {angle}, {speed:g} px/frame",
        motion=TrueMotion(
            positions=corners.astype(np.float32),
            velocities=velocities.astype(np.float32),
            labels=np.asarray(labels, dtype=np.uint8),
        ),
    )


def motion_summary(motion: TrueMotion, frames: slice | None = None) -> list[dict]:
    """Per digit: label, mean direction (degrees, 0 rightwards, 90 upwards) and net speed
    (pixels/frame) over the selected frames, from the true velocities, and its motion family's
    name (None when the clip has no families)."""
    velocity = motion.velocities if frames is None else motion.velocities[frames]
    mean = velocity.mean(axis=0)  # (D, 2)
    rows = []
    for d, (label, (dy, dx)) in enumerate(zip(motion.labels.tolist(), mean.tolist(), strict=True)):
        rows.append(
            {
                "digit": int(label),
                "direction_deg": math.degrees(math.atan2(0.0 - dy, dx)) % 360.0,
                "speed_px": math.hypot(dy, dx),
                "family": digit_family(motion, d),
            }
        )
    return rows


def digit_family(motion: TrueMotion, d: int) -> str | None:
    """The motion family of digit `d` by name, None when the clip carries no families."""
    from lmc.data.motion_contexts import FAMILIES

    return None if motion.families is None else FAMILIES[int(motion.families[d])]


def digit_names(motion: TrueMotion) -> list[str]:
    """ "digit 3: orbit-cw" per digit of a clip with motion families, else "digit 3"."""
    return [
        f"digit {label}" + ("" if (family := digit_family(motion, d)) is None else f": {family}")
        for d, label in enumerate(motion.labels.tolist())
    ]


# ------------------------------------------------------------------ a digit of a motion family
class MidRange:
    """Stands in for numpy's Generator where a probe wants a typical member of a motion family
    rather than a random one: every draw is the middle of its range. uniform(low, high) gives
    (low + high) / 2; integers(low, high) the middle of low .. high - 1, rounded down."""

    def uniform(self, low=0.0, high=1.0, size=None) -> np.ndarray:
        middle = (np.asarray(low, dtype=np.float64) + np.asarray(high, dtype=np.float64)) / 2
        return np.array(np.broadcast_to(middle, middle.shape if size is None else size))

    def integers(self, low, high=None, size=None) -> np.ndarray:
        if high is None:  # numpy's integers(high): 0 .. high - 1
            low, high = 0, low
        middle = (np.asarray(low, dtype=np.int64) + np.asarray(high, dtype=np.int64) - 1) // 2
        return np.array(np.broadcast_to(middle, middle.shape if size is None else size))


def family_path(
    family: str, num_frames: int, image_size: int = 64, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """One digit's path in motion family `family` (`lmc.data.motion_contexts.FAMILIES`):
    positions and steps (T, 2) float64 as (y, x), and its parameters by name (the family's own,
    `PARAM_NAMES`). The parameters are drawn from `seed` within the generator's ranges, or with
    seed None are the middle of each range (`MidRange`): a typical member of the family."""
    from lmc.data.motion_contexts import PARAM_NAMES, family_paths

    if num_frames < 1:
        raise InputError(f"num_frames={num_frames}: must be at least 1")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InputError(f"seed={seed!r}: must be a whole number >= 0, or None for mid-range")
    rng = MidRange() if seed is None else np.random.default_rng(seed)
    try:
        positions, steps, params = family_paths(rng, family, 1, num_frames, image_size - DIGIT_SIZE)
    except ValueError as err:
        raise InputError(str(err)) from None
    named = {n: float(v) for n, v in zip(PARAM_NAMES, params[0], strict=True) if np.isfinite(v)}
    return positions[0], steps[0], named


def family_probe(
    label: int,
    family: str,
    num_frames: int = 20,
    *,
    short_len: int = 10,
    image_size: int = 64,
    seed: int | None = None,
    variant: int = 0,
) -> Clip:
    """A clip of one MNIST digit of class `label` moving in motion family `family`, as the
    generator of motion contexts moves its digits (`family_path`: parameters from `seed`, or
    mid-range with seed None). Its true motion carries the family."""
    from lmc.data.motion_contexts import family_index

    if image_size % SIDE_MULTIPLE:
        raise InputError(f"image_size={image_size}: must be a multiple of {SIDE_MULTIPLE}")
    positions, steps, _ = family_path(family, num_frames, image_size, seed)
    corners = np.rint(positions).astype(np.int64)[:, None]  # (T, 1, 2)
    frames = _paste(probe_digit_images([label], variant)[None], corners[None], image_size)[0]
    drawn = "mid-range parameters" if seed is None else f"parameters of seed {seed}"
    return Clip(
        frames=np.divide(frames, 255.0, dtype=np.float32)[:, None],
        short_len=min(short_len, num_frames),
        source=f"motion probe: digit {int(label)}, {family} ({drawn})",
        motion=TrueMotion(
            positions=corners.astype(np.float32),
            velocities=steps[:, None].astype(np.float32),
            labels=np.asarray([label], dtype=np.uint8),
            families=np.asarray([family_index(family)], dtype=np.int64),
        ),
    )


# How the Input page names each parameter and its unit; "deg" values are stored in radians.
PARAM_TEXT = {
    "speed": ("speed", "px/frame"),
    "direction": ("direction", "deg"),
    "side_speed": ("side speed", "px/frame"),
    "half_period": ("frames per stretch", ""),
    "pause": ("frames still", ""),
    "phase": ("phase", "deg"),  # orbit, oscillate: an angle
    "radius": ("radius", "px"),
    "period": ("period", "frames"),
    "centre_y": ("centre y", "px"),
    "centre_x": ("centre x", "px"),
}
# The parameters whose meaning depends on the family (lmc.data.motion_contexts.PARAM_NAMES).
FAMILY_TEXT = {
    ("half_period", "zigzag"): ("frames between flips", ""),
    ("half_period", "stop-go"): ("frames moving", ""),
    ("phase", "zigzag"): ("phase", "frames"),
    ("phase", "stop-go"): ("phase", "frames"),
    ("radius", "oscillate"): ("amplitude", "px"),
    ("direction", "oscillate"): ("axis", "deg"),
}


def family_params_text(family: str, params: dict[str, float]) -> str:
    """ "radius 11 px, period 30 frames, ...": a family's parameters (`family_path`) in words,
    angles in degrees (0 rightwards, 90 upwards)."""
    parts = []
    for name, value in params.items():
        word, unit = FAMILY_TEXT.get((name, family), PARAM_TEXT[name])
        if unit == "deg":
            value = math.degrees(value) % 360
        number = f"{value:g}" if float(value).is_integer() else f"{value:.1f}"
        parts.append(f"{word} {number}{' ' + unit if unit else ''}")
    return ", ".join(parts)
