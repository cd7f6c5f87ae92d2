"""`python -m lmc.bench gpu`: the published recipes on one CUDA device, per precision and compiler.

For `paper-mnist` (10 -> 30 frames, long window 30, batch 128) and `paper-kth` (10 -> 40, long
40, batch 32), the settings Lee et al. report (CVPR 2021), it times
- a training iteration: `lmc.training.train_step`, both phases, each forward, backward and Adam
  step, on one batch of random frames;
- an inference rollout of a batch of the same size, short input -> out_len frames;
in fp32, bf16 autocast and fp16 autocast (training with a GradScaler, as `train/` does), each in
the VARIANTS below: eager, channels_last, CUDA graphs, torch.compile. Medians over --iterations
timed calls after --warmup untimed ones (compilation, autotuning, graph capture), with
torch.cuda.synchronize around each; the peak is torch.cuda.max_memory_allocated, reset before each
configuration. A training row projects the published 300,000 iterations on this device. A
configuration that fails (out of memory, a compiler error) becomes a row saying so, and the bench
goes on; one that cannot apply says why.

Without CUDA it ends at once: `lmc.bench: no CUDA device: ...`, status 2 (`lmc.cli`).
"""

from __future__ import annotations

import gc
import logging
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from lmc.bench.gpu_report import project_recipe_s, render
from lmc.cli import ArgumentParser, one_line
from lmc.errors import ConfigError
from lmc.training.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    """What one published training run feeds the model: its batch and frame windows."""

    preset: str
    batch: int
    short_len: int
    out_len: int
    long_len: int


# The Moving-MNIST recipe is TrainConfig's default; KTH's is the paper's 10/40/40 at batch 32.
RECIPES = {
    "paper-mnist": Recipe(
        "paper-mnist",
        TrainConfig.batch_size,
        TrainConfig.short_len,
        TrainConfig.out_len,
        TrainConfig.long_len,
    ),
    "paper-kth": Recipe("paper-kth", batch=32, short_len=10, out_len=40, long_len=40),
}
TASKS = ("train", "rollout")
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Variant:
    """How the model runs: compiled or not, its 2-D convolutions' layout, CUDA graphs."""

    compile_mode: str | None = None  # None: eager; else torch.compile's mode
    channels_last: bool = False  # 4-D weights in channels_last; the 3-D encoders' stay as they are
    cuda_graph: bool = False  # the eager rollout captured once into a CUDA graph and replayed


VARIANTS = {
    "eager": Variant(),
    "channels_last": Variant(channels_last=True),
    "cuda-graph": Variant(cuda_graph=True),
    "compile": Variant("default"),
    "compile+channels_last": Variant("default", channels_last=True),
    # Inductor's CUDA graphs (cudagraph trees): the compiled forward and backward, each replayed.
    "compile-cudagraphs": Variant("reduce-overhead"),
}


@dataclass(frozen=True)
class Config:
    """One row of the table."""

    recipe: Recipe
    task: str
    dtype: str
    variant: str


def not_applicable(config: Config, bf16_supported: bool = True) -> str | None:
    """Why `config` cannot run ("n/a: ..."), or None when it can."""
    if config.task == "train" and VARIANTS[config.variant].cuda_graph:
        return (
            "n/a: train_step reads each phase's loss on the host before its optimizer step, "
            "which a captured graph cannot; compile-cudagraphs graphs forward and backward"
        )
    if config.dtype == "bf16" and not bf16_supported:
        return "n/a: this GPU has no bf16"
    return None


# ------------------------------------------------------------------------------ pure parts
@dataclass
class Timing:
    times: list[float]  # seconds of each timed call
    warmup_s: float  # seconds of the untimed calls before them, all together

    @property
    def median_s(self) -> float:
        return statistics.median(self.times)


def time_calls(
    fn: Callable[[], object],
    iterations: int,
    warmup: int,
    sync: Callable[[], None],
    clock: Callable[[], float] = time.perf_counter,
) -> Timing:
    """`warmup` untimed calls, then `iterations` timed ones, each ended by `sync()` (CUDA
    kernels run after their call returns: the clock stops when the device is done)."""
    sync()
    start = clock()
    for _ in range(warmup):
        fn()
    sync()
    warmup_s = clock() - start
    times = []
    for _ in range(iterations):
        start = clock()
        fn()
        sync()
        times.append(clock() - start)
    return Timing(times, warmup_s)


def configurations(
    presets: list[str],
    tasks: list[str],
    dtypes: list[str],
    variants: list[str],
    batch: int | None = None,
) -> list[Config]:
    """Every row, preset by preset; `batch` replaces the published batch of each recipe."""
    rows = []
    for preset in presets:
        recipe = RECIPES[preset]
        if batch is not None:
            recipe = Recipe(preset, batch, recipe.short_len, recipe.out_len, recipe.long_len)
        for task in tasks:
            for dtype in dtypes:
                rows.extend(Config(recipe, task, dtype, variant) for variant in variants)
    return rows


