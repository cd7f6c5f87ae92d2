"""Run a model over clips of known motion and measure its memory's health (`lmc.analysis.health`).

Two entry points:
- `health_check(model, clips)`: the full report (`lmc.analysis.health_report.HealthReport`)
  behind `python -m lmc.health`: usage, what the top slot follows, linear probes of the true
  motion, the MSE with the model's own recall against another clip's and uniform addressing, and
  the alignment of long and short recall;
- `watch_health(model, clips)`: the cheap measures the training loop logs at every validation.

Clips are generated Moving-MNIST (`MovingMNISTClips`), whose true motion per cell is known. The
recall is phase 2 (the matching encoder on the short input: what inference does); phase 1 (the
context encoder on the long window) enters only the alignment.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from lmc.analysis import health as hl
from lmc.analysis.dataset_pass import DatasetPass, Progress, run_dataset_pass
from lmc.analysis.families import cell_labels, family_health
from lmc.analysis.health_report import FamilyHealth, HealthReport, health_path, read_report
from lmc.data.moving_mnist import MovingMNISTClips
from lmc.metrics import mse as frame_mse
from lmc.nn.memory import MemoryOverride

__all__ = [
    "HealthReport",  # from lmc.analysis.health_report, as are health_path and read_report
    "feature_active",
    "health_check",
    "health_path",
    "query_spread",
    "read_report",
    "recall_mse",
    "watch_health",
]


def _check(model: torch.nn.Module, clips: MovingMNISTClips, short_len: int, out_len: int) -> None:
    if getattr(model, "memory", None) is None:
        raise ValueError("this model has no memory (built with memory=False): nothing to check")
    if not isinstance(clips, MovingMNISTClips):
        raise TypeError("the health check needs generated Moving-MNIST clips (their true motion)")
    length = clips.frames.shape[1]
    if short_len + out_len > length:
        raise ValueError(
            f"short_len + out_len = {short_len + out_len}: the clips have only {length} frames"
        )
    if len(clips) < 2:
        raise ValueError("the health check needs at least 2 clips (one's recall goes to another)")


@torch.inference_mode()
def recall_mse(
    model: torch.nn.Module,
    frames: torch.Tensor,
    short_len: int,
    out_len: int,
    weights: np.ndarray | None = None,
    batch_size: int = 32,
    readout: np.ndarray | None = None,
) -> float:
    """Mean per-frame MSE (summed over pixels) of the prediction, with the model's own recall or
    with the addressing `weights` (N, cells, S), or the `readout` (N, cells, D), forced in every
    cell."""
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, len(frames), batch_size):
        clip = frames[start : start + batch_size].to(device)
        override = None
        if weights is not None:
            forced = torch.from_numpy(np.asarray(weights[start : start + batch_size])).float()
            override = MemoryOverride(weights=forced.to(device))
        elif readout is not None:
            forced = torch.from_numpy(np.asarray(readout[start : start + batch_size])).float()
            override = MemoryOverride(readout=forced.to(device))
        pred = model.predict(clip[:, :short_len], out_len, memory_override=override).frames
        target = clip[:, short_len : short_len + out_len]
        total += float(frame_mse(pred.float().clamp(0, 1), target).sum())
        count += pred.shape[0] * pred.shape[1]
    return total / count


def query_spread(query: np.ndarray) -> float:
    """How much the queries (N, cells, D) differ between clips, cell by cell: the norm of their
    standard deviation over clips over the norm of their mean, averaged over cells. Near 0 the
    motion encoder gives every clip the same query, whatever its motion (a collapsed encoder)."""
    query = np.asarray(query, dtype=np.float64)
    spread = np.linalg.norm(query.std(axis=0), axis=-1)
    centre = np.linalg.norm(query.mean(axis=0), axis=-1)
    return float(np.mean(spread / np.maximum(centre, 1e-12)))


@torch.inference_mode()
def feature_active(
    model: torch.nn.Module, readout: np.ndarray | None, batch_size: int = 64
) -> float | None:
    """The share of the memory feature's units above zero when the readouts (N, cells, D) go
    through the model's embedder; None without readouts."""
    if readout is None:
        return None
    memory = model.memory
    device = next(model.parameters()).device
    cells = readout.shape[1]
    grid = model.config.grid if cells == math.prod(model.config.grid) else (1, cells)
    active, total = 0, 0
    for start in range(0, len(readout), batch_size):
        chunk = torch.from_numpy(np.asarray(readout[start : start + batch_size])).float()
        feature = memory.embed(chunk.to(device), grid)
        active += int((feature > 0).sum())
        total += feature.numel()
    return active / total


def _pass(
    model, clips: MovingMNISTClips, short_len: int, long_len: int | None, progress=None
) -> DatasetPass:
    return run_dataset_pass(
        model,
        clips.frames,
        short_len,
        long_len=long_len,
        positions=clips.positions,
        velocities=clips.velocities,
        labels=clips.labels,
        families=clips.families,
        progress=progress,
    )


# The clip runs of a health check, for its progress: the memory pass, then five rollouts.
RUNS_PER_CLIP = 6


def _family_figures(
    sample: DatasetPass, clips: MovingMNISTClips, short_len: int, seed: int
) -> FamilyHealth | None:
    """The motion-context figures of clips with families; None for standard ones, or when no
    cell is covered well enough to be labelled."""
    if not sample.has_families:
        return None
    _, _, truth = cell_labels(
        clips.positions, clips.families, slice(0, short_len), clips.frames.shape[-1], sample.grid
    )
    try:
        return family_health(
            sample.short_weights.argmax(axis=-1),
            sample.short_readout,
            sample.short_query,
            sample.cell_family,
            sample.family_coverage,
            truth,
            long_readouts=sample.long_readout,
            seed=seed,
        )
    except ValueError:  # too few labelled cells: the figures are not measured
        return None


