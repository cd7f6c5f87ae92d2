import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lmc import build_model, load_checkpoint
from lmc.training import ClipWindows, train_step
from lmc.training.config import parse_args
from lmc.training.state import load_train_state
from train import train

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--preset",
    "tiny",
    "--img_size",
    "32",
    "--short_len",
    "10",
    "--long_len",
    "12",
    "--out_len",
    "3",
    "--batch_size",
    "2",
    "--iterations_warmup",
    "2",
    "--val_clips",
    "4",
    "--sample_clips",
    "1",
    "--workers",
    "0",
]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))


def run(args, tmp_path, name="run"):
    return train.main([*TINY, "--run_dir", str(tmp_path / name), *args])


def test_original_readme_command_trains_on_frame_folders_and_writes_checkpoints(tmp_path):
    from lmc.data.__main__ import main as data_cli

    for split in ("train", "test"):
        data_cli(
            [
                "export",
                str(tmp_path / split),
                "--num-clips",
                "2",
                "--seq-len",
                "14",
                "--seed",
                "1",
                "--split",
                split,
                "--image-size",
                "32",
            ]
        )
    result = train.main(
        [
            "--dataset",
            "movingmnist",
            "--train_data_dir",
            str(tmp_path / "train"),
            "--valid_data_dir",
            str(tmp_path / "test"),
            "--checkpoint_save_dir",
            str(tmp_path / "ckpt"),
            "--img_size",
            "32",
            "--img_channel",
            "1",
            "--memory_size",
            "10",
            "--short_len",
            "10",
            "--long_len",
            "12",
            "--out_len",
            "3",
            "--batch_size",
            "2",
            "--lr",
            "0.0002",
            "--iterations",
            "3",
            "--iterations_warmup",
            "1",
            "--print_freq",
            "3",
            "--workers",
            "1",
            "--preset",
            "tiny",
            "--val_clips",
            "2",
        ]
    )
    out = tmp_path / "ckpt"
    assert result["iteration"] == 3
    assert {"config.json", "metrics.jsonl", "last.pt", "last.safetensors", "best.safetensors"} <= {
        p.name for p in out.iterdir()
    }
    assert list((out / "samples").glob("iter_0000003.png"))
    record = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["iteration"] == 3 and set(record["val"]) == {"mse", "mae", "psnr", "ssim"}
    assert record["val_source"].startswith("frame folders")
    model, meta = load_checkpoint(out / "last.safetensors")
    assert meta["step"] == 3 and model.config.memory_size == 10
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["lr"] == 0.0002 and config["model"]["image_size"] == 32


@pytest.mark.parametrize("value,expected", [("True", True), ("False", False), ("true", True)])
def test_booleans_parse_strictly(value, expected):
    assert (
        parse_args(["--checkpoint_load", value, "--checkpoint_load_file", "x"]).checkpoint_load
        is expected
    )
    assert parse_args(["--compile"]).compile is True
    assert parse_args(["--no-compile"]).compile is False


@pytest.mark.parametrize("value", ["yes", "1", "Flase", ""])
def test_anything_else_is_a_boolean_error(value, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--compile", value])
    assert "expected True or False" in capsys.readouterr().err


def test_config_file_with_command_line_override(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": 4, "lr": 0.001, "memory": "off"}))
    cfg = parse_args(["--config", str(path), "--batch_size", "8"])
    assert (cfg.batch_size, cfg.lr, cfg.memory) == (8, 0.001, False)
    toml = tmp_path / "c.toml"
    toml.write_text('alignment = "off"\nquery = "global"\n')
    cfg = parse_args(["--config", str(toml)])
    assert cfg.alignment == "off" and cfg.model_config().query == "global"


def test_unknown_config_key_lists_the_valid_ones(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch": 4}))
    with pytest.raises(SystemExit):
        parse_args(["--config", str(path)])
    err = capsys.readouterr().err
    assert "unknown keys ['batch']; valid keys:" in err and "batch_size" in err


def test_wrong_type_in_config_file(tmp_path, capsys):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"batch_size": "many"}))
    with pytest.raises(SystemExit):
        parse_args(["--config", str(path)])
    assert "batch_size must be int, got 'many'" in capsys.readouterr().err


