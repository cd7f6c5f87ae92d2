"""The frame's walls: a generated digit that leaves the free range bounces back in.

Shared by the standard Moving-MNIST recipe (`moving_mnist`) and the motion contexts
(`motion_contexts`), below both so that neither imports the other for it.
"""

from __future__ import annotations

import numpy as np


def reflect(
    position: np.ndarray, velocity: np.ndarray, free: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fold positions that left [0, free] back inside and flip those velocity components.

    Elementwise on any shape. One fold is enough when |velocity| <= free, which `step <= 1`
    guarantees, since a position then leaves the range by at most `free`.
    """
    below = position < 0
    above = position > free
    position = np.where(below, -position, np.where(above, 2 * free - position, position))
    velocity = np.where(below | above, -velocity, velocity)
    return position, velocity
