"""The experiment grid on Ray (lmc.experiments.cluster): the same table as the sequential grid.

The quick tests check the parts that need no Ray running: the root's probe, the address check,
the progress note, the refusals. The slow ones start a Ray on this machine (two CPUs, loopback
only, no dashboard), run a grid on it, kill one row's worker in the middle, and compare the
result with the sequential grid row by row, bit for bit.
"""

import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from lmc.errors import ConfigError
from lmc.experiments import REFERENCE, Budget, Variant, run_grid
from lmc.experiments.cluster import (
    check_address,
    latest_validation,
    prepare_root,
    probe_root,
    progress_note,
    row_resources,
)

ray = pytest.importorskip("ray")

# Six iterations, a checkpoint after each: long enough to kill a row's worker half way.
SMALL = Budget.tiny(
    name="small-grid",
    iterations=6,
    batch_size=2,
    out_len=3,
    long_len=12,
    val_clips=4,
    val_every=3,
    print_freq=1,
    sample_clips=1,
    device="cpu",
)
# Two variants x two seeds, and a variant that raises at its start on a CPU.
VARIANTS = [
    Variant("full", **REFERENCE),
    Variant("no-memory", memory=False),
    Variant("bf16", amp="bf16"),
]
SEEDS = (0, 1)
TIMING = ["train_s", "wall_s", "run_dir"]  # what may differ between two runs of the same row
VICTIM = ("no-memory", 0)  # the row whose worker the test kills


# ------------------------------------------------------------------ without a Ray running


def test_the_probe_tells_the_drivers_folder_from_another_or_a_missing_one(tmp_path):
    token = prepare_root(tmp_path / "root")
    assert probe_root(str(tmp_path / "root"), token) is None
    (tmp_path / "elsewhere").mkdir()  # a folder at the same path on another node's disk
    assert "is not in" in probe_root(str(tmp_path / "elsewhere"), token)
    assert "is not in" in probe_root(str(tmp_path / "missing"), token)
    probes = list((tmp_path / "root").iterdir())
    assert [p.read_text() for p in probes] == [token]  # the node's own test file is gone


def test_a_root_this_machine_cannot_write_is_refused_before_ray_starts(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"grid root .*a-file/grid: this machine cannot write"):
        run_grid(VARIANTS[:1], SMALL, root=blocker / "grid", cluster="local", log=lambda _: None)
    assert not ray.is_initialized()


def test_a_cluster_address_nothing_answers_at_is_refused_in_seconds():
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=f"nothing answers at 127.0.0.1:{port}"):
        check_address(f"ray://127.0.0.1:{port}")
    assert time.perf_counter() - start < 5
    with pytest.raises(ConfigError, match="HOST:PORT"):
        check_address("head-node")
    for bad in ("", 6379):
        with pytest.raises(ConfigError, match="give None"):
            run_grid(VARIANTS[:1], SMALL, cluster=bad, log=lambda _: None)


def test_without_ray_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(ConfigError, match=r'pip install "lmc\[cluster\]"'):
        run_grid(VARIANTS[:1], SMALL, root=tmp_path, cluster="local", log=lambda _: None)


def test_a_row_asks_for_one_gpu_only_where_the_cluster_has_gpus():
    class Cluster:
        def __init__(self, resources):
            self.resources = resources

        def cluster_resources(self):
            return self.resources

    assert row_resources(Cluster({"CPU": 64.0}), 2) == {"num_cpus": 2}
    assert row_resources(Cluster({"CPU": 64.0, "GPU": 8.0}), 1) == {"num_gpus": 1, "num_cpus": 1}
    with pytest.raises(ConfigError, match="cpus_per_row=0"):
        run_grid(VARIANTS[:1], SMALL, cluster="local", cpus_per_row=0)


def test_the_progress_note_shows_each_rows_latest_validation(tmp_path):
    a, b, c = (tmp_path / name for name in "abc")
    for folder in (a, b, c):
        folder.mkdir()
    (a / "metrics.jsonl").write_text(
        json.dumps({"iteration": 3, "val": {"mse": 41.2}})
        + "\n"
        + json.dumps({"iteration": 4, "phase1": 0.5})
        + '\n{"iteration": 6, "val": {"ms'  # a record being written
    )
    (b / "metrics.jsonl").write_text(json.dumps({"iteration": 1, "loss": 2.0}) + "\n")
    assert latest_validation(a) == (3, 41.2)
    assert latest_validation(b) is None and latest_validation(c) is None
    rows = [("full", 0, a), ("no-memory", 1, b), ("x", 2, c)]
    assert progress_note(rows) == "full/0 it 3 mse 41.20"


