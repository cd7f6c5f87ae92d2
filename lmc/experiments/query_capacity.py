"""Can the motion query tell a cell's motion family at all, when it is asked to?

On Moving-MNIST with motion contexts every trained memory so far reads the family off its query
at chance (the contexts demo: 0.199, chance 0.185; docs/memory-health.md, "Motion contexts"). Two
explanations predict that alike: the 3D-CNN query cannot hold a family (its capacity, its
receptive field, a cell that sees only part of a path), or it can and nothing in training asks it
to (the prediction's gradient reaches the query only through the soft addressing). This module
tells them apart by asking: it trains the matching encoder's own architecture, with one linear
layer on each cell's query, to name the family of the digit covering the cell (cross entropy on
the labelled cells, `lmc.analysis.families.labelled_cells`; the only place labels train
anything), then measures on held-out clips

- the trained head's accuracy;
- the health's linear probe (`lmc.analysis.health.probe`, the same cells) on the trained queries,
  on a checkpoint's own queries (when one is given) and on the truth (the covering digit's input
  displacements, the health's ceiling), beside chance (the majority family).

If the trained query reaches far above the checkpoint's, the encoder can hold the family and the
training signal is what is missing. `python -m lmc.experiments.query_capacity [CHECKPOINT]
[--clips N] [--steps K] [--save OUT]`; the encoder starts from the checkpoint's matching encoder
when one is given, else from the `--preset`'s fresh weights. `--save` writes the checkpoint with
both of its motion encoders replaced by the taught one: the start of a positive control (a memory
whose query was told the family with labels, which the paper's recipe never is), marked so in its
metadata (`taught_query`).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lmc import cli
from lmc.analysis.families import cell_labels, labelled_cells
from lmc.analysis.health import probe
from lmc.clips import query_grid
from lmc.config import QUERY_PADDINGS, ModelConfig
from lmc.data.motion_contexts import FAMILIES
from lmc.data.moving_mnist import MovingMNISTClips, generate_clips
from lmc.nn.motion_encoder import MotionEncoder

MIN_CLIPS, MAX_CLIPS = 8, 20_000
MAX_STEPS = 100_000
# Seeds of the generated sets: apart from the training CLI's (train 0.., validation 3003) and
# the health's, so no clip here was seen by a checkpoint in training.
TRAIN_SEED, TEST_SEED = 5101, 5102


@dataclass
class CellSet:
    """Generated clips as the query sees them, with each cell's family label."""

    diffs: torch.Tensor  # (N, C, T-1, H, W): the first differences of the input frames
    family: np.ndarray  # (N, cells) int, -1 where the cell is not labelled
    truth: np.ndarray  # (N, cells, F): the covering digit's input displacement features

    @property
    def labelled(self) -> np.ndarray:
        return self.family >= 0


def cell_set(clips: MovingMNISTClips, short_len: int) -> CellSet:
    """The first `short_len` frames of context clips as the query's input and its cell labels."""
    if clips.families is None:
        raise ValueError("the clips have no motion families: generate them with motion='contexts'")
    frames = torch.from_numpy(clips.frames[:, :short_len]).float().div_(255.0)[:, :, None]
    diffs = (frames[:, 1:] - frames[:, :-1]).permute(0, 2, 1, 3, 4).contiguous()
    side = clips.frames.shape[-1]
    family, coverage, truth = cell_labels(
        clips.positions, clips.families, slice(0, short_len), side, query_grid(side, side)
    )
    family = np.where(labelled_cells(family, coverage), family, -1)
    return CellSet(diffs, family, truth)


def cell_queries(encoder: nn.Module, diffs: torch.Tensor) -> torch.Tensor:
    """(N, C, T-1, H, W) -> one query per cell (N, cells, D), cells in row-major order."""
    return encoder(diffs)[:, :, 0].flatten(2).transpose(1, 2)


