"""The controls that make motion contexts a fair test of LMC-Memory's claim.

Lee et al. (CVPR 2021) say the memory recalls a long-term motion context that a short input only
hints at. For clips of `lmc.data.motion_contexts` that holds by construction only if two things
are true, and both are measured here rather than assumed:

- the context is in the input, but only over its whole length: a small classifier on a digit's
  input displacements tells its family well, on the last two displacements far less
  (`family_from_input`);
- the future depends on the context: carrying the last input displacement on, the rule of
  standard Moving-MNIST, misses the future by several pixels (`constant_velocity_miss`).

`python -m lmc.experiments.contexts [--clips N]` measures both on freshly generated clips (N
training clips for the classifier, N // 2 test clips of 40 frames, the notebook's seeds).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from lmc import cli
from lmc.data.motion_contexts import FAMILIES, displacement_features
from lmc.data.moving_mnist import MovingMNISTClips, generate_clips, reflect


def _digit_paths(clips: MovingMNISTClips, frames: slice) -> np.ndarray:
    """(N * D, T, 2) pasted (y, x) positions of every digit: what the frames show."""
    positions = clips.positions[:, frames].astype(np.float64)
    n, t, d = positions.shape[:3]
    return positions.transpose(0, 2, 1, 3).reshape(n * d, t, 2)


def family_from_input(
    train: MovingMNISTClips,
    test: MovingMNISTClips,
    input_len: int = 10,
    last: int | None = None,
    seed: int = 0,
) -> float:
    """Accuracy on `test` of a gradient-boosted classifier of each digit's family, trained on
    `train`, from the `displacement_features` of its positions over the input frames (the last
    `last` displacements of them, default all input_len - 1)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    for name, clips in (("train", train), ("test", test)):
        if clips.families is None:
            raise ValueError(f"the {name} clips have no motion families (motion='contexts')")
    steps = input_len - 1 if last is None else last
    if not 1 <= steps <= input_len - 1:
        raise ValueError(f"last={last}: must be between 1 and input_len - 1 = {input_len - 1}")
    window = slice(input_len - steps - 1, input_len)

    def data(clips: MovingMNISTClips):
        return displacement_features(_digit_paths(clips, window)), clips.families.ravel()

    # One thread: as fast on two cores, and the same on a loaded machine.
    with threadpool_limits(1):
        model = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
        model.fit(*data(train))
        return float(model.score(*data(test)))


def constant_velocity_miss(
    clips: MovingMNISTClips, input_len: int = 10, horizon: int = 30, free: float = 36.0
) -> pd.DataFrame:
    """Mean distance in pixels between each digit's future and the last input displacement
    carried on for `horizon` frames, with the standard generator's reflection at the borders and
    without, per family (rows in FAMILIES order; `digits` counts them)."""
    if clips.families is None:
        raise ValueError("the clips have no motion families (motion='contexts')")
    length = clips.positions.shape[1]
    if input_len < 2 or input_len + horizon > length:
        raise ValueError(
            f"input_len={input_len}, horizon={horizon}: need 2 <= input_len and input_len + "
            f"horizon <= {length} frames"
        )
    positions = clips.positions.astype(np.float64)  # (N, T, D, 2)
    start = positions[:, input_len - 1]
    step = start - positions[:, input_len - 2]
    ahead = np.arange(1, horizon + 1)[None, :, None, None]
    linear = start[:, None] + ahead * step[:, None]
    reflected, p, v = [], start, step
    for _ in range(horizon):
        p, v = reflect(p + v, v, free)
        reflected.append(p)
    reflected = np.stack(reflected, axis=1)
    truth = positions[:, input_len : input_len + horizon]
    miss_linear = np.linalg.norm(linear - truth, axis=-1).mean(axis=1)  # (N, D)
    miss_reflected = np.linalg.norm(reflected - truth, axis=-1).mean(axis=1)
    rows = []
    for index, name in enumerate(FAMILIES):
        mine = clips.families == index
        count = int(mine.sum())
        rows.append(
            {
                "family": name,
                "digits": count,
                # NaN for a family no digit follows
                "miss_reflected": float(miss_reflected[mine].mean()) if count else np.nan,
                "miss_linear": float(miss_linear[mine].mean()) if count else np.nan,
            }
        )
    return pd.DataFrame(rows)


MIN_CLIPS, MAX_CLIPS = 50, 20_000


def controls(clips: int, input_len: int = 10, horizon: int = 30) -> dict:
    """Both controls on `clips` training clips and `clips // 2` test clips (seeds 12 and 11, as
    in notebooks/05_motion_contexts): {"whole": accuracy from every input displacement, "last2":
    from the last two, "chance": 1/6, "misses": constant_velocity_miss's table}."""
    if not MIN_CLIPS <= clips <= MAX_CLIPS:
        raise ValueError(f"clips={clips}: must be between {MIN_CLIPS} and {MAX_CLIPS}")
    train = generate_clips(clips, input_len, seed=12, split="train", motion="contexts")
    test = generate_clips(clips // 2, input_len + horizon, seed=11, split="test", motion="contexts")
    return {
        "whole": family_from_input(train, test, input_len),
        "last2": family_from_input(train, test, input_len, last=2),
        "chance": 1 / len(FAMILIES),
        "misses": constant_velocity_miss(test, input_len, horizon),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m lmc.experiments.contexts",
        description="How much of a digit's motion family its input tells, and how far the "
        "rule of standard Moving-MNIST misses its future.",
    )
    parser.add_argument(
        "--clips",
        type=int,
        default=1500,
        help="training clips (default 1500; half as many to test)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    result = controls(args.clips)
    digits = int(result["misses"]["digits"].sum())
    print(
        f"family of a digit from its input ({digits} test digits, chance {result['chance']:.3f}):"
    )
    print(f"  all 9 displacements  {result['whole']:.3f}")
    print(f"  the last 2           {result['last2']:.3f}")
    print("mean miss over the next 30 frames of carrying the last displacement on (pixels):")
    print(result["misses"].round(1).to_string(index=False))
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return result


if __name__ == "__main__":
    cli.run(main, prog="lmc.experiments.contexts")