# ------------------------------------------------------------------ on a local Ray


def _descendants(pid: int) -> set[int]:
    """The processes below `pid`, from /proc."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping is left


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A Ray on this machine for this module: 2 CPUs, loopback only, stopped at the end."""
    from lmc.experiments.cluster import start_local_ray

    with pytest.MonkeyPatch.context() as mp:
        # The workers inherit the environment the Ray starts with: the fixed sets' cache.
        mp.setenv("LMC_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        # Ray gives its node 30 s to come up, which a machine loaded by trainings (load 20 on two
        # cores) does not always meet; the start, not the grid, is what a second try repeats.
        for attempt in range(3):
            try:
                start_local_ray(num_cpus=2)
                break
            except Exception as err:
                if "timed out during startup" not in str(err) or attempt == 2:
                    raise
        try:
            started = _descendants(os.getpid())
            assert ray.get_runtime_context().gcs_address.startswith("127.0.0.1:")
            yield
        finally:
            ray.shutdown()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in started if _alive(pid)], "Ray's processes outlived ray.shutdown()"


def _kill_when_checkpointed(run_dir: Path, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the worker that trains run_dir once it has saved a checkpoint and before it ends."""
    while not stop.is_set():
        log = run_dir / "train.log"
        pids = [line.split()[-1] for line in _lines(log) if line.startswith("lmc grid:")]
        done = (run_dir / "experiment.json").exists()
        if pids and (run_dir / "last.pt").exists() and not done:
            pid = int(pids[-1])
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.01)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


@pytest.mark.slow
def test_a_grid_on_ray_gives_the_sequential_grids_table_bit_for_bit(local_ray, tmp_path):
    victim = tmp_path / "ray" / SMALL.name / VICTIM[0] / f"seed{VICTIM[1]}"
    killed, stop = [], threading.Event()
    killer = threading.Thread(target=_kill_when_checkpointed, args=(victim, killed, stop))
    killer.start()
    logs = []
    try:
        on_ray = run_grid(
            VARIANTS, SMALL, seeds=SEEDS, root=tmp_path / "ray", cluster="local", log=logs.append
        )
    finally:
        stop.set()
        killer.join()

    # A Ray task with one CPU runs torch on one thread (Ray sets OMP_NUM_THREADS to the task's
    # CPUs); the thread count changes the last bits of a convolution's sums.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = run_grid(VARIANTS, SMALL, seeds=SEEDS, root=tmp_path / "here", log=lambda _: None)
    finally:
        torch.set_num_threads(threads)

    # The killed row was retried by Ray and resumed from its checkpoint: two attempts, two pids.
    assert killed, "the row finished before its worker could be killed"
    log = (victim / "train.log").read_text()
    attempts = [line.split()[-1] for line in log.splitlines() if line.startswith("lmc grid:")]
    assert len(attempts) == 2 and attempts[0] == str(killed[0]) != attempts[1]
    assert "resumed from" in log

    table, expected = on_ray.table, here.table
    assert len(table) == len(VARIANTS) * len(SEEDS)
    pd.testing.assert_frame_equal(table.drop(columns=TIMING), expected.drop(columns=TIMING))
    pd.testing.assert_frame_equal(on_ray.curves, here.curves)  # every record, once
    ok = table["error"].isna()
    assert ok.sum() == 4 and table.loc[ok, "iterations"].eq(SMALL.iterations).all()
    assert table.loc[ok, "mse"].nunique() == 4  # the seeds and variants do differ
    assert table.loc[~ok, "error"].str.startswith("ConfigError: amp=bf16 needs a CUDA").all()
    for ours, theirs in zip(table.loc[ok, "run_dir"], expected.loc[ok, "run_dir"], strict=True):
        a, b = (
            load_file(Path(ours) / "last.safetensors"),
            load_file(Path(theirs) / "last.safetensors"),
        )
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert sum("iterations in" in line for line in logs) == 4
    assert sum("failed: ConfigError" in line for line in logs) == 2

    # Again: the finished rows are skipped (no task runs), the failed ones are tried again.
    mtimes = [(Path(d) / "last.pt").stat().st_mtime_ns for d in table.loc[ok, "run_dir"]]
    again_logs = []
    again = run_grid(
        VARIANTS, SMALL, seeds=SEEDS, root=tmp_path / "ray", cluster="local", log=again_logs.append
    )
    assert sum("skipped, already finished" in line for line in again_logs) == 4
    assert sum("failed: ConfigError" in line for line in again_logs) == 2
    assert [(Path(d) / "last.pt").stat().st_mtime_ns for d in table.loc[ok, "run_dir"]] == mtimes
    pd.testing.assert_frame_equal(again.table, table)
