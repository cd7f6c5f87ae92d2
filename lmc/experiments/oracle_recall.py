"""Would the predictor read a memory that names the motion family perfectly?

The positive control of `docs/memory-health.md` ("A memory given a query that knows the family")
gave slots named by the family, yet another clip's recall moved the MSE by under 0.01 %: nothing
in the predictor reads that memory. Two explanations predict that alike: the recall is too weak
(a family probe of 0.62, soft addressing), or the predictor would not read even a perfect one at
this budget. This module tells them apart with an oracle: during training and test the memory's
addressing is forced, cell by cell, to the one-hot of the covering digit's family (slot k for
family k, slot 6 for a cell no digit covers enough; `lmc.analysis.families.labelled_cells`),
through the model's own `MemoryOverride`. The slots, the embedder, the fusion gate and the
predictor train as usual (L1 + MSE), the query is not used. On held-out clips it measures

- the MSE with the oracle recall and with another clip's oracle recall (the batch rolled by one,
  the health's control): a ratio above 1 means the predictor reads the family from the memory;
- with `--shuffle` the same training with every clip given another clip's families, a recall that
  carries no information: the control that says how much of the MSE comes from training alone.

Labels train nothing here; they only choose the addressing, which is the point: an upper bound on
what a memory naming the family can give this predictor. `python -m lmc.experiments.oracle_recall
CHECKPOINT [--steps K] [--eval_every K] [--shuffle] [--recurrent] [--save OUT]`; `--recurrent` first
lets the memory feature into the ConvLSTM as well (`lmc.model.with_recurrent_memory`; the
published model feeds it to the decoder only).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from lmc import cli
from lmc.analysis.health_check import recall_mse
from lmc.data.motion_contexts import FAMILIES
from lmc.data.moving_mnist import generate_clips
from lmc.experiments.query_capacity import cell_set
from lmc.nn.memory import MemoryOverride
from lmc.training.step import prediction_loss

NO_FAMILY = len(FAMILIES)  # the slot of a cell no digit covers enough
MAX_STEPS = 100_000
MIN_TEST_CLIPS = 2  # another clip's recall needs a second clip
# Seeds apart from the training CLI's, the health's and query_capacity's.
TRAIN_SEED, TEST_SEED = 5201, 5202


def oracle_weights(family: np.ndarray, memory_size: int) -> torch.Tensor:
    """(N, cells) family index, -1 unlabelled -> one-hot addressing (N, cells, memory_size)."""
    if memory_size <= NO_FAMILY:
        raise ValueError(
            f"memory_size={memory_size}: the oracle needs at least {NO_FAMILY + 1} slots "
            f"(one per family and one for a cell without one)"
        )
    slot = torch.from_numpy(np.where(family >= 0, family, NO_FAMILY)).long()
    return torch.nn.functional.one_hot(slot, memory_size).float()


def context_batch(count: int, short_len: int, out_len: int, seed, split: str):
    """(frames (N, T, 1, H, W) in [0, 1], family (N, cells)) of freshly generated context clips."""
    clips = generate_clips(count, short_len + out_len, seed=seed, split=split, motion="contexts")
    frames = torch.from_numpy(clips.frames).float().div_(255.0)[:, :, None]
    return frames, cell_set(clips, short_len).family


def evaluate(model, frames: torch.Tensor, family: np.ndarray, short_len: int, out_len: int):
    """MSE (per frame, summed over pixels) with the oracle recall, another clip's, and their ratio."""
    weights = oracle_weights(family, model.config.memory_size).numpy()
    own = recall_mse(model, frames, short_len, out_len, weights)
    other = recall_mse(model, frames, short_len, out_len, np.roll(weights, 1, axis=0))
    return {"mse_oracle": own, "mse_other_oracle": other, "other_ratio": other / own}


