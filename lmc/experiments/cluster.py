"""The rows of an experiment grid as Ray tasks: `run_grid(..., cluster="local" | ADDRESS)`.

The driver (the process that calls `run_grid`) plans the grid and skips the rows that finished;
each row left to train is one task, `grid.train_row`, the very call the sequential grid makes.
The run folders live on a filesystem every node mounts at the same path (the grid's root): a task
writes its run where the driver and every later attempt will look for it, so a row whose worker
or node dies is retried by Ray from its last checkpoint (`--resume auto`), and the driver reads
the finished folders into the same table a sequential grid gives. Before any row starts, the
driver writes a probe file named by a fresh token in the root and one task per node looks for it
and writes beside it: a root that some node cannot see, sees as another folder (a node's own
disk) or cannot write is refused with the nodes named.

Ray is an optional dependency (`pip install "lmc[cluster]"`), imported only here.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lmc.cli import one_line
from lmc.errors import ConfigError
from lmc.training import metrics_log

DOCS = "docs/training.md, 'Grids on a Ray cluster'"
PROBE_TIMEOUT_S = 120.0  # a node that cannot start a task within this is reported, not awaited
POLL_S = 5.0  # how often the driver's progress bar reads the running rows' latest validation
MAX_ERROR_CHARS = 500


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError(
            'a grid on a cluster needs Ray: pip install "lmc[cluster]" (or cluster=None to train '
            "the rows here, one after another)"
        ) from None
    return ray


def start_local_ray(num_cpus: int | None = None, num_gpus: int | None = None) -> None:
    """Start a Ray on this machine for this process: no dashboard, and every one of its servers
    on the loopback interface only, since nothing outside this machine needs to reach it.
    `ray.shutdown()` (or the end of the process) stops it."""
    ray = _import_ray()
    from ray._private import ray_constants

    # On Linux, Ray replaces a loopback node address by the machine's outward one and listens on
    # all interfaces; with this flag off it keeps 127.0.0.1, as it does on a laptop (macOS,
    # Windows). It is read while the node starts, so it is restored right after.
    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False)
    except BaseException:
        ray.shutdown()  # the servers that did start (Ray gives a node 30 s to come up)
        raise
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved


def check_address(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a cluster address nothing answers at, in seconds (Ray itself waits minutes, then
    exits the process). "auto" is left to Ray, which fails at once when no cluster runs here."""
    if address == "auto":
        return
    host_port = address.removeprefix("ray://")
    host, sep, port = host_port.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(
            f"cluster={address!r}: give 'local', 'auto' or a Ray address HOST:PORT "
            "(the head's GCS, usually port 6379) or ray://HOST:PORT (Ray Client, usually 10001)"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(
            f"cluster={address!r}: nothing answers at {host}:{port} ({err}); start the cluster's "
            "head (`ray start --head`) or check the address it printed"
        ) from None


@contextlib.contextmanager
def connected(cluster: str) -> Iterator[Any]:
    """Ray, connected for one grid: the connection this process already has (left open after),
    else a Ray started on this machine ("local"), else the cluster at `cluster`; a connection
    made here is closed on exit, which stops a local Ray and the tasks still running."""
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    if cluster == "local":
        start_local_ray()
    else:
        check_address(cluster)
        try:
            ray.init(address=cluster)
        except (ConnectionError, RuntimeError, ValueError, SystemExit) as err:
            raise ConfigError(f"cluster={cluster!r}: Ray could not connect: {err}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def row_resources(ray: Any, cpus_per_row: int) -> dict[str, int]:
    """What one row's task asks for: one GPU where the cluster has any, and its CPUs."""
    if ray.cluster_resources().get("GPU", 0) >= 1:
        return {"num_gpus": 1, "num_cpus": cpus_per_row}
    return {"num_cpus": cpus_per_row}


def _probe_name(token: str) -> str:
    return f".lmc-grid-probe-{token}"


def prepare_root(root: Path) -> str:
    """Make the grid's root here and leave a probe in it; returns the probe's token. ConfigError
    for a root this machine cannot create or write."""
    token = secrets.token_hex(8)
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / _probe_name(token)).write_text(token)
    except OSError as err:
        raise ConfigError(
            f"grid root {root}: this machine cannot write there ({err}); choose a folder on a "
            f"filesystem every node of the cluster mounts at the same path ({DOCS})"
        ) from None
    return token


def probe_root(root: str, token: str) -> str | None:
    """On a node: None when `root` is the driver's folder (the driver's probe, named by `token`,
    is there) and this node can write in it; else what is wrong, in words."""
    probe = Path(root) / _probe_name(token)
    try:
        there = probe.is_file()
    except OSError as err:
        return f"cannot read {root}: {err}"
    if not there:
        return f"the driver's {probe.name} is not in {root} there (that node's own disk?)"
    mine = probe.with_name(f"{probe.name}-{socket.gethostname()}-{secrets.token_hex(4)}")
    try:
        mine.write_text(token)
        mine.unlink()
    except OSError as err:
        return f"cannot write in {root}: {err}"
    return None


def check_root(ray: Any, root: Path, token: str) -> None:
    """Refuse a root that any alive node cannot read the probe from or write in, naming each."""
    nodes = [node for node in ray.nodes() if node["Alive"]]
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    probe = ray.remote(probe_root)
    refs = {
        probe.options(
            num_cpus=0,  # runs beside busy rows, on nodes without CPUs for tasks too
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False),
        ).remote(str(root), token): node["NodeManagerAddress"]
        for node in nodes
    }
    ready, late = ray.wait(list(refs), num_returns=len(refs), timeout=PROBE_TIMEOUT_S)
    problems = {refs[ref]: f"no answer in {PROBE_TIMEOUT_S:.0f} s" for ref in late}
    for ref in ready:
        try:
            answer = ray.get(ref)
        except ray.exceptions.RayError as err:  # lmc missing there, a node that died, ...
            answer = f"the probe failed: {_error_text(err)}"
        if answer is not None:
            problems[refs[ref]] = answer
    if problems:
        details = "; ".join(f"node {node}: {what}" for node, what in sorted(problems.items()))
        raise ConfigError(
            f"grid root {root} is not the same folder on every node of the cluster ({details}). "
            f"Put it on a filesystem every node mounts at the same path ({DOCS})"
        )