def test_ablation_switches_reach_the_model():
    cfg = parse_args(["--memory", "off"]).model_config()
    assert cfg.memory is False
    cfg = parse_args(
        ["--query", "global", "--temperature", "0.5", "--memory_size", "7"]
    ).model_config()
    assert (cfg.query, cfg.temperature, cfg.memory_size) == ("global", 0.5, 7)


def test_train_step_leaves_memory_untouched_in_phase_2(tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    clip = torch.rand(2, 13, 1, 32, 32)
    windows = ClipWindows(10, 3, 12)
    history = []
    original_step = opt.step

    def spy():
        history.append(tiny_model.memory.slots.detach().clone())
        original_step()
        history.append(tiny_model.memory.slots.detach().clone())

    opt.step = spy
    losses = train_step(tiny_model, opt, clip, windows, 1)
    assert set(losses) == {"phase1", "phase2"}
    before1, after1, before2, after2 = history
    assert not torch.equal(before1, after1)  # phase 1 writes the memory
    assert torch.equal(before2, after2)  # phase 2 reads it only


def test_no_alignment_trains_the_memory_from_the_short_input(tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    losses = train_step(
        tiny_model, opt, torch.rand(2, 13, 1, 32, 32), ClipWindows(10, 3, 12), 0, alignment="off"
    )
    assert set(losses) == {"loss"}
    moved = {n for n, p in tiny_model.named_parameters() if not torch.equal(before[n], p)}
    assert "memory.slots" in moved and not any(
        n.startswith("memory.context_encoder") for n in moved
    )


def test_warmup_predicts_ten_frames_with_the_first_long_window():
    w = ClipWindows(10, 30, 30, warmup=True)
    clip = torch.arange(40.0).reshape(1, 40, 1, 1, 1)
    short, target, long = w.split(clip, w.long_start(0, 0))
    assert target.shape[1] == 10 and long.shape[1] == 20 and long[0, 0].item() == 0
    w = ClipWindows(10, 30, 30)
    starts = {w.long_start(1234, i) for i in range(200)}
    assert starts == set(range(11))  # uniform over 0 .. short+out-long


def test_nan_loss_stops_with_the_iteration_and_keeps_the_last_good_checkpoint(
    tmp_path, monkeypatch
):
    run(["--iterations", "2", "--print_freq", "2"], tmp_path)
    good = load_train_state(tmp_path / "run" / "last.pt")
    calls = {"n": 0}
    real = torch.nn.functional.l1_loss

    def poisoned(a, b):
        calls["n"] += 1
        return real(a, b) * (float("nan") if calls["n"] >= 3 else 1.0)

    monkeypatch.setattr(torch.nn.functional, "l1_loss", poisoned)
    with pytest.raises(train.TrainingStopped, match=r"iteration 4: phase1 loss is nan"):
        run(["--iterations", "6", "--print_freq", "2", "--resume", "auto"], tmp_path)
    kept = load_train_state(tmp_path / "run" / "last.pt")
    assert kept["iteration"] == 2
    assert all(torch.equal(good["model"][k], kept["model"][k]) for k in good["model"])


@pytest.mark.slow
def test_sigkill_and_resume_gives_exactly_the_weights_of_an_uninterrupted_run(tmp_path):
    args = ["--iterations", "8", "--print_freq", "2", "--val_every", "4"]
    run(args, tmp_path, "straight")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "train.train", *TINY, *args, "--run_dir", str(tmp_path / "killed")]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    state = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if state.exists() and load_train_state(state)["iteration"] >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 4 <= load_train_state(state)["iteration"] < 8
    run([*args, "--resume", "auto"], tmp_path, "killed")
    a = load_train_state(tmp_path / "straight" / "last.pt")
    b = load_train_state(state)
    assert a["iteration"] == b["iteration"] == 8
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    lines = [
        json.loads(x)["iteration"]
        for x in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert lines == [2, 4, 6, 8]  # no duplicate lines after the resume


@pytest.mark.slow
def test_two_process_gloo_ddp_keeps_identical_weights_after_every_step(tmp_path):
    script = ROOT / "tests" / "ddp_worker.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            str(script),
            str(tmp_path),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "ddp.json").read_text())
    assert report["steps"] == 4
    assert report["identical_after_every_step"] is True
    assert report["different_data_per_rank"] is True
    assert report["memory_unchanged_in_phase2"] is True


