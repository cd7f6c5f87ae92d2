"""lmc.cli: expected failures end in one line and their status from every command line, the
traceback only with --debug, warnings and log records in one format."""

import logging
import os
import runpy
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import lmc_cli
from lmc import ModelConfig, build_model, cli, save_checkpoint
from lmc.errors import DataError, TrainingStopped

ROOT = Path(__file__).resolve().parents[1]


def failing(err: BaseException):
    def main(argv):
        raise err

    return main


@pytest.mark.parametrize(
    "err, status, line",
    [
        (DataError("cannot read image a.png:\n  truncated"), 2, "p: cannot read image a.png:; truncated"),
        (ValueError("size must be a positive int, got 0"), 2, "p: size must be a positive int, got 0"),
        (FileNotFoundError(2, "No such file or directory", "x"), 2, "p: [Errno 2] No such file or directory: 'x'"),
        (TrainingStopped("iteration 4: phase1 loss is nan"), 1, "p: training stopped: iteration 4: phase1 loss is nan"),
        (MemoryError(), 1, "p: out of memory: MemoryError"),
        (KeyboardInterrupt(), 130, "p: interrupted"),
    ],
)  # fmt: skip
def test_expected_failures_are_one_line_with_their_status(err, status, line, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.run(failing(err), [], prog="p")
    assert stop.value.code == status
    assert capsys.readouterr().err == line + "\n"


def test_a_bug_keeps_its_traceback():
    with pytest.raises(KeyError):
        cli.run(failing(KeyError("x")), [], prog="p")


def test_debug_adds_the_traceback_and_leaves_argv(capsys):
    seen = []

    def main(argv):
        seen.append(argv)
        raise DataError("no frames to cache")

    with pytest.raises(SystemExit) as stop:
        cli.run(main, ["a", "--debug", "b"], prog="p")
    err = capsys.readouterr().err
    assert stop.value.code == 2 and seen == [["a", "b"]]
    assert err.startswith("Traceback (most recent call last):")
    assert "lmc.errors.DataError: no frames to cache\n" in err and err.endswith(
        "\np: no frames to cache\n"
    )


def test_warnings_and_log_records_share_one_format(capsys):
    def main(argv):
        warnings.warn("skipping video v: 3 frames, fewer than one clip of 10", stacklevel=1)
        logging.getLogger("lmc.data.frame_cache").info("decoding 2 videos")
        logging.getLogger("lmc.data.frame_cache").debug("not shown")
        logging.getLogger("elsewhere").info("not shown either")
        logging.getLogger("elsewhere").warning("shown")
        return "result"

    before = warnings.showwarning
    assert cli.run(main, [], prog="p") == "result"
    assert capsys.readouterr().err == (
        "warning: skipping video v: 3 frames, fewer than one clip of 10\n"
        "decoding 2 videos\n"
        "warning: shown\n"
    )
    assert warnings.showwarning is before  # undone for callers in Python


def test_debug_logs_name_their_source(capsys):
    def main(argv):
        warnings.warn("a deprecated option", FutureWarning, stacklevel=1)
        logging.getLogger("lmc.x").debug("details")

    cli.run(main, ["--debug"], prog="p")
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[py.warnings] warning: a deprecated option (FutureWarning, ")
    assert "test_cli.py:" in err[0] and err[1] == "[lmc.x] details"


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    return save_checkpoint(build_model(ModelConfig.preset("tiny")), tmp_path / "t.safetensors")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # runpy: the module is already imported
@pytest.mark.parametrize(
    "module, argv, line",
    [
        ("train.train", ["--preset", "tiny", "--lr", "nan"], "train.train: lr=nan: must be a finite number > 0"),
        ("train.train", ["--seed", "-1"], "train.train: seed=-1: must be between 0 and 4294967295 (2**32 - 1)"),
        ("train.test", ["--checkpoint_load_file", "{ckpt}", "--device", "nonsense"],
         "train.test: device='nonsense': must be auto, cpu, cuda, cuda:N (N a GPU number) or mps"),
        ("train.test", ["--checkpoint_load_file", "{tmp}/none.pt"], "train.test: checkpoint not found: {tmp}/none.pt"),
        ("lmc.data", ["kth", "{tmp}/raw", "{tmp}/out"],
         "lmc.data: KTH folder {tmp}/raw does not exist or is not a folder"),
        ("lmc.data", ["export", "{tmp}/out", "--num-clips", "x"],
         "lmc.data: argument --num-clips: invalid int value: 'x' (see python -m lmc.data export --help)"),
        ("lmc.health", ["{ckpt}", "--clips", "1"], "lmc.health: --clips 1: at least 2 clips are needed"),
        ("train.export_model", ["--run_dir", "{tmp}", "--out", "{tmp}/o", "--command", "c", "--bogus"],
         "train.export_model: unrecognized arguments: --bogus (see python -m train.export_model --help)"),
        ("lmc.convert", ["{tmp}/a.pt", "{tmp}/out", "--dataset", "mars"],
         "lmc.convert: argument --dataset: invalid choice: 'mars' (choose from 'kth', 'movingmnist') "
         "(see python -m lmc.convert --help)"),
    ],
)  # fmt: skip
def test_every_command_line_ends_an_expected_error_in_one_line_and_status_2(
    module, argv, line, checkpoint, tmp_path, monkeypatch, capsys
):
    fill = {"ckpt": str(checkpoint), "tmp": str(tmp_path)}
    monkeypatch.setattr(sys, "argv", [module, *(a.format(**fill) for a in argv)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    assert stop.value.code == 2
    assert capsys.readouterr().err == line.format(**fill) + "\n"


def test_the_lmc_console_script_fails_the_same_way(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["lmc", "train", "--val_every", "0", "--debug"])
    with pytest.raises(SystemExit) as stop:
        lmc_cli.console()
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" in err
    assert err.endswith(
        "lmc train: val_every=0: must be at least 1 (leave it unset to validate every "
        "print_freq=1000 iterations)\n"
    )


def test_a_real_process_exits_with_status_2_and_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "train.train", "--sample_clips", "-1", "--run_dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr == "train.train: sample_clips=-1: must be at least 0\n"
    assert list(tmp_path.iterdir()) == []
