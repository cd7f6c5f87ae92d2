"""The `lmc` command dispatches to each command line with its own flags."""

import json

import pytest

import lmc_cli
from lmc import ModelConfig, build_model, save_checkpoint


def test_help_lists_every_command(capsys):
    lmc_cli.main(["--help"])
    text = capsys.readouterr().out
    assert all(name in text for name in lmc_cli.COMMANDS)


def test_unknown_command_names_the_valid_ones_in_one_line_and_status_2(capsys):
    with pytest.raises(SystemExit) as stop:
        lmc_cli.main(["trian"])
    assert stop.value.code == 2
    assert capsys.readouterr().err == (
        f"lmc: unknown command 'trian'; the commands are {', '.join(lmc_cli.COMMANDS)} "
        "(lmc --help)\n"
    )


def test_health_runs_through_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    path = save_checkpoint(build_model(ModelConfig.preset("tiny")), tmp_path / "t.safetensors")
    values = lmc_cli.main(["health", str(path), "--clips", "4", "--out_len", "4", "--json"])
    assert json.loads(capsys.readouterr().out)["slots_alive"] == values["slots_alive"]


def test_train_runs_with_the_original_flags(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    args = "--preset tiny --img_size 32 --short_len 10 --long_len 12 --out_len 2 --batch_size 2"
    result = lmc_cli.main(
        [
            "train",
            *args.split(),
            "--iterations",
            "1",
            "--val_clips",
            "2",
            "--sample_clips",
            "1",
            "--workers",
            "0",
            "--checkpoint_save_dir",
            str(tmp_path / "run"),
        ]
    )
    assert result["iteration"] == 1 and (tmp_path / "run" / "last.safetensors").is_file()


def test_expected_errors_end_in_one_line_and_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        lmc_cli.main(
            [
                "train",
                "--preset",
                "tiny",
                "--resume",
                str(tmp_path / "none.pt"),
                "--run_dir",
                str(tmp_path / "r"),
            ]
        )
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"lmc train: resume={tmp_path / 'none.pt'}: no such training state file"


def test_dashboard_warms_umap_once_into_the_shared_cache(tmp_path, monkeypatch, capsys):
    """`lmc dashboard` runs `python -m lmc.warmup` into .lmc-cache/numba before the first start
    (the Makefile's stamp), then becomes streamlit; both see the same NUMBA_CACHE_DIR."""
    calls = []

    def call(command, env):
        calls.append((command, env["NUMBA_CACHE_DIR"]))
        return 0

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("LMC_CACHE_DIR", raising=False)
    monkeypatch.setattr(lmc_cli.subprocess, "call", call)
    monkeypatch.setattr(lmc_cli.os, "execve", lambda path, command, env: call(command, env))
    cache = str(tmp_path / ".lmc-cache" / "numba")
    lmc_cli.serve_dashboard(["--port", "9"])
    assert [c[0][2] for c in calls] == ["lmc.warmup", "streamlit"]
    streamlit = calls[1][0]
    assert streamlit[streamlit.index("--server.port") + 1] == "9"
    assert {c[1] for c in calls} == {cache}
    assert (tmp_path / ".lmc-cache" / "numba" / ".umap-warm").is_file()
    calls.clear()
    lmc_cli.serve_dashboard([])
    assert [c[0][2] for c in calls] == ["streamlit"]  # warm already


def test_dashboard_starts_even_when_the_warmup_fails(tmp_path, monkeypatch, capsys):
    calls = []

    def call(command, env):
        calls.append(command[2])
        return 1 if command[2] == "lmc.warmup" else 0

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setattr(lmc_cli.subprocess, "call", call)
    monkeypatch.setattr(lmc_cli.os, "execve", lambda path, command, env: call(command, env))
    lmc_cli.serve_dashboard([])
    assert calls == ["lmc.warmup", "streamlit"]
    assert not (tmp_path / "numba" / ".umap-warm").exists()  # the next start tries again
    assert "UMAP warm-up failed" in capsys.readouterr().err
