"""SIGKILL during every kind of write, then the same command again: the same files as a run that
was never killed, no temporary file left behind, each metrics line once.

Each fault runs the real command (`python -m train.train`, `python -m lmc.data export`) in a child
process that kills itself with SIGKILL at one chosen write: when a complete temporary file or
folder is about to replace its final name (the child wraps `os.replace` and `os.rename`), or
halfway through a line of metrics.jsonl (it wraps `metrics_log.append_record`). The library
itself has no hook for this. The writes of one training run are killed one after another, each
time continuing with `--resume auto`: the frame cache's array, a metrics line, `last.pt`,
`last.safetensors`, the resume's own `config.json`, `best.safetensors` and a metrics line after
a validation.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from train_helpers import TINY_TRAIN

from lmc.data.__main__ import main as data_cli
from lmc.io import atomic_folder, remove_stale_temp_folders, temp_path
from lmc.training.state import load_train_state
from train import train

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import json, os, re, runpy, signal, sys

    kind, pattern, nth, module, *argv = sys.argv[1:]
    seen = 0

    def hit(name):
        global seen
        if re.fullmatch(pattern, name):
            seen += 1
            return seen == int(nth)
        return False

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if kind == "rename":  # a complete temporary file or folder, not yet in place
        def wrap(real):
            def move(src, dst, *args, **kwargs):
                if hit(os.path.basename(os.fspath(dst))):
                    die()
                return real(src, dst, *args, **kwargs)
            return move
        os.replace, os.rename = wrap(os.replace), wrap(os.rename)
    elif kind == "append":  # half a metrics line written
        from lmc.training import metrics_log
        real_append = metrics_log.append_record
        def append_record(path, record):
            if hit(str(record["iteration"])):
                line = json.dumps(record) + "\\n"
                with open(path, "a") as f:
                    f.write(line[: len(line) // 2])
                die()
            real_append(path, record)
        metrics_log.append_record = append_record
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    """
)


def killed(log: Path, kind: str, pattern: str, module: str, *argv: str, nth: int = 1) -> None:
    """Run `python -m module argv` in a child that SIGKILLs itself at the nth write whose final
    name matches `pattern` (kind "rename"), or halfway through the metrics line of the iteration
    matching it (kind "append")."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "w") as out:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, kind, pattern, str(nth), module, *argv],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
    assert proc.returncode == -signal.SIGKILL, log.read_text()[-4000:]


def temps(root: Path) -> list[str]:
    """Every temporary file or folder of a write under root (`lmc.io.temp_path` names, and the
    per-video folders of `write_video_frames`)."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob(".*")
        if p.name.startswith(".tmp-") or p.name.endswith(".tmp")
    )


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


DEAD_PID = 2**22 + 1  # above Linux's largest pid_max: no process has it


def test_only_the_folders_dead_writers_left_for_that_name_are_removed(tmp_path):
    stale = tmp_path / f".tmp-{DEAD_PID}-0123abcd-out"
    (stale / "video_00000").mkdir(parents=True)
    other = tmp_path / f".tmp-{DEAD_PID}-0123abcd-other"  # another folder's export
    live = temp_path(tmp_path / "out")  # this process's: an export in progress
    for folder in (other, live):
        folder.mkdir()
    a_file = tmp_path / f".tmp-{DEAD_PID}-4567cdef-out"  # remove_stale_temps' business
    a_file.write_text("x")
    link = tmp_path / f".tmp-{DEAD_PID}-89abcdef-out"
    link.symlink_to(other, target_is_directory=True)
    assert remove_stale_temp_folders(tmp_path, "out") == [stale]
    assert not stale.exists()
    assert other.is_dir() and live.is_dir() and a_file.is_file() and link.is_symlink()


def test_an_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError, match="stop"):
        with atomic_folder(tmp_path / "a") as tmp:
            (tmp / "part").write_text("1")
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "b").mkdir()  # an empty folder is replaced, a full one is not
    with atomic_folder(tmp_path / "b") as tmp:
        (tmp / "whole").write_text("2")
    assert (tmp_path / "b" / "whole").read_text() == "2"
    with pytest.raises(OSError):
        with atomic_folder(tmp_path / "b") as tmp:
            (tmp / "again").write_text("3")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["b", "whole"]


# ------------------------------------------------------------------------------------- export
EXPORT = ["--seq-len", "14", "--seed", "1", "--image-size", "32"]


def export(out: Path, split: str, clips: int = 3) -> list[str]:
    return ["export", str(out), "--num-clips", str(clips), "--split", split, *EXPORT]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """train/ and test/ frame folders, exported without a fault."""
    root = tmp_path_factory.mktemp("data")
    data_cli(export(root / "train", "train"))
    data_cli(export(root / "test", "test", clips=2))
    return root


def same_export(a: Path, b: Path) -> None:
    """Byte for byte, but meta.npz by its arrays (numpy stamps the time into the archive)."""
    fa, fb = files(a), files(b)
    assert sorted(fa) == sorted(fb)
    for name in fa:
        if name != "meta.npz":
            assert fa[name] == fb[name], name
    with np.load(a / "meta.npz") as ma, np.load(b / "meta.npz") as mb:
        assert sorted(ma.files) == sorted(mb.files)
        for key in ma.files:
            np.testing.assert_array_equal(ma[key], mb[key])


