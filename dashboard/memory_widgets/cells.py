"""Small pictures and texts of the memory pages: motion arrows, a clip's cell outlined beside its
patch and motion energy (the galleries)."""

from __future__ import annotations

import math

import numpy as np

from dashboard.widgets import display_factor, upscale
from lmc.viz import to_uint8

ARROWS = ("→", "↗", "↑", "↖", "←", "↙", "↓", "↘")
HIGHLIGHT = (230, 40, 40)
CYCLIC = "Phase"  # direction is an angle: the colour scale must wrap around
DIVERGING = "RdBu_r"
# Outlines and markers drawn on the page's own background: a mid grey that reads on the light
# theme and the dark one alike (black vanished on the dark background). Lines over a frame (a
# picture of digits) keep their own colours.
INK = "#8b93a1"


def arrow(direction: float) -> str:
    """Screen angle in radians (0 right, pi/2 up) -> one of 8 arrows; '·' for NaN (no motion)."""
    if direction is None or not np.isfinite(direction):
        return "·"
    return ARROWS[int(round(direction / (math.pi / 4))) % 8]


# Below this speed (pixels per frame, rounded to one decimal as written) a motion has no
# direction worth writing: a digit standing still (stop-go's pauses) or a cell it barely moves.
STILL_SPEED = 0.05


# How every page writes a direction, said once on each page that writes one (motion_text).
DIRECTION_NOTE = (
    "Directions are screen angles, counterclockwise: → 0° right, ↑ 90° up, ← 180°, ↓ 270°; "
    f"a motion under {STILL_SPEED:g} px/frame is written “still”."
)


def motion_text(direction: float, speed: float) -> str:
    """ "↗ 45° 2.0 px/frame" (screen angle: 0° right, 90° up), "still" for no motion, "no digit"
    where no digit covers the cell."""
    if direction is None or not np.isfinite(direction):
        return "no digit"
    if is_still(speed):
        return "still (0.0 px/frame)"
    return f"{direction_text(direction)} {speed:.1f} px/frame"


def is_still(speed: float | None) -> bool:
    """Whether a motion of `speed` px/frame is written "still" (no direction)."""
    return speed is not None and bool(np.isfinite(speed)) and abs(speed) < STILL_SPEED


def direction_text(direction: float, speed: float | None = None) -> str:
    """ "↖ 121°", or "still" when `speed` is under STILL_SPEED: a direction alone, as
    motion_text writes it."""
    return "still" if is_still(speed) else f"{arrow(direction)} {degrees_text(direction)}"


def degrees_text(direction: float) -> str:
    """ "270°" for -pi/2: whole degrees in 0 .. 359, as DIRECTION_NOTE counts them."""
    return f"{round(math.degrees(direction)) % 360}°"


def to_gray_uint8(frame: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) floats in [0, 1] or uint8 -> (H, W) uint8."""
    frame = np.asarray(frame)
    if frame.ndim == 3:
        frame = frame.mean(axis=0)
    if frame.dtype != np.uint8:
        frame = to_uint8(frame[None])[..., 0]
    return frame


def rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(gray)[..., None], 3, axis=-1)


def enlarged(image: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 enlarged by pixel repetition (crisp) to at least `side` pixels high."""
    return upscale(image, display_factor(image.shape[0], side))


def draw_box(
    image: np.ndarray, box: tuple[int, int, int, int], colour=HIGHLIGHT, width: int = 1
) -> np.ndarray:
    """A copy of RGB `image` with the outline of box (top, left, height, width)."""
    out = image.copy()
    top, left, h, w = box
    bottom, right = min(top + h, out.shape[0]) - 1, min(left + w, out.shape[1]) - 1
    for i in range(width):
        out[top + i, left : right + 1] = colour
        out[bottom - i, left : right + 1] = colour
        out[top : bottom + 1, left + i] = colour
        out[top : bottom + 1, right - i] = colour
    return out


def cell_card(
    frame: np.ndarray, energy: np.ndarray, box: tuple[int, int, int, int], side: int = 128
) -> np.ndarray:
    """One gallery entry: the whole frame with the cell outlined (left), and the cell's patch of
    the frame above its motion energy (right), enlarged to about `side` pixels high."""
    frame = to_gray_uint8(frame)
    factor = max(1, side // frame.shape[0])
    whole = draw_box(upscale(rgb(frame), factor), tuple(v * factor for v in box), width=2)
    top, left, h, w = box
    half = (whole.shape[0] - 4) // 2
    zoom = max(1, half // h)
    patch = upscale(rgb(frame[top : top + h, left : left + w]), zoom)
    heat = energy[top : top + h, left : left + w].astype(np.float32)
    heat = heat / max(float(heat.max()), 1.0)
    heat_rgb = np.zeros((h, w, 3), np.uint8)
    heat_rgb[..., 0] = np.round(heat * 255).astype(np.uint8)
    heat_rgb[..., 1] = np.round(heat * 170).astype(np.uint8)
    column = np.full((whole.shape[0], patch.shape[1], 3), 255, np.uint8)
    column[: patch.shape[0]] = patch
    column[-patch.shape[0] :] = upscale(heat_rgb, zoom)
    gap = np.full((whole.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([whole, gap, column], axis=1)