def encode(encoder: nn.Module, diffs: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """`cell_queries` in batches, without autograd."""
    with torch.inference_mode():
        return torch.cat(
            [cell_queries(encoder, diffs[i : i + batch]) for i in range(0, len(diffs), batch)]
        )


def train_family_query(
    encoder: MotionEncoder,
    train: CellSet,
    steps: int,
    batch: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
) -> tuple[nn.Linear, list[float]]:
    """Train `encoder` (in place) and a linear head to name each labelled cell's family.

    Returns the head and the loss of every step. Only labelled cells count in the loss."""
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps={steps}: must be between 1 and {MAX_STEPS}")
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    width = [m for m in encoder if isinstance(m, nn.Conv3d)][-1].out_channels  # the query's
    head = nn.Linear(width, len(FAMILIES))
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
    labels = torch.from_numpy(train.family)
    encoder.train()
    losses = []
    for _ in range(steps):
        pick = torch.randint(len(train.diffs), (batch,), generator=generator)
        target = labels[pick]
        if not (target >= 0).any():
            continue
        logits = head(cell_queries(encoder, train.diffs[pick]))
        loss = nn.functional.cross_entropy(logits[target >= 0], target[target >= 0].long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    encoder.eval()
    return head, losses


def capacity(
    checkpoint: str | None = None,
    preset: str = "small",
    clips: int = 1500,
    test_clips: int = 500,
    steps: int = 600,
    short_len: int = 10,
    seed: int = 0,
    save: str | None = None,
    from_scratch: bool = False,
    query_padding: str | None = None,
) -> dict:
    """The figures of the module docstring, on `clips` training and `test_clips` test clips;
    `save` (with a checkpoint): where to write it with both motion encoders taught.

    from_scratch: teach a fresh encoder rather than the checkpoint's; query_padding: the taught
    encoder's padding ("zeros", "replicate"; default the model's), written into the saved
    checkpoint's config. Beside the family, each query's cell (16 places) is probed the same way:
    how much of the place the query holds."""
    for name, value in (("clips", clips), ("test_clips", test_clips)):
        if not MIN_CLIPS <= value <= MAX_CLIPS:
            raise ValueError(f"{name}={value}: must be between {MIN_CLIPS} and {MAX_CLIPS}")
    own = None
    if save is not None and checkpoint is None:
        raise ValueError("save needs a checkpoint whose motion encoders the taught one replaces")
    if checkpoint is not None:
        from lmc.checkpoint import load_checkpoint

        model, metadata = load_checkpoint(checkpoint)
        if model.memory is None:
            raise ValueError(f"{checkpoint} has no memory, so no motion query to teach")
        config, own = model.config, model.memory.matching_encoder
    else:
        config = ModelConfig.preset(preset)
    if query_padding is not None:
        config = config.replace(query_padding=query_padding)
    train = cell_set(
        generate_clips(clips, short_len, seed=TRAIN_SEED, split="train", motion="contexts"),
        short_len,
    )
    test = cell_set(
        generate_clips(test_clips, short_len, seed=TEST_SEED, split="test", motion="contexts"),
        short_len,
    )
    encoder = MotionEncoder(
        config.image_channels, *config.motion_channels, config.memory_dim, config.query_padding
    )
    if own is not None and not from_scratch:
        encoder.load_state_dict(own.state_dict())
    start = time.perf_counter()
    head, losses = train_family_query(encoder, train, steps, seed=seed)
    keep = test.labelled
    labels = test.family[keep]
    places = np.broadcast_to(np.arange(keep.shape[1]), keep.shape)[keep]
    trained = encode(encoder, test.diffs)
    with torch.inference_mode():
        head_pred = head(trained).argmax(-1).numpy()
    truth = probe(test.truth[keep], labels, seed=seed)
    place = probe(trained.numpy()[keep], places, seed=seed)
    result = {
        "cells": int(keep.sum()),
        "chance": truth.chance,
        "head": float((head_pred[keep] == labels).mean()),
        "probe_trained_query": probe(trained.numpy()[keep], labels, seed=seed).accuracy,
        "probe_truth": truth.accuracy,
        "probe_checkpoint_query": None,
        "cell_probe_trained_query": place.accuracy,
        "cell_probe_checkpoint_query": None,
        "cell_chance": place.chance,
        "loss_first": float(np.mean(losses[:20])),
        "loss_last": float(np.mean(losses[-20:])),
        "train_seconds": time.perf_counter() - start,
    }
    if own is not None:
        queries = encode(own, test.diffs).numpy()[keep]
        result["probe_checkpoint_query"] = probe(queries, labels, seed=seed).accuracy
        result["cell_probe_checkpoint_query"] = probe(queries, places, seed=seed).accuracy
    if save is not None:
        taught = dict(steps=steps, clips=clips, from_scratch=from_scratch, result=result)
        save_taught(model, metadata, encoder, config.query_padding, save, **taught)
    return result


def save_taught(
    model, metadata: dict, encoder: MotionEncoder, query_padding: str, path: str, **taught
) -> None:
    """Write `model` with its matching and context encoders set to the taught `encoder` (and its
    config's query padding set to the encoder's)."""
    from lmc.checkpoint import save_checkpoint
    from lmc.model import build_model

    if model.config.query_padding != query_padding:
        padded = build_model(model.config.replace(query_padding=query_padding))
        padded.load_state_dict(model.state_dict())
        model = padded
    for part in (model.memory.matching_encoder, model.memory.context_encoder):
        part.load_state_dict(encoder.state_dict())
    record = {k: v for k, v in metadata.items() if k in ("motion", "run_dir", "step")}
    save_checkpoint(model, path, **record, taught_query={"by": __name__, **taught})


def format_capacity(result: dict, source: str) -> str:
    lines = [
        f"each cell's motion family, {result['cells']} labelled test cells (chance "
        f"{result['chance']:.3f}); query encoder from {source}",
        f"  trained query + linear head           {result['head']:.3f}",
        f"  linear probe (LDA), trained query     {result['probe_trained_query']:.3f}",
    ]
    if result["probe_checkpoint_query"] is not None:
        lines.append(
            f"  linear probe (LDA), checkpoint query  {result['probe_checkpoint_query']:.3f}"
        )
    lines += [
        f"  linear probe (LDA), true input motion {result['probe_truth']:.3f}",
        f"each cell's place (of {result['cells']} cells; chance {result['cell_chance']:.3f}), "
        f"linear probe (LDA): trained query {result['cell_probe_trained_query']:.3f}"
        + (
            ""
            if result["cell_probe_checkpoint_query"] is None
            else f", checkpoint query {result['cell_probe_checkpoint_query']:.3f}"
        ),
        f"(loss {result['loss_first']:.3f} -> {result['loss_last']:.3f}; "
        f"{result['train_seconds']:.0f} s)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m lmc.experiments.query_capacity", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint", nargs="?", help="start from its matching encoder")
    parser.add_argument("--preset", default="small", help="without a checkpoint (default small)")
    parser.add_argument("--clips", type=int, default=1500, help="training clips (default 1500)")
    parser.add_argument("--test_clips", type=int, default=500, help="test clips (default 500)")
    parser.add_argument("--steps", type=int, default=600, help="training steps (default 600)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--save", help="write the checkpoint with both motion encoders taught (needs CHECKPOINT)"
    )
    parser.add_argument(
        "--from_scratch", action="store_true", help="teach a fresh encoder, not the checkpoint's"
    )
    parser.add_argument(
        "--query_padding", choices=QUERY_PADDINGS, help="the taught encoder's padding"
    )
    args = parser.parse_args(argv)
    result = capacity(
        args.checkpoint,
        args.preset,
        args.clips,
        args.test_clips,
        args.steps,
        seed=args.seed,
        save=args.save,
        from_scratch=args.from_scratch,
        query_padding=args.query_padding,
    )
    source = args.checkpoint or f"a fresh '{args.preset}' encoder"
    print(format_capacity(result, source))
    return result


if __name__ == "__main__":
    cli.run(main, prog="lmc.experiments.query_capacity")