@pytest.mark.slow
def test_a_killed_export_leaves_no_dataset_and_running_it_again_writes_the_same(tmp_path, data):
    out = tmp_path / "train"
    # Killed as the second video folder is renamed into place inside the export's own folder.
    killed(tmp_path / "child.log", "rename", "video_00001", "lmc.data", *export(out, "train"))
    assert not out.exists()  # no half dataset a reader could take for a whole one
    (left,) = [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert left.endswith("-train")
    # meta.npz goes first, then the folders one by one: the first whole, the second half-renamed.
    half, meta, done = sorted(p.name for p in (tmp_path / left).iterdir())
    assert half.startswith(".video_00001.") and meta == "meta.npz" and done == "video_00000"
    data_cli(export(out, "train"))
    same_export(out, data / "train")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.log", "train"]
    assert temps(tmp_path) == []


# ----------------------------------------------------------------------------------- training
RUN = [*TINY_TRAIN, "--iterations", "6", "--print_freq", "2", "--val_every", "4"]


def run_args(data: Path, run_dir: Path, *extra: str) -> list[str]:
    return [
        *RUN,
        "--train_data_dir",
        str(data / "train"),
        "--valid_data_dir",
        str(data / "test"),
        "--run_dir",
        str(run_dir),
        *extra,
    ]


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory) -> Path:
    """The run that nothing interrupts, on its own copy of the data (each copy gets its cache)."""
    base = tmp_path_factory.mktemp("straight")
    shutil.copytree(data, base / "data")
    train.main(run_args(base / "data", base / "run"))
    return base


def records(base: Path) -> list[dict]:
    """The records of base/run/metrics.jsonl without the field that measures speed, with the
    data folder (which names base) written as DATA."""
    lines = (base / "run" / "metrics.jsonl").read_text().replace(str(base / "data"), "DATA")
    return [
        {k: v for k, v in json.loads(line).items() if k != "clips_per_s"}
        for line in lines.splitlines()
    ]


def equal_tensors(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], dict):
            equal_tensors(a[key], b[key])
        elif isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


@pytest.mark.slow
def test_sigkill_at_every_write_of_a_run_then_resume_gives_the_uninterrupted_run(
    tmp_path, data, straight
):
    shutil.copytree(data, tmp_path / "data")
    run_dir = tmp_path / "run"
    args = run_args(tmp_path / "data", run_dir)
    resume = [*args, "--resume", "auto"]
    log = tmp_path / "child.log"
    caches = [tmp_path / "data" / split / ".lmc-cache" for split in ("train", "test")]

    # 1. The frame cache's array, complete under its temporary name.
    killed(log, "rename", r"frames-c1-[^-]+-[0-9a-f]{16}\.npy", "train.train", *args)
    assert len([t for cache in caches for t in temps(cache)]) == 1
    # 2. Half of the first metrics line (iteration 2), before any last.pt.
    killed(log, "append", "2", "train.train", *resume)
    assert not (run_dir / "last.pt").exists()
    assert not (run_dir / "metrics.jsonl").read_text().endswith("\n")
    # 3. last.pt at iteration 2: the first run's state never lands.
    killed(log, "rename", r"last\.pt", "train.train", *resume)
    assert not (run_dir / "last.pt").exists() and len(temps(run_dir)) == 1
    # 4. last.safetensors at iteration 2, after last.pt.
    killed(log, "rename", r"last\.safetensors", "train.train", *resume)
    assert load_train_state(run_dir / "last.pt")["iteration"] == 2
    # 5. The resume's own first write: config.json.
    killed(log, "rename", r"config\.json", "train.train", *resume)
    assert [t.rsplit("-", 1)[-1] for t in temps(run_dir)] == ["config.json"]
    # 6. best.safetensors after the validation at iteration 4.
    killed(log, "rename", r"best\.safetensors", "train.train", *resume)
    # 7. Half of the metrics line of iteration 4, which holds the validation.
    killed(log, "append", "4", "train.train", *resume)
    assert load_train_state(run_dir / "last.pt")["iteration"] == 2

    train.main(resume)

    ref = straight / "run"
    # Each iteration once, with the same losses and validation scores.
    assert records(tmp_path) == records(straight)
    assert [r["iteration"] for r in records(tmp_path)] == [2, 4, 6]
    assert records(tmp_path)[1]["val_source"].startswith("frame folders DATA/test")
    a, b = load_train_state(ref / "last.pt"), load_train_state(run_dir / "last.pt")
    assert a["iteration"] == b["iteration"] == 6
    for key in ("model", "optimizer", "data", "best_val"):
        equal_tensors({key: a[key]}, {key: b[key]})
    for name in ("last.safetensors", "best.safetensors"):
        equal_tensors(load_file(ref / name), load_file(run_dir / name))
    assert sorted(files(run_dir)) == sorted(files(ref))
    assert files(run_dir)["samples/iter_0000006.png"] == files(ref)["samples/iter_0000006.png"]
    assert temps(tmp_path) == []
    for cache, ref_cache in zip(
        caches, [straight / "data" / s / ".lmc-cache" for s in ("train", "test")], strict=True
    ):
        assert files(cache) == files(ref_cache)
