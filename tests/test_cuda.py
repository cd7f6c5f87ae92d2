"""On a CUDA device: bf16 and fp16 autocast, channels_last, a captured CUDA graph and
torch.compile give the model's function within a stated tolerance; a training step under each
precision and under compile keeps the memory frozen in phase 2; every configuration of
`python -m lmc.bench gpu` runs. Skipped where torch.cuda.is_available() is False.

`pytest -m cuda` runs them all; `pytest -m "cuda and not slow"` leaves out the compiled ones,
whose compilation takes a minute each.
"""

import pytest
import torch

from lmc import build_model
from lmc.bench.gpu import (
    AUTOCAST,
    TASKS,
    VARIANTS,
    Config,
    Recipe,
    capture,
    channels_last_2d,
    measure,
    run_configs,
)
from lmc.checkpoint import load_checkpoint
from lmc.data.fixed_sets import fixed_set
from lmc.demos import PAPER_DEMO, demo_path
from lmc.training import ClipWindows, train_step

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

CUDA = torch.device("cuda")

# Per-pixel tolerances (frames in [0, 1]) on 10 -> 10 rollouts of the small demo model (trained on
# Moving-MNIST) from 8 test clips, as (mean |difference|, max |difference|) against true fp32.
# Measured with CPU autocast, whose casts are the same kind (convolutions and matrix products in
# the low precision): bf16 moved the frames by 4.6e-4 on average and 0.015 at worst, fp16 by
# 5.6e-5 and 0.0018. bf16 keeps 8 significant bits, fp16 11, and the error grows over the 19
# recurrent steps; the bounds leave a factor of 4 to 5 for CUDA's kernels. A wrong cast or a
# dropped op moves the frames by far more (a digit is 1.0 on 0.0).
AUTOCAST_TOLERANCE = {"bf16": (2e-3, 0.06), "fp16": (3e-4, 0.01)}
# The same function in fp32, computed by other kernels (Inductor's fused ones, channels_last
# convolutions, cuDNN algorithms picked for another layout): compile differed by 1.2e-6 at worst
# on a CPU. cuDNN's fp32 Winograd and FFT algorithms round differently, by up to ~1e-5 relative,
# grown over the recurrence; 1e-3 stays below what fp16 autocast alone moves (0.0018).
FP32_TOLERANCE = (1e-4, 1e-3)


