"""Resuming a run: torn metrics lines, checks before any write, a changed learning rate, the
leftovers of killed writes, and runs killed before their first checkpoint."""

import json
import logging
import shutil

import pytest
import torch
from train_helpers import TINY_CLI as TINY

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
    """A one-iteration run with --resume auto in a folder where an earlier run was killed before
    its first last.pt: it left metrics records, a torn line and the temporary files of two killed
    writes. With no last.pt to continue from, --resume auto starts over (a plain fresh run is
    refused there: test_a_fresh_run_over_a_run_without_a_state_is_refused)."""
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
        train.main(
            [*TINY, "--run_dir", str(run_dir), "--resume", "auto"]
            + ["--iterations", "1", "--print_freq", "1"]
        )
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
    with pytest.raises(
        ConfigError, match=r"already holds a run \(last\.pt, .*\): pass --resume auto.*--overwrite"
    ):
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


def test_a_state_saved_before_a_model_field_existed_resumes_with_its_default(copied):
    """memory_recurrent came after the motion-context runs saved their states: its absence there
    means the default (False), not another model."""
    path = copied / "last.pt"
    state = load_train_state(path)
    del state["config"]["memory_recurrent"]
    torch.save(state, path)
    train.main([*TINY, "--run_dir", str(copied), "--resume", "auto", "--iterations", "2"])
    assert load_train_state(path)["iteration"] == 2


# ----------------------------------------------------------------- a forged state, checked whole
def _list_model(state):
    state["model"] = list(state["model"].values())


def _string_optimizer(state):
    state["optimizer"] = "adam"


def _wrong_exp_avg(state):
    state["optimizer"]["state"][0]["exp_avg"] = torch.zeros(3)


def _string_best_val(state):
    state["best_val"] = "0.5"


@pytest.mark.parametrize(
    "forge, message",
    [
        (_list_model, r"last\.pt: its model is a list; expected a dict of tensors"),
        (_string_optimizer, r"last\.pt: the optimizer state is a str without the state and param_groups"),
        (_wrong_exp_avg, r"last\.pt: the optimizer state: parameter 0's exp_avg is \(3,\); the parameter is \(4, 1, 3, 3\)"),
        (_string_best_val, r"last\.pt holds best_val '0\.5'; expected a finite number or None"),
    ],
)  # fmt: skip
def test_a_forged_training_state_is_refused_whole_before_anything_is_written(
    copied, forge, message
):
    path = copied / "last.pt"
    state = load_train_state(path)
    forge(state)
    torch.save(state, path)
    before = files(copied)
    with pytest.raises(CheckpointError, match=message):
        train.main([*TINY, "--run_dir", str(copied), "--resume", "auto", "--iterations", "2"])
    assert files(copied) == before  # config.json and metrics.jsonl as they were


def test_a_resume_restores_the_random_state(tmp_path):
    """torch's and Python's generators continue where the saved run left them."""
    import random

    from lmc import build_model
    from lmc.training.config import parse_args
    from lmc.training.resume import open_resume
    from lmc.training.state import save_train_state

    cfg = parse_args([*TINY, "--run_dir", str(tmp_path)])
    model = build_model(cfg.model_config())
    optimizer = torch.optim.Adam(model.parameters())
    torch.manual_seed(7)
    random.seed(7)
    path = save_train_state(
        tmp_path / "last.pt", model, optimizer, iteration=3, data={"batch_index": 3},
        best_val=None, train_config=cfg.to_dict(), metadata={},
    )  # fmt: skip
    expected = (torch.rand(4), random.random())
    torch.manual_seed(99)  # what a fresh process starts from: another state
    random.seed(99)

    class Source:
        def load_state_dict(self, state):
            self.state = state

    source = Source()
    open_resume(path, cfg, cfg.model_config()).restore(model, optimizer, source)
    assert torch.equal(torch.rand(4), expected[0]) and random.random() == expected[1]
    assert source.state == {"batch_index": 3}


# ------------------------------------------------------------------ nothing overwritten unasked
@pytest.fixture
def finished_without_state(copied):
    """A run folder with its best model, metrics and samples but no last.pt."""
    (copied / "last.pt").unlink()
    (copied / "samples" / "iter_0000099.png").write_bytes(b"an old sample")
    return copied


def test_a_fresh_run_over_a_run_without_a_state_is_refused(finished_without_state):
    run_dir = finished_without_state
    before = files(run_dir)
    with pytest.raises(ConfigError) as info:
        train.main([*TINY, "--run_dir", str(run_dir), "--iterations", "1"])
    message = str(info.value)
    assert message.startswith(f"{run_dir} already holds a run (best.safetensors, ")
    assert "metrics.jsonl" in message and "--resume auto" in message
    assert "pass --overwrite to replace it" in message
    assert files(run_dir) == before


def test_overwrite_replaces_the_old_run_whole(finished_without_state):
    run_dir = finished_without_state
    train.main(
        [*TINY, "--run_dir", str(run_dir), "--overwrite", "--iterations", "1", "--print_freq", "1"]
    )
    assert [r["iteration"] for r in metrics_log.read_records(run_dir / "metrics.jsonl")] == [1]
    assert not (run_dir / "samples" / "iter_0000099.png").exists()  # no old sample mixed in
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["iter_0000001.png"]
    assert json.loads((run_dir / "config.json").read_text())["train"]["overwrite"] is True
    assert load_train_state(run_dir / "last.pt")["iteration"] == 1


def test_overwrite_and_resume_together_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="overwrite=True starts the run over and resume='auto'"):
        train.main([*TINY, "--run_dir", str(tmp_path), "--overwrite", "--resume", "auto"])
