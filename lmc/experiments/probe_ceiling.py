"""How much can a linear probe tell of each cell's direction of motion, and from what?

`python -m lmc.experiments.probe_ceiling CHECKPOINT [--clips N]` puts the memory's direction probe
(`lmc.analysis.health.probe`, 8 bins, the generated test set) beside its controls:

- the same probe on the cells' true velocity: the ceiling of a perfect 2-d motion code;
- the same probe on the predictor's own ConvLSTM state after the input, averaged over each cell:
  what a model that demonstrably knows the motion (it predicts the frames) holds linearly there;
- two other linear classifiers (a one-hot ridge, a logistic regression) on the truth and on the
  readout, so that a figure can be told apart from an artefact of the classifier.

It answers whether a low probe means the memory lacks the motion or the probe cannot see it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lmc import cli
from lmc.analysis import health as hl

FOLDS = 5


def convlstm_cells(model, frames: torch.Tensor, grid: tuple[int, int], batch: int = 32):
    """(N, T, C, H, W) inputs -> (N, cells, 2 * layers * hidden): every layer's h and c after the
    predictor has read its input, averaged over each cell of `grid`."""
    out = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch):
            short = model.predictor_input(frames[start : start + batch])
            b, t = short.shape[:2]
            encoded = model.frame_encoder(short.flatten(0, 1)).unflatten(0, (b, t))
            state = model.convlstm.initial_state(encoded[:, 0])
            for step in range(t):
                state = model.convlstm(encoded[:, step], state)
            maps = torch.cat([h for h, _ in state] + [c for _, c in state], dim=1)
            pooled = torch.nn.functional.adaptive_avg_pool2d(maps, grid)
            out.append(pooled.flatten(2).transpose(1, 2))
    return torch.cat(out).numpy()


def other_classifiers(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict:
    """Cross-validated accuracy of a one-hot ridge and a logistic regression on standardised
    features, the same folds as the health probe."""
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    split = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    out = {}
    for name, classifier in (
        ("ridge", RidgeClassifier(alpha=1.0)),
        ("logistic", LogisticRegression(max_iter=1000)),
    ):
        pipe = make_pipeline(StandardScaler(), classifier)
        out[name] = float(cross_val_score(pipe, features, labels, cv=split).mean())
    return out


def probe_ceiling(model, clips, short_len: int = 10, long_len: int = 20, seed: int = 0) -> dict:
    """Every probe of the module docstring on `clips` (MovingMNISTClips with true motion)."""
    from lmc.analysis.health_check import _pass

    sample = _pass(model, clips, short_len, long_len)
    moving = hl.moving_cells(sample.direction, sample.occupancy)
    labels = hl.direction_bin(sample.direction)[moving]
    truth = hl.velocity_of(sample.direction[moving], sample.speed[moving])
    frames = clips.to_tensor()[:, :short_len]
    state = convlstm_cells(model, frames, sample.grid)[moving]
    features = {
        "true velocity": truth,
        "readout": sample.short_readout[moving],
        "query": sample.short_query[moving],
        "long window's readout": sample.long_readout[moving],
        "ConvLSTM state": state,
    }
    rows = {name: {"lda": hl.probe(x, labels, seed=seed).accuracy} for name, x in features.items()}
    for name in ("true velocity", "readout"):
        rows[name].update(other_classifiers(features[name], labels, seed))
    chance = float(np.bincount(labels).max() / len(labels))
    return {"cells": int(len(labels)), "chance": chance, "probes": rows}


def format_ceiling(result: dict, source: str) -> str:
    lines = [
        f"direction probes (8 bins) of {source}",
        f"on {result['cells']} moving cells, chance {result['chance']:.3f}",
        "",
        f"  {'features':<24}{'LDA (health)':>14}{'ridge':>8}{'logistic':>10}",
    ]
    for name, row in result["probes"].items():
        extra = "".join(
            f"{row[k]:>{w}.3f}" if k in row else f"{'':>{w}}"
            for k, w in (("ridge", 8), ("logistic", 10))
        )
        lines.append(f"  {name:<24}{row['lda']:>14.3f}{extra}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m lmc.experiments.probe_ceiling")
    parser.add_argument("checkpoint")
    parser.add_argument("--clips", type=int, default=256, help="generated test clips (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from lmc.checkpoint import load_checkpoint
    from lmc.data.fixed_sets import fixed_set
    from lmc.errors import ConfigError

    if not 16 <= args.clips <= 1000:
        raise ConfigError(f"--clips {args.clips}: must be between 16 and 1000")
    model, _ = load_checkpoint(args.checkpoint)
    model.eval()
    clips = fixed_set("test", 1000, 20, image_size=model.config.image_size).subset(
        slice(0, args.clips)
    )
    start = time.perf_counter()
    result = probe_ceiling(model, clips, seed=args.seed)
    print(format_ceiling(result, args.checkpoint))
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return result


if __name__ == "__main__":
    cli.run(main, prog="lmc.experiments.probe_ceiling")