@pytest.fixture(autouse=True)
def true_fp32():
    """fp32 references in fp32: torch lets cuDNN's convolutions use TF32 (10-bit mantissa)
    unless told not to, which would make the reference itself as coarse as fp16."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    torch.compiler.reset()


@pytest.fixture(scope="module")
def demo():
    """The small demo model on the GPU and 8 test clips of 20 frames."""
    path = demo_path(PAPER_DEMO)
    if not path.is_file():
        pytest.skip(f"the demo checkpoint {path} is not on disk")
    model, _ = load_checkpoint(path)
    clips = fixed_set("test", 8, 20, image_size=model.config.image_size).to_tensor()
    return model.to(CUDA).eval(), clips.to(CUDA)


def rollout(runner, short, dtype=None, out_len=10) -> torch.Tensor:
    amp = torch.autocast("cuda", dtype=dtype, enabled=dtype is not None)
    with torch.inference_mode(), amp:
        return runner(short, out_len=out_len).frames.float()


def assert_within(frames, reference, tolerance, label):
    mean_bound, max_bound = tolerance
    difference = (frames - reference).abs()
    assert frames.shape == reference.shape
    assert difference.mean().item() <= mean_bound, f"{label}: mean {difference.mean().item():.2e}"
    assert difference.max().item() <= max_bound, f"{label}: max {difference.max().item():.2e}"


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
def test_autocast_predicts_like_fp32(demo, dtype):
    model, clips = demo
    short = clips[:, :10]
    reference = rollout(model, short)
    assert reference.max().item() > 0.5  # digits, not a blank: the comparison means something
    frames = rollout(model, short, AUTOCAST[dtype])
    assert_within(frames, reference, AUTOCAST_TOLERANCE[dtype], dtype)


@pytest.mark.slow
def test_compile_predicts_like_eager(demo):
    model, clips = demo
    short = clips[:, :10]
    assert_within(
        rollout(torch.compile(model), short), rollout(model, short), FP32_TOLERANCE, "compile"
    )


def test_channels_last_predicts_like_the_default_layout(demo):
    model, clips = demo
    short = clips[:, :10]
    reference = rollout(model, short)
    relaid = build_model(model.config).to(CUDA).eval()
    relaid.load_state_dict(model.state_dict())
    assert channels_last_2d(relaid) > 0
    assert_within(rollout(relaid, short), reference, FP32_TOLERANCE, "channels_last")


def test_a_captured_rollout_replays_the_function_on_new_inputs(demo):
    model, clips = demo
    short = clips[:4, :10].clone()  # the graph's static input, refilled in place below
    replay = capture(lambda: rollout(model, short), warmup=1)
    assert_within(replay(), rollout(model, clips[:4, :10]), FP32_TOLERANCE, "graph")
    short.copy_(clips[4:, :10])
    assert_within(replay(), rollout(model, clips[4:, :10]), FP32_TOLERANCE, "graph, new input")


@pytest.mark.parametrize(
    "dtype, compiled",
    [
        ("fp32", False),
        ("bf16", False),
        ("fp16", False),
        pytest.param("fp32", True, marks=pytest.mark.slow),
    ],
)
def test_a_training_step_keeps_the_memory_frozen_in_phase_2(dtype, compiled):
    torch.manual_seed(0)
    model = build_model("small").to(CUDA)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    # A modest first scale: the default 2**16 may overflow the first fp16 gradients, and a
    # GradScaler then rightly skips that step, which would leave nothing to check here.
    scaler = torch.amp.GradScaler("cuda", init_scale=2.0**8) if dtype == "fp16" else None
    slots = []
    step = optimizer.step

    def spy(*args, **kwargs):
        slots.append(model.memory.slots.detach().clone())
        step(*args, **kwargs)
        slots.append(model.memory.slots.detach().clone())

    optimizer.step = spy
    runner = torch.compile(model) if compiled else model
    clip = torch.rand(2, 20, 1, 64, 64, device=CUDA)
    losses = train_step(
        runner,
        optimizer,
        clip,
        ClipWindows(10, 10, 20),
        0,
        autocast_dtype=AUTOCAST[dtype],
        scaler=scaler,
    )
    assert set(losses) == {"phase1", "phase2"}
    assert all(0 < value < 10 for value in losses.values()), losses
    assert len(slots) == 4, "an optimizer step was skipped (GradScaler found inf or nan)"
    before1, after1, before2, after2 = slots
    assert not torch.equal(before1, after1)  # phase 1 writes the memory
    assert torch.equal(before2, after2)  # phase 2 reads it only, in every precision


def small_config(task: str, dtype: str, variant: str) -> Config:
    return Config(Recipe("small", 2, 10, 10, 10), task, dtype, variant)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(v, marks=[pytest.mark.slow] if VARIANTS[v].compile_mode else [])
        for v in VARIANTS
    ],
)
@pytest.mark.parametrize("task", TASKS)
def test_every_benchmark_configuration_runs(task, variant):
    # fp16: the autocast and, in training, the GradScaler of `train/`.
    config = small_config(task, "fp16", variant)
    [row] = run_configs([config], lambda c: measure(c, CUDA, iterations=2, warmup=1))
    if task == "train" and VARIANTS[variant].cuda_graph:
        assert row["status"].startswith("n/a: train_step reads each phase's loss on the host")
        return
    assert row["status"] == "ok"
    weights_gib = sum(p.numel() for p in build_model("small").parameters()) * 4 / 2**30
    assert row["peak_gib"] > weights_gib  # the weights at least were on the device
    assert row["median_s"] > 0 and row["first_calls_s"] > 0
    if VARIANTS[variant].compile_mode:  # compilation is in the warm-up, not in the median
        assert row["first_calls_s"] > 10 * row["median_s"]
    assert row["clips_per_s"] == pytest.approx(2 / row["median_s"])
    assert ("recipe_s" in row) == (task == "train")
