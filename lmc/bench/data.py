"""`python -m lmc.bench data`: how fast data reaches the model, and whether memory stays flat.

Each section is a small function `(args) -> list of rows`, a row being a dict with `metric`,
`value`, `unit` and `note`; `SECTIONS` lists them in the order they run. Everything runs on one
thread, since a data loader should not compete with the model for cores. Times are medians of
several repeats because the machines this runs on are shared.

Target: a training step of the `small` preset consumes a few tens of clips per second at most
(call it 50); the generator should never be the bottleneck, so we ask for 20 times that.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from lmc.data.moving_mnist import MovingMNISTStream, generate_clips

TRAINING_CLIPS_PER_S = 50  # upper estimate for the `small` preset on a CPU
TARGET_CLIPS_PER_S = 20 * TRAINING_CLIPS_PER_S
WARMUP_BATCHES = 50

Row = dict[str, Any]


def _median_seconds(run: Callable[[int], object], repeats: int) -> float:
    """Median wall time of `run(i)` over `repeats` calls, after one untimed warm-up call."""
    run(-1)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rss_mb() -> tuple[float, str]:
    """Resident memory of this process in MiB, and how it was measured."""
    try:
        import psutil  # optional: current RSS; without it only the peak is known
    except ImportError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "peak RSS (resource)"
    return psutil.Process().memory_info().rss / 2**20, "RSS (psutil)"


def measure_generator(args: argparse.Namespace) -> list[Row]:
    """generate_clips alone: uint8 frames and metadata, no tensor."""
    seconds = _median_seconds(
        lambda i: generate_clips(args.clips, args.seq_len, seed=1000 + i), args.repeats
    )
    clips_per_s = args.clips / seconds
    shape = f"{args.clips} clips x {args.seq_len} frames, 64x64, 2 digits"
    return [
        {"metric": "generator clips/s", "value": clips_per_s, "unit": "clips/s", "note": shape},
        {
            "metric": "generator frames/s",
            "value": clips_per_s * args.seq_len,
            "unit": "frames/s",
            "note": f"median of {args.repeats}",
        },
        {
            "metric": "generator / target",
            "value": clips_per_s / TARGET_CLIPS_PER_S,
            "unit": "x",
            "note": f"target {TARGET_CLIPS_PER_S} clips/s = 20 x {TRAINING_CLIPS_PER_S}",
        },
    ]


def measure_stream(args: argparse.Namespace) -> list[Row]:
    """MovingMNISTStream.next_batch: what training consumes, float tensors included."""
    stream = MovingMNISTStream(args.batch_size, args.seq_len, seed=0)
    seconds = _median_seconds(lambda i: stream.next_batch(), args.repeats * 4)
    return [
        {
            "metric": "stream clips/s",
            "value": args.batch_size / seconds,
            "unit": "clips/s",
            "note": f"batches of {args.batch_size}, (B, T, 1, H, W) float32",
        }
    ]


def measure_stream_memory(args: argparse.Namespace) -> list[Row]:
    """Resident memory read at every quarter of a long stream: an endless stream must stay flat.

    The allocator may take a few MiB once, early, and keep them; a leak instead grows with every
    batch. So flatness is judged on the second half, after the allocator has settled.
    """
    stream = MovingMNISTStream(args.batch_size, args.seq_len, seed=1)
    for _ in range(WARMUP_BATCHES):
        stream.next_batch()
    readings = []
    for _ in range(4):
        gc.collect()
        readings.append(_rss_mb()[0])
        for _ in range(max(1, args.stream_batches // 4)):
            stream.next_batch()
    gc.collect()
    readings.append(_rss_mb()[0])
    batches = WARMUP_BATCHES + 4 * max(1, args.stream_batches // 4)
    trace = ", ".join(f"{mib:.1f}" for mib in readings)
    return [
        {
            "metric": f"stream RSS after {WARMUP_BATCHES} batches",
            "value": readings[0],
            "unit": "MiB",
            "note": _rss_mb()[1],
        },
        {
            "metric": f"stream RSS after {batches} batches",
            "value": readings[-1],
            "unit": "MiB",
            "note": f"{batches * args.batch_size} clips; quarters: {trace}",
        },
        {
            "metric": "stream RSS growth, second half",
            "value": readings[-1] - readings[2],
            "unit": "MiB",
            "note": "flat means ~0",
        },
    ]


SECTIONS: list[tuple[str, Callable[[argparse.Namespace], list[Row]]]] = [
    ("generator", measure_generator),
    ("stream", measure_stream),
    ("stream_memory", measure_stream_memory),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lmc.bench data", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/data.json"))
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per measurement")
    parser.add_argument("--clips", type=int, default=512, help="clips per generator call")
    parser.add_argument("--seq-len", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--stream-batches", type=int, default=1000, help="batches between RSS reads"
    )
    return parser


def _print_table(sections: dict[str, list[Row]]) -> None:
    print(f"{'section':<14} {'metric':<36} {'value':>12} {'unit':<9} note")
    for section, rows in sections.items():
        for row in rows:
            value = f"{row['value']:,.1f}" if abs(row["value"]) >= 10 else f"{row['value']:.2f}"
            print(f"{section:<14} {row['metric']:<36} {value:>12} {row['unit']:<9} {row['note']}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every section, print a table, write the JSON to `--out` and return it."""
    args = _parser().parse_args(argv)
    for name in ("repeats", "clips", "seq_len", "batch_size", "stream_batches"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')}={getattr(args, name)}: must be >= 1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sections = {name: measure(args) for name, measure in SECTIONS}
    finally:
        torch.set_num_threads(threads)
    result = {
        "suite": "data",
        "threads": 1,
        "target_clips_per_s": TARGET_CLIPS_PER_S,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "sections": sections,
    }
    _print_table(sections)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")
    return result


def measure_folder_reader(args: argparse.Namespace) -> list[Row]:
    """FrameFolderDataset over PNG frame folders: cache build once, then batches of clips.

    The folders are generated clips written to a temporary directory (32 videos of twice
    seq_len frames); clips are read in a strided order so consecutive ones share no frames.
    """
    import tempfile

    from lmc.data.folders import FrameFolderDataset, write_video_frames

    videos, frames_per_video = 32, 2 * args.seq_len
    with tempfile.TemporaryDirectory(prefix="lmc-bench-folders-") as tmp:
        root = Path(tmp) / "root"
        clips = generate_clips(videos, frames_per_video, seed=0)
        for i, video in enumerate(clips.frames):
            write_video_frames(root / f"video_{i:05d}", video)
        start = time.perf_counter()
        dataset = FrameFolderDataset(root, args.seq_len)
        build = time.perf_counter() - start
        start = time.perf_counter()
        FrameFolderDataset(root, args.seq_len)
        reopen = time.perf_counter() - start
        order = [(i * 97) % len(dataset) for i in range(len(dataset))]

        def batch(i: int) -> torch.Tensor:
            first = (max(i, 0) * args.batch_size) % len(order)
            picks = [order[(first + k) % len(order)] for k in range(args.batch_size)]
            return torch.stack([dataset[j] for j in picks])

        seconds = _median_seconds(batch, args.repeats * 4)
    total = videos * frames_per_video
    return [
        {
            "metric": "folder cache build frames/s",
            "value": total / build,
            "unit": "frames/s",
            "note": f"{total} 64x64 PNG frames decoded once",
        },
        {
            "metric": "folder dataset reopen",
            "value": reopen * 1000,
            "unit": "ms",
            "note": "cache hit: stat every frame, no decoding",
        },
        {
            "metric": "folder reader clips/s",
            "value": args.batch_size / seconds,
            "unit": "clips/s",
            "note": f"batches of {args.batch_size}, (B, T, 1, H, W) float32 from the memmap",
        },
    ]


SECTIONS.append(("folders", measure_folder_reader))