def latest_validation(run_dir: Path) -> tuple[int, float] | None:
    """The (iteration, validation MSE) of a run's last validation record, or None. Reads a log
    that is being written: a line cut by a write in progress is skipped without a word."""
    try:
        lines = (run_dir / metrics_log.FILE_NAME).read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            record = json.loads(line)
            return int(record["iteration"]), float(record["val"]["mse"])
        except (ValueError, KeyError, TypeError):
            continue
    return None


def progress_note(rows: list[tuple[str, int, Path]]) -> str:
    """The progress bar's note: the latest validation of each (variant, seed, run_dir) row that
    has one, e.g. "full/0 it 30 mse 41.20 | no-memory/1 it 15 mse 44.03"."""
    parts = []
    for variant, seed, run_dir in rows:
        latest = latest_validation(run_dir)
        if latest is not None:
            iteration, mse = latest
            parts.append(f"{variant}/{seed} it {iteration} mse {mse:.2f}")
    return " | ".join(parts)


def _error_text(err: BaseException) -> str:
    text = one_line(f"{type(err).__name__}: {err}")
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def run_rows(
    todo: list[tuple[str, Any]],
    budget: Any,
    cluster: str,
    *,
    train_row: Callable[[Any, Any, bool], str | None],
    root: Path,
    done: int,
    total: int,
    cpus_per_row: int,
    retries: int,
    quiet: bool,
    finished: Callable[[str, Any, str | None], None],
) -> None:
    """Train `todo`, (label, grid._Run) pairs, as Ray tasks of `train_row(run, budget, quiet)`
    (the grid's, handed in so that this module does not import the grid that imports it);
    `finished(label, run, error)` is called as each ends (error None when it finished). `done` of
    `total` rows need nothing."""
    from tqdm import tqdm

    token = prepare_root(root)  # before connecting: a root this machine cannot write fails fast
    try:
        with connected(cluster) as ray:
            check_root(ray, root, token)
            task = ray.remote(train_row).options(
                max_retries=retries, **row_resources(ray, cpus_per_row)
            )
            pending = {task.remote(run, budget, quiet): (label, run) for label, run in todo}
            with tqdm(
                total=total,
                initial=done,
                unit="row",
                desc="grid",
                file=sys.stderr,
                dynamic_ncols=True,
            ) as bar:
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                    for ref in ready:
                        label, run = pending.pop(ref)
                        try:
                            error = ray.get(ref)
                        except ray.exceptions.RayError as err:  # retries spent, node lost, ...
                            error = _error_text(err)
                        with tqdm.external_write_mode():  # the row's line above the bar
                            finished(label, run, error)
                        bar.update(1)
                    running = [(r.variant.name, r.seed, r.run_dir) for _, r in pending.values()]
                    bar.set_postfix_str(progress_note(running), refresh=True)
    finally:
        (root / _probe_name(token)).unlink(missing_ok=True)
