"""The metrics log of a run, `metrics.jsonl`: one JSON object per logged iteration.

Every record has an `iteration`; training records add the losses of each phase, `lr` and
`clips_per_s` (the speed since the record before); validation records add `val` (the model's
means), `val_baselines`, `val_source` and, for a model with memory, `health` (the cheap memory
measures). This module alone writes and reads the file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmc.io import atomic_write

FILE_NAME = "metrics.jsonl"
log = logging.getLogger(__name__)


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a log, oldest first; [] when there is no log. Lines that are not JSON
    objects with an integer `iteration` (the torn last line of a killed run) are dropped with a
    warning that names the line."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # JSONDecodeError, huge integers, deep nesting
            record = None
        if isinstance(record, dict) and _is_iteration(record.get("iteration")):
            records.append(record)
        else:
            log.warning("%s line %d is not a metrics record, dropped: %.60r", path, number, line)
    return records


def _is_iteration(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def truncate_after(path: str | Path, iteration: int) -> None:
    """Keep only the records up to `iteration` (a resume goes back to its checkpoint; a fresh
    start to 0), so that the log holds each iteration once; unreadable lines go too. The file is
    replaced atomically, so a kill meanwhile loses nothing."""
    path = Path(path)
    if not path.exists():
        return
    kept = [r for r in read_records(path) if r["iteration"] <= iteration]
    text = "".join(json.dumps(r) + "\n" for r in kept)
    if text != path.read_text(errors="replace"):
        atomic_write(path, lambda tmp: tmp.write_text(text))


def train_seconds(records: Sequence[dict[str, Any]], batch_size: int) -> float:
    """Seconds spent in training iterations (validation excluded): each record's `clips_per_s`
    covers the iterations since the record before it."""
    total, previous = 0.0, 0
    for record in records:
        rate = record.get("clips_per_s")
        if rate:
            total += (record["iteration"] - previous) * batch_size / rate
        previous = record["iteration"]
    return total