def health_check(
    model: torch.nn.Module,
    clips: MovingMNISTClips,
    short_len: int = 10,
    out_len: int = 10,
    long_len: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> HealthReport:
    """The full health report of `model`'s memory on `clips` (N clips of >= short_len + out_len
    frames). long_len: the long window for the alignment (default: short_len + out_len).
    progress(done, total) counts clip runs: the memory pass over each clip, then each of the
    five rollouts (total RUNS_PER_CLIP * N); the probes between them take seconds."""
    _check(model, clips, short_len, out_len)
    start = time.perf_counter()
    long_len = long_len or short_len + out_len
    total = RUNS_PER_CLIP * len(clips.frames)

    def tick(done: int, _total: int | None = None) -> None:
        if progress is not None:
            progress(done, total)

    sample = _pass(model, clips, short_len, long_len, tick)
    weights = sample.short_weights
    n, cells, size = weights.shape
    temperature = float(model.config.temperature)
    use = hl.usage(weights, temperature, model.config.addressing)

    top = weights.argmax(axis=-1)  # (N, cells)
    position = np.broadcast_to(np.arange(cells), (n, cells))
    moving = hl.moving_cells(sample.direction, sample.occupancy)
    direction = hl.direction_bin(sample.direction)[moving]
    speed = hl.speed_bin(sample.speed[moving])
    readout, query = sample.short_readout[moving], sample.short_query[moving]
    p_dir_r, p_dir_q = (
        hl.probe(readout, direction, seed=seed),
        hl.probe(query, direction, seed=seed),
    )
    p_spd_r, p_spd_q = hl.probe(readout, speed, seed=seed), hl.probe(query, speed, seed=seed)

    frames = clips.to_tensor()
    uniform = np.full_like(weights, 1.0 / size)
    rollouts = {  # the five rollouts: own recall, another clip's, uniform, the long window's two
        "mse_own": {},
        "mse_other_recall": {"weights": np.roll(weights, 1, axis=0)},
        "mse_uniform": {"weights": uniform},
        "mse_long_recall": {"readout": sample.long_readout},
        "mse_long_other_recall": {"readout": np.roll(sample.long_readout, 1, axis=0)},
    }
    mse = {}
    for k, (name, recall) in enumerate(rollouts.items()):
        mse[name] = recall_mse(model, frames, short_len, out_len, **recall)
        tick(n * (k + 2))
    align = hl.alignment_health(sample.long_weights, weights)
    report = HealthReport(
        clips=n,
        short_len=short_len,
        out_len=out_len,
        memory_size=size,
        temperature=temperature,
        probe_method=hl.PROBE_METHOD,
        slots_alive=use.slots_alive,
        effective_slots=use.effective_slots,
        max_weight=use.max_weight,
        max_weight_bound=use.max_weight_bound,
        nmi_position=hl.nmi(top, position),
        nmi_position_shuffled=hl.shuffled_nmi(top, position, seed=seed),
        nmi_direction=hl.nmi(top[moving], direction),
        nmi_direction_shuffled=hl.shuffled_nmi(top[moving], direction, seed=seed),
        probe_direction_readout=p_dir_r.accuracy,
        probe_direction_query=p_dir_q.accuracy,
        probe_direction_long_readout=hl.probe(
            sample.long_readout[moving], direction, seed=seed
        ).accuracy,
        probe_chance=p_dir_r.chance,
        probe_direction_truth=hl.probe(
            hl.velocity_of(sample.direction[moving], sample.speed[moving]), direction, seed=seed
        ).accuracy,
        probe_speed_readout=p_spd_r.accuracy,
        probe_speed_query=p_spd_q.accuracy,
        probe_speed_chance=p_spd_r.chance,
        probe_samples=p_dir_r.samples,
        **mse,
        readout_clip_correlation=hl.clip_correlation(sample.short_readout, sample.long_readout),
        readout_clip_correlation_shuffled=hl.clip_correlation(
            sample.short_readout, np.roll(sample.long_readout, 1, axis=0)
        ),
        feature_active_short=feature_active(model, sample.short_readout),
        feature_active_long=feature_active(model, sample.long_readout),
        query_spread_short=query_spread(sample.short_query),
        query_spread_long=query_spread(sample.long_query),
        alignment_top1=align.top1,
        alignment_top1_chance=align.top1_chance,
        alignment_kl=align.kl,
        alignment_kl_chance=align.kl_chance,
        family=_family_figures(sample, clips, short_len, seed),
    )
    report.seconds = time.perf_counter() - start
    return report


def watch_health(
    model: torch.nn.Module,
    frames: torch.Tensor,
    short_len: int,
    out_len: int,
    long_len: int,
) -> dict[str, float]:
    """The cheap measures of the training loop, on clips (N, T, C, H, W): slots alive, effective
    slots, the MSE ratio of another clip's recall over the model's own, and the long/short top-1
    agreement beside another clip's. Needs no true motion, so it works on any validation set."""
    if getattr(model, "memory", None) is None:
        return {}
    sample = run_dataset_pass(model, frames, short_len, long_len=long_len)
    use = hl.usage(sample.short_weights, float(model.config.temperature), model.config.addressing)
    own = recall_mse(model, frames, short_len, out_len)
    other = recall_mse(model, frames, short_len, out_len, np.roll(sample.short_weights, 1, axis=0))
    align = hl.alignment_health(sample.long_weights, sample.short_weights)
    return {
        "slots_alive": use.slots_alive,
        "effective_slots": use.effective_slots,
        "other_recall_mse_ratio": other / own if own > 0 else float("nan"),
        "alignment_top1": align.top1,
        "alignment_top1_chance": align.top1_chance,
    }