def describe(config: Config) -> dict:
    """The row's identifying columns."""
    r = config.recipe
    frames = f"{r.short_len} -> {r.out_len}"
    return {
        "preset": r.preset,
        "task": config.task,
        "batch": r.batch,
        "frames": f"{frames}, long {r.long_len}" if config.task == "train" else frames,
        "dtype": config.dtype,
        "variant": config.variant,
    }


def run_configs(
    configs: list[Config],
    measure: Callable[[Config], dict],
    bf16_supported: bool = True,
) -> list[dict]:
    """A row per configuration: `measure(config)`'s median_s, first_calls_s and peak_gib with
    status "ok", or the failure that stopped it; one failure never ends the others."""
    rows = []
    for config in configs:
        row = describe(config)
        reason = not_applicable(config, bf16_supported)
        if reason is not None:
            rows.append({**row, "status": reason})
            continue
        try:
            row.update(measure(config))
            row["status"] = "ok"
            row["clips_per_s"] = row["batch"] / row["median_s"]
            if config.task == "train":
                row["recipe_s"] = project_recipe_s(row["median_s"])
        except torch.cuda.OutOfMemoryError:
            row["status"] = "out of memory"
        except Exception as err:  # a failing configuration is a row of the table, not the end
            row["status"] = f"error: {type(err).__name__}: {one_line(str(err))[:200]}"
        rows.append(row)
        log.info(
            "%s",
            " ".join(str(row[k]) for k in ("preset", "task", "dtype", "variant"))
            + (f": {row['median_s'] * 1000:.1f} ms" if row["status"] == "ok" else "")
            + f" ({row['status']})",
        )
    return rows


