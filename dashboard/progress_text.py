"""The words under a progress bar: how far the work got, and how long it has left at the speed it
has gone so far. Pure functions, so the tests read the text without a browser."""

from __future__ import annotations

import math


def duration(seconds: float) -> str:
    """'under a second', 'about 6 s', 'about 2 min': the rounding a reader wants from an estimate."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"duration: seconds must be finite and >= 0, got {seconds}")
    if seconds < 1:
        return "under a second"
    if seconds < 90:
        return f"about {round(seconds)} s"
    return f"about {round(seconds / 60)} min"


def remaining(done: int, total: int, elapsed: float) -> float | None:
    """Seconds left if the rest goes at the speed measured so far; None before any is done."""
    if done <= 0 or elapsed <= 0:
        return None
    return elapsed / done * max(total - done, 0)


def progress_text(done: int, total: int, unit: str, elapsed: float) -> str:
    """'240 / 500 clips, about 6 s left' ('0 / 500 clips' until the first step is measured)."""
    if total <= 0 or not 0 <= done <= total:
        raise ValueError(
            f"progress_text: need 0 <= done <= total and total > 0, got {done}/{total}"
        )
    text = f"{done:,} / {total:,} {unit}"
    left = remaining(done, total, elapsed)
    if left is not None and done < total:
        text += f", {duration(left)} left"
    return text


def pass_estimate(num_clips: int, seconds_per_clip: float) -> str:
    """The wait before a pass over num_clips clips, e.g. 'about 12 s'."""
    return duration(num_clips * seconds_per_clip)