@pytest.mark.slow
def test_torchrun_cli_two_processes_rank0_writes(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29519",
            "-m",
            "train.train",
            *TINY,
            "--iterations",
            "2",
            "--print_freq",
            "2",
            "--run_dir",
            str(tmp_path / "ddp"),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), "LMC_CACHE_DIR": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    config = json.loads((tmp_path / "ddp" / "config.json").read_text())
    assert config["world_size"] == 2
    record = json.loads((tmp_path / "ddp" / "metrics.jsonl").read_text().splitlines()[-1])
    assert record["iteration"] == 2 and "val" in record
    assert load_train_state(tmp_path / "ddp" / "last.pt")["iteration"] == 2


def test_query_padding_reaches_every_motion_convolution():
    cfg = parse_args(["--preset", "tiny", "--query_padding", "replicate"]).model_config()
    model = build_model(cfg)
    convs = [m for m in model.memory.modules() if isinstance(m, torch.nn.Conv3d)]
    assert len(convs) == 12 and all(c.padding_mode == "replicate" for c in convs)
    assert {
        m.padding_mode for m in build_model("tiny").modules() if isinstance(m, torch.nn.Conv3d)
    } == {"zeros"}


def test_align_weight_pulls_short_queries_towards_the_long_ones(tiny_model):
    from lmc.training import query_alignment_loss

    torch.manual_seed(0)
    clip = torch.rand(2, 13, 1, 32, 32)
    windows = ClipWindows(10, 3, 12)

    def gap():
        with torch.no_grad():
            short_q, _ = tiny_model.encode_motion(clip[:, :10], phase=2)
            long_q, _ = tiny_model.encode_motion(clip[:, 1:13], phase=1)
        return query_alignment_loss(short_q, long_q).item()

    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.0)
    losses = train_step(tiny_model, opt, clip, windows, 1, align_weight=1.0)
    assert set(losses) == {"phase1", "phase2", "align"}
    assert losses["align"] == pytest.approx(gap(), rel=1e-5)
    # From the same start, a few steps with the term end closer to the long queries than without.
    with torch.no_grad():  # start the two encoders apart (they are copies at initialisation)
        for p in tiny_model.memory.context_encoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
    start = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    gaps = {}
    for weight in (0.0, 1.0):
        tiny_model.load_state_dict(start)
        matching = torch.optim.Adam(tiny_model.memory.matching_encoder.parameters(), lr=1e-2)
        for _ in range(10):
            train_step(tiny_model, matching, clip, windows, 1, align_weight=weight)
        gaps[weight] = gap()
    assert gaps[1.0] < 0.5 * gaps[0.0]


def test_align_weight_needs_the_two_phases(tiny_model):
    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.0)
    with pytest.raises(ValueError, match="align_weight needs the memory and the two phases"):
        train_step(
            tiny_model,
            opt,
            torch.rand(2, 13, 1, 32, 32),
            ClipWindows(10, 3, 12),
            0,
            alignment="off",
            align_weight=1.0,
        )


def test_every_validation_logs_the_memory_health(tmp_path):
    run(["--iterations", "2", "--print_freq", "2"], tmp_path)
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(record["health"]) == {
        "slots_alive",
        "effective_slots",
        "other_recall_mse_ratio",
        "alignment_top1",
        "alignment_top1_chance",
    }
    assert 1 <= record["health"]["slots_alive"] <= 10


def test_tensorboard_gets_the_scalars_rollouts_and_slots(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    board = tmp_path / "tb"
    run(["--iterations", "2", "--print_freq", "2", "--tensorboard", str(board)], tmp_path)
    events = EventAccumulator(str(board))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {
        "phase1",
        "phase2",
        "val/mse",
        "val_baselines/zeros/mse",
        "health/slots_alive",
    } <= scalars
    assert events.Scalars("val/mse")[-1].step == 2
    assert events.Tags()["images"] == ["samples/rollouts"]
    projector = next(board.rglob("projector_config.pbtxt")).read_text()
    assert (
        "memory/slots" in projector
        and next(board.rglob("metadata.tsv")).read_text().count("slot ") == 10
    )