# ------------------------------------------------------------------------------ arguments
def _names(text: str, valid: list[str] | tuple[str, ...], flag: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise ConfigError(
            f"{flag} {text!r}: unknown {', '.join(unknown) or '(none given)'}; "
            f"valid: {', '.join(valid)}"
        )
    return names


def parse_args(argv: list[str] | None):
    p = ArgumentParser(prog="python -m lmc.bench gpu", description=__doc__.splitlines()[0])
    p.add_argument("--presets", default=",".join(RECIPES), help=f"of {', '.join(RECIPES)}")
    p.add_argument("--tasks", default=",".join(TASKS), help=f"of {', '.join(TASKS)}")
    p.add_argument("--dtypes", default=",".join(AUTOCAST), help=f"of {', '.join(AUTOCAST)}")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    p.add_argument("--no-compile", action="store_true", help="leave out the compiled variants")
    p.add_argument("--iterations", type=int, default=10, help="timed calls per configuration")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before them")
    p.add_argument("--batch", type=int, default=None, help="instead of each recipe's batch")
    p.add_argument("--device", default="cuda", help="cuda or cuda:N")
    p.add_argument("--out", type=Path, default=None, help="also write the table: FILE.md or .json")
    args = p.parse_args(argv)
    args.presets = _names(args.presets, list(RECIPES), "--presets")
    args.tasks = _names(args.tasks, TASKS, "--tasks")
    args.dtypes = _names(args.dtypes, list(AUTOCAST), "--dtypes")
    args.variants = _names(args.variants, list(VARIANTS), "--variants")
    if args.no_compile:
        args.variants = [v for v in args.variants if VARIANTS[v].compile_mode is None]
        if not args.variants:
            raise ConfigError("--no-compile leaves none of --variants; add eager or cuda-graph")
    for flag, value, least in (("iterations", args.iterations, 1), ("warmup", args.warmup, 1)):
        if value < least:
            raise ConfigError(f"--{flag} {value}: must be at least {least}")
    if args.batch is not None and args.batch < 1:
        raise ConfigError(f"--batch {args.batch}: must be at least 1")
    if not (args.device == "cuda" or args.device.startswith("cuda:")):
        raise ConfigError(f"--device {args.device}: must be cuda or cuda:N (a GPU benchmark)")
    if args.out is not None and args.out.suffix not in (".md", ".json"):
        raise ConfigError(f"--out {args.out}: must end in .md (markdown) or .json")
    return args


# ------------------------------------------------------------------------------ on the device
def channels_last_2d(model: torch.nn.Module) -> int:
    """Every 4-D weight (the 2-D convolutions, the ConvLSTM's fused one) into channels_last, in
    place; 5-D weights (the 3-D motion encoders) stay, since channels_last needs rank 4. The
    activations follow the weights' layout. Returns how many weights moved."""
    moved = 0
    for param in model.parameters():
        if param.dim() == 4:
            param.data = param.data.contiguous(memory_format=torch.channels_last)
            moved += 1
    return moved


def capture(fn: Callable[[], torch.Tensor], warmup: int) -> Callable[[], torch.Tensor]:
    """`fn` captured into a CUDA graph after `warmup` calls on a side stream (capture needs its
    kernels and workspaces chosen first); calling the result replays it on the same inputs."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()

    def replay() -> torch.Tensor:
        graph.replay()
        return out

    return replay


def prepare(config: Config, model: torch.nn.Module, device, warmup: int) -> Callable[[], object]:
    """The call that `config` times: a training iteration or a rollout of `model` on `device`."""
    from lmc.training import ClipWindows, train_step

    r, variant, dtype = config.recipe, VARIANTS[config.variant], AUTOCAST[config.dtype]
    c = model.config
    runner = torch.compile(model, mode=variant.compile_mode) if variant.compile_mode else model
    # Inductor's CUDA graphs reuse their outputs' memory from one iteration to the next; saying
    # where an iteration begins lets them do it without guessing.
    graphed = variant.compile_mode == "reduce-overhead"
    mark_step = torch.compiler.cudagraph_mark_step_begin if graphed else lambda: None
    if config.task == "train":
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=TrainConfig.lr)
        scaler = torch.amp.GradScaler("cuda") if config.dtype == "fp16" else None
        shape = (r.batch, r.short_len + r.out_len, c.image_channels, c.image_size, c.image_size)
        clip = torch.rand(*shape, device=device)
        windows = ClipWindows(r.short_len, r.out_len, r.long_len)

        def iteration() -> None:
            mark_step()
            # The long window's start changes what it sees, not what it costs.
            train_step(runner, optimizer, clip, windows, 0, autocast_dtype=dtype, scaler=scaler)

        return iteration
    model.eval()
    shape = (r.batch, r.short_len, c.image_channels, c.image_size, c.image_size)
    short = torch.rand(*shape, device=device)

    def rollout() -> torch.Tensor:
        # No autocast cache under capture: a cached cast would be a tensor outside the graph.
        amp = torch.autocast(
            "cuda", dtype=dtype, enabled=dtype is not None, cache_enabled=not variant.cuda_graph
        )
        mark_step()
        with torch.inference_mode(), amp:
            return runner(short, out_len=r.out_len).frames

    return capture(rollout, warmup) if variant.cuda_graph else rollout


def release() -> None:
    """Give back what the previous configuration left: tensors, compiled graphs, cached blocks."""
    gc.collect()
    torch.compiler.reset()
    torch.cuda.empty_cache()


def measure(config: Config, device, iterations: int, warmup: int) -> dict:
    """Time one configuration on `device`: median_s, first_calls_s (set-up, compilation and
    warm-up calls), peak_gib (max_memory_allocated: weights, optimizer state, activations)."""
    from lmc import build_model

    release()
    torch.cuda.reset_peak_memory_stats(device)
    torch.manual_seed(0)
    model = build_model(config.recipe.preset).to(device)
    if VARIANTS[config.variant].channels_last:
        channels_last_2d(model)
    start = time.perf_counter()
    step = prepare(config, model, device, warmup)
    prepare_s = time.perf_counter() - start
    timing = time_calls(step, iterations, warmup, lambda: torch.cuda.synchronize(device))
    return {
        "median_s": timing.median_s,
        "first_calls_s": prepare_s + timing.warmup_s,
        "peak_gib": torch.cuda.max_memory_allocated(device) / 2**30,
    }


def device_meta(device, iterations: int, warmup: int) -> dict:
    """What the numbers depend on besides the code: the GPU, the software, the fp32 math mode."""
    props = torch.cuda.get_device_properties(device)
    return {
        "device": f"{props.name} ({props.total_memory / 2**30:.0f} GiB)",
        "torch": torch.__version__,
        "CUDA": torch.version.cuda,
        "cuDNN": torch.backends.cudnn.version(),
        # fp32 convolutions run on TF32 tensor cores unless this is off (torch's default: on).
        "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "host": platform.node(),
        "timed calls": iterations,
        "warm-up calls": warmup,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    if not torch.cuda.is_available():
        raise ConfigError(
            f"no CUDA device: torch {torch.__version__} finds none (torch.cuda.is_available() "
            "is False); run this on a GPU machine, or `python -m lmc.bench model` for this CPU"
        )
    from lmc.device import resolve_device

    device = resolve_device(args.device)
    configs = configurations(args.presets, args.tasks, args.dtypes, args.variants, args.batch)
    log.info("%d configurations on %s", len(configs), torch.cuda.get_device_name(device))
    rows = run_configs(
        configs,
        lambda config: measure(config, device, args.iterations, args.warmup),
        bf16_supported=torch.cuda.is_bf16_supported(),
    )
    meta = device_meta(device, args.iterations, args.warmup)
    print(render(meta, rows, "md"), end="", flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(render(meta, rows, args.out.suffix.lstrip(".")))
        log.info("wrote %s", args.out)
    return rows
