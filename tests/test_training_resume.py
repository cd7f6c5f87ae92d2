"""Resuming a run: torn metrics lines, checks before any write, a changed learning rate, the
leftovers of killed writes, and runs killed before their first checkpoint."""

import json
import logging
import shutil

import pytest
import torch
from test_train_cli import TINY

from lmc.errors import CheckpointError, ConfigError
from lmc.io import remove_stale_temps, temp_path
from lmc.training import metrics_log
from lmc.training.state import load_train_state
from train import train

DEAD_PID = 2**22 + 1  # above Linux's largest pid_max: no process has it


def test_a_torn_last_line_is_dropped_with_a_warning(tmp_path, caplog):
    path = tmp_path / metrics_log.FILE_NAME
    path.write_text(
        '{"iteration": 1, "phase1": 0.5}\n{"iteration": 2}\n\n[3]\n{"iteration": 3, "pha'
    )
    with caplog.at_level(logging.WARNING):
        records = metrics_log.read_records(path)
    assert records == [{"iteration": 1, "phase1": 0.5}, {"iteration": 2}]
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and "line 4 is not a metrics record" in warned[0]
    assert 'line 5 is not a metrics record, dropped: \'{"iteration": 3, "pha\'' in warned[1]
    metrics_log.truncate_after(path, 1)
    assert path.read_text() == '{"iteration": 1, "phase1": 0.5}\n'
    assert [p.name for p in tmp_path.iterdir()] == [metrics_log.FILE_NAME]  # no temp file left


def test_stale_temps_of_dead_writers_go_and_nothing_else(tmp_path):
    dead = DEAD_PID
    stale = tmp_path / f".tmp-{dead}-0123abcd-last.pt"
    live = temp_path(tmp_path / "config.json")  # this process's: a write in progress
    lookalikes = [
        tmp_path / f".tmp-{dead}-0123abcd",  # no final name
        tmp_path / f".tmp-{dead}-XYZ-last.pt",
        tmp_path / "last.pt",
        tmp_path / f"tmp-{dead}-0123abcd-last.pt",
    ]
    for path in (stale, live, *lookalikes):
        path.write_text("x")
    folder = tmp_path / f".tmp-{dead}-0123abcd-samples"  # a folder is never removed
    folder.mkdir()
    assert remove_stale_temps(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and folder.is_dir()
    assert all(path.exists() for path in lookalikes)
    assert remove_stale_temps(tmp_path / "missing") == []


@pytest.fixture(scope="module")
def killed_early(tmp_path_factory):
    """A one-iteration run in a folder where an earlier run was killed before its first last.pt:
    it left metrics records, a torn line and the temporary files of two killed writes."""
    base = tmp_path_factory.mktemp("resume")
    run_dir = base / "run"
    (run_dir / "samples").mkdir(parents=True)
    (run_dir / metrics_log.FILE_NAME).write_text(
        '{"iteration": 1, "phase1": 9.0}\n{"iteration": 2, "phase1": 9.0}\n{"itera'
    )
    stale = [
        run_dir / f".tmp-{DEAD_PID}-0123abcd-last.pt",
        run_dir / "samples" / f".tmp-{DEAD_PID}-4567cdef-iter_0000002.png",
    ]
    for path in stale:
        path.write_bytes(b"half written")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LMC_CACHE_DIR", str(base / "cache"))
        train.main([*TINY, "--run_dir", str(run_dir), "--iterations", "1", "--print_freq", "1"])
    return run_dir, stale


@pytest.fixture
def copied(killed_early, tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    run_dir = tmp_path / "run"
    shutil.copytree(killed_early[0], run_dir)
    return run_dir


def files(run_dir):
    return {p.relative_to(run_dir): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}


def test_a_fresh_start_logs_each_iteration_once_and_sweeps_killed_writes(killed_early):
    run_dir, stale = killed_early
    records = metrics_log.read_records(run_dir / metrics_log.FILE_NAME)
    assert [r["iteration"] for r in records] == [1]  # the killed run's 1, 2 and torn line gone
    assert records[0]["phase1"] != 9.0 and "val" in records[0]
    assert not any(path.exists() for path in stale)
    assert not list(run_dir.rglob(".tmp-*"))


def test_a_run_folder_with_a_state_is_not_trained_over_from_scratch(copied):
    before = files(copied)
    with pytest.raises(ConfigError, match=r"already holds a run \(last\.pt\): pass --resume auto"):
        train.main([*TINY, "--run_dir", str(copied), "--iterations", "2"])
    assert files(copied) == before


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--seed", "5"], r"other settings \(seed 1234 there, 5 now\)"),
        (["--batch_size", "4", "--out_len", "2"], r"out_len 3 there, 2 now, batch_size 2 there"),
        (["--memory_size", "7"], r"memory_size None there, 7 now"),
        (["--align_weight", "0.5"], r"align_weight 0\.0 there, 0\.5 now"),
    ],
)
def test_a_resume_with_other_settings_is_refused_before_any_write(copied, flags, message):
    before = files(copied)
    with pytest.raises(ConfigError, match=message + ".*A resume may change only run_dir"):
        train.main([*TINY, "--run_dir", str(copied), "--resume", "auto", *flags])
    assert files(copied) == before  # config.json and metrics.jsonl as they were


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncated", r"last\.pt cannot be read \(truncated or corrupted\?\)"),
        ("no optimizer", r"last\.pt is an incomplete training state: no optimizer"),
    ],
)
def test_a_refused_training_state_leaves_the_folder_as_it_was(copied, damage, message):
    path = copied / "last.pt"
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        state = load_train_state(path)
        del state["optimizer"]
        torch.save(state, path)
    before = files(copied)
    with pytest.raises(CheckpointError, match=message):
        train.main([*TINY, "--run_dir", str(copied), "--resume", "auto", "--iterations", "2"])
    assert files(copied) == before


def test_a_changed_learning_rate_is_applied_and_recorded(killed_early, copied):
    flags = ["--run_dir", str(copied), "--resume", "auto", "--print_freq", "1"]
    train.main([*TINY, *flags, "--iterations", "2", "--lr", "0.001"])
    state = load_train_state(copied / "last.pt")
    assert state["iteration"] == 2
    assert [g["lr"] for g in state["optimizer"]["param_groups"]] == [0.001]
    assert state["train_config"]["lr"] == 0.001
    config = json.loads((copied / "config.json").read_text())
    assert config["train"]["lr"] == 0.001
    assert config["resumed"] == {
        "from": str(copied / "last.pt"),
        "iteration": 1,
        "changed": {
            "lr": [0.0002, 0.001],
            "iterations": [1, 2],
            "run_dir": [str(killed_early[0]), str(copied)],  # this copy of the run
        },
    }
    records = metrics_log.read_records(copied / metrics_log.FILE_NAME)
    assert [(r["iteration"], r["lr"]) for r in records] == [(1, 0.0002), (2, 0.001)]
