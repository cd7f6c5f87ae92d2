"""A whole training run of LMC-Memory with memory alignment learning: `run(TrainConfig)`.

Linear on purpose: setup, data, model, optimizer, resume, loop (train, validate, checkpoint).
Several GPUs or machines: launch with `torchrun`; each process is detected by the RANK variable,
rank 0 alone writes files, and data seeds differ per rank. `python -m train.train` parses the
original flags and calls `run`; `lmc.experiments` calls it in-process.

The run directory holds config.json (resolved), metrics.jsonl (`lmc.training.metrics_log`),
last.pt (the full training state, `lmc.training.state`, written atomically every print_freq
iterations and at the end), last.safetensors and best.safetensors (the model alone, for the
dashboard and evaluation) and samples/*.png (`sample_clips` of them; 0: none).

Resuming (`lmc.training.resume`): the training state and the settings are checked before
anything is written, so a refused resume leaves the folder as it was; a changed learning rate is
applied and recorded in config.json's `resumed`. At each start, the temporary files of writes
that were killed are removed from the folder, and metrics.jsonl keeps only the records up to the
starting iteration, so that each iteration is logged once. A fresh run into a folder that holds
another run's files is refused unless `overwrite` asks for it (`lmc.training.resume`); then those
files are deleted first, so nothing of the old run is mixed in.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from lmc.analysis.health_check import watch_health
from lmc.checkpoint import load_checkpoint, save_checkpoint
from lmc.config import MIN_MOTION_FRAMES
from lmc.device import resolve_device
from lmc.errors import ConfigError, TrainingStopped
from lmc.evaluation import batched, evaluate, finalize
from lmc.io import atomic_write, remove_stale_temps
from lmc.model import (
    build_model,
    freeze,
    parameter_counts,
    reinitialize,
    trainable_parameters,
    with_recurrent_memory,
)
from lmc.training import metrics_log
from lmc.training.config import TrainConfig
from lmc.training.data import make_train_source, validation_clips
from lmc.training.resume import clear_previous_run, open_resume, resume_path
from lmc.training.state import save_train_state
from lmc.training.step import ClipWindows, check_windows, train_step
from lmc.training.tensorboard import TensorBoardLog
from lmc.viz import rollout_strip, save_png
from lmc.weights import load_state_strict, unwrap

HEALTH_CLIPS = 64  # validation clips of the memory health watch at each validation
logger = logging.getLogger(__name__)


def log(*args) -> None:
    # Progress goes to stderr itself, not through logging: a caller that redirects stderr (the
    # experiment grid's train.log) gets it without configuring logging.
    print(*args, file=sys.stderr, flush=True)


def default_run_dir(cfg: TrainConfig) -> Path:
    return Path("runs") / f"{cfg.dataset}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(cfg: TrainConfig) -> dict:
    """Train (or resume, with cfg.resume) one run; returns its final iteration, run directory,
    best validation MSE and the trained model. Raises ConfigError for settings that cannot run
    here and TrainingStopped for a non-finite loss (the last good checkpoint is kept)."""

    # ---------------------------------------------------------------- setup (DDP detected by RANK)
    distributed = int(os.environ.get("RANK", -1)) != -1
    if distributed:
        backend = "nccl" if torch.cuda.is_available() and cfg.device in ("auto", "cuda") else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        device = torch.device(f"cuda:{local_rank}") if backend == "nccl" else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        rank, world, device = 0, 1, resolve_device(cfg.device)
    master = rank == 0
    if cfg.amp != "off" and device.type != "cuda":
        raise ConfigError(f"amp={cfg.amp} needs a CUDA device (this run is on {device.type})")
    autocast_dtype = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg.amp]
    scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" else None

    model_cfg = cfg.model_config()
    check_windows(cfg.short_len, cfg.out_len, cfg.long_len, MIN_MOTION_FRAMES)
    run_dir = Path(cfg.resolved_run_dir or default_run_dir(cfg))
    if distributed and not cfg.resolved_run_dir:
        raise ConfigError("distributed runs need run_dir (every process must agree on it)")
    # Checked and loaded before anything is written: a refused resume leaves the folder as it was.
    path = resume_path(cfg, run_dir)
    resume = open_resume(path, cfg, model_cfg) if path is not None else None

    # ---------------------------------------------------------------- data
    source = make_train_source(cfg, model_cfg.image_size, model_cfg.image_channels, rank, world)
    val_clips, val_label = validation_clips(cfg, model_cfg.image_size, model_cfg.image_channels)
    val_shard = val_clips[rank::world]

    # ---------------------------------------------------------------- model and optimizer
    torch.manual_seed(cfg.seed)  # the same initial weights on every rank
    model = build_model(model_cfg).to(device)
    if cfg.checkpoint_load and resume is None:  # a resume brings its own weights
        loaded, _ = load_checkpoint(cfg.checkpoint_load_file, dataset=cfg.dataset)
        if model_cfg.memory_recurrent and not loaded.config.memory_recurrent:
            # Grown with zero weights on the new input: training starts from the loaded
            # model's own function, and the recall's way into the ConvLSTM opens as it learns.
            loaded = with_recurrent_memory(loaded)
        load_state_strict(model, loaded.state_dict(), cfg.checkpoint_load_file)
        reinitialize(model, cfg.reinitialize_parts())
    freeze(model, cfg.parts("freeze"))
    optimizer = torch.optim.Adam(trainable_parameters(model), lr=cfg.lr)
    start, best_val = 0, None
    if resume is not None:
        resume.restore(model, optimizer, source)
        start, best_val = resume.iteration, resume.best_val

    # ---------------------------------------------------------------- the run directory
    if master:
        if cfg.overwrite and resume is None:
            for old in clear_previous_run(run_dir):
                log(f"removed {old} (--overwrite)")
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "samples").mkdir(exist_ok=True)
        for folder in (run_dir, run_dir / "samples"):
            for stale in remove_stale_temps(folder):
                log(f"removed {stale}, left by a write that was killed")
        resolved = {"train": cfg.to_dict(), "model": model_cfg.to_dict(), "world_size": world}
        if resume is not None:
            resolved["resumed"] = resume.record()
        text = json.dumps(resolved, indent=2) + "\n"
        atomic_write(run_dir / "config.json", lambda tmp: tmp.write_text(text))
        log(text.rstrip())
        # Records after the starting point (all of them for a fresh start, such as a run killed
        # before its first last.pt) are about to be written again.
        metrics_log.truncate_after(run_dir / metrics_log.FILE_NAME, start)
        if resume is not None:
            log(f"resumed from {resume.path} at iteration {start}")
            for name, (old, new) in resume.changed.items():
                applied = " (applied to the optimizer)" if name == "lr" else ""
                log(f"resume changes {name}: {old!r} -> {new!r}{applied}")
        log(f"parameters: {parameter_counts(model)}")
    train_model = model
    if distributed:
        # Each phase leaves some parts unused (the context encoder in phase 2, the matching one in
        # phase 1); DDP leaves the gradients of globally unused parameters untouched (None).
        train_model = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=model_cfg.memory,
        )
    if cfg.compile:
        train_model = torch.compile(train_model)

    # ---------------------------------------------------------------- helpers of the loop
    metrics_path = run_dir / metrics_log.FILE_NAME

    board = TensorBoardLog(cfg.tensorboard) if master and cfg.tensorboard else None

    def write_metrics(record: dict) -> None:
        if master:
            metrics_log.append_record(metrics_path, record)
            if board is not None:
                board.record(record)

    def validate(iteration: int) -> dict:
        sums = evaluate(model, batched(val_shard, 32), cfg.short_len, cfg.out_len, device=device)
        if distributed:
            for group in sums.values():
                for tensor in group.values():
                    dist.all_reduce(tensor)  # sums and counts add up over ranks
        return finalize(sums)

    collapse_warned = False

    def watch_memory(iteration: int) -> dict:
        """The memory's cheap health on the first validation clips; warns once on a collapse."""
        nonlocal collapse_warned
        if not model_cfg.memory:
            return {}
        clips = val_clips[: min(len(val_clips), HEALTH_CLIPS)].to(device)
        health = watch_health(
            model, clips, cfg.short_len, cfg.out_len, min(cfg.long_len, clips.shape[1])
        )
        if not collapse_warned and health["slots_alive"] < 0.25 * model_cfg.memory_size:
            collapse_warned = True
            logger.warning(
                "the memory looks collapsed at iteration %d: %d of %d slots are ever a top "
                "choice on %d validation clips (python -m lmc.health says more)",
                iteration,
                health["slots_alive"],
                model_cfg.memory_size,
                len(clips),
            )
        return health

    def save_samples(iteration: int) -> None:
        if cfg.sample_clips:  # 0: no rollout strips
            clips = val_clips[: cfg.sample_clips].to(device)
            pred = model.predict(clips[:, : cfg.short_len], cfg.out_len).frames
            strips = [
                rollout_strip(c[: cfg.short_len], c[cfg.short_len :], p)
                for c, p in zip(clips, pred, strict=True)
            ]
            image = np.concatenate(strips, axis=0)
            save_png(image, run_dir / "samples" / f"iter_{iteration:07d}.png")
            if board is not None:
                board.rollouts(image, iteration)
        if board is not None and model.memory is not None:
            board.slots(model.memory.slots, iteration)

    def checkpoint(iteration: int) -> None:
        if not master:
            return
        meta = {
            "step": iteration,
            "run_dir": str(run_dir),
            "model_card": cfg.model_card or "",
            "motion": cfg.motion,  # the data it learnt from: the dashboard's default test set
        }
        save_train_state(
            run_dir / "last.pt",
            model,
            optimizer,
            iteration=iteration,
            data=source.state_dict(),
            best_val=best_val,
            train_config=cfg.to_dict(),
            metadata=meta,
        )
        save_checkpoint(model, run_dir / "last.safetensors", **meta)

    # ---------------------------------------------------------------- loop
    from tqdm import tqdm

    bar = tqdm(
        total=cfg.iterations, initial=start, disable=not master, dynamic_ncols=True, file=sys.stderr
    )
    val_every = cfg.resolved_val_every
    clips_seen, timer = 0, time.perf_counter()
    iteration = start
    try:
        while iteration < cfg.iterations:
            windows = ClipWindows(
                cfg.short_len,
                cfg.out_len,
                cfg.long_len,
                warmup=iteration < cfg.iterations_warmup,
                long_window=cfg.long_window,
            )
            clip = source.next_batch().to(device, non_blocking=True)
            try:
                losses = train_step(
                    train_model,
                    optimizer,
                    clip,
                    windows,
                    windows.long_start(cfg.seed, iteration),
                    alignment=cfg.alignment,
                    terms=cfg.memory_terms(),
                    autocast_dtype=autocast_dtype,
                    scaler=scaler,
                )
            except FloatingPointError as err:
                raise TrainingStopped(
                    f"iteration {iteration + 1}: {err}; stopping. The last good checkpoint is "
                    f"{run_dir / 'last.pt'} (iteration {iteration - iteration % cfg.print_freq})"
                ) from None
            iteration += 1
            clips_seen += clip.shape[0] * world
            bar.update(1)
            if (
                iteration % cfg.print_freq == 0
                or iteration == cfg.iterations
                or iteration % val_every == 0
            ):
                elapsed = time.perf_counter() - timer
                rate = clips_seen / max(elapsed, 1e-9)
                record = {
                    "iteration": iteration,
                    **losses,
                    "lr": optimizer.param_groups[0]["lr"],
                    "clips_per_s": rate,
                }
                bar.set_postfix(loss=f"{sum(losses.values()):.4f}", clips_s=f"{rate:.1f}")
                if iteration % val_every == 0 or iteration == cfg.iterations:
                    val = validate(iteration)
                    record["val"] = {k: v["mean"] for k, v in val["model"].items()}
                    record["val_baselines"] = {
                        m: {k: v["mean"] for k, v in val[m].items()} for m in ("copy_last", "zeros")
                    }
                    record["val_source"] = val_label
                    if master:
                        health = watch_memory(iteration)
                        if health:
                            record["health"] = health
                    if best_val is None or record["val"]["mse"] < best_val:
                        best_val = record["val"]["mse"]
                        if master:
                            save_checkpoint(
                                model,
                                run_dir / "best.safetensors",
                                step=iteration,
                                metrics=record["val"],
                                metrics_source=val_label,
                                model_card=cfg.model_card or "",
                                motion=cfg.motion,
                            )
                    if master:
                        save_samples(iteration)
                write_metrics(record)
                clips_seen, timer = 0, time.perf_counter()
            if iteration % cfg.print_freq == 0 or iteration == cfg.iterations:
                checkpoint(iteration)
        if distributed:
            # Leave together: a rank that tears Gloo down while rank 0 still writes the final
            # checkpoint makes the other abort ("terminate called without an active exception").
            dist.barrier()
    finally:
        bar.close()
        if board is not None:
            board.close()
        if distributed:
            # DDP's reducer holds the process group and its Gloo threads: release it before the
            # group goes, or its destructor may run during interpreter exit and abort the rank.
            del train_model
            gc.collect()
            dist.destroy_process_group()
    return {
        "iteration": iteration,
        "run_dir": str(run_dir),
        "best_val_mse": best_val,
        "model": unwrap(model),
    }
