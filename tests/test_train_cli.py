"""`python -m train.train` end to end: the authors' command, checkpoints, NaN stops, SIGKILL and
resume, DDP over Gloo and torchrun, the health watch and TensorBoard, one-line errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import TINY_CLI as TINY

from lmc import cli, load_checkpoint
from lmc.data.folders import write_video_frames
from lmc.training.state import load_train_state
from train import train

ROOT = Path(__file__).resolve().parents[1]


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


def test_each_checkpoint_names_the_motion_it_was_trained_on(tmp_path):
    """The dashboard opens a model on the test set of its training data: every checkpoint of a
    run carries the generator's motion, and one without it reads as standard."""
    from lmc.checkpoint import read_header
    from lmc.data.moving_mnist import training_motion

    size = ["--img_size", "64"]  # motion contexts need 56 px or more
    run(["--iterations", "2", "--print_freq", "2", "--motion", "contexts", *size], tmp_path)
    out = tmp_path / "run"
    for name in ("last.safetensors", "best.safetensors"):
        assert read_header(out / name)["metadata"]["motion"] == "contexts", name
    _, meta = load_checkpoint(out / "last.pt")
    assert meta["motion"] == "contexts" and training_motion(meta) == "contexts"
    assert training_motion({"step": 3}) == "standard"
    with pytest.raises(ValueError, match="motion='spiral'; the motions are standard, contexts"):
        training_motion({"motion": "spiral"})


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


def expected_failure(args, capsys) -> str:
    """The error line a failing `python -m train.train` ends with (after any log lines); the
    exit status must be 2, and no traceback printed."""
    with pytest.raises(SystemExit) as stop:
        cli.run(train.main, args, prog="train.train")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.endswith("\n")
    return err.splitlines()[-1]


def test_a_broken_frame_is_one_line_and_nothing_is_written(tmp_path, capsys):
    data = tmp_path / "frames"
    write_video_frames(data / "video_00000", np.zeros((14, 32, 32), np.uint8))
    (data / "video_00000" / "frame_00003.png").write_bytes(b"not a png")
    line = expected_failure(
        [*TINY, "--train_data_dir", str(data), "--run_dir", str(tmp_path / "r")], capsys
    )
    assert line.startswith(
        f"train.train: cannot read image {data / 'video_00000' / 'frame_00003.png'}: "
    )
    assert not (tmp_path / "r").exists()


def test_a_refused_resume_is_one_line(tmp_path, capsys):
    state = tmp_path / "elsewhere.pt"
    state.write_bytes(b"PK\x03\x04 a torn zip")
    line = expected_failure(
        [*TINY, "--resume", str(state), "--run_dir", str(tmp_path / "r")], capsys
    )
    assert line.startswith(f"train.train: {state} cannot be read (truncated or corrupted?)")
    assert not (tmp_path / "r").exists()