def train_oracle(
    model,
    steps: int,
    *,
    short_len: int = 10,
    out_len: int = 20,
    batch: int = 16,
    lr: float = 5e-4,
    seed: int = 0,
    shuffle: bool = False,
    test: tuple[torch.Tensor, np.ndarray] | None = None,
    eval_every: int = 0,
    log=print,
) -> list[dict]:
    """Train `model` (in place) with the oracle addressing; returns the evaluations on `test`
    every `eval_every` steps and at the end (each with its step and mean training loss)."""
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps={steps}: must be between 1 and {MAX_STEPS}")
    if model.memory is None:
        raise ValueError("the model has no memory to force an addressing on")
    oracle_weights(np.zeros((1, 1), dtype=int), model.config.memory_size)  # checks the size
    torch.manual_seed(seed)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    history, losses, start = [], [], time.perf_counter()
    if test is not None:  # where training starts from
        history.append({"step": 0, "loss": None, **evaluate(model, *test, short_len, out_len)})
        log(json.dumps(history[-1]))
    for step in range(1, steps + 1):
        frames, family = context_batch(batch, short_len, out_len, (TRAIN_SEED, seed, step), "train")
        if shuffle:  # another clip's families: a recall with no information in it
            family = np.roll(family, 1, axis=0)
        override = MemoryOverride(weights=oracle_weights(family, model.config.memory_size))
        model.train()
        pred = model(
            frames[:, :short_len], out_len=out_len, memory_override=override, memory_trainable=True
        )
        loss = prediction_loss(pred.frames, frames[:, short_len:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if test is not None and (step == steps or (eval_every and step % eval_every == 0)):
            row = {"step": step, "loss": float(np.mean(losses[-eval_every or None :]))}
            row |= evaluate(model, *test, short_len, out_len)
            row["seconds"] = time.perf_counter() - start
            history.append(row)
            log(json.dumps(row))
    model.eval()
    return history


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(
        prog="python -m lmc.experiments.oracle_recall", description=__doc__.splitlines()[0]
    )
    parser.add_argument("checkpoint", help="the model to train on with the oracle recall")
    parser.add_argument("--steps", type=int, default=300, help="training steps (default 300)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--short_len", type=int, default=10)
    parser.add_argument("--out_len", type=int, default=20)
    parser.add_argument("--test_clips", type=int, default=128, help="held-out clips (default 128)")
    parser.add_argument("--eval_every", type=int, default=50, help="0: only at the end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shuffle", action="store_true", help="the control: another clip's families"
    )
    parser.add_argument(
        "--recurrent",
        action="store_true",
        help="feed the memory feature to the ConvLSTM too (lmc.model.with_recurrent_memory)",
    )
    parser.add_argument("--save", help="write the trained checkpoint here")
    args = parser.parse_args(argv)
    if args.test_clips < MIN_TEST_CLIPS:
        raise ValueError(f"test_clips={args.test_clips}: must be at least {MIN_TEST_CLIPS}")
    from lmc.checkpoint import load_checkpoint, save_checkpoint

    model, metadata = load_checkpoint(args.checkpoint)
    if args.recurrent:
        from lmc.model import with_recurrent_memory

        model = with_recurrent_memory(model)
    test = context_batch(args.test_clips, args.short_len, args.out_len, TEST_SEED, "test")
    history = train_oracle(
        model,
        args.steps,
        short_len=args.short_len,
        out_len=args.out_len,
        batch=args.batch,
        lr=args.lr,
        seed=args.seed,
        shuffle=args.shuffle,
        test=test,
        eval_every=args.eval_every,
    )
    if args.save:
        record = {k: v for k, v in metadata.items() if k in ("motion", "run_dir", "step")}
        oracle = {"by": __name__, "shuffle": args.shuffle, "steps": args.steps, "lr": args.lr}
        # The model's own flag: a checkpoint saved here and trained on stays recurrent.
        oracle["recurrent"] = model.config.memory_recurrent
        oracle["from"] = str(args.checkpoint)
        save_checkpoint(model, args.save, **record, oracle_recall=oracle | history[-1])
    return history


if __name__ == "__main__":
    cli.run(main, prog="lmc.experiments.oracle_recall")
