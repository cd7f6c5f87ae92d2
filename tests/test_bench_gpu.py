"""lmc.bench.gpu, the parts that need no GPU: the published recipes and the configurations, the
300,000-iteration projection, the table, the flags, the timing loop, the channels_last layout,
and the one-line exit where there is no CUDA. The measurements themselves are checked on a GPU,
in tests/test_cuda.py."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lmc_cli
from lmc.bench.gpu import (
    RECIPES,
    VARIANTS,
    Config,
    Recipe,
    channels_last_2d,
    configurations,
    describe,
    parse_args,
    run_configs,
    time_calls,
)
from lmc.bench.gpu_report import (
    RECIPE_ITERATIONS,
    format_duration,
    markdown_table,
    project_recipe_s,
    render,
)
from lmc.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
NO_TRAIN_GRAPH = (
    "n/a: train_step reads each phase's loss on the host before its optimizer step, which a "
    "captured graph cannot; compile-cudagraphs graphs forward and backward"
)


def test_the_recipes_are_the_published_ones():
    # Lee et al. (CVPR 2021): Moving-MNIST 10/30/30 at batch 128, KTH 10/40/40 at batch 32,
    # 300,000 iterations.
    assert RECIPES["paper-mnist"] == Recipe("paper-mnist", 128, 10, 30, 30)
    assert RECIPES["paper-kth"] == Recipe("paper-kth", 32, 10, 40, 40)
    assert RECIPE_ITERATIONS == 300_000


def test_configurations_cover_every_combination_and_batch_replaces_the_published_one():
    configs = configurations(["paper-kth"], ["train", "rollout"], ["fp32", "fp16"], ["eager"])
    assert [(c.task, c.dtype) for c in configs] == [
        ("train", "fp32"),
        ("train", "fp16"),
        ("rollout", "fp32"),
        ("rollout", "fp16"),
    ]
    assert {c.recipe for c in configs} == {RECIPES["paper-kth"]}
    small = configurations(["paper-mnist"], ["rollout"], ["bf16"], ["cuda-graph"], batch=8)
    assert small == [Config(Recipe("paper-mnist", 8, 10, 30, 30), "rollout", "bf16", "cuda-graph")]
    assert describe(small[0]) == {
        "preset": "paper-mnist",
        "task": "rollout",
        "batch": 8,
        "frames": "10 -> 30",
        "dtype": "bf16",
        "variant": "cuda-graph",
    }
    assert describe(Config(RECIPES["paper-kth"], "train", "fp32", "eager"))["frames"] == (
        "10 -> 40, long 40"
    )


def test_the_projection_is_the_recipe_iterations_at_the_median_and_reads_in_a_fitting_unit():
    assert project_recipe_s(1.5) == 450_000.0
    assert project_recipe_s(0.25, iterations=1_000) == 250.0
    seconds = [600, 5_399, 5_400, 36_000, 172_799, 450_000, 604_800]
    assert [format_duration(s) for s in seconds] == [
        "10 min",
        "90 min",
        "1.5 h",
        "10.0 h",
        "48.0 h",
        "5.2 d",
        "7.0 d",  # the paper's "about 7 days" (on 4 GPUs), for scale
    ]


def fake_measure(calls):
    def measure(config):
        calls.append((config.task, config.variant))
        if config.variant == "compile":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if config.variant == "channels_last":
            raise RuntimeError("inductor failed: a | b\nsecond line")
        return {"median_s": 0.5, "first_calls_s": 2.0, "peak_gib": 10.0}

    return measure


def test_run_configs_records_a_failure_as_a_row_and_goes_on():
    calls = []
    variants = ["eager", "channels_last", "cuda-graph", "compile"]
    configs = configurations(["paper-kth"], ["train", "rollout"], ["fp32"], variants)
    rows = run_configs(configs, fake_measure(calls))
    error = "error: RuntimeError: inductor failed: a | b; second line"
    assert [row["status"] for row in rows] == [
        "ok",
        error,
        NO_TRAIN_GRAPH,
        "out of memory",
        "ok",
        error,
        "ok",
        "out of memory",
    ]
    # Everything but the one that cannot apply was tried, in order.
    assert calls == [("train", v) for v in variants if v != "cuda-graph"] + [
        ("rollout", v) for v in variants
    ]
    train, rollout = rows[0], rows[4]
    assert train["recipe_s"] == 150_000.0 and train["clips_per_s"] == 64.0  # 32 clips / 0.5 s
    assert "recipe_s" not in rollout and rollout["peak_gib"] == 10.0
    assert "median_s" not in rows[3]  # an out-of-memory row has no numbers


def test_bf16_is_not_applicable_on_a_gpu_without_it():
    calls = []
    configs = configurations(["paper-mnist"], ["rollout"], ["bf16", "fp16"], ["eager"])
    rows = run_configs(configs, fake_measure(calls), bf16_supported=False)
    assert [row["status"] for row in rows] == ["n/a: this GPU has no bf16", "ok"]
    assert calls == [("rollout", "eager")]


def test_the_markdown_table_has_a_column_per_field_and_a_dash_where_there_is_no_value():
    train = {
        **describe(Config(RECIPES["paper-mnist"], "train", "bf16", "compile")),
        "status": "ok",
        "median_s": 0.8125,
        "clips_per_s": 157.538,
        "peak_gib": 31.254,
        "first_calls_s": 95.04,
        "recipe_s": 243_750.0,
    }
    rollout = {
        **describe(Config(RECIPES["paper-kth"], "rollout", "fp16", "cuda-graph")),
        "status": "ok",
        "median_s": 0.0123,
        "clips_per_s": 2601.6,
        "peak_gib": 4.5,
        "first_calls_s": 1.26,
    }
    failed = {
        **describe(Config(RECIPES["paper-kth"], "train", "fp32", "channels_last")),
        "status": "error: RuntimeError: a | b",
    }
    assert markdown_table([train, rollout, failed]).splitlines() == [
        "| preset | task | batch | frames | dtype | variant | ms / iteration | clips/s | "
        "peak GiB | warm-up s | 300,000 iterations | status |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        "| paper-mnist | train | 128 | 10 -> 30, long 30 | bf16 | compile | 812.5 | 157.5 | "
        "31.25 | 95.0 | 2.8 d | ok |",
        "| paper-kth | rollout | 32 | 10 -> 40 | fp16 | cuda-graph | 12.3 | 2601.6 | 4.50 | 1.3 | "
        "- | ok |",
        "| paper-kth | train | 32 | 10 -> 40, long 40 | fp32 | channels_last | - | - | - | - | - | "
        "error: RuntimeError: a \\| b |",
    ]


def test_render_writes_the_device_line_and_table_or_json():
    meta = {"device": "NVIDIA X (80 GiB)", "torch": "2.9"}
    rows = [{**describe(Config(RECIPES["paper-kth"], "rollout", "fp32", "eager")), "status": "ok"}]
    text = render(meta, rows, "md")
    assert text.startswith("device NVIDIA X (80 GiB), torch 2.9\n\n| preset | task |")
    assert text.endswith("| ok |\n")
    assert json.loads(render(meta, rows, "json")) == {"meta": meta, "rows": rows}


def test_flags_default_to_every_configuration():
    args = parse_args([])
    assert args.presets == ["paper-mnist", "paper-kth"]
    assert args.tasks == ["train", "rollout"]
    assert args.dtypes == ["fp32", "bf16", "fp16"]
    assert (
        args.variants
        == list(VARIANTS)
        == [
            "eager",
            "channels_last",
            "cuda-graph",
            "compile",
            "compile+channels_last",
            "compile-cudagraphs",
        ]
    )
    assert (args.iterations, args.warmup, args.batch, args.out, args.device) == (
        10,
        3,
        None,
        None,
        "cuda",
    )


def test_flags_shrink_the_bench():
    args = parse_args(
        "--presets paper-kth --tasks rollout --dtypes bf16,fp16 --variants compile,eager,cuda-graph "
        "--no-compile --iterations 4 --warmup 1 --batch 8 --device cuda:1 --out t/gpu.json".split()
    )
    assert (args.presets, args.tasks, args.dtypes) == (["paper-kth"], ["rollout"], ["bf16", "fp16"])
    assert args.variants == ["eager", "cuda-graph"]
    assert (args.iterations, args.warmup, args.batch) == (4, 1, 8)
    assert (args.device, args.out) == ("cuda:1", Path("t/gpu.json"))
    assert parse_args(["--no-compile"]).variants == ["eager", "channels_last", "cuda-graph"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--dtypes", "fp32,fp8"], "--dtypes 'fp32,fp8': unknown fp8; valid: fp32, bf16, fp16"),
        (["--presets", "small"], "--presets 'small': unknown small; valid: paper-mnist, paper-kth"),
        (["--tasks", ","], "--tasks ',': unknown (none given); valid: train, rollout"),
        (["--variants", "compile", "--no-compile"], "--no-compile leaves none of --variants; add eager or cuda-graph"),
        (["--iterations", "0"], "--iterations 0: must be at least 1"),
        (["--warmup", "0"], "--warmup 0: must be at least 1"),
        (["--batch", "0"], "--batch 0: must be at least 1"),
        (["--device", "cpu"], "--device cpu: must be cuda or cuda:N (a GPU benchmark)"),
        (["--out", "gpu.csv"], "--out gpu.csv: must end in .md (markdown) or .json"),
        (["--iterations", "x"], "argument --iterations: invalid int value: 'x' (see python -m lmc.bench gpu --help)"),
        (["--fast"], "unrecognized arguments: --fast (see python -m lmc.bench gpu --help)"),
    ],
)  # fmt: skip
def test_bad_flags_name_the_value_and_the_valid_ones(argv, message):
    with pytest.raises(ConfigError) as err:
        parse_args(argv)
    assert str(err.value) == message


def test_time_calls_times_each_call_up_to_the_device_sync_after_untimed_warmup():
    events = []
    ticks = iter([0.0, 10.0, 10.0, 11.0, 11.0, 13.0, 13.0, 16.0])

    def clock():
        events.append("clock")
        return next(ticks)

    timing = time_calls(
        lambda: events.append("call"), 3, 2, lambda: events.append("sync"), clock=clock
    )
    assert timing.times == [1.0, 2.0, 3.0] and timing.median_s == 2.0
    assert timing.warmup_s == 10.0
    timed = ["clock", "call", "sync", "clock"]
    assert events == ["sync", "clock", "call", "call", "sync", "clock"] + timed * 3


def test_channels_last_moves_the_4d_weights_only_and_keeps_the_function(tiny_model):
    shapes = {name: p.dim() for name, p in tiny_model.named_parameters()}
    short = torch.rand(2, 10, 1, 32, 32)
    before = tiny_model.predict(short, out_len=3).frames
    strides_5d = {n: p.stride() for n, p in tiny_model.named_parameters() if p.dim() == 5}
    moved = channels_last_2d(tiny_model)
    assert moved == sum(dim == 4 for dim in shapes.values()) and moved > 0
    for name, param in tiny_model.named_parameters():
        if param.dim() == 4:
            assert param.is_contiguous(memory_format=torch.channels_last), name
            assert param.stride()[1] == 1 or param.shape[1] == 1, name  # channels innermost
        elif param.dim() == 5:
            assert param.stride() == strides_5d[name], name
    after = tiny_model.predict(short, out_len=3).frames
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)  # a layout, not a new model


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # runpy: the module is already imported
def test_without_cuda_the_bench_ends_in_one_line_and_status_2(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["lmc.bench", "gpu", "--iterations", "2"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("lmc.bench", run_name="__main__", alter_sys=True)
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"lmc.bench: no CUDA device: torch {torch.__version__} finds none "
        "(torch.cuda.is_available() is False); run this on a GPU machine, or "
        "`python -m lmc.bench model` for this CPU\n"
    )
    with pytest.raises(SystemExit) as stop:  # the same through the `lmc` command
        lmc_cli.main(["bench", "gpu"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.startswith("lmc bench: no CUDA device: torch ")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_python_m_lmc_bench_gpu_exits_with_status_2_on_this_machine():
    done = subprocess.run(
        [sys.executable, "-m", "lmc.bench", "gpu"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("lmc.bench: no CUDA device: ")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # runpy: the module is already imported
def test_an_unknown_suite_is_one_line_naming_the_valid_ones(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["lmc.bench", "gpus"])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module("lmc.bench", run_name="__main__", alter_sys=True)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("lmc.bench: unknown benchmark suite 'gpus'; valid suites: model (")
    assert "gpu (the published recipes on CUDA" in err
